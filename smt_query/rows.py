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
    # of each set only the asked-for keys' values are kept, unless the whole set is asked for
    rows = view.rows(columns, tags=bool({"tags", "status"} & set(fields)),
                     parameters=True if with_parameters else list(param_keys),
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
        raise QueryError(f"unknown field {shown(bad[0])!r}{did_you_mean(bad[0], FIELDS)}; "
                         f"known fields: {', '.join(FIELDS)}")
    return read_rows(view, fields, params, with_parameters, with_metrics=with_metrics)


def add_parameter_columns(rows, keys, with_parameters=False):
    """Replace each row's ``"parameters"`` dict by a column per key of ``keys``
    (dotted; task ``inputs`` levels may be omitted; missing -> None); with
    ``with_parameters`` the dict stays too. A row's ``"parameters"`` may be a
    :class:`~smt_query.params.KeyValues` holding these keys' values already.
    Returns ``rows``."""
    if keys:
        from .params import KeyValues, get_task_param
    for row in rows:
        parameters = row.pop("parameters", None)
        read = bool(keys) and isinstance(parameters, KeyValues)
        for key in keys:
            name = metric_name(key)
            if name is not None and "metrics" in row:   # read by read_rows
                row[key] = row["metrics"].get(name)
            elif read:
                row[key] = parameters[key]
            else:
                row[key] = get_task_param(parameters, key, None)
        if with_parameters:
            row["parameters"] = parameters
    return rows


def merge_key(label, pattern=DEFAULT_MERGE_PATTERN):
    """What ``label`` merges by: its match of ``pattern`` (the timestamp), else itself."""
    m = re.match(pattern, label) if isinstance(pattern, str) else pattern.match(label)
    return m.group(0) if m else label


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


# -- grouping ------------------------------------------------------------------

#: Time buckets of the timestamp: ``--group-by day`` or ``timestamp:day``
#: (UTC, the labels' clock), and how each bucket is written.
TIME_BUCKETS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "week": "%G-W%V",
                "month": "%Y-%m", "year": "%Y"}


class GroupKey:
    """One ``--group-by`` key: ``name`` is its column, ``read`` the field or
    parameter key read for it, ``bucket`` a :data:`TIME_BUCKETS` unit or None."""

    def __init__(self, name, read, bucket=None, is_field=False):
        self.name, self.read, self.bucket, self.is_field = name, read, bucket, is_field

    def __repr__(self):
        return f"GroupKey({self.name!r})"

    def value(self, row):
        value = row.get(self.read)
        if self.bucket and value is not None:
            from .dates import as_utc
            return as_utc(value).strftime(TIME_BUCKETS[self.bucket])
        return value


def _split(keys):
    """Keys given as a string, or repeated, each possibly comma-separated."""
    if isinstance(keys, str):
        keys = [keys]
    out = [k.strip() for key in (keys or ()) for k in str(key).split(",")]
    if any(not k for k in out):
        raise QueryError("empty key: give a field, a parameter key or a time bucket "
                         f"({', '.join(TIME_BUCKETS)})")
    return out


def _parameter(key):
    """A key in backticks (`` `day` ``) is always a parameter, as in --where."""
    return key[1:-1] if len(key) > 2 and key[0] == key[-1] == "`" else None


def group_keys(keys):
    """:class:`GroupKey` objects for ``keys`` (a string or a list; each may be
    comma-separated): a time bucket (``day``, ``week``, ``month``, ``year``,
    ``hour``, or ``timestamp:UNIT``), a record field, or a parameter key
    (dotted; in backticks for a parameter named like a field or bucket)."""
    out = []
    for key in _split(keys):
        param = _parameter(key)
        if param is not None:
            out.append(GroupKey(param, param))
        elif key.startswith("timestamp:") or key in TIME_BUCKETS:
            unit = key.split(":", 1)[-1]
            if unit not in TIME_BUCKETS:
                raise QueryError(f"unknown time bucket {unit!r}; use one of "
                                 f"{', '.join(TIME_BUCKETS)}" + did_you_mean(unit, TIME_BUCKETS))
            out.append(GroupKey(unit, "timestamp", unit, is_field=True))
        else:
            out.append(GroupKey(key, key, is_field=key in FIELDS))
    return out


def aggregate_keys(keys):
    """The numeric keys to aggregate (``duration`` always is): fields or
    parameter keys, as for :func:`group_keys` (no time buckets)."""
    out = []
    for key in _split(keys):
        param = _parameter(key)
        key = param if param is not None else key
        if key != "duration" and key not in out:
            out.append(key)
    return out


def group_columns(fields, params, keys, aggregates=()):
    """``(fields, params)`` extended by what grouping by ``keys`` (from
    :func:`group_keys`) with ``aggregates`` needs to read."""
    fields, params = list(fields), list(params)
    reads = [(k.read, k.is_field) for k in keys] + [(a, a in FIELDS) for a in aggregates]
    for read, is_field in reads + [("duration", True)]:
        into = fields if is_field else params
        if read not in fields and read not in params:
            into.append(read)
    return fields, params


def group_rows(rows, keys, aggregates=()):
    """One row per distinct combination of the ``keys`` values (a key or a list:
    see :func:`group_keys`): each key's value, ``count``, then the mean, min and
    max of ``duration`` and of each of ``aggregates`` (``mean_KEY``, ...) over
    the numbers among their values. Most records first."""
    keys = keys if isinstance(keys, list) and all(isinstance(k, GroupKey) for k in keys) \
        else group_keys(keys)
    numeric = ["duration"] + [a for a in aggregates if a != "duration"]
    groups = {}
    for row in rows:
        values = tuple(k.value(row) for k in keys)
        ident = json.dumps(values, sort_keys=True, default=str)
        groups.setdefault(ident, (values, []))[1].append(row)
    out = []
    for values, members in groups.values():
        group = dict(zip((k.name for k in keys), values))
        group["count"] = len(members)
        for key in numeric:
            numbers = [r.get(key) for r in members if _is_number(r.get(key))]
            group["mean_" + key] = _mean(numbers)
            group["min_" + key] = min(numbers, default=None)
            group["max_" + key] = max(numbers, default=None)
        out.append(group)
    out.sort(key=lambda r: -r["count"])
    return out


