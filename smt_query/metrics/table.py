"""Metric values in the store: computed once per record, kept in smt-query's
own table (:data:`~smt_query.where.metrics.TABLE`), refreshed for new and
changed records only (new records, a changed outcome, new output files, a
changed definition: each row keeps a fingerprint of its source, compared in SQL),
on SQLite and PostgreSQL alike (portable SQL only)."""
import math
import sys

from ..where.metrics import NAN, NONE, NUMBER, TABLE

#: smt-query's note of the write mark at which a project's metrics were current.
MARKS = TABLE + "_mark"
from .extract import MAX_OUTCOME, value_of

#: Rows written per INSERT statement (6 parameters each: under SQLite's 999).
_ROWS_PER_INSERT = 150
#: Ids per DELETE / load.
_CHUNK = 900
#: Records above which a refresh shows a progress bar (on a terminal).
PROGRESS_FROM = 2000


def _state(value):
    if value is None:
        return NONE, None
    if math.isnan(value):
        return NAN, None
    return NUMBER, value


def _connection(store):
    from django.db import connections

    from ..storesetup import ensure_metric_table
    conn = connections[store.db_alias]
    ensure_metric_table(conn)
    return conn


def _record_table(store):
    meta = store.models.Record._meta
    return meta.db_table, meta.pk.column


def _source_sql(store, metric):
    """SQL, over the record ``r``, of what ``metric``'s value is computed from
    (kept in the table's ``source`` column): the outcome (its first
    :data:`MAX_OUTCOME` characters); for an output-file metric, the record's
    output keys as Sumatra records them (count, sum and largest id of its
    ``DataKey`` rows: a new or changed file is a new key row)."""
    if metric.kind == "outcome":
        return f"substr(COALESCE(r.outcome, ''), 1, {MAX_OUTCOME})"
    meta = store.models.DataKey._meta
    key_id, owner = meta.pk.column, meta.get_field("output_from_record").column
    _, pk = _record_table(store)
    text = "CAST({} AS VARCHAR(24))"
    return (f"(SELECT {text.format('COUNT(*)')} || ':' || "
            f"{text.format(f'COALESCE(SUM(k.{key_id}), 0)')} || ':' || "
            f"{text.format(f'COALESCE(MAX(k.{key_id}), 0)')} "
            f"FROM {meta.db_table} k WHERE k.{owner} = r.{pk})")


def stale(store, project_name, metric, everything=False):
    """``[(db_id, label, outcome, stored, source)]`` of the records of
    ``project_name`` whose value of ``metric`` is missing or out of date (all
    with ``everything``), decided in SQL: no row, another definition, or
    another source (:func:`_source_sql`: an edited outcome, new output
    keys). ``stored``: whether a row of the table holds it; ``source``: the
    fingerprint to keep with the new value."""
    conn = _connection(store)
    table, pk = _record_table(store)
    cond = ("1 = 1" if everything else
            "s.stored IS NULL OR s.defn <> %s OR s.source IS NULL OR s.source <> s.fp")
    sql = (f"SELECT s.db_id, s.label, s.outcome, s.stored, s.fp FROM (SELECT r.{pk} AS db_id, "
           f"r.label AS label, r.outcome AS outcome, m.record_id AS stored, m.defn AS defn, "
           f"m.source AS source, {_source_sql(store, metric)} AS fp FROM {table} r "
           f"LEFT JOIN {TABLE} m ON m.record_id = r.{pk} AND m.name = %s "
           f"WHERE r.project_id = %s) s WHERE {cond}")
    params = [metric.name, project_name] + ([] if everything else [metric.digest])
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def refresh(store, project_name, metrics, everything=False, progress=None, auto=False):
    """Compute the missing or stale values of each of ``metrics`` (Metric
    objects) for the records of ``project_name``; returns ``{name: number of
    records computed}``. ``progress``: a tqdm bar on stderr (None: on a
    terminal, for more than :data:`PROGRESS_FROM` records).

    What is stale is decided in SQL (:func:`stale`): new records, a changed
    definition, an outcome edited in place (``smt comment``), new output
    keys. With ``auto`` (before a query) on a store that tells cheaply that
    nothing was written since the last refresh of these metrics
    (:func:`write_mark`: SQLite), not even that query runs. Values of deleted
    records stay until :func:`forget` (they join no record)."""
    from django.db import IntegrityError
    mark = None if everything else write_mark(store)
    if auto and mark is not None and _seen(store, project_name, metrics, mark):
        return {metric.name: 0 for metric in metrics}
    done, expect = {}, mark
    for metric in metrics:
        try:
            done[metric.name] = _refresh_one(store, project_name, metric, everything, progress)
        except IntegrityError:    # another process wrote the same rows meanwhile
            done[metric.name] = _refresh_one(store, project_name, metric, everything, progress)
            expect = None
        if done[metric.name] and expect is not None:   # our commit, and no other's?
            now = write_mark(store)
            expect = now if now == expect + 1 else None
    if expect is not None:
        _remember(store, project_name, metrics, expect)
    return done


