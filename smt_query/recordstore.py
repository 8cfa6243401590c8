"""A drop-in Sumatra record store that answers queries in SQL.

:class:`QueryDjangoRecordStore` subclasses Sumatra's ``DjangoRecordStore``: a
project can name it in ``.smt/project`` (see :func:`use_query_store`) and every
``smt`` command keeps working, with ``smt list TAG`` matching tags exactly. It

* opens any number of stores in one process, also after Django is configured
  (Sumatra refuses that), with ``DEBUG`` off;
* compiles filters (:mod:`smt_query.filters`) into one queryset;
* loads full :class:`sumatra.records.Record` objects in bulk, with a constant
  number of queries and without ``eval()`` of stored text;
* reads only the columns a table needs (:meth:`values`);
* adds and removes tags atomically on a whole queryset.
"""
import json
import os

from sumatra.recordstore.django_store import DjangoRecordStore, db_config

from .fields import ROW_FIELDS

db_config.update_settings(DEBUG=False)


def _register_database(uri):
    """Return the Django alias for ``uri``, adding it even after configure."""
    db = db_config.uri_to_db(uri)
    if db_config.contains_database(db) or not db_config.configured:
        return db_config.add_database(uri)
    from django.core import management
    from django.db import connections
    alias = "database%d" % db_config._n_databases
    db_config._n_databases += 1
    db_config._settings["DATABASES"][alias] = dict(db)
    connections.settings[alias] = connections.configure_settings({"default": db})["default"]
    if "sqlite" in db["ENGINE"]:
        os.makedirs(os.path.dirname(db["NAME"]), exist_ok=True)
    management.call_command("migrate", run_syncdb=True, database=alias,
                            verbosity=0, interactive=False)
    return alias


def configure_django():
    """Configure Django for Sumatra's models (once per process), DEBUG off.

    Unlike Sumatra's ``db_config.configure()``, Django counts as configured
    before the stores are migrated, so a broken store cannot leave it half
    set up (which would make every later store unusable).
    """
    from django.conf import settings
    if not db_config.configured:
        if not settings.configured:
            import django
            settings.configure(**db_config._settings)
            django.setup(set_prefix=False)   # no django.urls (0.1 s): URLs are per request
        db_config.configured = True
        from django.db.backends.signals import connection_created
        connection_created.connect(_no_jit, dispatch_uid="smt_query.no_jit")
        db_config._create_databases()
    settings.DEBUG = False


