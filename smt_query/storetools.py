"""Maintenance of a project's Django record store: switching its class
(:func:`use_query_store`), smt-query's optional indexes, and checking the tag
rows against the tags column (part of :mod:`smt_query.recordstore`, where these
names are importable too)."""

from .asyncguard import sync_entry
from .fields import TAG_MAX, split_tags
from .project import QUERY_STORE, SUMATRA_STORE  # noqa: F401 (importable from here)
from .project import django_store_type as _django_store_type
from .project import read_project_file, store_entry, write_project_file
from .storesetup import require_store


def use_query_store(enable=True, path=None):
    """Switch the project at ``path`` (default: cwd) to or from this store.

    Only the class name in ``.smt/project`` changes; the records stay where
    they are, so switching back and forth is safe. Returns the previous class.
    """
    state = read_project_file(path)
    store = state["record_store"]
    current = _django_store_type(store, "can be switched")
    store["type"] = QUERY_STORE if enable else SUMATRA_STORE
    write_project_file(state, path)
    return current


def project_store(path=None):
    """The :class:`QueryDjangoRecordStore` over the record store of the project at
    ``path`` (default: cwd), read from ``.smt/project`` without loading the project."""
    store = store_entry(path)
    _django_store_type(store, "has SQL indexes")
    require_store(store["db_file"])
    from .recordstore import QueryDjangoRecordStore
    return QueryDjangoRecordStore(store["db_file"])


# -- optional indexes on Sumatra's tables ---------------------------------------------

#: An index column: the record's timestamp where readable, else NULL
#: (:func:`smt_query.where.qfields.timestamp_key`, the expression date
#: conditions and the newest-first order use), unreadable first: read
#: backwards, it gives the newest-first order, unreadable last.
TIMESTAMP_KEY = "timestamp key"

#: Indexes smt-query can add to Sumatra's tables: name -> (table, columns).
#: Sumatra indexes only foreign keys, so every date range, "newest first"
#: ordering and exact label lookup reads all the project's rows; with these,
#: they read only the rows they return. Created and dropped only by these
#: names: Sumatra's own tables and indexes are otherwise left alone.
INDEXES = {
    # dates (after/before/on), newest first (latest, head, tables)
    "smtq_record_project_time": ("django_store_record", ("project_id", TIMESTAMP_KEY, "label")),
    # exact labels (view.get, smt compare A B, Sumatra's own get/save by label); the
    # trailing key lets SQLite use it under our ORDER BY without statistics
    "smtq_record_project_label_time": ("django_store_record",
                                       ("project_id", "label", TIMESTAMP_KEY)),
}
#: Names of earlier versions' indexes (on the raw timestamp column, which
#: date conditions no longer read): dropped by :func:`add_indexes` and
#: :func:`remove_indexes`.
OLD_INDEXES = ("smtq_record_project_timestamp", "smtq_record_project_label")


def _as_query_store(store):
    from .errors import QueryError
    from .recordstore import QueryDjangoRecordStore
    store = (QueryDjangoRecordStore(store) if isinstance(store, str)
             else QueryDjangoRecordStore.from_store(store))
    if store.dialect is None:
        raise QueryError(f"indexes: only SQLite and PostgreSQL stores are supported, "
                         f"not {store.vendor}")
    return store


@sync_entry
def index_status(store):
    """``{name: True if present}`` for each index of :data:`INDEXES` on ``store``
    (a record store, or its URI / SQLite path)."""
    from django.db import connections
    store = _as_query_store(store)
    conn = connections[store.db_alias]
    present = set()
    with conn.cursor() as cur:
        for table in sorted({table for table, _ in INDEXES.values()}):
            present.update(conn.introspection.get_constraints(cur, table))
    return {name: name in present for name in INDEXES}


@sync_entry
def add_indexes(store):
    """Create the missing :data:`INDEXES` on ``store`` (idempotent, one transaction);
    return the names created."""
    return _change_indexes(store, add=True)


@sync_entry
def remove_indexes(store):
    """Drop the :data:`INDEXES` present on ``store`` (idempotent, one transaction);
    return the names dropped. Nothing else is touched."""
    return _change_indexes(store, add=False)


def _change_indexes(store, add):
    from django.db import connections, transaction
    store = _as_query_store(store)
    conn = connections[store.db_alias]
    status = index_status(store)
    todo = [name for name, present in status.items() if present != add]
    with transaction.atomic(using=store.db_alias), conn.cursor() as cur:
        for name in OLD_INDEXES:
            cur.execute("DROP INDEX IF EXISTS %s" % conn.ops.quote_name(name))
        for name in todo:
            cur.execute(index_sql(store, name, *INDEXES[name]) if add
                        else "DROP INDEX IF EXISTS %s" % conn.ops.quote_name(name))
    return todo


def index_sql(store, name, table, columns):
    """``CREATE INDEX IF NOT EXISTS`` of index ``name`` on ``table`` over
    ``columns`` (names, or :data:`TIMESTAMP_KEY`) in ``store``'s database:
    the key is compiled from the very expression queries use, so the
    database's planner recognizes it."""
    from django.db import connections
    conn = connections[store.db_alias]
    qn = conn.ops.quote_name
    return "CREATE INDEX IF NOT EXISTS %s ON %s (%s)" % (qn(name), qn(table), ", ".join(
        _timestamp_key_sql(store, conn, table) if c == TIMESTAMP_KEY else qn(c)
        for c in columns))


