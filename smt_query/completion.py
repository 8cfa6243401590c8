"""What shell completion offers, read in milliseconds from the project's store.

A TAB must answer at once, also on a store of 100,000 records, so this
module imports neither Django nor pandas nor Sumatra: it reads
``.smt/project`` (:mod:`smt_query.project`) and asks the store's database
(SQLite through :mod:`sqlite3`, read-only; PostgreSQL through ``psycopg2``)
a few small queries on Sumatra's own tables, each narrowed to the project:

* tags: the distinct values of the records' ``tags`` column (the truth for
  each store), split by :func:`smt_query.fields.split_tags`;
* parameter keys: those of the :data:`KEY_SAMPLE` records stored last, as
  ``RecordStoreView.parameter_keys`` gives them (stored text parsed by
  :mod:`smt_query.params`, never run);
* labels: those starting with what is typed, those stored last first, at
  most :data:`LABEL_LIMIT`.

Tags and keys of an SQLite store are cached in ``.smt/smt_query_complete.json``
(:data:`CACHE_FILE`), keyed by the size and modification time of the
database file (and of its ``-wal`` file): any write to the store changes
them, and a cache is written only when the file has not changed in the last
:data:`SETTLED` seconds (a write in the same clock tick cannot go unseen).
The cache holds data, never code; a cache that cannot be read is ignored.
PostgreSQL answers the same queries fast enough without one. Another kind
of store (a shelve) is read through :class:`~smt_query.view.RecordStoreView`,
which loads Sumatra.
"""
import contextlib
import json
import os
import time

from .fields import split_tags
from .params import dotted_key, flatten, fold_task_inputs, stored_parameters
from .project import (QUERY_STORE, SUMATRA_STORE, project_dir, read_project_file,
                      store_database)

#: Parameter keys are read from this many records stored last.
KEY_SAMPLE = 200
#: At most this many labels are offered for one prefix (the newest ones).
LABEL_LIMIT = 100

#: The cache of tags and keys of an SQLite store, in the project's ``.smt`` folder.
CACHE_FILE = "smt_query_complete.json"
#: A cache is written only if the database has not changed for this many seconds.
SETTLED = 2.0

RECORDS = "django_store_record"
PARAMETER_SETS = "django_store_parameterset"


@contextlib.contextmanager
def _cursor(start=None):
    """``(cursor, placeholder, project name)`` for the project's store."""
    path = project_dir(start)
    name = read_project_file(path)["name"]
    db = store_database(path)
    if db["ENGINE"].endswith("sqlite3"):
        import sqlite3
        from urllib.parse import quote
        if not os.path.exists(db["NAME"]):
            raise FileNotFoundError(db["NAME"])
        conn = sqlite3.connect(f"file:{quote(db['NAME'])}?mode=ro", uri=True)
        mark = "?"
    else:
        import psycopg2
        conn = psycopg2.connect(dbname=db["NAME"], host=db["HOST"] or None,
                                port=db["PORT"] or None, user=db["USER"] or None,
                                password=db["PASSWORD"] or None, connect_timeout=5)
        conn.set_session(readonly=True)
        mark = "%s"
    try:
        yield conn.cursor(), mark, name
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


def _cached(what, start, read):
    """``read(start)`` (a list of strings), through the cache for an SQLite store."""
    path = project_dir(start)
    db = store_database(path)
    if not db["ENGINE"].endswith("sqlite3"):
        return read(path)
    cache_file = os.path.join(path, ".smt", CACHE_FILE)
    key = [db["NAME"], read_project_file(path)["name"], *_stamp(db["NAME"])]
    try:
        with open(cache_file, encoding="utf-8") as f:
            cache = json.load(f)
        values = cache[what]
        if cache["key"] == key and isinstance(values, list) and all(
                isinstance(v, str) for v in values):
            return values
    except (OSError, ValueError, KeyError, TypeError):
        cache = None
    began = time.time_ns()
    values = read(path)
    newest = max(t for t in key[3::2] if t is not None)
    if _stamp(db["NAME"]) == key[2:] and began - newest > SETTLED * 1e9:
        if not (isinstance(cache, dict) and cache.get("key") == key):
            cache = {"key": key}
        cache[what] = values
        try:
            tmp = f"{cache_file}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(cache, f, ensure_ascii=False)
            os.replace(tmp, cache_file)
        except OSError:        # a read-only project: no cache
            pass
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


def _read_tag_names(start):
    with _cursor(start) as (cur, mark, project):
        cur.execute(f"SELECT DISTINCT tags FROM {RECORDS} WHERE project_id = {mark}",
                    (project,))
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
        return _read_parameter_keys(start, sample)
    return _cached("keys", start, _read_parameter_keys)


def _read_parameter_keys(start, sample=KEY_SAMPLE):
    with _cursor(start) as (cur, mark, project):
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
    from .query import saved_queries
    return sorted(saved_queries(start))