def _no_jit(sender, connection, **kwargs):
    """Turn PostgreSQL's JIT compilation off: on ``where`` queries over many
    parameter sets it costs seconds (once per parallel worker) and saves little."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")


class QueryDjangoRecordStore(DjangoRecordStore):
    """Sumatra's Django record store, with SQL filtering and bulk loading."""

    def __init__(self, db_file=".smt/records"):
        db_file = os.path.expanduser(db_file)
        self._db_file = db_file
        self._db_label = _register_database(db_file)
        self._record_ctype = None
        #: Whether ``where`` conditions on parameters run in SQL: False once the
        #: database refused a stored parameter set (``where.unreadable_params``).
        self.params_in_sql = True

    def __setstate__(self, state):
        self.__init__(state["db_file"])

    def __str__(self):
        return "QueryDjango (%s)" % self._db_file

    @classmethod
    def from_store(cls, store):
        """The query store over the same database as a ``DjangoRecordStore``."""
        if isinstance(store, cls):
            return store
        return cls(store._db_file)

    # -- Django plumbing ---------------------------------------------------
    def _get_models(self):
        configure_django()
        from sumatra.recordstore.django_store import models
        return models

    @property
    def models(self):
        """The module of Sumatra's Django models (configures Django)."""
        return self._get_models()

    @property
    def db_alias(self):
        """The Django database alias of this store."""
        self._get_models()
        return self._db_label

    @property
    def vendor(self):
        """``"sqlite"`` or ``"postgresql"`` (or another Django vendor name)."""
        from django.db import connections
        return connections[self.db_alias].vendor

    @property
    def record_ctype_id(self):
        """Content-type id under which tags point at records."""
        if self._record_ctype is None:
            from django.contrib.contenttypes.models import ContentType
            models = self.models
            self._record_ctype = ContentType.objects.db_manager(
                self.db_alias).get_for_model(models.Record).pk
        return self._record_ctype

    # -- querying ----------------------------------------------------------
    def queryset(self, project_name):
        """All records of ``project_name``, newest first (ties: label, descending)."""
        return (self.models.Record.objects.using(self.db_alias)
                .filter(project__id=project_name).order_by("-timestamp", "-label"))

    def context(self):
        """The :class:`SQLContext` filters compile against."""
        return SQLContext(self)

    def values(self, qs, fields=ROW_FIELDS, tags=True):
        """Rows of ``qs`` as dicts of plain column values (one or two queries).

        With ``tags``, each row gets ``"tags"``: the sorted list of its tags.
        Unknown field names raise :class:`~smt_query.errors.QueryError`.
        """
        from .errors import QueryError
        bad = [f for f in fields if f not in ROW_FIELDS and f not in EXTRA_FIELDS]
        if bad:
            raise QueryError(f"unknown field {bad[0]!r}; known fields: "
                             + ", ".join(ROW_FIELDS + tuple(EXTRA_FIELDS) + ("tags",)))
        columns = ["db_id"] + [EXTRA_FIELDS.get(f, f) for f in fields]
        rows = []
        for values in qs.values_list(*columns):
            row = dict(zip(fields, values[1:]))
            row["db_id"] = values[0]
            rows.append(row)
        if tags:
            by_id = self.tags_of(self._id_source(qs, [row["db_id"] for row in rows]))
            for row in rows:
                row["tags"] = sorted(by_id.get(row["db_id"], ()))
        return rows

    def tags_of(self, records):
        """``{db_id: set of tag names}`` for ``records``, a queryset or a
        subquery of record ids (one query)."""
        ids = _ids(records) if hasattr(records, "query") else records
        items = self.models.TaggedItem.objects.using(self.db_alias).filter(
            content_type_id=self.record_ctype_id, object_id__in=ids)
        out = {}
        for object_id, name in items.values_list("object_id", "tag__name"):
            out.setdefault(object_id, set()).add(name)
        return out

    def _id_source(self, qs, ids):
        """The records of ``qs`` for a further query: its subquery, or if its
        condition reads parameters (costly to evaluate twice) the ``ids`` read."""
        from .where import reads_params
        return _id_set(self.vendor, ids) if reads_params(qs) else _ids(qs)

    def load(self, qs):
        """Full Sumatra ``Record`` objects for ``qs``, in its order.

        A constant number of queries whatever the number of records; the
        objects equal what ``Record.to_sumatra()`` builds, field by field,
        but nothing read from the database is passed to ``eval()``.
        """
        from .loader import Loader
        return Loader(self, qs).records()

    def label_exists(self, project_name, labels):
        """The subset of ``labels`` that exist in the project."""
        return set(self.queryset(project_name).filter(label__in=list(labels))
                   .values_list("label", flat=True))

    # -- tagging -----------------------------------------------------------
    def add_tag(self, records, tag):
        """Add ``tag`` to ``records`` (a queryset or a list of ids) atomically.

        Returns the number of records that changed.
        """
        return self._retag(records, tag, add=True)

    def remove_tag(self, records, tag):
        """Remove ``tag`` from ``records`` (a queryset or ids) atomically; return the count changed."""
        return self._retag(records, tag, add=False)

    def _retag(self, records, tag, add):
        """Add or remove ``tag`` on ``records`` in one transaction.

        Safe with other processes tagging the same store: the records are
        locked first (``_lock_records``), so two changes of the same records
        run one after the other, each seeing the other's result -- no
        duplicate tag rows, no lost update of the ``Record.tags`` column, and
        locks are always taken in the same order (no deadlock).
        """
        from django.db import transaction
        from .errors import QueryError
        if not isinstance(tag, str) or not tag.strip() or "," in tag:
            raise QueryError(f"bad tag {tag!r}: a tag is a non-empty string without commas")
        models, alias = self.models, self.db_alias
        items = models.TaggedItem.objects.using(alias).filter(
            content_type_id=self.record_ctype_id, tag__name=tag)
        changed = []
        with transaction.atomic(using=alias):
            self._begin_write()
            ids = (list(records) if isinstance(records, (list, tuple))
                   else list(_ids(records).values_list("db_id", flat=True)))
            ids = self._lock_records(ids)
            if add and ids:
                tag_obj, _ = models.Tag.objects.using(alias).get_or_create(name=tag)
            for chunk in _chunks(ids):
                present = items.filter(object_id__in=chunk)
                have = set(present.values_list("object_id", flat=True))
                if add:
                    new = [i for i in chunk if i not in have]
                    self._insert_tagged(tag_obj.id, new)
                    changed += new
                else:
                    present.delete()
                    changed += sorted(have)
            self._sync_tag_column(changed)
        return len(changed)

    def _insert_tagged(self, tag_id, ids):
        """Tag the records ``ids`` with the tag row ``tag_id`` (one statement)."""
        if not ids:
            return
        conn, table = self._table(self.models.TaggedItem)
        id_set = _id_set(self.vendor, ids)
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO {table} (tag_id, content_type_id, object_id) "
                        f"SELECT %s, %s, ids.* FROM ({id_set.sql}) AS ids",
                        (tag_id, self.record_ctype_id, *id_set.params))

    def _table(self, model):
        """The store's connection and ``model``'s quoted table name, for raw SQL."""
        from django.db import connections
        conn = connections[self.db_alias]
        return conn, conn.ops.quote_name(model._meta.db_table)

    def _begin_write(self):
        """On SQLite, take the database's write lock now, before reading.

        A deferred SQLite transaction that reads and then writes fails at
        once with "database is locked" when another process got the write
        lock in between (SQLite cannot wait there without risking a deadlock).
        Writing first makes it wait its turn (the busy timeout) instead.
        """
        if self.vendor == "sqlite":
            from django.db import connections
            with connections[self.db_alias].cursor() as cur:
                cur.execute("UPDATE django_store_tag SET name = name WHERE 0 = 1")

    def _lock_records(self, ids):
        """Lock the rows of ``ids`` until the end of the transaction; return the
        ids that still exist, sorted.

        Every writer locks in ascending ``db_id`` order, so concurrent
        retags of overlapping record sets wait for each other instead of
        deadlocking. (SQLite: the database write lock already serialises.)
        """
        ids = sorted(set(ids))
        if self.vendor == "sqlite" or not ids:
            return ids
        Record = self.models.Record.objects.using(self.db_alias)
        locked = []
        for chunk in _chunks(ids):
            locked += Record.select_for_update().filter(db_id__in=chunk).order_by(
                "db_id").values_list("db_id", flat=True)
        return locked

    def _sync_tag_column(self, ids):
        """Rewrite Sumatra's denormalised ``Record.tags`` column for ``ids``
        (sorted names joined by commas), one statement per chunk."""
        conn, table = self._table(self.models.Record)
        with conn.cursor() as cur:
            for chunk in _chunks(ids):
                tags = self.tags_of(chunk)
                values = [",".join(sorted(tags.get(i, ()))) for i in chunk]
                if self.vendor == "postgresql":
                    cur.execute(f"UPDATE {table} SET tags = v.tags FROM unnest("
                                "CAST(%s AS integer[]), CAST(%s AS text[])) AS v(id, tags) "
                                "WHERE db_id = v.id", (list(chunk), values))
                else:    # SQLite runs in-process: a prepared statement per row is cheap
                    cur.executemany(f"UPDATE {table} SET tags = %s WHERE db_id = %s",
                                    list(zip(values, chunk)))

    # -- Sumatra's RecordStore interface, with exact tags ------------------
    def list(self, project_name, tags=None, *args, **kwargs):
        qs = self.queryset(project_name).filter(*args, **kwargs)
        return self.load(self._exact_tags(qs, tags))

    def labels(self, project_name, tags=None, *args, **kwargs):
        qs = self.queryset(project_name).filter(*args, **kwargs)
        return list(self._exact_tags(qs, tags).values_list("label", flat=True))

    def get(self, project_name, label):
        records = self.load(self.queryset(project_name).filter(label=label))
        if not records:
            raise KeyError(label)
        return records[0]

    def delete_by_tag(self, project_name, tag):
        qs = self._exact_tags(self.queryset(project_name), tag)
        n = qs.count()
        for db_record in qs:
            db_record.delete()
        return n

    def _exact_tags(self, qs, tags):
        if not tags:
            return qs
        from .filters import AllTags
        return qs.filter(AllTags(*([tags] if isinstance(tags, str) else tags)).to_q(self.context()))


