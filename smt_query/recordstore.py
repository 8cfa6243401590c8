"""A drop-in Sumatra record store that answers queries in SQL.

:class:`QueryDjangoRecordStore` subclasses Sumatra's ``DjangoRecordStore``: a
project can name it in ``.smt/project`` (see :func:`use_query_store`) and every
``smt`` command keeps working, with ``smt list TAG`` matching tags exactly. It

* opens any number of stores in one process, also after Django is configured
  (Sumatra refuses that), and binds to a database your own Django settings
  name (:meth:`QueryDjangoRecordStore.for_alias`);
* changes no setting of Sumatra or Django (``DEBUG`` is off only in our own
  commands: :mod:`smt_query.process`);
* compiles filters (:mod:`smt_query.filters`) into one queryset;
* loads full :class:`sumatra.records.Record` objects in bulk, with a constant
  number of queries and without ``eval()`` of stored text;
* reads only the columns a table needs (:meth:`values`);
* adds and removes tags atomically on a whole queryset;
* decides, for views and the admin alike, what runs in SQL and what falls
  back to Python (:meth:`QueryDjangoRecordStore.fall_back`, :meth:`~QueryDjangoRecordStore.narrow`).

Setting Django up is in :mod:`smt_query.storesetup`, maintenance (switching
the class, indexes, tag rows) in :mod:`smt_query.storetools`; their public
names are importable from here.
"""
import os
from contextlib import nullcontext

from sumatra.recordstore.django_store import DjangoRecordStore

from .asyncguard import sync_entry_class
from .errors import QueryError
from .fields import ROW_FIELDS, TAG_COLUMN_MAX, TAG_MAX, check_tag, split_tags, tag_column
from .storesetup import (_BROKEN, _OUR_ALIASES, StoreMissing, _check_ready,  # noqa: F401
                         _db_config, _no_jit, _register_database, _uri_of, configure_django,
                         require_store)

StoreMissing.__module__ = __name__   # its public home

#: Most values put in one SQL ``IN (...)`` list (SQLite may allow only 32766).
MAX_IN = 30000


