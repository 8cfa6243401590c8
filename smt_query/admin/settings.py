"""Django settings for the admin: ``smt admin``'s own, and helpers for yours.

``smt admin`` calls :func:`prepare` before Django is configured: Sumatra
builds Django's settings itself (``sumatra.recordstore.django_store.db_config``),
so the admin adds its apps, middleware, templates, URLs and an accounts
database to them, then lets Sumatra configure Django as usual. The record
store keeps its alias; accounts go to a separate SQLite file
(``.smt/admin.sqlite3``) through :class:`~smt_query.admin.routers.SumatraRouter`.

To mount the admin in a Django project of your own, see ``docs/admin.rst``:
add the apps of :data:`INSTALLED_APPS`, the router, a database for the store
(:func:`store_database`) and ``SMT_QUERY_ADMIN``.
"""
import hashlib
import os
import secrets

from ..errors import QueryError

#: The Django alias of the accounts database in ``smt admin``.
ACCOUNTS_ALIAS = "smt_admin_accounts"
#: The accounts file and secret key file, under the project's ``.smt/``.
ACCOUNTS_FILE = "admin.sqlite3"
SECRET_KEY_FILE = "admin_secret_key"
#: This app: add it to INSTALLED_APPS (after ``django.contrib.contenttypes``).
APP = "smt_query.admin"

#: The apps the admin needs, besides Sumatra's ``django_store`` and contenttypes.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    APP,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def have_whitenoise():
    try:
        import whitenoise  # noqa: F401
    except ImportError:
        return False
    return True


def admin_settings(*, accounts, secret_key, project=None, allowed_hosts=LOCAL_HOSTS,
                   cookie_suffix="", installed_apps=()):
    """The settings ``smt admin`` adds to Sumatra's (a dict; no side effects).

    ``accounts`` is the SQLite file of the accounts database; ``project`` the
    project directory the admin shows (it may also be set later in
    ``SMT_QUERY_ADMIN["PROJECT"]``).
    """
    apps = list(installed_apps) + [a for a in INSTALLED_APPS if a not in installed_apps]
    middleware = [m for m in MIDDLEWARE if have_whitenoise() or "whitenoise" not in m]
    conf = {"ACCOUNTS_DATABASE": ACCOUNTS_ALIAS}
    if project is not None:
        conf["PROJECT"] = os.path.abspath(project)
    return dict(
        INSTALLED_APPS=apps,
        MIDDLEWARE=middleware,
        TEMPLATES=TEMPLATES,
        ROOT_URLCONF="smt_query.admin.urls",
        DATABASE_ROUTERS=["smt_query.admin.routers.SumatraRouter"],
        ACCOUNTS_DATABASE={"ENGINE": "django.db.backends.sqlite3",
                           "NAME": os.path.abspath(accounts)},
        SMT_QUERY_ADMIN=conf,
        SECRET_KEY=secret_key,
        DEBUG=False,
        ALLOWED_HOSTS=list(allowed_hosts),
        STATIC_URL="/static/",
        WHITENOISE_USE_FINDERS=True,
        WHITENOISE_AUTOREFRESH=False,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        AUTH_PASSWORD_VALIDATORS=AUTH_PASSWORD_VALIDATORS,
        # Sessions and CSRF as Django provides, with cookies that only this
        # project's admin reads (several `smt admin` may run on one host).
        SESSION_COOKIE_NAME=f"smt_admin_session{cookie_suffix}",
        CSRF_COOKIE_NAME=f"smt_admin_csrftoken{cookie_suffix}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        CSRF_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_AGE=12 * 3600,
        X_FRAME_OPTIONS="DENY",
        SECURE_CONTENT_TYPE_NOSNIFF=True,
        SECURE_REFERRER_POLICY="same-origin",
        LOGGING={"version": 1, "disable_existing_loggers": False,
                 "handlers": {"stderr": {"class": "logging.StreamHandler"}},
                 "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR",
                                                "propagate": False}}},
    )


def prepare(*, accounts, project=None, secret_key=None, allowed_hosts=LOCAL_HOSTS,
            cookie_suffix=""):
    """Add the admin to the Django settings Sumatra is about to configure.

    Call before Django is configured (before any record store is used).
    Returns the settings added. Raises :class:`QueryError` if Django is
    already configured without the admin.
    """
    from django.conf import settings
    from sumatra.recordstore.django_store import db_config
    if settings.configured:
        if APP not in settings.INSTALLED_APPS:
            raise QueryError("Django is already configured without smt_query.admin; "
                             "set the admin up before any record store is opened")
        return None
    extra = admin_settings(accounts=accounts, project=project,
                           secret_key=secret_key or secrets.token_urlsafe(50),
                           allowed_hosts=allowed_hosts, cookie_suffix=cookie_suffix,
                           installed_apps=db_config._settings["INSTALLED_APPS"])
    # Sumatra names record stores 'default', 'database1', ... as they are
    # opened; the accounts database takes a name of its own.
    db_config._settings["DATABASES"][ACCOUNTS_ALIAS] = extra.pop("ACCOUNTS_DATABASE")
    db_config.update_settings(**extra)
    return extra


def project_settings(project_path, *, host="127.0.0.1"):
    """:func:`prepare` for ``smt admin`` in ``project_path``: accounts and the
    secret key under ``.smt/``, cookies named after the project, hosts from
    ``host``."""
    smt_dir = os.path.join(os.path.abspath(project_path), ".smt")
    hosts = list(LOCAL_HOSTS)
    if host not in hosts:
        hosts.append("*" if host in ("0.0.0.0", "::", "") else host)
    suffix = "_" + hashlib.sha1(smt_dir.encode()).hexdigest()[:8]
    return prepare(accounts=os.path.join(smt_dir, ACCOUNTS_FILE), project=project_path,
                   secret_key=secret_key(smt_dir), allowed_hosts=hosts, cookie_suffix=suffix)


def secret_key(smt_dir):
    """The project's admin secret key (made once, readable by its owner only)."""
    path = os.path.join(smt_dir, SECRET_KEY_FILE)
    try:
        with open(path, encoding="ascii") as f:
            key = f.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


def store_database(project_path):
    """A Django ``DATABASES`` entry for the record store of the project at
    ``project_path`` (SQLite file or PostgreSQL URI, as ``smt init --store``
    gave it)."""
    from ..query import project_store_entry
    store = project_store_entry(project_path)
    uri = store.get("db_file")
    if not uri:
        raise QueryError(f"the project at {project_path} has no Django record store")
    return _parse_store_uri(uri, project_path)


def _parse_store_uri(uri, project_path):
    from urllib.parse import unquote, urlparse
    parsed = urlparse(uri)
    if parsed.scheme.startswith("postgres"):
        return {"ENGINE": "django.db.backends.postgresql",
                "NAME": parsed.path.lstrip("/"), "HOST": parsed.hostname or "",
                "PORT": parsed.port or "", "USER": unquote(parsed.username or ""),
                "PASSWORD": unquote(parsed.password or "")}
    if parsed.scheme:
        raise QueryError(f"unsupported record store {uri!r}: use SQLite or PostgreSQL")
    db_file = os.path.expanduser(uri)
    if not os.path.isabs(db_file):
        db_file = os.path.join(os.path.abspath(project_path), db_file)
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": db_file}
