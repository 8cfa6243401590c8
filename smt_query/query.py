"""Queries as plain option dictionaries: what ``smt query`` and ``smt compare``
run, usable from Python too.

A *query spec* maps option names (as on the command line, with underscores)
to values, e.g. ``{"tag": ["finished"], "after": "20200912", "where":
["lr > 0.01"]}``. :func:`apply_spec` turns it into filters on a view;
:func:`save_query`/:func:`load_query` keep named specs in the project's
``.smt/`` folder; :func:`smt_query.rows.select_rows` sorts, limits and groups result rows
(its functions stay importable from here).
"""
import json
import os
import re

from .errors import QueryError
from .rows import (group_columns, group_rows, json_fields, merge_rows,  # noqa: F401
                   query_rows, sort_rows)

#: Spec option -> (filter name, how the value becomes arguments).
#: "each": one filter per value; "all": one filter with all values;
#: "one": one filter with the value; "flag": a filter when true.
SPEC_FILTERS = {
    "labels": ("labels", "all"),
    "tag": ("tags", "all"),
    "any_tag": ("any_tag", "all"),
    "not_tag": ("not_tag", "all"),
    "status": ("status", "all"),
    "after": ("after", "one"),
    "before": ("before", "one"),
    "on": ("on", "one"),
    "label": ("label", "each"),
    "reason": ("reason", "each"),
    "outcome": ("outcome", "each"),
    "user": ("user", "each"),
    "main_file": ("main_file", "each"),
    "version": ("version", "each"),
    "where": ("where", "each"),
    "has_output": ("output", "flag"),
}

SAVED_FILE = "smt_query.json"


def apply_spec(view, spec):
    """Return ``view`` narrowed by every filter of ``spec`` (unset values
    skipped); a :class:`QueryError` for anything that is not a valid spec."""
    if not isinstance(spec, dict):
        raise QueryError(f"a query is a dict of options, not {spec!r}")
    unknown = set(spec) - set(SPEC_FILTERS) - {"min_duration", "max_duration"}
    if unknown:
        raise QueryError(f"unknown query option {sorted(unknown, key=str)[0]!r}")
    for key, (name, how) in SPEC_FILTERS.items():
        value = spec.get(key)
        if value is None or (isinstance(value, (list, tuple, str, bool)) and not value):
            continue
        if how == "flag" and value is not True:
            raise QueryError(f"--{key.replace('_', '-')} is a flag: true or false, not {value!r}")
        if how in ("one", "flag") or isinstance(value, str):
            values = [value]
        elif isinstance(value, (list, tuple)):
            values = list(value)
        else:
            raise QueryError(f"--{key.replace('_', '-')} takes text or a list of texts, "
                             f"not {value!r}")
        if how == "all":
            view = getattr(view.filter, name)(*values)
        elif how == "flag":
            view = getattr(view.filter, name)()
        else:
            for v in values:
                view = getattr(view.filter, name)(v)
    if spec.get("min_duration") is not None or spec.get("max_duration") is not None:
        view = view.filter.duration(min=spec.get("min_duration"), max=spec.get("max_duration"))
    return view


def check_spec(spec):
    """``spec`` if every filter it names can be built (dates, expressions,
    patterns, durations), else a :class:`QueryError` saying what is wrong.
    Nothing is read from a store."""
    from .view import RecordStoreView
    apply_spec(RecordStoreView(records=()), spec)
    return spec


def clean_spec(spec):
    """The spec without unset values (what is worth saving or showing)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.items()
            if v not in (None, (), [], False, "")}


def describe_spec(spec):
    """A spec as the command-line options that make it."""
    parts = []
    spec = clean_spec(spec)
    order = list(SPEC_FILTERS) + ["min_duration", "max_duration"]
    for key in sorted(spec, key=lambda k: order.index(k) if k in order else len(order)):
        value = spec[key]
        if key == "labels":
            parts.extend(value)
            continue
        flag = "--" + key.replace("_", "-")
        for v in (value if isinstance(value, list) else [value]):
            parts.append(flag if v is True else f"{flag} {json.dumps(v, ensure_ascii=False)}"
                         if isinstance(v, str) and (" " in v or not v) else f"{flag} {v}")
    return " ".join(parts) or "(all records)"


def merge_specs(base, extra):
    """``base`` narrowed by ``extra``: list options add up, single ones must agree."""
    out = dict(base)
    for key, value in clean_spec(extra).items():
        if key not in out:
            out[key] = value
        elif isinstance(value, list):
            out[key] = list(out[key]) + [v for v in value if v not in out[key]]
        elif out[key] != value:  # e.g. two different --after: refuse, never drop one
            raise QueryError(f"the saved query already sets --{key.replace('_', '-')} "
                             f"{out[key]!r}; cannot also use {value!r}")
    return out


# -- saved queries ----------------------------------------------------------

def project_dir(start=None):
    """The directory holding ``.smt`` at or above ``start`` (default: cwd)."""
    path = os.path.abspath(start or os.getcwd())
    while not os.path.isdir(os.path.join(path, ".smt")):
        parent = os.path.dirname(path)
        if parent == path:
            raise QueryError("No Sumatra project exists in the current directory or above it.")
        path = parent
    return path


def read_project_file(start=None):
    """The project's ``.smt/project`` as a dict, checked as far as Sumatra
    relies on it (every reader goes through here): a JSON object with a
    project name and a record store, each entry naming a class by a dotted
    path. Anything else is a :class:`QueryError` naming the file."""
    path = os.path.join(project_dir(start), ".smt", "project")
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


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def project_store_entry(start=None):
    """The ``record_store`` entry of the project's ``.smt/project`` (a dict)."""
    return read_project_file(start)["record_store"]


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


def _saved_path(start=None):
    return os.path.join(project_dir(start), ".smt", SAVED_FILE)


def saved_queries(start=None):
    """``{name: spec}`` of the project's saved queries (specs as stored:
    :func:`load_query` checks one before it is used). A file that is not
    ``{"queries": {name: spec, ...}}`` is a :class:`QueryError`."""
    path = _saved_path(start)
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise QueryError(f"cannot read saved queries from {path}: {err}") from None
    queries = data.get("queries", {}) if isinstance(data, dict) else None
    if not isinstance(queries, dict):
        raise QueryError(f"cannot read saved queries from {path}: expected "
                         '{"queries": {NAME: {OPTION: VALUE, ...}, ...}}')
    return queries


def save_query(name, spec, start=None):
    """Store ``spec`` under ``name`` in ``.smt/smt_query.json`` (replacing
    it); the spec is checked first, and nothing is written if it, or the
    file, is not valid."""
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise QueryError(f"bad query name {name!r}: use letters, digits, - and _")
    check_spec(spec)
    queries = saved_queries(start)
    queries[name] = clean_spec(spec)
    path = _saved_path(start)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"queries": queries}, f, indent=2, sort_keys=True, ensure_ascii=False)
    os.replace(tmp, path)


def load_query(name, start=None):
    """The saved spec ``name``, or a :class:`QueryError` naming the known ones."""
    queries = saved_queries(start)
    if name not in queries:
        known = ", ".join(sorted(queries)) or "none saved yet"
        raise QueryError(f"no saved query {name!r} (known: {known})")
    try:
        return check_spec(queries[name])
    except QueryError as err:
        raise QueryError(f"saved query {name!r} is not valid ({_saved_path(start)}): "
                         f"{str(err).splitlines()[0]}") from None
