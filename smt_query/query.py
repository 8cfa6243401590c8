"""Queries as plain option dictionaries: what ``smt query`` and ``smt compare``
run, usable from Python too.

A *query spec* maps option names (as on the command line, with underscores)
to values, e.g. ``{"tag": ["finished"], "after": "20200912", "where":
["lr > 0.01"]}``. :func:`apply_spec` turns it into filters on a view;
:func:`save_query`/:func:`load_query` keep named specs in the project's
``.smt/`` folder; :func:`select_rows` sorts, limits and groups result rows.
"""
import json
import os

from .errors import QueryError
from .fields import FIELDS, JSON_FIELDS, status_of
from .filters import spec_options
# The project lookup lives in smt_query.project; these names stay importable here.
from .project import (SAVED_FILE, load_project, project_dir,  # noqa: F401
                      project_store_entry, read_project_file)
from .project import saved_queries_path as _saved_path

#: Spec option -> (filter name, how the value becomes arguments), generated
#: from the filter registry (:class:`smt_query.filters.Option`): "each" one
#: filter per value; "all" one filter with all values; "one" one filter with
#: the value; "flag" a filter when true; "keyword" a keyword argument.
SPEC_FILTERS = {key: (opt.filter, opt.how) for key, opt in spec_options().items()}

def apply_spec(view, spec):
    """Return ``view`` narrowed by every filter of ``spec`` (unset values
    skipped); a :class:`QueryError` for anything that is not a valid spec."""
    if not isinstance(spec, dict):
        raise QueryError(f"a query is a dict of options, not {spec!r}")
    options = spec_options()
    unknown = set(spec) - set(options)
    if unknown:
        raise QueryError(f"unknown query option {sorted(unknown, key=str)[0]!r}")
    keywords = {}     # filter name -> its keyword arguments (e.g. duration's min, max)
    for key, opt in options.items():
        name, how, value = opt.filter, opt.how, spec.get(key)
        if how == "keyword":
            if value is not None:
                keywords.setdefault(name, {})[opt.arg] = value
            continue
        if value is None or (isinstance(value, (list, tuple, str, bool)) and not value):
            continue
        if how == "flag" and value is not True:
            raise QueryError(f"{opt.flag} is a flag: true or false, not {value!r}")
        if how in ("one", "flag") or isinstance(value, str):
            values = [value]
        elif isinstance(value, (list, tuple)):
            values = list(value)
        else:
            raise QueryError(f"{opt.flag} takes text or a list of texts, not {value!r}")
        if how == "all":
            view = getattr(view.filter, name)(*values)
        elif how == "flag":
            view = getattr(view.filter, name)()
        else:
            for v in values:
                view = getattr(view.filter, name)(v)
    for name, kwargs in keywords.items():
        view = getattr(view.filter, name)(**kwargs)
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
    options = spec_options()
    order = sorted(options, key=lambda k: not options[k].positional)   # arguments first
    for key in sorted(spec, key=lambda k: order.index(k) if k in order else len(order)):
        value = spec[key]
        if key in options and options[key].positional:
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


# -- rows ---------------------------------------------------------------------

def query_rows(view, fields, params=(), with_parameters=False):
    """Rows (dicts) of ``fields`` for the records of ``view``, newest first.

    ``params`` are parameter keys added as columns (dotted, task ``inputs``
    levels may be omitted; missing -> None); ``with_parameters`` adds the
    whole parameter dict as ``"parameters"``. Read from columns alone when
    the view runs in SQL.
    """
    bad = [f for f in fields if f not in FIELDS]
    if bad:
        raise QueryError(f"unknown field {bad[0]!r}; known fields: {', '.join(FIELDS)}")
    columns = ["label"] + [f for f in fields if f not in ("label", "tags", "status")]
    rows = view.rows(columns, tags=bool({"tags", "status"} & set(fields)),
                     parameters=bool(params) or with_parameters)
    if params:
        from .params import get_task_param
    for row in rows:
        if "status" in fields:
            row["status"] = status_of(row["tags"])
        parameters = row.pop("parameters", None)
        for key in params:
            row[key] = get_task_param(parameters, key, None)
        if with_parameters:
            row["parameters"] = parameters
    return rows


def group_columns(fields, params, group_by):
    """Make sure the ``group_by`` key is read: as a field, or as a parameter."""
    if group_by and group_by not in fields and group_by not in params:
        if group_by in FIELDS:
            fields = fields + [group_by]
        else:
            params = params + [group_by]
    if group_by and "duration" not in fields:
        fields = fields + ["duration"]
    return fields, params


def merge_rows(rows, columns):
    """Rows merged by label timestamp (as the summary's merged view).

    Each merged row keeps the values of its newest record, with
    ``# records`` and the mean ``duration``.
    """
    from .summary import DEFAULT_MERGE_PATTERN
    import re
    pattern = re.compile(DEFAULT_MERGE_PATTERN)
    groups = {}
    for row in rows:
        m = pattern.match(row["label"])
        groups.setdefault(m.group(0) if m else row["label"], []).append(row)
    out = []
    for key, members in groups.items():
        merged = dict(members[0], label=key)
        merged["# records"] = len(members)
        durations = [r["duration"] for r in members if r.get("duration") is not None]
        if "duration" in columns:
            merged["duration"] = sum(durations) / len(durations) if durations else None
        out.append(merged)
    return out, ["label", "# records"] + [c for c in columns if c != "label"]


def json_fields(fields):
    """The JSON contract's fields first, then any other asked-for field."""
    return list(JSON_FIELDS) + [f for f in fields if f not in JSON_FIELDS]


def sort_rows(rows, key):
    """Sort rows by ``key`` (``-key`` for descending); missing values last."""
    desc = key.startswith("-")
    key = key.lstrip("-")
    if rows and key not in rows[0]:
        raise QueryError(f"cannot sort by {key!r}: not a shown field or parameter")
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    try:
        present.sort(key=lambda r: _sort_key(r[key]), reverse=desc)
    except TypeError:
        present.sort(key=lambda r: str(r[key]), reverse=desc)
    return present + missing


def _sort_key(value):
    return tuple(value) if isinstance(value, list) else value


def group_rows(rows, key):
    """One row per distinct ``key`` value: count and duration mean/min/max."""
    groups = {}
    for row in rows:
        value = row.get(key)
        groups.setdefault(json.dumps(value, sort_keys=True, default=str), (value, []))[1].append(row)
    out = []
    for value, members in groups.values():
        durations = [r["duration"] for r in members if r.get("duration") is not None]
        out.append({key: value, "count": len(members),
                    "mean_duration": sum(durations) / len(durations) if durations else None,
                    "min_duration": min(durations, default=None),
                    "max_duration": max(durations, default=None)})
    out.sort(key=lambda r: -r["count"])
    return out
