"""What shell completion offers, read in milliseconds from the project's store.

A TAB must answer at once, also on a store of 100,000 records, so this
module imports neither Django nor pandas nor Sumatra (nor, when its cache
answers, the filters or the parameter parser): it reads ``.smt/project``
(:mod:`smt_query.project`) and asks the store's database (SQLite through
:mod:`sqlite3`, read-only; PostgreSQL through ``psycopg2``) a few small
queries on Sumatra's own tables, each narrowed to the project:

* tags: the distinct values of the records' ``tags`` column (the truth for
  each store), split by :func:`smt_query.fields.split_tags`; offered as the
  tag filters read them literally (:func:`tag_terms`);
* parameter keys: those of the :data:`KEY_SAMPLE` records stored last, as
  ``RecordStoreView.parameter_keys`` gives them (stored text parsed by
  :mod:`smt_query.params`, never run);
* labels: those starting with what is typed, those stored last first, at
  most :data:`LABEL_LIMIT`.

Tags and keys are cached in ``.smt/smt_query_complete.json``
(:data:`CACHE_FILE`) under a key that changes with every write to the store:

* SQLite: the size and modification time of the database file (and of its
  ``-wal`` file); a cache is written only when the file has not changed in
  the last :data:`SETTLED` seconds (a write in the same clock tick cannot go
  unseen);
* PostgreSQL: the server's snapshot (``pg_current_snapshot()``), taken in
  the same repeatable-read transaction as the values cached. Equal
  snapshots see the same committed transactions, so the same rows; any
  write that ends (commits or aborts) anywhere on the server changes it.
  Asking costs well under a millisecond, where a key read from the tables
  (``count(*)``, ``sum(xmin)``) costs a scan of each (50-80 ms at 100,000
  records, as much as reading the tags). On a server whose other databases
  are written all the time the snapshot rarely repeats: a TAB then reads
  the store (the tags in tens of milliseconds at 100,000 records, the
  keys in a few).

The tags' terms (:func:`tag_terms`) are kept whatever the key.
The cache holds data, never code; a cache that cannot be read is ignored.
Another kind of store (a shelve) is read through
:class:`~smt_query.view.RecordStoreView`, which loads Sumatra.
"""
import contextlib
import json
import os
import time

from . import __version__
from .fields import split_tags
from .project import (QUERY_STORE, SUMATRA_STORE, project_dir, read_project_file,
                      saved_queries, store_database)

#: Parameter keys are read from this many records stored last.
KEY_SAMPLE = 200
#: At most this many labels are offered for one prefix (the newest ones).
LABEL_LIMIT = 100

#: The cache of tags and keys, in the project's ``.smt`` folder.
CACHE_FILE = "smt_query_complete.json"
#: An SQLite cache is written only if the database has not changed for this many seconds.
SETTLED = 2.0

#: The cache's entry of tag terms (:func:`tag_terms`).
LITERAL = "tag terms"

RECORDS = "django_store_record"
PARAMETER_SETS = "django_store_parameterset"
#: The server's snapshot: the key of a PostgreSQL store's cache (before
#: PostgreSQL 13: ``txid_current_snapshot()``).
SNAPSHOT = "SELECT pg_current_snapshot()::text"


def _is_sqlite(db):
    return db["ENGINE"].endswith("sqlite3")


def _connect(db):
    """``(connection, placeholder)``: read-only; on PostgreSQL every
    statement of a transaction sees one snapshot (repeatable read)."""
    if _is_sqlite(db):
        import sqlite3
        from urllib.parse import quote
        if not os.path.exists(db["NAME"]):
            raise FileNotFoundError(db["NAME"])
        return sqlite3.connect(f"file:{quote(db['NAME'])}?mode=ro", uri=True), "?"
    import psycopg2
    conn = psycopg2.connect(dbname=db["NAME"], host=db["HOST"] or None,
                            port=db["PORT"] or None, user=db["USER"] or None,
                            password=db["PASSWORD"] or None, connect_timeout=5)
    conn.set_session(readonly=True, isolation_level="REPEATABLE READ")
    return conn, "%s"


@contextlib.contextmanager
def _cursor(start=None):
    """``(cursor, placeholder, project name)`` for the project's store."""
    path = project_dir(start)
    conn, mark = _connect(store_database(path))
    try:
        yield conn.cursor(), mark, read_project_file(path)["name"]
    finally:
        conn.close()


def _stamp(db_file):
    """Size and modification time of an SQLite database and its ``-wal`` file."""
    stamp = []
    for path in (db_file, db_file + "-wal"):
        try:
            st = os.stat(path)
            stamp += [st.st_size, st.st_mtime_ns]
        except FileNotFoundError:
            stamp += [None, None]
    return stamp


def _read_cache(cache_file):
    try:
        with open(cache_file, encoding="utf-8") as f:
            cache = json.load(f)
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _write_cache(cache_file, cache):
    try:
        tmp = f"{cache_file}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(cache, f, ensure_ascii=False)
        os.replace(tmp, cache_file)
    except OSError:        # a read-only project: no cache
        pass


def _strings(values):
    return isinstance(values, list) and all(isinstance(v, str) for v in values)


def _cache_file(path):
    return os.path.join(path, ".smt", CACHE_FILE)


