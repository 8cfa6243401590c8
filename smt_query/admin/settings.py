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
import ipaddress
import os
import re
import secrets
import socket
import sys

from ..errors import QueryError
# The store's Django database is read where the project is (importable from here too).
from ..project import parse_store_uri as _parse_store_uri  # noqa: F401
from ..project import store_database  # noqa: F401

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
    tell_tightened(private_database(accounts))   # before Django's sqlite3 creates it
    extra = admin_settings(accounts=accounts, project=project,
                           secret_key=secret_key or secrets.token_urlsafe(50),
                           allowed_hosts=allowed_hosts, cookie_suffix=cookie_suffix,
                           installed_apps=db_config._settings["INSTALLED_APPS"])
    # Sumatra names record stores 'default', 'database1', ... as they are
    # opened; the accounts database takes a name of its own.
    db_config._settings["DATABASES"][ACCOUNTS_ALIAS] = extra.pop("ACCOUNTS_DATABASE")
    db_config.update_settings(**extra)
    return extra


def project_settings(project_path, *, host="127.0.0.1", allowed_hosts=()):
    """:func:`prepare` for ``smt admin`` in ``project_path``: accounts and the
    secret key under ``.smt/`` (readable by their owner only), cookies named
    after the project, hosts from :func:`served_hosts`."""
    smt_dir = os.path.join(os.path.abspath(project_path), ".smt")
    hosts = served_hosts(host, allowed_hosts)
    suffix = "_" + hashlib.sha1(smt_dir.encode()).hexdigest()[:8]
    return prepare(accounts=os.path.join(smt_dir, ACCOUNTS_FILE), project=project_path,
                   secret_key=secret_key(smt_dir), allowed_hosts=hosts, cookie_suffix=suffix)


# -- files holding secrets ------------------------------------------------------------
# The accounts database holds password hashes and live session keys; the
# secret key signs sessions. Anyone who reads either can log in as anyone.

#: The side files SQLite keeps next to a database (they hold its pages too).
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")


def private_file(path):
    """Create ``path`` empty and readable by its owner only (mode 0600 from the
    start: no moment where others may read it). Return False if it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
    except FileExistsError:
        return False
    except OSError as err:
        raise QueryError(f"cannot create {path}: {err.strerror}") from None
    try:
        os.fchmod(fd, 0o600)   # exactly 0600 whatever the umask (never wider)
    finally:
        os.close(fd)
    return True


def make_private(paths):
    """Make each existing file of ``paths`` readable by its owner only; return
    those that were readable or writable by others. Raises :class:`QueryError`
    if one cannot be changed (another user's file)."""
    tightened = []
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            continue
        if mode & 0o077:
            try:
                os.chmod(path, mode & 0o700)
            except OSError as err:
                raise QueryError(f"{path} holds secrets and is readable by other users, and it "
                                 f"cannot be changed ({err.strerror}): make it readable by its "
                                 f"owner only (chmod 600 {path})") from None
            tightened.append(path)
    return tightened


def private_database(path):
    """Create the SQLite file ``path`` and tighten it and its side files (see
    :func:`make_private`); return the files tightened. SQLite gives the side
    files it creates the mode of the database file."""
    private_file(path)
    return make_private([path] + [path + side for side in SQLITE_SIDE_FILES])


def tell_tightened(paths):
    """Say on stderr which files holding secrets were made private."""
    if paths:
        one = len(paths) == 1
        print(f"Note: {', '.join(paths)} {'was' if one else 'were'} readable by other users; "
              f"{'it is' if one else 'they are'} now readable by the owner only (the admin's "
              "accounts, sessions and key).", file=sys.stderr)


def secret_key(smt_dir):
    """The project's admin secret key (made once, readable by its owner only)."""
    path = os.path.join(smt_dir, SECRET_KEY_FILE)
    made = private_file(path)
    tell_tightened(make_private([path]))
    if not made:
        with open(path, encoding="ascii", errors="replace") as f:
            key = f.read().strip()
        if key:
            return key
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


# -- host names ---------------------------------------------------------------------

#: Addresses meaning "every interface of this machine".
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")


def served_hosts(host, allowed=()):
    """The ``ALLOWED_HOSTS`` of ``smt admin --host host``: the loopback names,
    ``host`` itself -- or for a wildcard address (``0.0.0.0``, ``::``) this
    machine's own names and addresses (:func:`machine_hosts`) -- and the names
    of ``allowed`` (``--allowed-host``, checked by :func:`allowed_host`).
    Requests for any other ``Host`` get 400: a page another site serves
    cannot reach the admin by pointing its name at this machine."""
    hosts = list(LOCAL_HOSTS)
    if host in WILDCARD_HOSTS:
        hosts += machine_hosts()
    else:
        hosts.append(host_entry(host))
    hosts += [allowed_host(name) for name in allowed]
    return list(dict.fromkeys(h for h in hosts if h))


def is_loopback(host):
    """True if ``host`` (a name or an address) only reaches this machine."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def host_entry(name):
    """``name`` as Django compares ``Host`` headers: lower case, an IPv6
    address in brackets."""
    name = name.strip().lower()
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return name.rstrip(".")
    return f"[{address}]" if address.version == 6 else str(address)


_HOST_NAME = re.compile(r"\.?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")


def allowed_host(name):
    """An ``--allowed-host`` ``name`` as an ``ALLOWED_HOSTS`` entry: a host name,
    an IP address, or ``.example.org`` (that domain and its subdomains).
    Raises :class:`QueryError` for anything else (``*``, a port, a URL)."""
    text = name.strip().lower()
    entry = host_entry(text)
    if entry.startswith("[") or _is_address(entry) or _HOST_NAME.fullmatch(text):
        return entry
    why = ("it would accept any Host header" if "*" in text else
           "give the name without a port" if re.fullmatch(r"[^:]+:\d+", text) else
           "use a host name, an IP address or .domain")
    raise QueryError(f"bad allowed host {name!r}: {why}")


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def machine_hosts():
    """This machine's names and addresses, as far as they are known without
    asking other machines: its host name, the addresses ``/etc/hosts`` (or
    the system's resolver) gives it, and the addresses of its network
    interfaces (Linux)."""
    names = []
    hostname = socket.gethostname()
    if hostname:
        names.append(hostname)
        try:
            infos = socket.getaddrinfo(hostname, None, flags=socket.AI_CANONNAME)
        except (OSError, UnicodeError):
            infos = []
        names += [info[3] for info in infos[:1] if info[3]]
        names += [info[4][0] for info in infos]
    names += _interface_addresses()
    return [host_entry(n.split("%")[0]) for n in names]


def _interface_addresses():
    """The addresses of the network interfaces (Linux: ``ioctl`` for IPv4,
    ``/proc/net/if_inet6`` for IPv6); none elsewhere."""
    out = []
    try:
        import fcntl
        import struct
        interfaces = socket.if_nameindex()
    except (ImportError, OSError, AttributeError):
        interfaces = []
    for _, name in interfaces:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                answer = fcntl.ioctl(sock.fileno(), 0x8915,   # SIOCGIFADDR
                                     struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
        out.append(socket.inet_ntoa(answer[20:24]))
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            out += [str(ipaddress.IPv6Address(bytes.fromhex(line.split()[0])))
                    for line in f if line.strip()]
    except (OSError, ValueError):
        pass
    return out
