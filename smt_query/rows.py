"""The row pipeline: a view's records as plain dicts, then merged, grouped,
sorted and cut, as ``smt query``, the admin's export and the summary show them.

:func:`query_rows` reads rows (with parameter columns, :func:`add_parameter_columns`);
:func:`merge_rows`, :func:`group_rows` and :func:`sort_rows` reshape them;
:func:`select_rows` runs the whole pipeline of ``smt query``. Nothing here
imports click, Django or pandas.
"""
import json
import re
import warnings

from .errors import QueryError, QueryHint, did_you_mean, shown
from .fields import FIELDS, JSON_FIELDS, STATUSES, status_of

#: The columns ``smt query`` shows by default.
DEFAULT_FIELDS = ("label", "timestamp", "status", "tags", "duration", "reason", "outcome")
#: Records whose labels share this prefix (the timestamp) merge into one row.
DEFAULT_MERGE_PATTERN = r"^\d{8}-\d{6}"
#: The columns of a grouped row (after the grouping key).
GROUP_COLUMNS = ("count", "mean_duration", "min_duration", "max_duration")


def read_rows(view, fields, params=(), with_parameters=False, errors=None):
    """Rows (dicts) of ``fields`` for the records of ``view``, newest first,
    with ``status`` computed from the tags and the ``params`` columns added
    (:func:`add_parameter_columns`); the fields are not checked."""
    columns = ["label"] + [f for f in fields if f not in ("label", "tags", "status")]
    rows = view.rows(columns, tags=bool({"tags", "status"} & set(fields)),
                     parameters=bool(params) or with_parameters,
                     **({} if errors is None else {"errors": errors}))
    if "status" in fields:
        for row in rows:
            row["status"] = status_of(row["tags"])
    if params or with_parameters:
        add_parameter_columns(rows, params, with_parameters)
    return rows


def query_rows(view, fields, params=(), with_parameters=False):
    """Rows (dicts) of ``fields`` for the records of ``view``, newest first.

    ``params`` are parameter keys added as columns (dotted, task ``inputs``
    levels may be omitted; missing -> None); ``with_parameters`` adds the
    whole parameter dict as ``"parameters"``. Read from columns alone when
    the view runs in SQL.
    """
    bad = [f for f in fields if f not in FIELDS]
    if bad:
        raise QueryError(f"unknown field {shown(bad[0])!r}{did_you_mean(bad[0], FIELDS)}; "
                         f"known fields: {', '.join(FIELDS)}")
    return read_rows(view, fields, params, with_parameters)


def add_parameter_columns(rows, keys, with_parameters=False):
    """Replace each row's ``"parameters"`` dict by a column per key of ``keys``
    (dotted; task ``inputs`` levels may be omitted; missing -> None); with
    ``with_parameters`` the dict stays too. Returns ``rows``."""
    if keys:
        from .params import get_task_param
    for row in rows:
        parameters = row.pop("parameters", None)
        for key in keys:
            row[key] = get_task_param(parameters, key, None)
        if with_parameters:
            row["parameters"] = parameters
    return rows


def merge_key(label, pattern=DEFAULT_MERGE_PATTERN):
    """What ``label`` merges by: its match of ``pattern`` (the timestamp), else itself."""
    m = re.match(pattern, label) if isinstance(pattern, str) else pattern.match(label)
    return m.group(0) if m else label


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


def merge_rows(rows, columns, pattern=DEFAULT_MERGE_PATTERN):
    """Rows merged by label timestamp (as the summary's merged view).

    Each merged row keeps the values of its newest record, with
    ``# records`` and the mean ``duration``.
    """
    pattern = re.compile(pattern)
    groups = {}
    for row in rows:
        groups.setdefault(merge_key(row["label"], pattern), []).append(row)
    out = []
    for key, members in groups.items():
        merged = dict(members[0], label=key)
        merged["# records"] = len(members)
        if "duration" in columns:
            merged["duration"] = _mean([r.get("duration") for r in members])
        if "status" in columns:
            merged["status"] = merged_status([r.get("status") for r in members])
        out.append(merged)
    return out, ["label", "# records"] + [c for c in columns if c != "label"]