def _cached(what, start, read):
    """``read(cursor, placeholder, project name)`` (a list of strings),
    through the cache of the project's store."""
    path = project_dir(start)
    db = store_database(path)
    project = read_project_file(path)["name"]
    cache = _read_cache(_cache_file(path))
    if _is_sqlite(db):
        key = [db["NAME"], project, *_stamp(db["NAME"])]
        if cache.get("key") == key and _strings(cache.get(what)):
            return cache[what]
        began = time.time_ns()
        with _cursor(path) as (cur, mark, _):
            values = read(cur, mark, project)
        newest = max(t for t in key[3::2] if t is not None)
        keep = _stamp(db["NAME"]) == key[2:] and began - newest > SETTLED * 1e9
    else:
        conn, mark = _connect(db)
        try:
            cur = conn.cursor()
            # first: the snapshot all that follows reads
            cur.execute(SNAPSHOT if conn.server_version >= 130000 else
                        "SELECT txid_current_snapshot()::text")
            key = [db["HOST"], str(db["PORT"]), db["NAME"], project, cur.fetchone()[0]]
            if cache.get("key") == key and _strings(cache.get(what)):
                return cache[what]
            values = read(cur, mark, project)
        finally:
            conn.close()
        keep = True
    if keep:
        if cache.get("key") != key:    # what was read under another key goes
            cache = {"key": key, LITERAL: cache.get(LITERAL)}
        cache[what] = values
        _write_cache(_cache_file(path), cache)
    return values


def _view(start):
    """A view of the project if its store is not a Django one (else None)."""
    path = project_dir(start)
    if read_project_file(path)["record_store"].get("type") in (SUMATRA_STORE, QUERY_STORE):
        return None
    from .view import RecordStoreView
    return RecordStoreView(project=path)


def tag_names(start=None):
    """The sorted tags carried by the project's records."""
    view = _view(start)
    return view.tag_names() if view else _cached("tags", start, _read_tag_names)


def tag_terms(start=None):
    """The project's tags as the tag filters read them literally
    (:func:`smt_query.filters.literal_tag`: ``fig[*]`` for the tag ``fig*``).

    The cache keeps each tag's term, whatever the store's key (a term
    depends only on the tag and this package's version), so that a TAB
    after a write to the store needs the filters only for a new tag."""
    view = _view(start)
    names = view.tag_names() if view else tag_names(start)
    cache_file = None if view else _cache_file(project_dir(start))
    memo = _read_cache(cache_file).get(LITERAL) if cache_file else None
    if isinstance(memo, dict) and memo.get("version") == __version__ and isinstance(
            memo.get("terms"), dict) and all(isinstance(memo["terms"].get(n), str) for n in names):
        return [memo["terms"][n] for n in names]
    from .filters import literal_tag
    terms = {name: literal_tag(name) for name in names}
    if cache_file:
        cache = _read_cache(cache_file)
        cache[LITERAL] = {"version": __version__, "terms": terms}
        _write_cache(cache_file, cache)
    return [terms[name] for name in names]


def _read_tag_names(cur, mark, project):
    cur.execute(f"SELECT DISTINCT tags FROM {RECORDS} WHERE project_id = {mark}", (project,))
    names = set()
    for (column,) in cur.fetchall():
        names |= split_tags(column)
    return sorted(names)


def parameter_keys(start=None, sample=KEY_SAMPLE):
    """Dotted parameter keys (task ``inputs`` levels folded away) of the
    ``sample`` records stored last; a set that cannot be read has none."""
    view = _view(start)
    if view:
        return view.parameter_keys(sample)
    if sample != KEY_SAMPLE:
        with _cursor(start) as (cur, mark, project):
            return _read_parameter_keys(cur, mark, project, sample)
    return _cached("keys", start, _read_parameter_keys)


def _read_parameter_keys(cur, mark, project, sample=KEY_SAMPLE):
    from .params import dotted_key, flatten, fold_task_inputs, stored_parameters
    # the last stored records: by primary key (the timestamp has no index)
    cur.execute(f"SELECT r.label, p.id, p.type, p.content FROM (SELECT label, parameters_id "
                f"FROM {RECORDS} WHERE project_id = {mark} ORDER BY db_id DESC "
                f"LIMIT {int(sample)}) r JOIN {PARAMETER_SETS} p ON p.id = r.parameters_id",
                (project,))
    rows = cur.fetchall()
    keys, seen = set(), set()
    for label, set_id, type_, content in rows:
        if set_id not in seen:
            seen.add(set_id)
            params = stored_parameters(label, type_, content, errors={}) or {}
            keys.update(map(dotted_key, flatten(fold_task_inputs(params))))
    return sorted(keys)


def labels(prefix="", start=None, limit=LABEL_LIMIT):
    """The project's labels starting with ``prefix``, those stored last first
    (at most ``limit``: the scan stops there)."""
    view = _view(start)
    if view:
        return [lbl for lbl in view.labels() if lbl.startswith(prefix)][:limit]
    with _cursor(start) as (cur, mark, project):
        cur.execute(f"SELECT label FROM {RECORDS} WHERE project_id = {mark} "
                    f"AND substr(label, 1, {mark}) = {mark} "
                    f"ORDER BY db_id DESC LIMIT {int(limit)}",
                    (project, len(prefix), prefix))
        return [label for (label,) in cur.fetchall()]


def saved_names(start=None):
    """The names of the project's saved queries."""
    return sorted(saved_queries(start))