def write_mark(store):
    """A number every commit to the store changes, read in O(1), or None
    where the database has none (then every check compares every record):
    the dialect's ``write_mark`` (SQLite: its file change counter)."""
    from ..where.dialect import dialect_for
    conn = _connection(store)
    dialect = dialect_for(conn.vendor)
    return None if dialect is None else dialect.write_mark(conn)


def _names(metrics):
    return {f"{m.name}:{m.digest}" for m in metrics}


def _seen(store, project_name, metrics, mark):
    """Whether ``metrics`` were refreshed when the store's write mark was ``mark``."""
    with _connection(store).cursor() as cur:
        cur.execute(f"SELECT mark, names FROM {MARKS} WHERE project = %s", [project_name])
        row = cur.fetchone()
    return row is not None and row[0] == mark and _names(metrics) <= set(row[1].split(","))


def _remember(store, project_name, metrics, mark):
    """Note that ``metrics`` are current at write mark ``mark`` (the one this
    note's own commit makes ``mark + 1``; checked after it)."""
    from django.db import transaction
    conn = _connection(store)
    with transaction.atomic(using=store.db_alias), conn.cursor() as cur:
        cur.execute(f"SELECT mark, names FROM {MARKS} WHERE project = %s", [project_name])
        row = cur.fetchone()
        names = _names(metrics) | (set(row[1].split(",")) if row and row[0] == mark else set())
        cur.execute(f"DELETE FROM {MARKS} WHERE project = %s", [project_name])
        cur.execute(f"INSERT INTO {MARKS} (project, mark, names) VALUES (%s, %s, %s)",
                    [project_name, mark + 1, ",".join(sorted(names))])
    if write_mark(store) != mark + 1:    # another write came between: check all next time
        with conn.cursor() as cur:
            cur.execute(f"DELETE FROM {MARKS} WHERE project = %s", [project_name])