#: Extra ``values()`` fields: name -> Django lookup.
EXTRA_FIELDS = {"parameters_type": "parameters__type",
                "parameters_content": "parameters__content",
                "parameters_id": "parameters_id"}


class SQLContext:
    """What filters need to compile to SQL for one store."""

    def __init__(self, store):
        self.store = store
        self.models = store.models
        self.alias = store.db_alias
        self.vendor = store.vendor
        self.record_ctype_id = store.record_ctype_id
        self._tag_names = None

    def tag_names(self):
        """All tag names in the store (cached)."""
        if self._tag_names is None:
            self._tag_names = list(self.models.Tag.objects.using(self.alias)
                                   .values_list("name", flat=True))
        return self._tag_names


def _ids(qs):
    """``qs`` as a subquery of record ids (unordered, unless a slice needs the order)."""
    return qs.values("db_id") if qs.query.is_sliced else qs.order_by().values("db_id")


def _id_set(vendor, ids):
    """A subquery yielding the integers ``ids``, passed as one parameter
    (no limit on how many)."""
    from django.db.models.expressions import RawSQL
    if vendor == "postgresql":   # array text: parsed far faster than ARRAY[...] of 100k items
        return RawSQL("SELECT unnest(CAST(%s AS integer[]))",
                      ("{%s}" % ",".join(map(str, ids)),))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(list(ids)),))


