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
* adds and removes tags atomically on a whole queryset.
"""
import json
import os
from contextlib import nullcontext

from sumatra.recordstore import django_store as _sumatra_django
from sumatra.recordstore.django_store import DjangoRecordStore

from .asyncguard import sync_entry, sync_entry_class
from .errors import QueryError
from .fields import ROW_FIELDS, TAG_COLUMN_MAX, TAG_MAX, check_tag, split_tags, tag_column


#: Most values put in one SQL ``IN (...)`` list (SQLite may allow only 32766).
MAX_IN = 30000


class StoreMissing(QueryError):
    """The record store a project names does not exist (nothing was created)."""


#: Aliases our stores use: PostgreSQL's JIT is turned off on their connections.
_OUR_ALIASES = set()
#: alias -> the error its migration raised; raised again when a store uses it.
_BROKEN = {}


def _db_config():
    """Sumatra's Django configuration, looked up each time (Sumatra's own
    tests replace the module's ``db_config``)."""
    return _sumatra_django.db_config


def _db_key(db):
    """What identifies a database in a ``DATABASES`` entry (Sumatra's ``db_id``,
    with the engine names of one backend made equal)."""
    engine = db.get("ENGINE") or ""
    engine = engine.replace("postgresql_psycopg2", "postgresql")
    name = db.get("NAME") or ""
    if "sqlite" in engine and name != ":memory:":
        name = os.path.abspath(name)
    return engine, name, db.get("HOST") or "", str(db.get("PORT") or "")


def _django_alias(db):
    """The alias under which Django's connections know ``db``, or None."""
    from django.db import connections
    key = _db_key(db)
    return next((alias for alias, known in connections.settings.items()
                 if _db_key(known) == key), None)


def _register_database(uri):
    """The Django alias of the store at ``uri``.

    Before Django is configured, Sumatra names it (``db_config.add_database``,
    as its own store does; Django gets it when configured). Afterwards (when
    Sumatra refuses) it is the alias Django already has for that database, or a
    new one given to Django and migrated, as Sumatra migrates every store it
    opens. Sumatra's configuration then knows the database by that alias too,
    so Sumatra's own store over ``uri`` shares it.
    """
    from django.conf import settings
    config = _db_config()
    db = config.uri_to_db(uri)
    if not settings.configured:
        return config.add_database(uri)
    alias = _django_alias(db)
    if alias is None:
        alias = _new_alias(config)
        _give_django(alias, db)
        _migrate(alias)
    if not config.contains_database(db) and alias not in config._settings["DATABASES"]:
        config._settings["DATABASES"][alias] = dict(db)
    return alias


def _new_alias(config):
    """A database alias that neither Django nor Sumatra uses, in Sumatra's style."""
    from django.db import connections
    taken = set(connections.settings) | set(config._settings["DATABASES"])
    n = max(config._n_databases, 1)
    while "database%d" % n in taken:
        n += 1
    config._n_databases = n + 1
    return "database%d" % n


def _give_django(alias, db):
    """Add the ``DATABASES`` entry ``db`` to Django's connections as ``alias``."""
    from django.db import connections
    connections.settings[alias] = connections.configure_settings({"default": dict(db)})["default"]


def _migrate(alias):
    """Create or update Sumatra's tables in ``alias``, as Sumatra does to every
    store it opens. An error is kept in :data:`_BROKEN` (raised when a store
    uses the alias: :func:`_check_ready`), so one broken store does not stop
    the others."""
    from django.core import management
    from django.db import DatabaseError, connections
    db = connections.settings[alias]
    if "sqlite" in db["ENGINE"]:
        os.makedirs(os.path.dirname(db["NAME"]) or ".", exist_ok=True)
    try:
        management.call_command("migrate", run_syncdb=True, database=alias,
                                verbosity=0, interactive=False)
    except DatabaseError as err:
        _BROKEN[alias] = _missing_database(alias) or err
    else:
        _BROKEN.pop(alias, None)


def _check_ready(alias):
    """Raise the error migrating ``alias`` gave, after trying once more."""
    if alias in _BROKEN:
        _migrate(alias)
        if alias in _BROKEN:
            raise _BROKEN[alias]


def _missing_database(alias):
    """A :class:`StoreMissing` if ``alias`` names a PostgreSQL database that its
    server says does not exist; None when it exists or the server cannot tell."""
    from django.db import DatabaseError, connections
    conn = connections[alias]
    if conn.vendor != "postgresql":
        return None
    name = conn.settings_dict["NAME"]
    probe = type(conn)({**conn.settings_dict, "NAME": "postgres"}, alias="smt_query_probe")
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                return None
    except DatabaseError:
        return None
    finally:
        probe.close()
    where = conn.settings_dict.get("HOST") or "localhost"
    if conn.settings_dict.get("PORT"):
        where += ":%s" % conn.settings_dict["PORT"]
    return StoreMissing(f"the record store is missing: PostgreSQL at {where} has no database "
                        f"{name!r} (nothing was created)")


