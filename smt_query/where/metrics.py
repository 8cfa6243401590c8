"""``metric.NAME`` in ``--where``: the key, its Python value and its SQL.

A metric is a number computed once per record from its outcome or an output
file (:mod:`smt_query.metrics`) and kept in a table of our own,
:data:`TABLE`: one row per record and metric, ``state`` 0 (no value), 1 (a
number in ``value``) or 2 (NaN). A leaf on a metric reads that table in
SQL (one ``db_id IN (subquery)``); in Python it asks the metric source of the
running view (:data:`SOURCE`, set by the view around its Python filtering),
which computes the value from the record itself -- the reference semantics.
A missing value makes every comparison false, as for parameters.
"""
import contextlib
import contextvars

from ..errors import QueryError
from .sqltext import MAX_SQL_TERMS, sql_value_ok
from .values import NO_VALUE, ORDER, is_number, keys_of

#: The table of metric values (never one of Sumatra's).
TABLE = "smtq_metric"
#: state column: no value, a number, NaN.
NONE, NUMBER, NAN = 0, 1, 2
#: The metric source of the running Python evaluation: ``source(record, name)``
#: -> a number or None (set by the view; see :func:`metric_source`).
SOURCE = contextvars.ContextVar("smt_query_metric_source", default=None)


class MetricKey:
    """The key ``metric.NAME`` of a ``where`` expression."""

    PREFIX = "metric."

    def __init__(self, name):
        if not isinstance(name, str) or not name:
            raise QueryError(f"a metric name is a non-empty string, not {name!r}")
        self.name = name

    def __str__(self):
        return self.PREFIX + self.name

    def __repr__(self):
        return f"MetricKey({self.name!r})"

    def __eq__(self, other):
        return type(other) is MetricKey and other.name == self.name

    def __hash__(self):
        return hash(("MetricKey", self.name))


def metric_name(key):
    """The metric name of a column key ``metric.NAME`` (text), else None."""
    if isinstance(key, str) and key.startswith(MetricKey.PREFIX) and len(key) > 7:
        return key[len(MetricKey.PREFIX):]
    return None


@contextlib.contextmanager
def metric_source(source):
    """Evaluate metric leaves in Python with ``source(record, name)`` meanwhile."""
    token = SOURCE.set(source)
    try:
        yield
    finally:
        SOURCE.reset(token)


def metric_names(expr):
    """The names of the metrics an expression tree reads."""
    return {key.name for key in keys_of(expr) if isinstance(key, MetricKey)}


def metric_value(fields, name):
    """The value of metric ``name`` for a record's ``fields`` (a
    :class:`~smt_query.where.nodes.RecordFields`, asking the running
    :data:`SOURCE`, or a plain mapping holding ``"metric.NAME"``); NO_VALUE
    when it has none."""
    getter = getattr(fields, "metric", None)
    value = getter(name) if callable(getter) else fields.get(MetricKey.PREFIX + name)
    return NO_VALUE if value is None else value


def record_metric(record, name):
    """Metric ``name`` of a Sumatra record, from the running source."""
    source = SOURCE.get()
    if source is None:
        raise QueryError(f"metric.{name}: metrics are read through a view of a project "
                         "(its metric definitions); this record has none")
    return source(record, name)


def metric_q(node, ctx):
    """A ``Q`` for the ``where`` leaf ``node`` on a metric, or None."""
    from django.db.models import Q
    from django.db.models.expressions import RawSQL
    op, x = node.op, getattr(node, "value", None)
    if op in ("exists", "missing"):
        cond, params = f"state IN ({NUMBER}, {NAN})", []
    else:
        if not sql_value_ok(x) or (isinstance(x, list) and len(x) > MAX_SQL_TERMS):
            return None
        cond, params = _condition(op, x)
        if cond is None:
            return Q(pk__in=[])
    sql = f"SELECT record_id FROM {TABLE} WHERE name = %s AND ({cond})"
    q = Q(db_id__in=RawSQL(sql, [node.key.name, *params]))
    return ~q if op == "missing" else q


def _condition(op, x):
    """SQL over (state, value) for ``value op x`` as ``Compare.holds`` decides
    it on a number or NaN; (None, []) when no value satisfies it."""
    present = f"state IN ({NUMBER}, {NAN})"
    if op in ("==", "!="):
        if not is_number(x):
            return (None, []) if op == "==" else (present, [])
        if op == "==":
            return f"state = {NUMBER} AND value = %s", [x]
        return f"state = {NAN} OR (state = {NUMBER} AND value <> %s)", [x]
    if op in ORDER:
        if not is_number(x):
            return None, []
        return f"state = {NUMBER} AND value {op} %s", [x]
    if op in ("in", "not in"):
        numbers = [v for v in x if is_number(v)]
        if op == "in":
            if not numbers:
                return None, []
            marks = ", ".join(["%s"] * len(numbers))
            return f"state = {NUMBER} AND value IN ({marks})", numbers
        if not numbers:
            return present, []
        marks = ", ".join(["%s"] * len(numbers))
        return f"state = {NAN} OR (state = {NUMBER} AND value NOT IN ({marks}))", numbers
    return None, []     # contains, ~, matches: never true of a number