def grouped_columns(keys, aggregates=()):
    """The columns of :func:`group_rows`' rows."""
    numeric = ["duration"] + [a for a in aggregates if a != "duration"]
    return ([k.name for k in keys] + ["count"]
            + [f"{stat}_{key}" for key in numeric for stat in ("mean", "min", "max")])


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def group_view(view, keys, aggregates=(), fields=(), params=()):
    """``(rows, columns)``: the records of ``view`` grouped by ``keys`` with
    ``aggregates`` (:func:`group_rows`); every parameter key is read through
    :func:`read_rows`, and one that no record has is named by a
    :class:`~smt_query.errors.QueryHint`."""
    keys, aggregates = group_keys(keys), aggregate_keys(aggregates)
    fields, params = group_columns(list(fields), list(params), keys, aggregates)
    rows = query_rows(view, fields, params)
    blank_column_hints(view, rows, [k.read for k in keys if not k.is_field], role="--group-by")
    blank_column_hints(view, rows, [a for a in aggregates if a not in FIELDS], role="--aggregate")
    return group_rows(rows, keys, aggregates), grouped_columns(keys, aggregates)


def select_rows(view, fields=DEFAULT_FIELDS, params=(), *, fmt="table", with_parameters=False,
                merged=False, group_by=None, aggregate=(), sort=None, limit=None, metrics=(),
                info=None):
    """``(rows, columns)`` of ``view`` as ``smt query`` shows them in format
    ``fmt``: ``fields`` and ``params`` columns (JSON: the contract's fields
    first; ``with_parameters``: each record's parameter set, JSON only), then
    ``merged`` by label timestamp, or grouped by ``group_by`` (keys, see
    :func:`group_view`; ``fields`` and ``params`` are not shown) with the
    statistics of ``aggregate`` keys, sorted by ``sort`` (``-key``:
    descending; a field or parameter key, read even if not shown) and cut to
    ``limit`` rows. ``metrics`` (names) are columns ``metric.NAME``; in JSON
    one object ``"metrics"``. A parameter column or sort key no shown record
    has is named in a :class:`~smt_query.errors.QueryHint`
    (:func:`blank_column_hints`). With ``info`` (a dict), ``info["total"]``
    is the number of rows before the cut."""
    fields, params = list(fields), list(params)
    if group_by:
        if merged:
            raise QueryError("use either --merged or --group-by, not both")
        if fmt == "labels":
            raise QueryError("--group-by shows groups, not labels: use another --format")
        rows, columns = group_view(view, group_by, aggregate)
    else:
        if aggregate:
            raise QueryError("--aggregate goes with --group-by")
        as_object = bool(metrics) and fmt == "json" and not merged
        metric_keys = [f"metric.{m}" for m in metrics]
        if not as_object:
            params += [k for k in metric_keys if k not in params]
        if fmt == "labels" and not merged:   # read nothing it won't print
            fields = ["label"]
        with_parameters = with_parameters and fmt == "json"
        if fmt == "json" and not merged:
            fields = json_fields(fields)
        columns = fields + params + (["metrics"] if as_object else []) + (
            ["parameters"] if with_parameters else [])
        sort_key = (sort or "").lstrip("-")
        hidden = [sort_key] if sort and sort_key not in columns else []
        read_fields = fields + [k for k in hidden if k in FIELDS]
        read_params = params + [k for k in hidden + (metric_keys if as_object else [])
                                if k not in FIELDS and k not in params]
        rows = query_rows(view, read_fields, read_params, with_parameters,
                          with_metrics=as_object)
        if as_object:
            for row in rows:
                row["metrics"] = {m: row["metrics"].get(m) for m in metrics}
        blank_column_hints(view, rows, params, sort=sort_key if sort_key in read_params else None)
        if merged:
            rows, columns = merge_rows(rows, columns)
    if sort:
        rows = sort_rows(rows, sort)
    if isinstance(info, dict):
        info["total"] = len(rows)
    if limit is not None:
        rows = rows[:limit]
    return rows, columns


def blank_column_hints(view, rows, keys, sort=None, role=None):
    """Warn a :class:`~smt_query.errors.QueryHint` for each parameter of
    ``keys`` (columns; ``role``, e.g. ``"--group-by"``, says what for) or the
    ``sort`` key that no record of ``rows`` has: a blank column, a sort or a
    group that sorts nothing. The keys that exist are read (from ``view``)
    only then; metrics are not parameters and are never named."""
    keys = [*keys, *([sort] if sort else [])]
    blank = [k for k in dict.fromkeys(keys)
             if rows and not metric_name(k) and all(row.get(k) is None for row in rows)
             and not view.has_parameter(k)]
    candidates = None
    for key in blank:
        if candidates is None:
            candidates = view.parameter_keys(prefixes=True) + list(FIELDS) + (
                list(TIME_BUCKETS) if role == "--group-by" else [])
        hint = did_you_mean(key, candidates)
        warnings.warn(QueryHint(
            f"{role} {shown(key)!r}: no record has this parameter{hint}" if role else
            f"no record shown has the parameter {shown(key)!r}"
            f"{' to sort by' if key == sort else ''}{hint}"), stacklevel=3)