def _chunks(ids, size=5000):
    """Slices of ``ids`` small enough for one SQL ``IN`` list on any backend."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


SUMATRA_STORE = "sumatra.recordstore.django_store.DjangoRecordStore"
QUERY_STORE = "smt_query.recordstore.QueryDjangoRecordStore"


def use_query_store(enable=True, path=None):
    """Switch the project at ``path`` (default: cwd) to or from this store.

    Only the class name in ``.smt/project`` changes; the records stay where
    they are, so switching back and forth is safe. Returns the previous class.
    """
    from .query import project_dir, read_project_file
    project_file = os.path.join(project_dir(path), ".smt", "project")
    state = read_project_file(path)
    store = state["record_store"]
    current = _django_store_type(store, "can be switched")
    store["type"] = QUERY_STORE if enable else SUMATRA_STORE
    tmp = project_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
    os.replace(tmp, project_file)
    return current


def project_store(path=None):
    """The :class:`QueryDjangoRecordStore` over the record store of the project at
    ``path`` (default: cwd), read from ``.smt/project`` without loading the project."""
    from .query import project_store_entry
    store = project_store_entry(path)
    _django_store_type(store, "has SQL indexes")
    return QueryDjangoRecordStore(store["db_file"])


def _django_store_type(store, able):
    """The class name of the ``record_store`` entry ``store`` if it is a Django
    store; else a :class:`QueryError` saying only such a store ``able``."""
    from .errors import QueryError
    kind = store.get("type") if isinstance(store, dict) else None
    if kind not in (SUMATRA_STORE, QUERY_STORE):
        raise QueryError(f"the project's record store is {kind or store!r}; only a "
                         f"Django record store (SQLite or PostgreSQL) {able}")
    return kind


# -- optional indexes on Sumatra's tables ---------------------------------------------

#: Indexes smt-query can add to Sumatra's tables: name -> (table, columns).
#: Sumatra indexes only foreign keys, so every date range, "newest first"
#: ordering and exact label lookup reads all the project's rows; with these,
#: they read only the rows they return. Created and dropped only by these
#: names: Sumatra's own tables and indexes are otherwise left alone.
INDEXES = {
    # dates (after/before/on), ORDER BY timestamp DESC, label DESC (latest, head, tables)
    "smtq_record_project_timestamp": ("django_store_record", ("project_id", "timestamp", "label")),
    # exact labels (view.get, smt compare A B, Sumatra's own get/save by label); the
    # trailing timestamp lets SQLite use it under our ORDER BY without statistics
    "smtq_record_project_label": ("django_store_record", ("project_id", "label", "timestamp")),
}


def _as_query_store(store):
    from .errors import QueryError
    store = (QueryDjangoRecordStore(store) if isinstance(store, str)
             else QueryDjangoRecordStore.from_store(store))
    if store.vendor not in ("sqlite", "postgresql"):
        raise QueryError(f"indexes: only SQLite and PostgreSQL stores are supported, "
                         f"not {store.vendor}")
    return store


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


def add_indexes(store):
    """Create the missing :data:`INDEXES` on ``store`` (idempotent, one transaction);
    return the names created."""
    return _change_indexes(store, add=True)


def remove_indexes(store):
    """Drop the :data:`INDEXES` present on ``store`` (idempotent, one transaction);
    return the names dropped. Nothing else is touched."""
    return _change_indexes(store, add=False)


def _change_indexes(store, add):
    from django.db import connections, transaction
    store = _as_query_store(store)
    conn = connections[store.db_alias]
    qn = conn.ops.quote_name
    status = index_status(store)
    todo = [name for name, present in status.items() if present != add]
    with transaction.atomic(using=store.db_alias), conn.cursor() as cur:
        for name in todo:
            table, columns = INDEXES[name]
            cur.execute("CREATE INDEX IF NOT EXISTS %s ON %s (%s)" % (
                qn(name), qn(table), ", ".join(map(qn, columns))) if add
                else "DROP INDEX IF EXISTS %s" % qn(name))
    return todo
