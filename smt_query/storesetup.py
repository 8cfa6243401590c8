"""Django for Sumatra's record stores: configuring it as Sumatra would, and
giving it any number of store databases, also after it is configured
(part of :mod:`smt_query.recordstore`, where these names are importable too).

The light read path (:class:`~smt_query.readstore.ReadStore`) sets Django up
without Sumatra's Django module (:func:`register_light`, :func:`light_ready`):
with Sumatra's settings but no installed app, for the mirror models
(:mod:`smt_query.mirror`). When Sumatra's models are first needed in such a
process, :func:`configure_django` hands Sumatra's configuration the
databases named so far, installs Sumatra's apps and migrates the stores, as
Sumatra does every store it opens.
"""
import os
import sys

from ._hook import WatchImport
from .errors import QueryError
from .where.dialect import dialect_for, dialect_of_engine, engine_key, uri_scheme


class StoreMissing(QueryError):
    """The record store a project names does not exist (nothing was created)."""


#: Aliases our stores use: PostgreSQL's JIT is turned off on their connections.
_OUR_ALIASES = set()
#: alias -> the error its migration raised; raised again when a store uses it.
_BROKEN = {}


#: Sumatra's Django settings (``DjangoConfiguration`` of
#: ``sumatra.recordstore.django_store``) without its apps: the light set-up
#: installs none (tests/test_read_path.py checks this copy against Sumatra's).
LIGHT_SETTINGS = {"DEBUG": True, "INSTALLED_APPS": [], "MIDDLEWARE_CLASSES": [],
                  "READ_ONLY": 0, "SERVERSIDE": 0, "USE_TZ": True, "SECRET_KEY": "abc123",
                  "TIME_ZONE": "UTC"}
#: The light set-up: databases named (alias -> DATABASES entry, alias -> store URI),
#: whether it configured Django, the Sumatra configuration given its databases,
#: the aliases checked.
_light = {"databases": {}, "uris": {}, "configured": False, "synced": None, "ready": set()}
_SUMATRA_DJANGO = "sumatra.recordstore.django_store"


def _db_config():
    """Sumatra's Django configuration, looked up each time (Sumatra's own
    tests replace the module's ``db_config``). Imports Sumatra's Django
    module (not its models)."""
    from sumatra.recordstore import django_store
    return django_store.db_config


def _light_db(uri):
    """The ``DATABASES`` entry of the store ``uri`` as Sumatra names it
    (a relative SQLite path is relative to the current directory), or None for
    a store the light path does not open."""
    from .project import parse_store_uri
    try:
        db = parse_store_uri(uri, os.getcwd())
    except QueryError:
        return None
    if _is_file(db):
        db["NAME"] = os.path.abspath(db["NAME"])
    return db


def register_light(uri):
    """The Django alias of the store at ``uri`` for the mirror models.

    Before Django is configured, and while Sumatra's Django module is not
    loaded, the alias is named as Sumatra would (``default``, then
    ``database1``...) and Django is configured later, the light way
    (:func:`light_ready`); otherwise it is :func:`_register_database`'s.
    """
    from django.conf import settings
    db = _light_db(uri)
    if db is None or _SUMATRA_DJANGO in sys.modules or (
            settings.configured and not _light["configured"]):
        alias = _register_database(uri)
    else:
        key = _db_key(db)
        known = {**_light["databases"]}
        if settings.configured:
            from django.db import connections
            known.update(connections.settings)
        alias = next((a for a, d in known.items() if _db_key(d) == key), None)
        if alias is None:
            n = len(_light["uris"])
            alias = "default" if n == 0 else "database%d" % n
            while alias in known:
                n += 1
                alias = "database%d" % n
            _light["uris"][alias] = uri
            if settings.configured:
                _give_django(alias, db)
            else:
                _light["databases"][alias] = db
    _watch(alias)
    return alias


def _watch(alias):
    """Our store's connections get the dialect's session settings and read
    timestamps tolerantly (:func:`_no_jit`, :func:`_tolerate`)."""
    from django.db.backends.signals import connection_created
    _OUR_ALIASES.add(alias)
    connection_created.connect(_no_jit, dispatch_uid="smt_query.no_jit")
    _tolerate(alias)


