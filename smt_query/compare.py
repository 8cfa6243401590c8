"""Comparing records of a view: what ``smt compare`` runs.

:func:`compare_view` compares the parameters (and chosen fields) of every
record of a view; with ``env=True`` it compares their environment instead
(code version and diff, main file, executable, dependencies, platform,
launch mode), like daskperiment's environment-change report. A record whose
stored parameters cannot be read is left out and named (by
:func:`smt_query.params.unreadable`); the others are still compared.
"""
from .errors import QueryError, shown
from .params import ParameterComparison, fold_task_inputs, unreadable


class Comparison:
    """The outcome of :func:`compare_view`.

    ``comparison`` is a :class:`~smt_query.params.ParameterComparison` (or
    None if fewer than two records could be compared); ``skipped`` maps the
    labels of records left out, their parameters unreadable, to why.
    """

    def __init__(self, comparison, skipped):
        self.comparison = comparison
        self.skipped = skipped

    @property
    def labels(self):
        return list(self.comparison.labels) if self.comparison else []

    def table(self, depth=None):
        """``(rows, columns)`` of the differences, keys cut to ``depth`` levels
        (see :meth:`~smt_query.params.ParameterComparison.dataframe`): for two
        records one row per key (``key`` and the two labels), else one row per
        record (``label``, then one column per key); none if nothing differs."""
        if self.comparison is None:
            return [], []
        frame = self.comparison.dataframe(depth=depth)
        if len(frame.columns) == 0:
            return [], []
        if len(frame.index) == 2:
            labels = [str(lbl) for lbl in frame.index]
            rows = [dict(zip(["key"] + labels, [key, *frame[key]])) for key in frame.columns]
            return rows, ["key"] + labels
        rows = [{"label": label, **dict(zip(frame.columns, values))}
                for label, values in zip(frame.index, frame.itertuples(index=False))]
        return rows, ["label"] + list(frame.columns)

    def as_json(self):
        """``{"records": [...], "differences": {key: {label: value}}}`` (full depth)."""
        return {"records": self.labels,
                "differences": self.comparison.differences if self.comparison else {}}


def compare_view(view, *, fields=(), fold=True, ignore=(), env=False, named=(), metrics=()):
    """Compare the records of ``view``; see :class:`Comparison`. ``metrics``:
    names of metrics compared too (as keys ``metric.NAME``).

    Raises :class:`QueryError` if fewer than two records match, or if a
    record whose parameters cannot be read is one of the labels ``named``
    (those the user asked for by name); other such records are left out,
    each named by an :class:`~smt_query.errors.UnreadableParameters` warning.
    """
    from .fields import ROW_FIELDS
    bad = [f for f in fields if f not in ROW_FIELDS]
    if bad:
        raise QueryError(f"unknown field {bad[0]!r}; known fields: {', '.join(ROW_FIELDS)}")
    n = len(view)
    if n < 2:
        raise QueryError(f"need at least two records to compare, {n} matched")
    skipped = {}
    labels, sets = [], []
    if env:
        for record in view:
            labels.append(record.label)
            sets.append(environment(record))
    else:
        fields = tuple(fields)
        values = {}
        if metrics:
            from .metrics import metric_values
            values = metric_values(view, metrics)
        for row in view.rows(fields, tags=False, parameters=True, errors=skipped):
            if row["label"] in skipped:
                continue
            params = row.pop("parameters")
            params = fold_task_inputs(params) if fold else params
            mine = values.get(row["label"], {})
            sets.append({**params, **{f: row[f] for f in fields},
                         **{f"metric.{m}": mine.get(m) for m in metrics}})
            labels.append(row["label"])
        for label in named:
            if label in skipped:
                raise QueryError(f"cannot compare record {shown(label)}: its parameters cannot "
                                 f"be read: {shown(skipped[label], 200)}")
        for label, reason in skipped.items():
            unreadable(label, reason)
    if len(sets) < 2:
        return Comparison(None, skipped)
    return Comparison(ParameterComparison(params=sets, labels=labels, ignore=ignore), skipped)


def environment(record):
    """What a record ran with, as a nested dict (for comparison)."""
    launch = record.launch_mode
    return {
        "version": record.version,
        "diff": record.diff or "",
        "main_file": record.main_file,
        "executable": {"name": getattr(record.executable, "name", None),
                       "path": getattr(record.executable, "path", None),
                       "version": getattr(record.executable, "version", None)},
        "dependencies": {d.name: d.version for d in record.dependencies},
        "platform": {k: v for i, p in enumerate(record.platforms)
                     for k, v in _platform(p, i, len(record.platforms)).items()},
        "launch_mode": {"type": _type_name(launch), **(launch.__getstate__() or {})},
    }


def _type_name(obj):
    """The class name of a Sumatra component; the stored type of a
    :class:`~smt_query.loader.StoredComponent`."""
    return getattr(obj, "type_name", None) or type(obj).__name__


def _platform(info, index, count):
    prefix = f"{index}." if count > 1 else ""
    return {prefix + k: v for k, v in sorted(vars(info).items())}
