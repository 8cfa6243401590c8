"""Metrics: numbers computed once per record from its outcome or an output
file, usable wherever a parameter key is (``metric.NAME``).

* :mod:`~smt_query.metrics.definitions` -- the project's metric
  definitions, kept in ``.smt/smt_query.json`` beside the saved queries;
* :mod:`~smt_query.metrics.extract` -- a value for one record (outcome
  regular expression; JSON, YAML, CSV or ``.npz`` output file), within bounds;
* :mod:`~smt_query.metrics.table` -- the values in smt-query's own table of
  the store, refreshed incrementally.

A view refreshes the metrics its filters read before it plans its SQL
(:func:`prepare_view`); in Python a metric is computed from the record itself
(:class:`RecordMetrics`), the reference the SQL path is tested against.
"""
from .definitions import Metric, add_metric, metric_definitions, remove_metric, require
from .extract import MAX_FILE, MAX_OUTCOME, UnreadableOutput, value_of

__all__ = ["MAX_FILE", "MAX_OUTCOME", "Metric", "RecordMetrics", "UnreadableOutput",
           "add_metric", "compared_metrics", "metric_definitions", "metric_values", "prepare_view",
           "refresh_metrics", "remove_metric", "value_of"]


class RecordMetrics:
    """``source(record, name)``: the metric's value computed from the record
    (cached per record and metric), for the Python evaluation."""

    def __init__(self, definitions):
        self._definitions = definitions     # a dict, or a function giving it (read once)
        self._cache = {}
        self._warned = set()

    @property
    def definitions(self):
        if callable(self._definitions):
            self._definitions = self._definitions()
        return self._definitions

    def __call__(self, record, name):
        key = (record.label, name)
        if key not in self._cache:
            (metric,) = require(self.definitions, [name])
            self._cache[key] = value_of(metric, record, self._warned)
        return self._cache[key]


def _view_path(view):
    path = getattr(view, "_project_path", None)
    if path is None and getattr(view, "_project", None) is not None:
        path = view._project.path
    return path


def view_definitions(view):
    """The metric definitions of a view's project ({} for a view of records)."""
    if "metric_definitions" not in view._cache:
        path = _view_path(view)
        view._cache["metric_definitions"] = {} if path is None else metric_definitions(path)
    return view._cache["metric_definitions"]


def prepare_view(view, names, progress=None):
    """Make the stored values of metrics ``names`` current for the view's
    store (an unknown name is a :class:`~smt_query.errors.QueryError`)."""
    metrics = require(view_definitions(view), sorted(names))
    store = view._store
    if store is not None and store.dialect is not None:
        from .table import refresh
        refresh(store, view._project_name, metrics, auto=True,
                progress=view.progress if progress is None else progress)


def python_source(view):
    """The :class:`RecordMetrics` of a view's project (None without a project)."""
    if _view_path(view) is None:
        return None
    return RecordMetrics(lambda: view_definitions(view))


def metric_values(view, names, labels=None):
    """``{label: {name: value}}`` for the records of ``view`` (``labels``: of
    these only): read from the store's table when the view has a store
    (refreshed first), else computed from the records."""
    names = sorted(set(names))
    prepare_view(view, names)
    store = view._store
    if store is not None and store.dialect is not None:
        from .table import read_values
        return read_values(store, view._project_name, names,
                           None if labels is None or len(labels) > 5000 else list(labels))
    source = RecordMetrics(view_definitions(view))
    out = {}
    for record in view:
        values = {n: source(record, n) for n in names}
        out[record.label] = {n: v for n, v in values.items() if v is not None}
    return out


def compared_metrics(view, names=None):
    """For comparing the records of ``view`` (``smt compare --metric``,
    ``ParameterComparison(metrics=...)``): a function giving a record's label
    ``{"metric.NAME": value}`` of metrics ``names`` (None: every metric its
    project declares), in that order; a record without a value lacks the key
    (as a record lacks a parameter). A :class:`~smt_query.errors.QueryError`
    for an unknown name, or for records that are not a view of a project."""
    from ..errors import QueryError
    if not hasattr(view, "_project_name"):
        raise QueryError("metrics are compared over a RecordStoreView of a project (its "
                         f"metric definitions), not {type(view).__name__}")
    names = sorted(view_definitions(view)) if names is None else list(dict.fromkeys(names))
    values = metric_values(view, names) if names else {}

    def of(label):
        mine = values.get(label, {})
        return {f"metric.{n}": mine[n] for n in names if n in mine}
    return of


def refresh_metrics(path=None, names=None, everything=False, progress=None):
    """Compute the stored values of the project at ``path`` (default: cwd):
    of ``names`` (default: every metric), of new and changed records only
    unless ``everything``. Returns ``{name: records computed}``; values of
    deleted records and of undefined metrics are dropped."""
    from ..project import project_dir, read_project_file
    from ..storetools import project_store
    from .table import forget, refresh
    definitions = metric_definitions(path)
    metrics = require(definitions, sorted(names) if names else sorted(definitions))
    store = project_store(path)
    project_name = read_project_file(project_dir(path))["name"]
    forget(store, project_name, [n for n in _stored_names(store) if n not in definitions])
    return refresh(store, project_name, metrics, everything=everything, progress=progress)


def _stored_names(store):
    from ..where.metrics import TABLE
    from .table import _connection
    with _connection(store).cursor() as cur:
        cur.execute(f"SELECT DISTINCT name FROM {TABLE}")
        return [r[0] for r in cur.fetchall()]