def _tolerate(alias):
    """Give the ``DATABASES`` entry of ``alias`` (wherever it is named so far:
    Django's connections, the light set-up, Sumatra's configuration) the
    dialect's ``connect_options``: on SQLite no converter by declared type,
    whose datetime converter (Django's, global) raises on a timestamp that
    is no date; the dialect's ``on_connect`` reads it as None instead.
    A connection of this thread opened before is reopened when next used."""
    from django.conf import settings
    entries = [_light["databases"].get(alias)]
    if _SUMATRA_DJANGO in sys.modules:
        entries.append(_db_config()._settings["DATABASES"].get(alias))
    connection = None
    if settings.configured:
        from django.db import connections
        entries.append(connections.settings.get(alias))
        if alias in connections.settings:
            connection = connections[alias]
    changed = False
    for db in filter(None, entries):
        dialect = dialect_of_engine(db.get("ENGINE"))
        options = db.setdefault("OPTIONS", {})
        if dialect is not None and any(options.get(k) != v
                                       for k, v in dialect.connect_options.items()):
            options.update(dialect.connect_options)
            changed = True
    if connection is not None and connection.connection is not None:
        if changed and not connection.in_atomic_block:
            connection.close()           # reopened with the options when next used
        else:
            _no_jit(None, connection)    # opened before (e.g. migrating): set it up now


def light_ready(alias):
    """Make Django ready for the mirror models over ``alias``: configured the
    light way if nobody has, and the store checked once. A store Sumatra has
    not fully migrated (or a missing one) goes through Sumatra's set-up
    (:func:`configure_django`), which migrates it or says it is missing."""
    from django.conf import settings
    if alias in _light["ready"]:
        return
    if not settings.configured and _light["databases"] and _SUMATRA_DJANGO not in sys.modules:
        from . import process
        settings.configure(**LIGHT_SETTINGS, DATABASES=dict(_light["databases"]))
        _light["configured"] = True
        sys.meta_path.insert(0, WatchImport(_SUMATRA_DJANGO, _adopt))
        process.apply()
        process.setup_django()
    if not (_light["configured"] and alias in _light["uris"] and _migrated(alias)):
        if _light["uris"] and not _light["configured"]:   # Sumatra's set-up came first
            _name_light_databases(_db_config())
        configure_django()
        _check_ready(alias)
    _light["ready"].add(alias)


def _migrated(alias):
    """Whether every migration of Sumatra's store tables is applied in ``alias``
    (False when that cannot be read: no table, no database)."""
    import importlib.util
    from django.db import DatabaseError, connections
    folder = os.path.join(os.path.dirname(importlib.util.find_spec("sumatra").origin),
                          "recordstore", "django_store", "migrations")
    wanted = {name[:-3] for name in os.listdir(folder)
              if name.endswith(".py") and name[:1].isdigit()}
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT name FROM django_migrations WHERE app = %s", ["django_store"])
            done = {row[0] for row in cursor.fetchall()}
    except DatabaseError:
        return False
    return wanted <= done


def _adopt(module):
    """Once Django is set up the light way and Sumatra's Django module is
    imported: its configuration learns the databases named so far (so
    Sumatra's own stores over them use the same alias) and configuring it
    sets Django up for Sumatra's models (:func:`configure_django`), so
    Sumatra's stores work in this process too."""
    _name_light_databases(module.db_config)
    module.db_config.configure = configure_django   # Sumatra calls it before its models


def _name_light_databases(config):
    """Sumatra's configuration ``config`` gets the databases the light set-up named."""
    databases = config._settings["DATABASES"]
    for alias, uri in _light["uris"].items():
        if alias not in databases:
            databases[alias] = config.uri_to_db(uri)
    config._n_databases = max(config._n_databases, len(databases))


def _adopt_light(config):
    """Give Sumatra's configuration ``config`` the databases the light set-up
    named, install its apps in Django, and migrate those stores (as Sumatra
    does every store it opens): Sumatra's models load next to the mirror ones."""
    from django.apps import apps
    from django.conf import settings
    _name_light_databases(config)
    config.configured = True
    missing = [app for app in config._settings["INSTALLED_APPS"] if not apps.is_installed(app)]
    if missing:
        settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, *missing]
        apps.set_installed_apps(settings.INSTALLED_APPS)
    for alias in _light["uris"]:
        _migrate(alias)


def _db_key(db):
    """What identifies a database in a ``DATABASES`` entry (Sumatra's ``db_id``,
    with the engine names of one backend made equal)."""
    name = db.get("NAME") or ""
    if _is_file(db):
        name = os.path.abspath(name)
    return engine_key(db.get("ENGINE")), name, db.get("HOST") or "", str(db.get("PORT") or "")


