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

from sumatra.recordstore.django_store import DjangoRecordStore

from .asyncguard import sync_entry_class
from .errors import QueryError
from .fields import TAG_COLUMN_MAX, TAG_MAX, check_tag, split_tags, tag_column
from .readstore import (EXTRA_FIELDS, MAX_IN, RecordQueries, SQLContext,  # noqa: F401
                        _ids)
from .storesetup import (_BROKEN, _OUR_ALIASES, StoreMissing, _check_ready,  # noqa: F401
                         _db_config, _no_jit, _register_database, _uri_of, _watch,
                         configure_django, require_store)

StoreMissing.__module__ = __name__   # its public home


@sync_entry_class   # Django calls from a Jupyter cell run in a worker thread
class QueryDjangoRecordStore(RecordQueries, DjangoRecordStore):
    """Sumatra's Django record store, with SQL filtering and bulk loading
    (the queries: ``smt_query.readstore.RecordQueries``)."""

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
        self._db_file = db_file
        self._db_label = alias
        self._record_ctype = None
        self.params_in_sql = True
        _watch(alias)

    def __setstate__(self, state):
        self.__init__(state["db_file"])

    def __str__(self):
        from .project import masked_uri
        return "QueryDjango (%s)" % masked_uri(self._db_file)

    def __repr__(self):
        return f"<{type(self).__name__} {self}>"

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
    def read_models(self):
        """The models queries read (``smt_query.readstore.RecordQueries``):
        Sumatra's, as the admin and Sumatra's own commands use them."""
        return self._get_models()

    @property
    def record_ctype_id(self):
        """Content-type id under which tags point at records."""
        if self._record_ctype is None:
            from django.contrib.contenttypes.models import ContentType
            models = self.models
            self._record_ctype = ContentType.objects.db_manager(
                self.db_alias).get_for_model(models.Record).pk
        return self._record_ctype

    # -- full records --------------------------------------------------------
    def load(self, qs):
        """Full Sumatra ``Record`` objects for ``qs``, in its order.

        A constant number of queries whatever the number of records; the
        objects equal what ``Record.to_sumatra()`` builds, field by field,
        but nothing read from the database is passed to ``eval()``.
        """
        from .loader import Loader
        return Loader(self, qs).records()

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


def _chunks(ids, size=5000):
    """Slices of ``ids`` small enough for one SQL ``IN`` list on any backend."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


# Maintenance, importable from here too (defined after the store class they use).
from .storetools import (INDEXES, QUERY_STORE, SUMATRA_STORE, TagRowReport,  # noqa: E402,F401
                         add_indexes, check_tag_rows, index_status, project_store,
                         remove_indexes, use_query_store)
