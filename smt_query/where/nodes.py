"""The nodes of a ``--where`` expression and their Python semantics.

Every node can :meth:`Expr.evaluate` itself on a parameter dict and a
mapping of record fields (the reference semantics), :meth:`Expr.test` a
Sumatra record, and :meth:`Expr.to_q` compile itself to a Django ``Q``
(its own shape here, in ``_to_q``; record columns from
:mod:`~smt_query.where.qfields`, parameters from
:mod:`~smt_query.where.compiler`). Every node has an ``op``: ``and``,
``or``, ``not``, ``exists``, ``missing`` or a comparison operator.
"""
import datetime as _dt
import operator
import re
from collections.abc import Mapping

from ..dates import as_utc, date_span, parse_duration
from ..errors import QueryError
from ..fields import STATUSES, status_words as _status_words
from ..params import as_params, get_task_param
from .compiler import accepted, param_q
from .metrics import MetricKey, metric_q, metric_value, record_metric
from .qfields import field_q
from .sqltext import MAX_SQL_TERMS
from .values import (FIELDS, NO_VALUE, OPERATORS, ORDER, Field, Key, equal, format_value,
                     is_list, is_number, normalize, ordered)

#: Deepest nesting of 'and', 'or' and 'not' in one expression (after
#: flattening: ``a or (b or c)`` is one level, redundant parentheses none).
MAX_DEPTH = 100
#: The operators each kind of record field takes.
FIELD_OPS = {
    "text": ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "~", "matches"),
    "number": ("==", "!=", "<", "<=", ">", ">=", "in", "not in"),
    "date": ("==", "!=", "<", "<=", ">", ">=", "in", "not in"),
    "status": ("==", "!=", "in", "not in", "~", "matches"),
    "tags": ("contains", "not contains", "~", "matches"),
}


class WhereSyntaxError(QueryError):
    """A ``--where`` expression that cannot be parsed.

    The first line of the message stands alone; the next two show the
    expression and a caret under ``position`` (0-based).
    """

    def __init__(self, text, position, message):
        self.text, self.position, self.message = text, position, message
        super().__init__(f"bad --where expression at position {position + 1}: {message}\n"
                         f"  {text}\n  {' ' * position}^")


class Expr:
    """A node of a parsed expression."""

    _fields = ()

    def test(self, record):
        """True if the Sumatra ``record`` satisfies the expression."""
        params = as_params(record) if self.uses_params else {}
        return self.evaluate(params, RecordFields(record))

    def evaluate(self, params, fields):
        """True if parameters ``params`` (a dict) and record ``fields`` (a
        mapping: ``label``, ``tags``, ``timestamp``, ...) satisfy it."""
        raise NotImplementedError

    def to_q(self, ctx):
        """A Django ``Q`` selecting exactly the records :meth:`test` accepts,
        or ``None`` if that is impossible in SQL on this store (``ctx`` is a
        :class:`~smt_query.recordstore.SQLContext`).

        A ``Q`` reading parameters makes the database raise an error that
        :func:`unreadable_params` recognizes if a stored parameter set is one
        it cannot read exactly as Python does; set the store's
        ``params_in_sql`` to False and plan again (a view does this itself).
        """
        return accepted(sql_form(self)._q(ctx), ctx, tree_depth(self))

    def _q(self, ctx):
        """:meth:`to_q` of a tree already in :func:`sql_form`."""
        if self.uses_params and not self.uses_fields:
            return param_q(self, ctx)     # one condition: one pass over the parameters
        return self._to_q(ctx)

    def _to_q(self, ctx):
        raise NotImplementedError

    @property
    def uses_params(self):
        """Whether the expression reads parameters."""
        return any(child.uses_params for child in self.children)

    @property
    def uses_fields(self):
        """Whether the expression reads record fields."""
        return any(child.uses_fields for child in self.children)

    children = ()

    def __eq__(self, other):
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields)

    __hash__ = None

    def __repr__(self):
        return f"<{type(self).__name__} {self}>"