def _is_file(db):
    """Whether the ``DATABASES`` entry ``db`` is a database file."""
    dialect = dialect_of_engine(db.get("ENGINE"))
    return dialect is not None and dialect.is_file(db)


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
    if _is_file(db):
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
    from django.db import connections
    conn = connections[alias]
    dialect = dialect_for(conn.vendor)
    if dialect is None or not dialect.database_missing(conn):
        return None
    name = conn.settings_dict["NAME"]
    where = conn.settings_dict.get("HOST") or "localhost"
    if conn.settings_dict.get("PORT"):
        where += ":%s" % conn.settings_dict["PORT"]
    return StoreMissing(f"the record store is missing: {conn.display_name} at {where} has no database "
                        f"{name!r} (nothing was created)")


def require_store(uri):
    """Raise :class:`StoreMissing` if ``uri`` is an SQLite store whose file does
    not exist: read-only commands must not create an empty store. (A missing
    PostgreSQL database is reported when the store is first used.)"""
    db = _light_db(uri) or _db_config().uri_to_db(uri)
    if _is_file(db) and not os.path.exists(db["NAME"]):
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
        settings.configure(**config._settings)
        process.setup_django()
        config.configured = True
        for alias in list(config._settings["DATABASES"]):
            _migrate(alias)
    elif _light["configured"] and _light["synced"] is not config:
        _light["synced"] = config
        _adopt_light(config)
    for alias, db in list(config._settings["DATABASES"].items()):
        if alias not in connections.settings:
            _give_django(alias, db)
            _migrate(alias)


def _no_jit(sender, connection, **kwargs):
    """The dialect's session settings on our stores' connections (PostgreSQL:
    JIT compilation off)."""
    dialect = dialect_for(connection.vendor)
    raw = connection.connection
    if dialect is not None and connection.alias in _OUR_ALIASES and \
            getattr(connection, "_smtq_ready", None) is not raw:
        connection._smtq_ready = raw
        dialect.on_connect(connection)


def _uri_of(db):
    """A store URI (as in ``.smt/project``) for the Django ``DATABASES`` entry ``db``."""
    from urllib.parse import quote
    scheme = uri_scheme(db.get("ENGINE"))
    if scheme is None:
        return db["NAME"]
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "localhost"
    port = ":%s" % db["PORT"] if db.get("PORT") else ""
    return f"{scheme}://{auth + '@' if auth else ''}{host}{port}/{db['NAME']}"


# -- smt-query's own table: metric values (smt_query.metrics) ------------------------

def metric_table_sql(dialect):
    """The statements creating the metric table and its index (idempotent).

    One row per record and metric: ``state`` 0 (no value), 1 (``value``) or
    2 (NaN); ``defn`` the digest of the definition that computed it,
    ``source`` a fingerprint of what it was computed from (the outcome; the
    output keys), compared in SQL to find changed records. Never one of
    Sumatra's tables; records are never touched."""
    from .where.metrics import TABLE
    real = getattr(dialect, "float_type", "DOUBLE PRECISION")   # a database without a dialect: SQL's
    return [f"CREATE TABLE IF NOT EXISTS {TABLE} (record_id INTEGER NOT NULL, "
            f"name VARCHAR(100) NOT NULL, state SMALLINT NOT NULL, value {real}, "
            f"defn VARCHAR(32) NOT NULL, source TEXT, PRIMARY KEY (name, record_id))",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_name_value ON {TABLE} (name, value)",
            # per project: the store's write mark when its metrics ("NAME:DIGEST,...") were current
            f"CREATE TABLE IF NOT EXISTS {TABLE}_mark (project VARCHAR(100) NOT NULL PRIMARY KEY, "
            f"mark BIGINT NOT NULL, names TEXT NOT NULL)"]


_READY = set()


def ensure_metric_table(connection):
    """Create the metric tables on ``connection`` (a Django connection) if
    missing. A table of an earlier version keeps its values (rows without a
    ``source`` are computed again once); its former ``smtq_metric_state``
    table is dropped."""
    from .where.metrics import TABLE
    key = (connection.alias, connection.settings_dict.get("NAME"))
    if key in _READY:
        return False
    with connection.cursor() as cur:
        names = set(connection.introspection.table_names(cur))
        if TABLE + "_state" in names:
            cur.execute(f"DROP TABLE {TABLE}_state")
        if {TABLE, TABLE + "_mark"} <= names:
            _READY.add(key)
            return False
        for sql in metric_table_sql(dialect_for(connection.vendor)):
            cur.execute(sql)
    _READY.add(key)
    return True