def require_store(uri):
    """Raise :class:`StoreMissing` if ``uri`` is an SQLite store whose file does
    not exist: read-only commands must not create an empty store. (A missing
    PostgreSQL database is reported when the store is first used.)"""
    db = _db_config().uri_to_db(uri)
    if "sqlite" in db["ENGINE"] and not os.path.exists(db["NAME"]):
        raise StoreMissing(f"the record store is missing: no file {db['NAME']} "
                           "(nothing was created)")


def configure_django():
    """Make Django ready for Sumatra's models, as Sumatra would, and no more.

    If Django is not configured, configure it with Sumatra's settings as they
    are (``DEBUG`` off only in our own commands: :mod:`smt_query.process`) and
    migrate every store, like Sumatra's ``db_config.configure()``, except that
    Django counts as configured before the stores are migrated, so a broken
    store cannot leave it half set up. Then make sure that every database
    Sumatra has named is one Django's connections know: Sumatra names stores
    Django never receives (e.g. after its tests reset ``db_config``, or in a
    Django project of your own); those are given to Django and migrated.
    """
    from django.conf import settings
    from django.db import connections
    from . import process
    config = _db_config()
    process.apply()
    if not settings.configured:
        import django
        settings.configure(**config._settings)
        django.setup(set_prefix=False)   # no django.urls (0.1 s): URLs are per request
        config.configured = True
        for alias in list(config._settings["DATABASES"]):
            _migrate(alias)
    for alias, db in list(config._settings["DATABASES"].items()):
        if alias not in connections.settings:
            _give_django(alias, db)
            _migrate(alias)


def _no_jit(sender, connection, **kwargs):
    """Turn PostgreSQL's JIT compilation off on our stores' connections: on
    ``where`` queries over many parameter sets it costs seconds (once per
    parallel worker) and saves little. Results are the same; only this session
    of the connection is affected."""
    if connection.vendor == "postgresql" and connection.alias in _OUR_ALIASES:
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")


def _uri_of(db):
    """A store URI (as in ``.smt/project``) for the Django ``DATABASES`` entry ``db``."""
    from urllib.parse import quote
    engine = db.get("ENGINE") or ""
    if "sqlite" in engine:
        return db["NAME"]
    scheme = ("postgres" if "postgresql" in engine else "mysql" if "mysql" in engine else None)
    if scheme is None:
        raise QueryError(f"a Sumatra record store is SQLite, PostgreSQL or MySQL, not {engine!r}")
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "localhost"
    port = ":%s" % db["PORT"] if db.get("PORT") else ""
    return f"{scheme}://{auth + '@' if auth else ''}{host}{port}/{db['NAME']}"


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

    # -- running filters: SQL, or Python where the database refuses -------
    def fall_back(self, run, too_large=None, again=None):
        """``run()`` (in a savepoint if a transaction is open, so that it stays
        usable after an error). If the database refuses a stored parameter set
        that a pushed-down condition reads (:func:`smt_query.where.unreadable_params`),
        parameters are read in Python from then on (:attr:`params_in_sql`) and
        ``run()`` runs again, after ``again()``; likewise if it refuses the
        query as too large or too deeply nested (:func:`smt_query.where.query_too_large`)
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
        (:meth:`fall_back`). More kept labels than :data:`MAX_IN` (either way
        round) is a :class:`QueryError`. ``ctx``: the :class:`SQLContext` to use."""
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
        written (see :func:`smt_query.fields.check_tag`), or that would make a
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

    def _lock_columns(self, ids):
        """Lock the rows of ``ids`` until the end of the transaction; return
        ``{db_id: tags column}`` of those that still exist.

        Every writer locks in ascending ``db_id`` order, so concurrent
        retags of overlapping record sets wait for each other instead of
        deadlocking. (SQLite: the database write lock already serialises.)
        """
        ids = sorted(set(ids))
        Record = self.models.Record.objects.using(self.db_alias)
        if self.vendor != "sqlite":
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
        items = sorted(columns.items())
        with conn.cursor() as cur:
            for chunk in _chunks(items):
                if self.vendor == "postgresql":
                    cur.execute(f"UPDATE {table} SET tags = v.tags FROM unnest("
                                "CAST(%s AS integer[]), CAST(%s AS text[])) AS v(id, tags) "
                                "WHERE db_id = v.id", ([i for i, _ in chunk], [c for _, c in chunk]))
                else:    # SQLite runs in-process: a prepared statement per row is cheap
                    cur.executemany(f"UPDATE {table} SET tags = %s WHERE db_id = %s",
                                    [(c, i) for i, c in chunk])

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
    require_store(store["db_file"])
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