class _Junction(Expr):
    """Base of And and Or: ``children`` joined by ``_combine``; ``EMPTY``
    is the value of a junction without children."""

    _fields = ("children",)

    def __init__(self, children):
        self.children = list(children)

    def _to_q(self, ctx):
        from django.db.models import Q
        children = _grouped(self)
        if len(children) > MAX_SQL_TERMS:
            return None     # too long a condition for SQL: Python finishes
        q = Q() if self.EMPTY else Q(pk__in=[])
        for child in children:
            part = child._q(ctx)
            if part is None:
                return None
            q = self._combine(q, part)
        return q


class And(_Junction):
    """All of ``children`` hold (an empty And always holds)."""

    op = "and"
    EMPTY = True
    _combine = staticmethod(operator.and_)

    def evaluate(self, params, fields):
        return all(c.evaluate(params, fields) for c in self.children)

    def __str__(self):
        return " and ".join(_wrap(c, (Or,)) for c in self.children) if self.children else "true"


class Or(_Junction):
    """At least one of ``children`` holds (an empty Or never holds)."""

    op = "or"
    EMPTY = False
    _combine = staticmethod(operator.or_)

    def evaluate(self, params, fields):
        return any(c.evaluate(params, fields) for c in self.children)

    def __str__(self):
        return " or ".join(_wrap(c, (And,)) for c in self.children) if self.children else "false"


class Not(Expr):
    """``child`` does not hold (plain boolean negation)."""

    op = "not"
    _fields = ("child",)

    def __init__(self, child):
        self.child = child

    @property
    def children(self):
        return (self.child,)

    def evaluate(self, params, fields):
        return not self.child.evaluate(params, fields)

    def _to_q(self, ctx):
        q = self.child._q(ctx)
        return None if q is None else ~q

    def __str__(self):
        return "not " + _wrap(self.child, (And, Or))


def tree_depth(expr):
    """Levels of And/Or/Not in ``expr`` (found without recursion)."""
    depth, stack = 0, [(expr, 0)]
    while stack:
        node, d = stack.pop()
        depth = max(depth, d)
        if isinstance(node, (_Junction, Not)):
            stack.extend((child, d + 1) for child in node.children)
    return depth


def check_tree(expr):
    """``expr`` if it is an :class:`Expr` at most :data:`MAX_DEPTH` levels
    deep (deeper trees would exhaust Python's stack), else a QueryError."""
    if not isinstance(expr, Expr):
        raise QueryError(f"a where condition is a string or an Expr, not {expr!r}")
    if tree_depth(expr) > MAX_DEPTH:
        raise QueryError(f"where condition nested too deeply: at most {MAX_DEPTH} levels of "
                         "And, Or and Not inside one another")
    return expr


def sql_form(expr):
    """``expr`` as SQL is made from it, selecting the same records: in each
    Or, the ``==``/``in`` comparisons of one key merge into one ``in`` (in
    each And, ``!=``/``not in`` into one ``not in``), so that a long
    disjunction becomes one set lookup."""
    if isinstance(expr, Not):    # leaves are two-valued: not not x is x
        inner = expr.child
        return sql_form(inner.child) if isinstance(inner, Not) else Not(sql_form(inner))
    if not isinstance(expr, _Junction):
        return expr
    ops = ("==", "in") if isinstance(expr, Or) else ("!=", "not in")
    children, same_key = [], {}
    for child in map(sql_form, expr.children):
        if isinstance(child, Compare) and child.op in ops:
            same_key.setdefault(child.key, []).append(child)
        else:
            children.append(child)
    for key, nodes in same_key.items():
        if len(nodes) == 1:
            children.extend(nodes)
        else:
            children.append(Compare(key, ops[1], [v for node in nodes for v in (
                node.value if node.op == ops[1] else [node.value])]))
    return type(expr)(children)


def _grouped(node):
    """The children of And/Or ``node``, those reading only parameters joined
    in one node of the same kind (one condition for SQL)."""
    params = [c for c in node.children if not c.uses_fields]
    others = [c for c in node.children if c.uses_fields]
    return ([type(node)(params)] if len(params) > 1 else params) + others


def _wrap(expr, kinds):
    text = str(expr)
    return f"({text})" if isinstance(expr, kinds) and len(expr.children) > 1 else text


