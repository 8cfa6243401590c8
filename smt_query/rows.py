"""The row pipeline: a view's records as plain dicts, then merged, grouped,
sorted and cut, as ``smt query``, the admin's export and the summary show them.

:func:`query_rows` reads rows (with parameter columns, :func:`add_parameter_columns`);
:func:`merge_rows`, :func:`group_rows` and :func:`sort_rows` reshape them;
:func:`select_rows` runs the whole pipeline of ``smt query``. Nothing here
imports click, Django or pandas.
"""
import json
import re

from .errors import QueryError
from .fields import FIELDS, JSON_FIELDS, status_of
from .where.metrics import metric_name

#: The columns ``smt query`` shows by default.
DEFAULT_FIELDS = ("label", "timestamp", "status", "tags", "duration", "reason", "outcome")
#: Records whose labels share this prefix (the timestamp) merge into one row.
DEFAULT_MERGE_PATTERN = r"^\d{8}-\d{6}"
#: The columns of a grouped row (after the grouping key).
GROUP_COLUMNS = ("count", "mean_duration", "min_duration", "max_duration")


def read_rows(view, fields, params=(), with_parameters=False, errors=None, with_metrics=False):
    """Rows (dicts) of ``fields`` for the records of ``view``, newest first,
    with ``status`` computed from the tags and the ``params`` columns added
    (:func:`add_parameter_columns`; a key ``metric.NAME`` is the record's
    metric, read from the store's table); the fields are not checked. With
    ``with_metrics``, each row keeps ``"metrics"``: ``{name: value}``."""
    columns = ["label"] + [f for f in fields if f not in ("label", "tags", "status")]
    names = [metric_name(k) for k in params if metric_name(k)]
    param_keys = [k for k in params if not metric_name(k)]
    rows = view.rows(columns, tags=bool({"tags", "status"} & set(fields)),
                     parameters=bool(param_keys) or with_parameters,
                     **({} if errors is None else {"errors": errors}))
    if "status" in fields:
        for row in rows:
            row["status"] = status_of(row["tags"])
    if names:
        from .metrics import metric_values
        values = metric_values(view, names, [row["label"] for row in rows])
        for row in rows:
            row["metrics"] = values.get(row["label"], {})
    if params or with_parameters:
        add_parameter_columns(rows, params, with_parameters)
    if names and not with_metrics:
        for row in rows:
            row.pop("metrics", None)
    return rows


def query_rows(view, fields, params=(), with_parameters=False, with_metrics=False):
    """Rows (dicts) of ``fields`` for the records of ``view``, newest first.

    ``params`` are parameter keys added as columns (dotted, task ``inputs``
    levels may be omitted; missing -> None); ``with_parameters`` adds the
    whole parameter dict as ``"parameters"``. Read from columns alone when
    the view runs in SQL.
    """
    bad = [f for f in fields if f not in FIELDS]
    if bad:
        raise QueryError(f"unknown field {bad[0]!r}; known fields: {', '.join(FIELDS)}")
    return read_rows(view, fields, params, with_parameters, with_metrics=with_metrics)


def add_parameter_columns(rows, keys, with_parameters=False):
    """Replace each row's ``"parameters"`` dict by a column per key of ``keys``
    (dotted; task ``inputs`` levels may be omitted; missing -> None); with
    ``with_parameters`` the dict stays too. Returns ``rows``."""
    if keys:
        from .params import get_task_param
    for row in rows:
        parameters = row.pop("parameters", None)
        for key in keys:
            name = metric_name(key)
            if name is not None and "metrics" in row:   # read by read_rows
                row[key] = row["metrics"].get(name)
            else:
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
        out.append(merged)
    return out, ["label", "# records"] + [c for c in columns if c != "label"]


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
                merged=False, group_by=None, sort=None, limit=None, metrics=()):
    """``(rows, columns)`` of ``view`` as ``smt query`` shows them in format
    ``fmt``: ``fields`` and ``params`` columns (JSON: the contract's fields
    first; ``with_parameters``: each record's parameter set, JSON only), then
    ``merged`` by label timestamp or grouped by ``group_by``, sorted by
    ``sort`` (``-key``: descending) and cut to ``limit`` rows. ``metrics``
    (names) are columns ``metric.NAME``; in JSON one object ``"metrics"``."""
    fields, params = list(fields), list(params)
    as_object = bool(metrics) and fmt == "json" and not (merged or group_by)
    params += [f"metric.{m}" for m in metrics if f"metric.{m}" not in params and not (
        as_object and (sort or "").lstrip("-") != f"metric.{m}")]
    shaped = merged or group_by
    if fmt == "labels" and not shaped:   # read nothing it won't print
        fields = ["label"] + [k for k in [(sort or "").lstrip("-")] if k in FIELDS]
    fields, params = group_columns(fields, params, group_by)
    with_parameters = with_parameters and fmt == "json"
    if fmt == "json" and not shaped:
        fields = json_fields(fields)
    rows = query_rows(view, fields, params + [f"metric.{m}" for m in metrics if as_object
                                              and f"metric.{m}" not in params], with_parameters,
                      with_metrics=as_object)
    if as_object:
        for row in rows:
            row["metrics"] = {m: row["metrics"].get(m) for m in metrics}
    columns = fields + params + (["metrics"] if as_object else []) + (
        ["parameters"] if with_parameters else [])
    if merged:
        rows, columns = merge_rows(rows, columns)
    if group_by:
        rows, columns = group_rows(rows, group_by), [group_by, *GROUP_COLUMNS]
    if sort:
        rows = sort_rows(rows, sort)
    if limit is not None:
        rows = rows[:limit]
    return rows, columns