def merged_status(statuses):
    """The status of a merged row: the one status of its records, or
    ``"mixed: finished 3, crashed 1"`` when they differ."""
    counts = {}
    for status in statuses:
        counts[status or "(none)"] = counts.get(status or "(none)", 0) + 1
    if len(counts) == 1:
        return statuses[0]
    order = {word: i for i, word in enumerate(STATUSES)}
    return "mixed: " + ", ".join(f"{s} {n}" for s, n in sorted(
        counts.items(), key=lambda item: (-item[1], order.get(item[0], len(order)), item[0])))


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


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
        out.append({key: value, "count": len(members), "mean_duration": _mean(durations),
                    "min_duration": min(durations, default=None),
                    "max_duration": max(durations, default=None)})
    out.sort(key=lambda r: -r["count"])
    return out


def select_rows(view, fields=DEFAULT_FIELDS, params=(), *, fmt="table", with_parameters=False,
                merged=False, group_by=None, sort=None, limit=None, info=None):
    """``(rows, columns)`` of ``view`` as ``smt query`` shows them in format
    ``fmt``: ``fields`` and ``params`` columns (JSON: the contract's fields
    first; ``with_parameters``: each record's parameter set, JSON only), then
    ``merged`` by label timestamp or grouped by ``group_by``, sorted by
    ``sort`` (``-key``: descending; a field or parameter key, read even if
    not shown) and cut to ``limit`` rows. A parameter column or sort key no
    shown record has is named in a :class:`~smt_query.errors.QueryHint`
    (:func:`blank_column_hints`). With ``info`` (a dict), ``info["total"]``
    is the number of rows before the cut."""
    fields, params = list(fields), list(params)
    shaped = merged or group_by
    if fmt == "labels" and not shaped:   # read nothing it won't print
        fields = ["label"]
    fields, params = group_columns(fields, params, group_by)
    with_parameters = with_parameters and fmt == "json"
    if fmt == "json" and not shaped:
        fields = json_fields(fields)
    columns = fields + params + (["parameters"] if with_parameters else [])
    sort_key = (sort or "").lstrip("-")
    hidden = [] if not sort or group_by or sort_key in columns else [sort_key]
    read_fields = fields + [k for k in hidden if k in FIELDS]
    read_params = params + [k for k in hidden if k not in FIELDS]
    rows = query_rows(view, read_fields, read_params, with_parameters)
    blank_column_hints(view, rows, [sort_key] if sort and not group_by and sort_key not in FIELDS
                       and sort_key in read_params else [], params)
    if merged:
        rows, columns = merge_rows(rows, columns)
    if group_by:
        rows, columns = group_rows(rows, group_by), [group_by, *GROUP_COLUMNS]
    if sort:
        rows = sort_rows(rows, sort)
    if isinstance(info, dict):
        info["total"] = len(rows)
    if limit is not None:
        rows = rows[:limit]
    return rows, columns


def blank_column_hints(view, rows, sort_keys, keys):
    """Warn a :class:`~smt_query.errors.QueryHint` for each parameter of
    ``keys`` (columns) or ``sort_keys`` that no record of ``rows`` has: a
    blank column, or a sort that sorts nothing. The keys that exist are read
    (from ``view``) only then."""
    blank = [(k, k in sort_keys) for k in dict.fromkeys([*keys, *sort_keys])
             if rows and all(row.get(k) is None for row in rows)
             and not view.has_parameter(k)]
    candidates = None
    for key, sorting in blank:
        if candidates is None:
            candidates = view.parameter_keys(prefixes=True) + list(FIELDS)
        warnings.warn(QueryHint(
            f"no record shown has the parameter {shown(key)!r}"
            f"{' to sort by' if sorting else ''}{did_you_mean(key, candidates)}"), stacklevel=3)