class _KeyExpr(Expr):
    """Base of the leaves: a condition on one key or field."""

    op = None

    @property
    def uses_params(self):
        return isinstance(self.key, Key)

    @property
    def uses_fields(self):
        # a metric is a column of the record (of our table), never in the parameters' SQL
        return isinstance(self.key, (Field, MetricKey))

    def evaluate(self, params, fields):
        if isinstance(self.key, MetricKey):
            return self.holds(metric_value(fields, self.key.name))
        if isinstance(self.key, Field):
            if isinstance(self, Exists):
                return _test_exists_field(self, fields)
            return _FIELD_TESTS[self.key.kind](self, fields)
        return self.holds(get_task_param(params, self.key.parts, NO_VALUE))

    def holds(self, value):
        """The condition on a parameter value (``NO_VALUE`` when missing)."""
        raise NotImplementedError

    def _to_q(self, ctx):
        if isinstance(self.key, MetricKey):
            return metric_q(self, ctx)
        return field_q(self, ctx)


class Exists(_KeyExpr):
    """The key (or field) is present."""

    op = "exists"
    _fields = ("key",)

    def __init__(self, key):
        self.key = _as_key(key)

    def holds(self, value):
        return value is not NO_VALUE

    def __str__(self):
        return f"{self.key} exists"


class Missing(Exists):
    """The key (or field) is absent."""

    op = "missing"

    def holds(self, value):
        return value is NO_VALUE

    def __str__(self):
        return f"{self.key} missing"


class Compare(_KeyExpr):
    """``key op value``; ``op`` is one of :data:`OPERATORS`.

    A missing key makes every comparison false (``!=`` and ``not in`` too).
    ``contains`` / ``not contains`` are written ``value in key`` /
    ``value not in key``. Raises :class:`QueryError` for an operator and
    value that do not go together.
    """

    _fields = ("key", "op", "value")

    def __init__(self, key, op, value):
        self.key = _as_key(key)
        if op not in OPERATORS:
            raise QueryError(f"unknown operator {op!r}; operators: {', '.join(OPERATORS)}")
        self.op = op
        self.value = normalize(value)
        self._check()

    def _check(self):
        op, value = self.op, self.value
        if op in ("in", "not in") and not isinstance(value, list):
            raise QueryError(f"'{op}' needs a list such as [1, 2], not {format_value(value)}")
        if op in ("~", "matches") and not isinstance(value, str):
            raise QueryError(f"'{op}' needs a string, not {format_value(value)}")
        if op == "matches":
            try:
                self.regex = re.compile(value)
            except re.error as err:
                raise QueryError(f"bad regular expression {format_value(value)}: {err}") from None
        if op in ORDER and not (is_number(value) or isinstance(value, str)):
            raise QueryError(f"'{op}' compares numbers or strings, not {format_value(value)}")
        if isinstance(value, dict) and op not in ("==", "!="):
            raise QueryError(f"'{op}' cannot take a dict")
        if isinstance(self.key, Field):
            _check_field(self)

    def holds(self, value):
        if value is NO_VALUE:
            return False
        op, x = self.op, self.value
        if op == "==":
            return equal(value, x)
        if op == "!=":
            return not equal(value, x)
        if op in ORDER:
            return ordered(op, value, x)
        if op == "in":
            return any(equal(value, item) for item in x)
        if op == "not in":
            return not any(equal(value, item) for item in x)
        if op in ("contains", "not contains"):
            return is_list(value) and (op == "contains") == any(equal(v, x) for v in value)
        if op == "~":
            return isinstance(value, str) and x in value
        return isinstance(value, str) and self.regex.search(value) is not None

    def matching(self, words):
        """The subset of ``words`` this ``~`` or ``matches`` condition selects
        (status words, tag names)."""
        if self.op == "~":
            return {w for w in words if self.value in w}
        return {w for w in words if self.regex.search(w)}

    def __str__(self):
        if self.op in ("contains", "not contains"):
            return f"{format_value(self.value)} {self.op[:-8]}in {self.key}"
        return f"{self.key} {self.op} {format_value(self.value)}"


def _as_key(key):
    if isinstance(key, (Key, Field, MetricKey)):
        return key
    return Key.parse(key)


# -- fields (Python) -------------------------------------------------------------

