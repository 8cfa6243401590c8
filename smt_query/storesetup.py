"""Django for Sumatra's record stores: configuring it as Sumatra would, and
giving it any number of store databases, also after it is configured
(part of :mod:`smt_query.recordstore`, where these names are importable too)."""
import os

from sumatra.recordstore import django_store as _sumatra_django

from .errors import QueryError
from .where.dialect import dialect_for, dialect_of_engine, engine_key, uri_scheme


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
    db = _db_config().uri_to_db(uri)
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
    for alias, db in list(config._settings["DATABASES"].items()):
        if alias not in connections.settings:
            _give_django(alias, db)
            _migrate(alias)


def _no_jit(sender, connection, **kwargs):
    """The dialect's session settings on our stores' connections (PostgreSQL:
    JIT compilation off)."""
    dialect = dialect_for(connection.vendor)
    if dialect is not None and connection.alias in _OUR_ALIASES:
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
