"""The WSGI application of the admin.

``smt admin`` serves it with waitress; any WSGI server can serve it too::

    SMT_ADMIN_PROJECT=/path/to/project gunicorn smt_query.admin.wsgi:application

(``SMT_ADMIN_PROJECT`` defaults to the current directory; it answers requests
for ``localhost`` and the names in ``SMT_ADMIN_ALLOWED_HOSTS``, separated by
commas or blanks, as ``smt admin --allowed-host``.) Static files are
served by WhiteNoise, so ``DEBUG`` stays off and no ``collectstatic`` is needed.
"""
import os


def setup(project=None, host="127.0.0.1", allowed_hosts=()):
    """Configure Django to serve the admin of the project at or above ``project``
    (default: the current directory) on ``host``, answering for the names of
    ``allowed_hosts`` too (see :func:`~smt_query.admin.settings.served_hosts`);
    return the loaded :class:`~smt_query.admin.source.Source`."""
    from sumatra.recordstore import DjangoRecordStore
    from ..errors import QueryError
    from ..project import load_project, project_dir
    from ..recordstore import configure_django, require_store
    from .settings import project_settings
    root = project_dir(project)
    store = load_project(root).record_store  # Sumatra names its database first
    if not isinstance(store, DjangoRecordStore):
        raise QueryError(f"the admin needs a Django record store (SQLite or PostgreSQL); "
                         f"this project uses {store}")
    require_store(store._db_file)   # never create an empty store to show
    project_settings(root, host=host, allowed_hosts=allowed_hosts)
    configure_django()
    from .source import get_source
    return get_source()


def make_application(project=None, host="127.0.0.1", allowed_hosts=()):
    """The WSGI application for the project at ``project`` (see :func:`setup`)."""
    setup(project, host, allowed_hosts)
    from django.core.wsgi import get_wsgi_application
    return get_wsgi_application()


def __getattr__(name):
    if name == "application":
        names = os.environ.get("SMT_ADMIN_ALLOWED_HOSTS", "").replace(",", " ").split()
        app = make_application(os.environ.get("SMT_ADMIN_PROJECT"), allowed_hosts=names)
        globals()["application"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