@sync_entry_class   # Django calls from a Jupyter cell run in a worker thread
class QueryDjangoRecordStore(DjangoRecordStore):
    """Sumatra's Django record store, with SQL filtering and bulk loading."""

    def __init__(self, db_file=".smt/records"):
        db_file = os.path.expanduser(db_file)
        self._bind(db_file, _register_database(db_file))

    @classmethod
    def for_alias(cls, alias):
        """The store over the database that Django's ``DATABASES`` (your own
        Django project's settings) name ``alias``. Nothing is migrated: the
        tables are Sumatra's, in a store Sumatra made."""
        from django.conf import settings
        if not settings.configured:
            raise QueryError("Django is not configured: for_alias() binds to a database "
                             "your Django settings name")
        from django.db import connections
        if alias not in connections.settings:
            raise QueryError(f"Django has no database {alias!r}; known: "
                             + ", ".join(sorted(connections.settings)))
        store = cls.__new__(cls)
        store._bind(_uri_of(connections.settings[alias]), alias)
        return store

    def _bind(self, db_file, alias):
        """The initialisation every way of making a store runs."""
        from django.db.backends.signals import connection_created
        self._db_file = db_file
        self._db_label = alias
        self._record_ctype = None
        #: Whether ``where`` conditions on parameters run in SQL: False once the
        #: database refused a stored parameter set (``where.unreadable_params``).
        self.params_in_sql = True
        _OUR_ALIASES.add(alias)
        connection_created.connect(_no_jit, dispatch_uid="smt_query.no_jit")

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
        _check_ready(self._db_label)
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
    def dialect(self):
        """The SQL dialect of the store's database (:mod:`smt_query.where.dialect`),
        or None for a database without one (Python decides every condition)."""
        from .where.dialect import dialect_for
        return dialect_for(self.vendor)

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
        """Rows of ``qs`` as dicts of plain column values (one query).

        With ``tags``, each row gets ``"tags"``: the sorted list of its tags,
        read from the record's ``tags`` column (see :meth:`tags_of`).
        Unknown field names raise :class:`~smt_query.errors.QueryError`.
        """
        from .errors import QueryError
        bad = [f for f in fields if f not in ROW_FIELDS and f not in EXTRA_FIELDS]
        if bad:
            raise QueryError(f"unknown field {bad[0]!r}; known fields: "
                             + ", ".join(ROW_FIELDS + tuple(EXTRA_FIELDS) + ("tags",)))
        columns = ["db_id"] + [EXTRA_FIELDS.get(f, f) for f in fields] + ["tags"] * bool(tags)
        rows = []
        for values in qs.values_list(*columns):
            row = dict(zip(fields, values[1:]))
            row["db_id"] = values[0]
            if tags:
                row["tags"] = sorted(split_tags(values[-1]))
            rows.append(row)
        return rows

    def tags_of(self, records):
        """``{db_id: set of tag names}`` for ``records`` (a queryset, a
        subquery of record ids or a list of ids; one query); records without
        tags are left out.

        Tags are read from the record's own ``tags`` column, the truth for
        every store Sumatra writes: its Tag/TaggedItem rows go to Django's
        *default* database only, so they can be missing or stale in a store
        written through another alias (``smt sync A B``).
        """
        ids = _ids(records) if hasattr(records, "query") else records
        out = {}
        for db_id, column in self.models.Record.objects.using(self.db_alias).filter(
                db_id__in=ids).values_list("db_id", "tags"):
            tags = split_tags(column)
            if tags:
                out[db_id] = tags
        return out

    def _id_source(self, qs, ids):
        """The records of ``qs`` for a further query: its subquery, or if its
        condition reads parameters (costly to evaluate twice) the ``ids`` read."""
        from .where import reads_params
        return self.dialect.id_set(ids) if reads_params(qs) else _ids(qs)

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

    # -- running filters: SQL, or Python where the database refuses -------
    def fall_back(self, run, too_large=None, again=None):
        """``run()`` (in a savepoint if a transaction is open, so that it stays
        usable after an error). If the database refuses a stored parameter set
        that a pushed-down condition reads (``where.unreadable_params``),
        parameters are read in Python from then on (``params_in_sql``) and
        ``run()`` runs again, after ``again()``; likewise if it refuses the
        query as too large or too deeply nested (``where.query_too_large``)
        and ``too_large()`` returns True (e.g. having moved every filter to
        Python). Any other error is raised. The one rule of views and the admin."""
        from django.db import DatabaseError, connections, transaction
        from .where import query_too_large, unreadable_params
        while True:
            nested = connections[self.db_alias].in_atomic_block
            try:
                with transaction.atomic(using=self.db_alias) if nested else nullcontext():
                    return run()
            except DatabaseError as exc:
                if too_large is not None and query_too_large(exc) and too_large():
                    pass
                elif self.params_in_sql and unreadable_params(exc):
                    self.params_in_sql = False
                else:
                    raise
            if again is not None:
                again()

    def narrow(self, queryset, fltr, python_labels, ctx=None):
        """``queryset`` narrowed by the library filter ``fltr``: by its SQL form,
        or else by the labels ``python_labels(fltr)`` returns (running it in
        Python, e.g. through a view). A condition on parameters is read once,
        as ids (parsing every stored set once, not for each count and page); a
        stored set the database refuses moves parameters to Python
        (:meth:`fall_back`). More kept labels than ``MAX_IN`` (either way
        round) is a :class:`~smt_query.errors.QueryError`. ``ctx``: the
        :class:`SQLContext` to use."""
        ctx = ctx or self.context()

        def in_sql():
            q = fltr.to_q(ctx)
            if q is None:
                return None
            if getattr(getattr(fltr, "expr", None), "uses_params", False):
                ids = list(queryset.filter(q).order_by().values_list("db_id", flat=True)
                           [:MAX_IN + 1])
                if len(ids) <= MAX_IN:
                    return queryset.filter(db_id__in=ids)
            return queryset.filter(q)
        narrowed = self.fall_back(in_sql)
        if narrowed is not None:
            return narrowed
        kept = set(python_labels(fltr))
        if len(kept) <= MAX_IN:
            return queryset.filter(label__in=kept)
        others = set(queryset.order_by().values_list("label", flat=True)) - kept
        if len(others) <= MAX_IN:
            return queryset.exclude(label__in=others)
        raise QueryError(f"{fltr!r} runs in Python and keeps {len(kept)} records, too many to "
                         "list in SQL; narrow it down with tags or dates first")

    # -- tagging -----------------------------------------------------------
    def add_tag(self, records, tag):
        """Add ``tag`` to ``records`` (a queryset or a list of ids) atomically.

        Returns the number of records that changed. A tag that cannot be
        written (see ``smt_query.fields.check_tag``), or that would make a
        record's tag list longer than Sumatra's ``tags`` column holds (255
        characters), raises :class:`~smt_query.errors.QueryError` before
        anything is written, on every backend alike.
        """
        return self._retag(records, tag, add=True)

    def remove_tag(self, records, tag):
        """Remove ``tag`` from ``records`` (a queryset or ids) atomically; return the count changed."""
        return self._retag(records, tag, add=False)

    def _retag(self, records, tag, add):
        """Add or remove ``tag`` on ``records`` in one transaction.

        The change is computed from the ``tags`` column (the truth), which is
        rewritten for the records that change; the tag's Tag/TaggedItem rows
        are made right for every record given (also where they had drifted).

        Safe with other processes tagging the same store: the records are
        locked first (``_lock_columns``), so two changes of the same records
        run one after the other, each seeing the other's result -- no
        duplicate tag rows, no lost update of the ``Record.tags`` column, and
        locks are always taken in the same order (no deadlock).
        """
        from django.db import transaction
        check_tag(tag, adding=add)
        alias = self.db_alias
        changed = {}
        with transaction.atomic(using=alias):
            self._begin_write()
            ids = (list(records) if isinstance(records, (list, tuple))
                   else list(_ids(records).values_list("db_id", flat=True)))
            columns = self._lock_columns(ids)
            for db_id, column in columns.items():
                tags = split_tags(column)
                if (tag in tags) != add:
                    changed[db_id] = tag_column(tags | {tag} if add else tags - {tag})
            if add:
                self._check_column_lengths(changed, tag)
            self._write_tag_column(changed)
            self._write_tag_rows(tag, sorted(columns), add)
        return len(changed)

    def _check_column_lengths(self, columns, tag):
        """Raise :class:`QueryError` if a new ``tags`` column value is too long."""
        from .errors import QueryError
        long = [db_id for db_id, column in columns.items() if len(column) > TAG_COLUMN_MAX]
        if long:
            label = self.models.Record.objects.using(self.db_alias).get(db_id=long[0]).label
            more = f" (and {len(long) - 1} more records)" if len(long) > 1 else ""
            raise QueryError(
                f"cannot add tag {tag!r} to {label}{more}: its tags would take "
                f"{len(columns[long[0]])} characters, more than the {TAG_COLUMN_MAX} "
                "Sumatra's tags column holds")

    def _write_tag_rows(self, tag, ids, add):
        """Make ``tag``'s TaggedItem rows of the records ``ids`` say whether they
        carry it (``add``): insert the missing rows, or delete them all."""
        models, alias = self.models, self.db_alias
        items = models.TaggedItem.objects.using(alias).filter(
            content_type_id=self.record_ctype_id, tag__name=tag)
        tag_id = None
        for chunk in _chunks(ids):
            if not add:
                items.filter(object_id__in=chunk).delete()
                continue
            have = set(items.filter(object_id__in=chunk).values_list("object_id", flat=True))
            new = [i for i in chunk if i not in have]
            if new and tag_id is None:
                tag_id = models.Tag.objects.using(alias).get_or_create(name=tag)[0].id
            self._insert_tagged(tag_id, new)

    def _insert_tagged(self, tag_id, ids):
        """Tag the records ``ids`` with the tag row ``tag_id`` (one statement)."""
        if not ids:
            return
        conn, table = self._table(self.models.TaggedItem)
        id_set = self.dialect.id_set(ids)
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
        """Take what the database needs to write safely, before reading
        (SQLite: its write lock; see the dialect's ``begin_write``)."""
        from django.db import connections
        with connections[self.db_alias].cursor() as cur:
            self.dialect.begin_write(cur)

    def _lock_columns(self, ids):
        """Lock the rows of ``ids`` until the end of the transaction; return
        ``{db_id: tags column}`` of those that still exist.

        Every writer locks in ascending ``db_id`` order, so concurrent
        retags of overlapping record sets wait for each other instead of
        deadlocking (where the dialect ``locks_rows``; SQLite's write lock
        already serialises).
        """
        ids = sorted(set(ids))
        Record = self.models.Record.objects.using(self.db_alias)
        if self.dialect.locks_rows:
            Record = Record.select_for_update()
        columns = {}
        for chunk in _chunks(ids):
            columns.update(Record.filter(db_id__in=chunk).order_by("db_id")
                           .values_list("db_id", "tags"))
        return columns

    def _write_tag_column(self, columns):
        """Write Sumatra's ``Record.tags`` column: ``columns`` is ``{db_id: value}``
        (one statement per chunk)."""
        conn, table = self._table(self.models.Record)
        with conn.cursor() as cur:
            for chunk in _chunks(sorted(columns.items())):
                self.dialect.write_column(cur, table, conn.ops.quote_name("tags"), chunk)

    def _sync_tag_rows(self, columns):
        """Make the Tag/TaggedItem rows of the records ``{db_id: tags column}``
        agree with the column: delete the rows of tags it lacks, insert the
        missing ones (tags longer than a Tag row holds are left out).
        Returns ``(rows inserted, rows deleted)``."""
        models, alias, ctype = self.models, self.db_alias, self.record_ctype_id
        Item = models.TaggedItem.objects.using(alias)
        inserted = deleted = 0
        for chunk in _chunks(sorted(columns)):
            have, extra = {}, []
            for pk, db_id, name in Item.filter(content_type_id=ctype, object_id__in=chunk) \
                    .values_list("pk", "object_id", "tag__name"):
                if name in split_tags(columns[db_id]):
                    have.setdefault(db_id, set()).add(name)
                else:
                    extra.append(pk)
            deleted += Item.filter(pk__in=extra).delete()[0] if extra else 0
            missing = {}
            for db_id in chunk:
                for name in split_tags(columns[db_id]) - have.get(db_id, set()):
                    if len(name) <= TAG_MAX:
                        missing.setdefault(name, []).append(db_id)
            if missing:
                Tags = models.Tag.objects.using(alias)
                Tags.bulk_create([models.Tag(name=n) for n in missing], ignore_conflicts=True)
                tag_ids = dict(Tags.filter(name__in=list(missing)).values_list("name", "pk"))
                for name, ids in sorted(missing.items()):
                    self._insert_tagged(tag_ids[name], ids)
                    inserted += len(ids)
        return inserted, deleted

    # -- Sumatra's RecordStore interface, tags literal and exact -------------
    # Sumatra's commands (`smt list TAGS`, `smt delete -t TAG`, `smt tag`, ...)
    # pass tags as literal text: no globs, no status words here. Each method
    # Sumatra calls is listed in docs/tags.rst ("Sumatra's own commands").
    def list(self, project_name, tags=None, *args, **kwargs):
        """Sumatra's records of the project carrying every tag of ``tags`` (a
        tag or a list of tags, exactly as written), newest first."""
        qs = self.queryset(project_name).filter(*args, **kwargs)
        return self.load(self._exact_tags(qs, tags))

    def labels(self, project_name, tags=None, *args, **kwargs):
        """Labels of the records :meth:`list` returns (one query)."""
        qs = self.queryset(project_name).filter(*args, **kwargs)
        return list(self._exact_tags(qs, tags).values_list("label", flat=True))

    def get(self, project_name, label):
        records = self.load(self.queryset(project_name).filter(label=label))
        if not records:
            raise KeyError(label)
        return records[0]

    def save(self, project_name, record):
        """Sumatra's save; then this store's tag rows of the record are made to
        agree with its ``tags`` column (Sumatra writes them to Django's
        default database, which may be another store)."""
        from django.db import transaction
        super().save(project_name, record)
        with transaction.atomic(using=self.db_alias):
            self._begin_write()
            ids = self.queryset(project_name).filter(label=record.label).values_list(
                "db_id", flat=True)
            self._sync_tag_rows(self._lock_columns(ids))

    def delete(self, project_name, label):
        """Sumatra's delete, with the record's tag rows (one transaction)."""
        from django.db import transaction
        with transaction.atomic(using=self.db_alias):
            db_record = self._manager.get(label=label, project__id=project_name)
            self._delete_records([db_record.db_id])

    def delete_by_tag(self, project_name, tag):
        """Delete the project's records carrying exactly ``tag`` (one
        transaction); return how many. An empty tag deletes nothing."""
        from django.db import transaction
        with transaction.atomic(using=self.db_alias):
            ids = list(self._exact_tags(self.queryset(project_name), [tag])
                       .values_list("db_id", flat=True))
            self._delete_records(ids)
        return len(ids)

    def _delete_records(self, ids):
        """Delete the records ``ids`` (cascading as Sumatra's ``delete()``) and
        their tag rows."""
        models, alias = self.models, self.db_alias
        for chunk in _chunks(sorted(ids)):
            models.TaggedItem.objects.using(alias).filter(
                content_type_id=self.record_ctype_id, object_id__in=chunk).delete()
            models.Record.objects.using(alias).filter(db_id__in=chunk).delete()

    def _exact_tags(self, qs, tags):
        """``qs`` narrowed to the records carrying every tag of ``tags`` (a tag or
        a list), literally; no tags (None, ``""``, ``[]``): ``qs`` itself."""
        if not tags:
            return qs
        from .where import tags_q
        ctx = self.context()
        for tag in [tags] if isinstance(tags, str) else tags:
            q = tags_q(ctx, [tag])
            if q is not None:
                qs = qs.filter(q)
            else:               # a NUL character: compare in Python
                qs = qs.filter(db_id__in=[i for i, column in qs.values_list("db_id", "tags")
                                          if tag in split_tags(column)])
        return qs