class RecordFields(Mapping):
    """The fields of a Sumatra record as a read-only mapping (attributes)."""

    def __init__(self, record):
        self.record = record

    def __getitem__(self, name):
        if name not in FIELDS or name == "status":
            raise KeyError(name)
        try:
            return getattr(self.record, name)
        except AttributeError:
            raise KeyError(name) from None

    def __iter__(self):
        return (name for name in FIELDS if name != "status" and name in self)

    def __len__(self):
        return sum(1 for _ in self)

    def __contains__(self, name):
        return name in FIELDS and name != "status" and hasattr(self.record, name)

    def metric(self, name):
        """The record's metric ``name`` (from the running view's source), or None."""
        return record_metric(self.record, name)


def _check_field(node):
    field, op, value = node.key, node.op, node.value
    if op not in FIELD_OPS[field.kind]:
        hint = {"tags": " (write 'name' in tags, 'name' not in tags, tags ~ 'text')"}.get(
            field.kind, "")
        raise QueryError(f"'{op}' does not apply to {field}{hint}")
    items = value if op in ("in", "not in") else [value]
    if field.kind in ("text", "status", "tags"):
        if not all(isinstance(v, str) for v in items):
            raise QueryError(f"{field} is text: compare it with strings")
        if field.kind == "status" and op in ("==", "!=", "in", "not in"):
            for word in items:
                if word not in STATUSES:
                    raise QueryError(f"unknown status {word!r}; use one of: "
                                     + ", ".join(STATUSES))
    elif field.kind == "number":
        node.numbers = [parse_duration(v) for v in items]
    elif field.kind == "date":
        spans = []
        for v in items:
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise QueryError(f"{field} compares with dates such as 20200912, "
                                 f"'2020-09-12T13:30' or 'yesterday', not {format_value(v)}")
            start, end = date_span(v)   # an instant is a span of 1 µs
            spans.append((start, end if end is None or end > start else _next_instant(start)))
        node.spans = spans


def _next_instant(when):
    """``when`` plus 1 µs; None (an open end) past the last datetime."""
    try:
        return when + _dt.timedelta(microseconds=1)
    except OverflowError:
        return None


def _field_value(node, fields):
    value = fields.get(node.key.name)
    return NO_VALUE if value is None else value


def _test_text(node, fields):
    return node.holds(_field_value(node, fields))


def _test_number(node, fields):
    value = _field_value(node, fields)
    if value is NO_VALUE:
        return False
    op, numbers = node.op, node.numbers
    if op == "in":
        return any(equal(value, n) for n in numbers)
    if op == "not in":
        return not any(equal(value, n) for n in numbers)
    if op == "==":
        return equal(value, numbers[0])
    if op == "!=":
        return not equal(value, numbers[0])
    return ordered(op, value, numbers[0])


def _test_date(node, fields):
    value = _field_value(node, fields)
    if value is NO_VALUE:
        return False
    ts = as_utc(value)
    inside = any(start <= ts and (end is None or ts < end) for start, end in node.spans)
    start, end = node.spans[0]   # end None: past year 9999, later than any timestamp
    return {"==": inside, "in": inside, "!=": not inside, "not in": not inside,
            "<": ts < start, "<=": end is None or ts < end, ">": end is not None and ts >= end,
            ">=": ts >= start}[node.op]


def status_words(fields):
    """The set of status words of a record (``fields``: its field mapping),
    by the one rule of :func:`smt_query.fields.status_words`."""
    return _status_words(fields.get("tags") or ())


def _test_status(node, fields):
    words = status_words(fields)
    op, x = node.op, node.value
    if op in ("~", "matches"):
        return bool(node.matching(words))
    wanted = set(x) if op in ("in", "not in") else {x}
    if op in ("==", "in"):
        return bool(words & wanted)
    return bool(words) and not words & wanted


def _test_tags(node, fields):
    tags = set(fields.get("tags") or ())
    if node.op in ("~", "matches"):
        return bool(node.matching(tags))
    return (node.value in tags) == (node.op == "contains")


def _test_exists_field(node, fields):
    if node.key.kind == "status":
        present = bool(status_words(fields))
    elif node.key.kind == "tags":
        present = bool(fields.get("tags"))
    else:
        present = _field_value(node, fields) is not NO_VALUE
    return present == (node.op == "exists")


_FIELD_TESTS = {"text": _test_text, "number": _test_number, "date": _test_date,
                "status": _test_status, "tags": _test_tags}
