"""The project and its record store, as ``.smt/project`` names them.

Every reader of a project goes through here: :func:`project_dir` finds the
project directory, :func:`read_project_file` reads and checks
``.smt/project``, :func:`store_entry` is its record-store entry (the store
class and ``db_file``: an SQLite file or a PostgreSQL URI),
:func:`store_database` the Django ``DATABASES`` entry for it, and
:func:`saved_queries_path` the file of saved queries. Nothing here imports
Sumatra or Django; only :func:`load_project` asks Sumatra to load the project.
"""
import json
import os
import re

from .errors import QueryError

#: The project file Sumatra writes, in the project's ``.smt`` folder.
PROJECT_FILE = "project"
#: The file of saved queries (``smt query --save``), in the project's ``.smt`` folder.
SAVED_FILE = "smt_query.json"
#: The store classes a project names for a Django record store (SQLite or PostgreSQL).
SUMATRA_STORE = "sumatra.recordstore.django_store.DjangoRecordStore"
QUERY_STORE = "smt_query.recordstore.QueryDjangoRecordStore"

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def project_dir(start=None):
    """The directory holding ``.smt`` at or above ``start`` (default: cwd)."""
    path = os.path.abspath(start or os.getcwd())
    while not os.path.isdir(os.path.join(path, ".smt")):
        parent = os.path.dirname(path)
        if parent == path:
            raise QueryError("No Sumatra project exists in the current directory or above it.")
        path = parent
    return path


def project_file(start=None):
    """The path of the project's ``.smt/project``."""
    return os.path.join(project_dir(start), ".smt", PROJECT_FILE)


def read_project_file(start=None):
    """The project's ``.smt/project`` as a dict, checked as far as Sumatra
    relies on it (every reader goes through here): a JSON object with a
    project name and a record store, each entry naming a class by a dotted
    path. Anything else is a :class:`QueryError` naming the file."""
    path = project_file(start)
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise QueryError(f"cannot read the project file {path}: "
                         f"{getattr(err, 'strerror', None) or err}") from None
    if not text.strip():
        raise QueryError(f"the project file {path} is empty")
    try:
        data = json.loads(text)
    except ValueError as err:
        raise QueryError(f"the project file {path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise QueryError(f"the project file {path} holds a JSON {type(data).__name__}, "
                         "not the object describing a Sumatra project")
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise QueryError(f"the project file {path} has no project name")
    if not isinstance(data.get("record_store"), dict):
        raise QueryError(f"the project file {path} names no record store")
    for key, value in data.items():      # Sumatra imports and calls each "type"
        if isinstance(value, dict) and "type" in value and not (
                isinstance(value["type"], str) and _DOTTED.fullmatch(value["type"])):
            raise QueryError(f"the project file {path}: {key!r} names no class "
                             f"(type {value['type']!r})")
    return data


def write_project_file(data, start=None):
    """Replace the project's ``.smt/project`` by ``data`` (atomically)."""
    path = project_file(start)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def store_entry(start=None):
    """The ``record_store`` entry of the project's ``.smt/project`` (a dict)."""
    return read_project_file(start)["record_store"]


#: The name :mod:`smt_query.query` has always exported.
project_store_entry = store_entry


def django_store_type(entry, able):
    """The class name of the ``record_store`` entry ``entry`` if it is a Django
    store; else a :class:`QueryError` saying only such a store ``able``."""
    kind = entry.get("type") if isinstance(entry, dict) else None
    if kind not in (SUMATRA_STORE, QUERY_STORE):
        raise QueryError(f"the project's record store is {kind or entry!r}; only a "
                         f"Django record store (SQLite or PostgreSQL) {able}")
    return kind


def store_database(project_path):
    """A Django ``DATABASES`` entry for the record store of the project at
    ``project_path`` (SQLite file or PostgreSQL URI, as ``smt init --store``
    gave it; a relative SQLite path is relative to the project)."""
    uri = store_entry(project_path).get("db_file")
    if not uri:
        raise QueryError(f"the project at {project_path} has no Django record store")
    return parse_store_uri(uri, project_path)


def masked_uri(uri):
    """The store URI ``uri`` as shown to users: its password, if any, replaced
    by ``***`` (``postgres://user:***@host/db``); a file path unchanged. The
    one rule for every store name printed (stores' ``str()``, errors,
    ``smt querystore status``, the demo)."""
    from urllib.parse import urlsplit
    text = str(uri)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if not parts.scheme or "@" not in parts.netloc:
        return text
    userinfo, _, host = parts.netloc.rpartition("@")
    if ":" not in userinfo:
        return text
    netloc = userinfo.split(":", 1)[0] + ":***@" + host
    return parts._replace(netloc=netloc).geturl()


def parse_store_uri(uri, project_path):
    """The Django ``DATABASES`` entry for a store URI of ``.smt/project``."""
    from urllib.parse import unquote, urlparse
    parsed = urlparse(uri)
    if parsed.scheme.startswith("postgres"):
        return {"ENGINE": "django.db.backends.postgresql",
                "NAME": parsed.path.lstrip("/"), "HOST": parsed.hostname or "",
                "PORT": parsed.port or "", "USER": unquote(parsed.username or ""),
                "PASSWORD": unquote(parsed.password or "")}
    if parsed.scheme:
        raise QueryError(f"unsupported record store {masked_uri(uri)!r}: use SQLite or PostgreSQL")
    db_file = os.path.expanduser(uri)
    if not os.path.isabs(db_file):
        db_file = os.path.join(os.path.abspath(project_path), db_file)
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": db_file}


def saved_queries_path(start=None):
    """The project's file of saved queries (``.smt/smt_query.json``)."""
    return os.path.join(project_dir(start), ".smt", SAVED_FILE)


def read_settings(start=None):
    """The project's own configuration, ``.smt/smt_query.json`` (saved queries,
    metrics), as a dict (``{}`` when there is none); anything but a JSON
    object is a :class:`QueryError` naming the file."""
    path = saved_queries_path(start)
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise QueryError(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict):
        raise QueryError(f"cannot read {path}: expected a JSON object")
    return data


def saved_queries(start=None):
    """``{name: spec}`` of the project's saved queries (specs as stored:
    :func:`load_query` checks one before it is used). A file that is not
    ``{"queries": {name: spec, ...}}`` is a :class:`QueryError`."""
    try:
        data = read_settings(start)
    except QueryError as err:
        raise QueryError(f"cannot read saved queries: {err}") from None
    queries = data.get("queries", {})
    if not isinstance(queries, dict):
        raise QueryError(f"cannot read saved queries from {saved_queries_path(start)}: expected "
                         '{"queries": {NAME: {OPTION: VALUE, ...}, ...}}')
    return queries


def update_settings(change, start=None):
    """Apply ``change(settings)`` to the project's configuration and write it
    back atomically (nothing is written if ``change`` raises)."""
    data = read_settings(start)
    change(data)
    path = saved_queries_path(start)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True, ensure_ascii=False)
    os.replace(tmp, path)


def load_project(start=None):
    """The Sumatra project at or above ``start`` (default: cwd), loaded by
    Sumatra once :func:`read_project_file` has checked its file; what Sumatra
    still cannot load is a :class:`QueryError`."""
    from sumatra.projects import load_project as sumatra_load
    path = project_dir(start)
    read_project_file(path)
    try:
        return sumatra_load(path)
    except (ImportError, AttributeError, TypeError, ValueError, OSError) as err:
        raise QueryError(f"cannot load the Sumatra project in {path}: "
                         f"{type(err).__name__}: {err}") from None