#: Extra ``values()`` fields: name -> Django lookup.
EXTRA_FIELDS = {"parameters_type": "parameters__type",
                "parameters_content": "parameters__content",
                "parameters_id": "parameters_id"}


@sync_entry_class
class SQLContext:
    """What filters need to compile to SQL for one store."""

    def __init__(self, store):
        self.store = store
        self.models = store.models
        self.alias = store.db_alias
        self.vendor = store.vendor
        self.dialect = store.dialect
        self.record_ctype_id = store.record_ctype_id
        self._tag_names = None

    def tag_names(self):
        """All tag names carried by records of the store, from their ``tags``
        column (cached)."""
        if self._tag_names is None:
            names = set()
            for column in (self.models.Record.objects.using(self.alias).order_by()
                           .values_list("tags", flat=True).distinct()):
                names |= split_tags(column)
            self._tag_names = sorted(names)
        return self._tag_names


def _ids(qs):
    """``qs`` as a subquery of record ids (unordered, unless a slice needs the order)."""
    return qs.values("db_id") if qs.query.is_sliced else qs.order_by().values("db_id")


def _chunks(ids, size=5000):
    """Slices of ``ids`` small enough for one SQL ``IN`` list on any backend."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


# Maintenance, importable from here too (defined after the store class they use).
from .storetools import (INDEXES, QUERY_STORE, SUMATRA_STORE, TagRowReport,  # noqa: E402,F401
                         add_indexes, check_tag_rows, index_status, project_store,
                         remove_indexes, use_query_store)
