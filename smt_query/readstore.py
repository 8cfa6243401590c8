"""The read side of a Django record store, without Sumatra.

:class:`RecordQueries` holds what filtering and reading rows need
(querysets, the ``SQLContext`` filters compile against, rows of plain
values, tags, and the rule of what runs in SQL and what falls back to
Python); it works over any model set with Sumatra's model and field names.
:class:`~smt_query.recordstore.QueryDjangoRecordStore` has it over
Sumatra's models; :class:`ReadStore`, the store of a view on the light
read path, over the mirror models (``smt_query.mirror``), and it hands
full records and tagging to the ``QueryDjangoRecordStore`` over the same
database, made when first asked for (:attr:`ReadStore.full`).
"""
import os
from contextlib import nullcontext

from .asyncguard import sync_entry_class
from .errors import QueryError
from .fields import ROW_FIELDS, split_tags

#: Most values put in one SQL ``IN (...)`` list (SQLite may allow only 32766).
MAX_IN = 30000

#: Extra ``values()`` fields: name -> Django lookup.
EXTRA_FIELDS = {"parameters_type": "parameters__type",
                "parameters_content": "parameters__content",
                "parameters_id": "parameters_id"}


class RecordQueries:
    """Queries over ``self.read_models`` in the database ``self.db_alias``."""

    #: Whether ``where`` conditions on parameters run in SQL: False once the
    #: database refused a stored parameter set (``where.unreadable_params``).
    params_in_sql = True

    @property
    def vendor(self):
        """``"sqlite"`` or ``"postgresql"`` (or another Django vendor name)."""
        from django.db import connections
        return connections[self.db_alias].vendor

    @property
    def dialect(self):
        """The SQL dialect of the store's database (``smt_query.where.dialect``),
        or None for a database without one (Python decides every condition)."""
        from .where.dialect import dialect_for
        return dialect_for(self.vendor)

    def queryset(self, project_name):
        """All records of ``project_name``, newest first (ties: label, descending;
        unreadable timestamps last: ``where.qfields.timestamp_order``)."""
        from .where.qfields import timestamp_order
        return (self.read_models.Record.objects.using(self.db_alias)
                .filter(project__id=project_name).order_by(*timestamp_order()))

    def context(self):
        """The :class:`SQLContext` filters compile against."""
        return SQLContext(self)

    def values(self, qs, fields=ROW_FIELDS, tags=True):
        """Rows of ``qs`` as dicts of plain column values (one query).

        With ``tags``, each row gets ``"tags"``: the sorted list of its tags,
        read from the record's ``tags`` column (see :meth:`tags_of`).
        Unknown field names raise :class:`~smt_query.errors.QueryError`.
        """
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
        for db_id, column in self.read_models.Record.objects.using(self.db_alias).filter(
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


@sync_entry_class   # Django calls from a Jupyter cell run in a worker thread
class ReadStore(RecordQueries):
    """The record store of a view on the light read path: queries over the
    mirror models; full records and tagging go to :attr:`full`."""

    def __init__(self, db_file):
        from .storesetup import register_light
        self._db_file = os.path.expanduser(db_file)
        self._alias = register_light(self._db_file)
        self._full = None

    @property
    def read_models(self):
        """The mirror models (``smt_query.mirror``; sets Django up)."""
        from .mirror import mirror_models
        from .storesetup import light_ready
        light_ready(self._alias)
        return mirror_models()

    @property
    def db_alias(self):
        """The Django database alias of this store."""
        self.read_models
        return self._alias

    @property
    def full(self):
        """The :class:`~smt_query.recordstore.QueryDjangoRecordStore` over the
        same database (loads Sumatra's models the first time)."""
        if self._full is None:
            from .recordstore import QueryDjangoRecordStore
            self._full = QueryDjangoRecordStore(self._db_file)
        return self._full

    @property
    def models(self):
        """The module of Sumatra's Django models (loads Sumatra)."""
        return self.full.models

    @property
    def record_ctype_id(self):
        """Content-type id under which tags point at records (loads Sumatra)."""
        return self.full.record_ctype_id

    def load(self, qs):
        """Full Sumatra ``Record`` objects for ``qs`` (a queryset of the mirror
        models), in its order (through :attr:`full`)."""
        rows = list(qs.values_list("db_id", "label"))
        if not rows:
            return []
        full = self.full
        records = full.load(full.models.Record.objects.using(full.db_alias)
                            .filter(db_id__in=full.dialect.id_set([i for i, _ in rows])))
        position = {label: n for n, (_, label) in enumerate(rows)}
        return sorted(records, key=lambda r: position[r.label])

    def add_tag(self, records, tag):
        """:meth:`~smt_query.recordstore.QueryDjangoRecordStore.add_tag` of
        ``records`` (a queryset of the mirror models, or ids)."""
        return self.full.add_tag(_as_ids(records), tag)

    def remove_tag(self, records, tag):
        """:meth:`~smt_query.recordstore.QueryDjangoRecordStore.remove_tag`."""
        return self.full.remove_tag(_as_ids(records), tag)

    def __str__(self):
        from .project import masked_uri
        return "QueryDjango (%s)" % masked_uri(self._db_file)

    def __repr__(self):
        return f"<{type(self).__name__} {self}>"


def _as_ids(records):
    return records if isinstance(records, (list, tuple)) else list(
        records.order_by().values_list("db_id", flat=True))


@sync_entry_class
class SQLContext:
    """What filters need to compile to SQL for one store: its models
    (``models``: the read models), alias, vendor and dialect."""

    def __init__(self, store):
        self.store = store
        self.models = store.read_models
        self.alias = store.db_alias
        self.vendor = store.vendor
        self.dialect = store.dialect
        self._tag_names = None

    @property
    def record_ctype_id(self):
        """Content-type id under which tags point at records (loads Sumatra)."""
        return self.store.record_ctype_id

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