def _timestamp_key_sql(store, conn, table):
    from django.db.models.sql import Query
    from .where.qfields import timestamp_key
    query = Query(store.read_models.Record)
    compiler = query.get_compiler(connection=conn)
    sql, params = compiler.compile(timestamp_key().resolve_expression(query))
    assert not params, params
    sql = sql.replace(conn.ops.quote_name(table) + ".", "")   # columns of the indexed table
    return "(%s)%s" % (sql, store.dialect.index_nulls_first)   # read backwards: newest first


# -- the tags column and the tag rows ------------------------------------------------

class TagRowReport:
    """What :func:`check_tag_rows` found (and repaired) in one store.

    ``drifted``: ``[(label, column tags, row tags)]`` of the records whose
    Tag/TaggedItem rows differ from their ``tags`` column; ``missing`` /
    ``extra``: how many rows the column has and the rows lack / the reverse;
    ``orphans``: rows of records that do not exist; ``unwritable``:
    ``[(label, tag)]`` of tags too long for a Tag row (left out of rows).
    """

    def __init__(self, records, drifted, missing, extra, orphans, unwritable, repaired):
        self.records, self.drifted, self.missing, self.extra = records, drifted, missing, extra
        self.orphans, self.unwritable, self.repaired = orphans, unwritable, repaired

    @property
    def ok(self):
        """Whether the rows agree with the column (after the repair, if one ran)."""
        return self.repaired or not (self.drifted or self.orphans)

    def lines(self, examples=5):
        """The report as lines of text, with up to ``examples`` records named."""
        n = f"{self.records:,} record{'s' * (self.records != 1)}"
        drifted, out = len(self.drifted), []
        if not (self.drifted or self.orphans):
            out.append(f"The tag rows agree with the tags column ({n} checked).")
        if drifted and self.repaired:
            out.append(f"Repaired the tag rows of {drifted:,} of {n} "
                       f"({self.missing:,} added, {self.extra:,} deleted).")
        elif drifted:
            out.append(f"The tag rows of {drifted:,} of {n} differ from their tags column "
                       f"({self.missing:,} missing, {self.extra:,} extra).")
        if self.orphans:
            out.append(f"{'Deleted' if self.repaired else 'There are'} {self.orphans:,} tag "
                       "row(s) of records that no longer exist.")
        for label, column, rows in self.drifted[:examples]:
            out.append(f"  {label}: column {', '.join(sorted(column)) or '(no tags)'}; "
                       f"rows {', '.join(sorted(rows)) or '(none)'}")
        if len(self.drifted) > examples:
            out.append(f"  ... and {len(self.drifted) - examples:,} more")
        if self.drifted or self.orphans:
            out.append("The tag rows now agree with the tags column." if self.repaired else
                       "Run 'smt querystore check --repair' to rewrite the tag rows from "
                       "the tags column (records are not changed).")
        for label, tag in self.unwritable[:examples]:
            out.append(f"Note: {label}: tag {tag[:20] + '...'!r} is longer than {TAG_MAX} "
                       "characters, so it has no tag row.")
        return out


@sync_entry
def check_tag_rows(store, repair=False):
    """Compare every record's ``tags`` column with its Tag/TaggedItem rows in
    ``store`` (a record store, or its URI / SQLite path); with ``repair``,
    rewrite the rows from the column (the records are not changed) and
    delete rows of records that no longer exist. Returns a :class:`TagRowReport`.

    Sumatra writes both on every save, but the rows always into Django's
    *default* database: a store written through another alias (``smt sync A
    B``, several stores in one process) has missing or stale rows. smt-query
    reads only the column; Sumatra's ``smtweb`` and ``Record.to_sumatra()``
    read the rows.
    """
    from django.db import transaction
    store = _as_query_store(store)
    models, alias, ctype = store.models, store.db_alias, store.record_ctype_id
    Record = models.Record.objects.using(alias)
    Item = models.TaggedItem.objects.using(alias).filter(content_type_id=ctype)
    with transaction.atomic(using=alias):
        if repair:
            store._begin_write()
        columns, labels = {}, {}
        for db_id, label, column in Record.values_list("db_id", "label", "tags").iterator(10000):
            columns[db_id], labels[db_id] = split_tags(column), label
        rows, orphans = {}, 0
        for object_id, name in Item.values_list("object_id", "tag__name").iterator(10000):
            if object_id in columns:
                rows.setdefault(object_id, set()).add(name)
            else:
                orphans += 1
        drifted, unwritable, missing, extra = [], [], 0, 0
        for db_id, tags in sorted(columns.items()):
            have = rows.get(db_id, set())
            lacking = {t for t in tags - have if len(t) <= TAG_MAX}
            unwritable += [(labels[db_id], t) for t in sorted(tags - have - lacking)]
            if lacking or have - tags:
                drifted.append(db_id)
                missing += len(lacking)
                extra += len(have - tags)
        if repair and (drifted or orphans):
            store._sync_tag_rows(store._lock_columns(drifted))
            Item.exclude(object_id__in=Record.values("db_id")).delete()
    return TagRowReport(len(columns), [(labels[i], columns[i], rows.get(i, set())) for i in drifted],
                        missing, extra, orphans, unwritable, repair and bool(drifted or orphans))