def _refresh_one(store, project_name, metric, everything, progress):
    from django.db import transaction
    rows = stale(store, project_name, metric, everything)
    if not rows:
        return 0
    bar = _bar(len(rows), metric.name, progress)
    warned = set()
    out = []
    stored = [r[0] for r in rows if r[3] is not None]
    if metric.kind == "outcome":
        for db_id, _label, outcome, _, source in rows:
            value = value_of(metric, _Outcome(outcome or ""))
            out.append((db_id, *_state(value), source))
            if bar is not None and len(out) % 1000 == 0:
                bar.update(1000)
    else:
        qs = store.models.Record.objects.using(store.db_alias)
        sources = {r[0]: r[4] for r in rows}
        for start in range(0, len(rows), _CHUNK):
            chunk = [r[0] for r in rows[start:start + _CHUNK]]
            for record, db_id in _load_with_ids(store, qs, chunk):
                out.append((db_id, *_state(value_of(metric, record, warned)), sources[db_id]))
            if bar is not None:
                bar.update(len(chunk))
    if bar is not None:
        bar.close()
    conn = _connection(store)
    with transaction.atomic(using=store.db_alias), _plain_cursor(conn) as cur:
        for start in range(0, len(stored), _CHUNK):
            part = stored[start:start + _CHUNK]
            cur.execute(f"DELETE FROM {TABLE} WHERE name = %s AND record_id IN "
                        f"({', '.join(['%s'] * len(part))})", [metric.name, *part])
        for start in range(0, len(out), _ROWS_PER_INSERT):
            part = out[start:start + _ROWS_PER_INSERT]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(part))
            name, digest = metric.name, metric.digest
            params = [p for db_id, state, value, source in part
                      for p in (db_id, name, state, value, digest, source)]
            cur.execute(f"INSERT INTO {TABLE} (record_id, name, state, value, defn, source) "
                        f"VALUES {values}", params)
    return len(out)


def _plain_cursor(conn):
    """A cursor of ``conn`` that does not log each statement (Sumatra's
    settings run Django with ``DEBUG`` on, which keeps every query's text)."""
    conn.ensure_connection()
    return conn.make_cursor(conn.create_cursor())


class _Outcome:
    """What an outcome metric reads of a record."""

    __slots__ = ("outcome",)

    def __init__(self, outcome):
        self.outcome = outcome


def _load_with_ids(store, qs, ids):
    """``(record, db_id)`` for the records ``ids`` (full records, loaded in bulk)."""
    by_label = dict(qs.filter(db_id__in=ids).values_list("label", "db_id"))
    return [(rec, by_label[rec.label]) for rec in store.load(qs.filter(db_id__in=ids))]


def _bar(total, name, progress):
    show = progress if progress is not None else (sys.stderr.isatty() and total > PROGRESS_FROM)
    if not show:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="record", desc=f"metric {name}", file=sys.stderr, leave=False)


def forget(store, project_name, names=()):
    """Delete the stored values of records that no longer exist, and those of
    metrics ``names`` for the records of ``project_name``; returns the number
    of rows deleted."""
    conn = _connection(store)
    table, pk = _record_table(store)
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {TABLE} WHERE record_id NOT IN (SELECT {pk} FROM {table})")
        n = cur.rowcount
        for name in names:
            cur.execute(f"DELETE FROM {TABLE} WHERE name = %s AND record_id IN "
                        f"(SELECT {pk} FROM {table} WHERE project_id = %s)", [name, project_name])
            n += cur.rowcount
        cur.execute(f"DELETE FROM {MARKS} WHERE project = %s", [project_name])
    return n


def read_values(store, project_name, names, labels=None):
    """``{label: {name: value}}`` of the stored values (NaN as float NaN;
    records without a value are left out), of ``labels`` only if given."""
    conn = _connection(store)
    table, pk = _record_table(store)
    out = {}
    marks = ", ".join(["%s"] * len(names))
    sql = (f"SELECT r.label, m.name, m.state, m.value FROM {TABLE} m JOIN {table} r "
           f"ON r.{pk} = m.record_id WHERE r.project_id = %s AND m.name IN ({marks}) "
           f"AND m.state <> {NONE}")
    chunks = [None] if labels is None else [labels[i:i + _CHUNK]
                                            for i in range(0, len(labels), _CHUNK)]
    with conn.cursor() as cur:
        for chunk in chunks:
            extra, params = "", [project_name, *names]
            if chunk is not None:
                extra = f" AND r.label IN ({', '.join(['%s'] * len(chunk))})"
                params += chunk
            cur.execute(sql + extra, params)
            for label, name, state, value in cur.fetchall():
                out.setdefault(label, {})[name] = math.nan if state == NAN else float(value)
    return out
