"""The ``--where`` expression language: parser, Python semantics, SQL.

``parse("optimizer.lr >= 1e-3 and model.activation == 'relu'")`` returns an
:class:`Expr` tree. Every node can

* :meth:`Expr.evaluate` itself on a parameter dict and a mapping of record
  fields -- the reference semantics;
* :meth:`Expr.test` a Sumatra ``Record`` (the same, reading the record);
* :meth:`Expr.to_q` compile itself to a Django ``Q`` over Sumatra's
  ``Record`` model selecting exactly the records :meth:`Expr.test` accepts,
  or return ``None`` when that cannot be said exactly in SQL.

Parameters stored as JSON are read in SQL with SQLite's JSON1 functions or
PostgreSQL's ``jsonb``; keys resolve as :func:`~smt_query.params.get_task_param`
does (command-line overrides, task-description ``inputs`` levels). The
language is documented in ``docs/where.rst``. Importing this module imports
neither Django nor pandas.
"""
import datetime as _dt
import decimal
import functools
import json
import math
import operator
import re
from collections.abc import Mapping

from .errors import QueryError

#: Record fields a bare single-segment name refers to, by kind.
FIELDS = {
    "label": "text", "reason": "text", "outcome": "text", "user": "text",
    "version": "text", "main_file": "text", "script_arguments": "text",
    "duration": "number", "timestamp": "date", "status": "status", "tags": "tags",
}
#: Words that cannot be bare keys (quote such a key with backticks).
KEYWORDS = frozenset(("and", "or", "not", "in", "exists", "missing", "matches",
                      "true", "false", "null", "True", "False", "None"))
_CONSTANTS = {"true": True, "True": True, "false": False, "False": False,
              "null": None, "None": None}

#: Comparison operators of :class:`Compare`. ``contains`` is ``value in key``.
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains",
             "not contains", "~", "matches")
_ORDER = ("<", "<=", ">", ">=")
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_FIELD_OPS = {
    "text": ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "~", "matches"),
    "number": ("==", "!=", "<", "<=", ">", ">=", "in", "not in"),
    "date": ("==", "!=", "<", "<=", ">", ">=", "in", "not in"),
    "status": ("==", "!=", "in", "not in", "~", "matches"),
    "tags": ("contains", "not contains", "~", "matches"),
}

#: Deepest nesting of 'and', 'or' and 'not' in one expression (after
#: flattening: ``a or (b or c)`` is one level, redundant parentheses none).
MAX_DEPTH = 100
#: Deepest nesting of list literals (``[[1], [2]]`` is two levels).
MAX_LIST_DEPTH = 32
# Most terms joined in one SQL condition (beyond, Python finishes the filter):
# SQLite refuses expressions deeper than 1000.
_MAX_SQL_TERMS = 256
# A leaf on a parameter costs ~35 µs per row in SQL on either database;
# reading records for Python costs about as much as 30 of them (measured).
_MAX_PARAM_LEAVES = 32
# Numbers compared in SQL: |x| < 2**53, and 0 or |x| >= 1e-300 (see _pg_number).
_SAFE_INT = 2 ** 53
_TINY_FLOAT = 1e-300
# The fast SQL path doubles in size with each part of a key (~90 kB at 8).
_MAX_TREE_DEPTH = 8
_NO_VALUE = object()   # a missing parameter or field


class WhereSyntaxError(QueryError):
    """A ``--where`` expression that cannot be parsed.

    The first line of the message stands alone; the next two show the
    expression and a caret under ``position`` (0-based).
    """

    def __init__(self, text, position, message):
        self.text, self.position, self.message = text, position, message
        super().__init__(f"bad --where expression at position {position + 1}: {message}\n"
                         f"  {text}\n  {' ' * position}^")


# -- values -------------------------------------------------------------------

def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_list(x):
    return isinstance(x, (list, tuple))


def equal(a, b):
    """Equality in ``where``: numbers as numbers (1 == 1.0, NaN equals
    nothing), bools only with bools, strings with strings, null with null,
    lists element-wise, dicts by keys and values."""
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    if _is_list(a) and _is_list(b):
        return len(a) == len(b) and all(map(equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(v, b[k]) for k, v in a.items())
    return False


def ordered(op, a, b):
    """``a op b`` for op in < <= > >=: numbers with numbers, strings with
    strings (by code point); anything else is False."""
    if not ((_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _normalize(value, depth=0):
    """A literal as the language sees it: tuples -> lists, numpy -> Python."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if (_is_list(value) or isinstance(value, dict)) and depth == MAX_LIST_DEPTH:
        raise QueryError(f"lists nested too deeply: at most {MAX_LIST_DEPTH} levels")
    if _is_list(value):
        return [_normalize(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _normalize(v, depth + 1) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise QueryError(f"cannot compare with {value!r} (a {type(value).__name__})")


def format_value(value):
    """``value`` written in the expression language."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, float) and math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    if _is_number(value):
        return repr(value)
    if isinstance(value, str):
        out = []
        for ch in value:
            if ch in "\\'":
                out.append("\\" + ch)
            elif ch in "\n\r\t":
                out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
            elif ord(ch) < 32 or ord(ch) == 127:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        return "'" + "".join(out) + "'"
    if _is_list(value):
        return "[" + ", ".join(map(format_value, value)) + "]"
    return repr(value)


# -- keys -------------------------------------------------------------------

_FIRST_SEGMENT = re.compile(r"[^\W\d][\w-]*")
_SEGMENT = re.compile(r"[\w-]+")


class Key:
    """A parameter key: a tuple of ``parts`` (a dotted path).

    Task-description ``inputs`` levels may be left out, as for
    :func:`~smt_query.params.get_task_param`.
    """

    def __init__(self, parts):
        parts = tuple(parts)
        if not parts or not all(isinstance(p, str) for p in parts):
            raise QueryError(f"a parameter key is a non-empty tuple of strings, not {parts!r}")
        self.parts = parts

    @classmethod
    def parse(cls, text):
        """``'a.b.c'`` -> ``Key(('a', 'b', 'c'))``; a segment in backticks
        (``` a.`b.c` ```) keeps its dots; a doubled backtick is a backtick.
        Without backticks this splits exactly as ``get_task_param`` does."""
        if isinstance(text, Key):
            return text
        if not isinstance(text, str):
            raise QueryError(f"a parameter key is a string, not {text!r}")
        if "`" not in text:
            return cls(text.split("."))
        parts, i = [], 0
        while True:
            if text.startswith("`", i):
                part, i = _backticked(text, i)
                if part is None:
                    raise QueryError(f"bad parameter key {text!r}: unclosed backtick")
            else:
                j = i
                while j < len(text) and text[j] not in ".`":
                    j += 1
                part, i = text[i:j], j
            parts.append(part)
            if i == len(text):
                return cls(parts)
            if text[i] != ".":
                raise QueryError(f"bad parameter key {text!r}: expected '.' at position {i + 1}")
            i += 1

    def __str__(self):
        out = []
        for n, part in enumerate(self.parts):
            plain = (_FIRST_SEGMENT if n == 0 else _SEGMENT).fullmatch(part)
            if plain and part not in KEYWORDS and not (len(self.parts) == 1 and part in FIELDS):
                out.append(part)
            else:
                out.append("`" + part.replace("`", "``") + "`")
        return ".".join(out)

    def __repr__(self):
        return f"Key({self.parts!r})"

    def __eq__(self, other):
        return type(other) is Key and other.parts == self.parts

    def __hash__(self):
        return hash(("Key", self.parts))


def _backticked(text, i):
    """The backticked segment starting at ``text[i]``: (content, end) or (None, i)."""
    out, j = [], i + 1
    while j < len(text):
        if text[j] == "`":
            if text.startswith("``", j):
                out.append("`")
                j += 2
                continue
            return "".join(out), j + 1
        out.append(text[j])
        j += 1
    return None, i


class Field:
    """A record field (``label``, ``status``, ``tags``, ... see :data:`FIELDS`)."""

    def __init__(self, name):
        if name not in FIELDS:
            raise QueryError(f"unknown record field {name!r}; fields: {', '.join(FIELDS)}")
        self.name, self.kind = name, FIELDS[name]

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"Field({self.name!r})"

    def __eq__(self, other):
        return type(other) is Field and other.name == self.name

    def __hash__(self):
        return hash(("Field", self.name))


# -- expression nodes -----------------------------------------------------------

class Expr:
    """A node of a parsed expression."""

    _fields = ()

    def test(self, record):
        """True if the Sumatra ``record`` satisfies the expression."""
        from .params import as_params
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
        q = _sql_form(self)._q(ctx)
        if (q is not None and ctx.vendor == "sqlite" and tree_depth(self) > 0
                and not _sqlite_accepts(q, ctx)):
            return None    # too deep for SQLite's parser: Python finishes
        return q

    def _q(self, ctx):
        """:meth:`to_q` of a tree already in :func:`_sql_form`."""
        if self.uses_params and not self.uses_fields:
            return _param_q(self, ctx)     # one condition: one pass over the parameters
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
        if len(children) > _MAX_SQL_TERMS:
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

    EMPTY = True
    _combine = staticmethod(operator.and_)

    def evaluate(self, params, fields):
        return all(c.evaluate(params, fields) for c in self.children)

    def __str__(self):
        return " and ".join(_wrap(c, (Or,)) for c in self.children) if self.children else "true"


class Or(_Junction):
    """At least one of ``children`` holds (an empty Or never holds)."""

    EMPTY = False
    _combine = staticmethod(operator.or_)

    def evaluate(self, params, fields):
        return any(c.evaluate(params, fields) for c in self.children)

    def __str__(self):
        return " or ".join(_wrap(c, (And,)) for c in self.children) if self.children else "false"


class Not(Expr):
    """``child`` does not hold (plain boolean negation)."""

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


def _sql_form(expr):
    """``expr`` as SQL is made from it, selecting the same records: in each
    Or, the ``==``/``in`` comparisons of one key merge into one ``in`` (in
    each And, ``!=``/``not in`` into one ``not in``), so that a long
    disjunction becomes one set lookup."""
    if isinstance(expr, Not):    # leaves are two-valued: not not x is x
        inner = expr.child
        return _sql_form(inner.child) if isinstance(inner, Not) else Not(_sql_form(inner))
    if not isinstance(expr, _Junction):
        return expr
    ops = ("==", "in") if isinstance(expr, Or) else ("!=", "not in")
    children, same_key = [], {}
    for child in map(_sql_form, expr.children):
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


_SQLITE_MARGIN = 6


def _sqlite_accepts(q, ctx):
    """Whether SQLite can prepare a query filtered by ``q``: its parser has
    a fixed stack, which nested conditions on long keys can overflow.
    Prepared with EXPLAIN, never run, nested a few levels deeper than
    here: the queries that use it nest it in a subquery or two."""
    from django.core.exceptions import EmptyResultSet, FullResultSet
    from django.db import DatabaseError, connections
    from django.db.models import Q
    for n in range(_SQLITE_MARGIN):   # alternate: Django flattens nodes of one kind
        q = (q & Q(pk__gte=-n)) if n % 2 else (q | Q(pk__lt=-n))
    query = ctx.models.Record.objects.using(ctx.alias).filter(q).values("pk").query
    try:
        sql, params = query.get_compiler(ctx.alias).as_sql()
    except (EmptyResultSet, FullResultSet):
        return True
    try:
        with connections[ctx.alias].cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
    except DatabaseError as exc:
        if query_too_large(exc):
            return False
        raise
    return True


def query_too_large(exc):
    """Whether the database error ``exc`` says a query is too large or too
    deeply nested for it (a limit of the query, not a fault of the store)."""
    cause = exc.__cause__
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    if code in ("54000", "54001", "54011", "54023"):   # program_limit_exceeded, stack depth,
        return True                                    # too many columns, arguments
    text = str(exc)
    return any(s in text for s in ("parser stack overflow", "Expression tree is too large",
                                   "too many SQL variables", "too many terms in compound",
                                   "too many arguments on function", "string or blob too big"))


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
        return isinstance(self.key, Field)

    def evaluate(self, params, fields):
        if isinstance(self.key, Field):
            if isinstance(self, Exists):
                return _test_exists_field(self, fields)
            return _FIELD_TESTS[self.key.kind](self, fields)
        from .params import get_task_param
        return self.holds(get_task_param(params, self.key.parts, _NO_VALUE))

    def holds(self, value):
        """The condition on a parameter value (``_NO_VALUE`` when missing)."""
        raise NotImplementedError

    def _to_q(self, ctx):
        return _field_q(self, ctx)


class Exists(_KeyExpr):
    """The key (or field) is present."""

    op = "exists"
    _fields = ("key",)

    def __init__(self, key):
        self.key = _as_key(key)

    def holds(self, value):
        return value is not _NO_VALUE

    def __str__(self):
        return f"{self.key} exists"


class Missing(Exists):
    """The key (or field) is absent."""

    op = "missing"

    def holds(self, value):
        return value is _NO_VALUE

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
        self.value = _normalize(value)
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
        if op in _ORDER and not (_is_number(value) or isinstance(value, str)):
            raise QueryError(f"'{op}' compares numbers or strings, not {format_value(value)}")
        if isinstance(value, dict) and op not in ("==", "!="):
            raise QueryError(f"'{op}' cannot take a dict")
        if isinstance(self.key, Field):
            _check_field(self)

    def holds(self, value):
        if value is _NO_VALUE:
            return False
        op, x = self.op, self.value
        if op == "==":
            return equal(value, x)
        if op == "!=":
            return not equal(value, x)
        if op in _ORDER:
            return ordered(op, value, x)
        if op == "in":
            return any(equal(value, item) for item in x)
        if op == "not in":
            return not any(equal(value, item) for item in x)
        if op in ("contains", "not contains"):
            return _is_list(value) and (op == "contains") == any(equal(v, x) for v in value)
        if op == "~":
            return isinstance(value, str) and x in value
        return isinstance(value, str) and self.regex.search(value) is not None

    def __str__(self):
        if self.op in ("contains", "not contains"):
            return f"{format_value(self.value)} {self.op[:-8]}in {self.key}"
        return f"{self.key} {self.op} {format_value(self.value)}"


def _as_key(key):
    if isinstance(key, (Key, Field)):
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


def _statuses():
    from .fields import STATUSES
    return STATUSES


def _check_field(node):
    field, op, value = node.key, node.op, node.value
    if op not in _FIELD_OPS[field.kind]:
        hint = {"tags": " (write 'name' in tags, 'name' not in tags, tags ~ 'text')"}.get(
            field.kind, "")
        raise QueryError(f"'{op}' does not apply to {field}{hint}")
    items = value if op in ("in", "not in") else [value]
    if field.kind in ("text", "status", "tags"):
        if not all(isinstance(v, str) for v in items):
            raise QueryError(f"{field} is text: compare it with strings")
        if field.kind == "status" and op in ("==", "!=", "in", "not in"):
            for word in items:
                if word not in _statuses():
                    raise QueryError(f"unknown status {word!r}; use one of: "
                                     + ", ".join(_statuses()))
    elif field.kind == "number":
        from .filters import parse_duration
        node.numbers = [parse_duration(v) for v in items]
    elif field.kind == "date":
        from .dates import date_span
        spans = []
        for v in items:
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise QueryError(f"{field} compares with dates such as 20200912 or "
                                 f"'2020-09-12T13:30', not {format_value(v)}")
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
    return _NO_VALUE if value is None else value


def _test_text(node, fields):
    return node.holds(_field_value(node, fields))


def _test_number(node, fields):
    value = _field_value(node, fields)
    if value is _NO_VALUE:
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
    from .dates import as_utc
    value = _field_value(node, fields)
    if value is _NO_VALUE:
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
    from .fields import status_words
    return status_words(fields.get("tags") or ())


def _words_matching(node, words):
    """The subset of ``words`` a status/tags condition with ~ or matches selects."""
    if node.op == "~":
        return {w for w in words if node.value in w}
    return {w for w in words if node.regex.search(w)}


def _test_status(node, fields):
    words = status_words(fields)
    op, x = node.op, node.value
    if op in ("~", "matches"):
        return bool(_words_matching(node, words))
    wanted = set(x) if op in ("in", "not in") else {x}
    if op in ("==", "in"):
        return bool(words & wanted)
    return bool(words) and not words & wanted


def _test_tags(node, fields):
    tags = set(fields.get("tags") or ())
    if node.op in ("~", "matches"):
        return bool(_words_matching(node, tags))
    return (node.value in tags) == (node.op == "contains")


def _test_exists_field(node, fields):
    if node.key.kind == "status":
        present = bool(status_words(fields))
    elif node.key.kind == "tags":
        present = bool(fields.get("tags"))
    else:
        present = _field_value(node, fields) is not _NO_VALUE
    return present == (node.op == "exists")


_FIELD_TESTS = {"text": _test_text, "number": _test_number, "date": _test_date,
                "status": _test_status, "tags": _test_tags}


# -- parser -------------------------------------------------------------------

_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[^\W\d]\w*")
_SYMBOL_OPS = ("==", "!=", "<=", ">=", "<", ">", "~")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "0": "\0"}


def parse(text):
    """Parse a ``--where`` expression into an :class:`Expr`.

    Raises :class:`WhereSyntaxError` naming the position of the first error.
    """
    if not isinstance(text, str):
        raise QueryError(f"a --where expression is a string, not {text!r}")
    return _Parser(text).parse()


class _Parser:
    """Precedence parsing: or < and < not < comparison, without recursion
    (lists recurse, at most :data:`MAX_LIST_DEPTH` deep)."""

    def __init__(self, text):
        self.text, self.pos = text, 0

    def error(self, message, pos=None):
        raise WhereSyntaxError(self.text, self.pos if pos is None else pos, message)

    def skip(self):
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek_word(self):
        self.skip()
        m = _WORD.match(self.text, self.pos)
        return m.group() if m else None

    def word(self, *words):
        """Consume one of ``words`` if it comes next (as a whole word)."""
        w = self.peek_word()
        if w in words:
            self.pos += len(w)
            return w
        return None

    def symbol(self, *symbols):
        self.skip()
        for s in symbols:
            if self.text.startswith(s, self.pos):
                self.pos += len(s)
                return s
        return None

    def describe_next(self):
        self.skip()
        if self.pos >= len(self.text):
            return "the end"
        m = _WORD.match(self.text, self.pos) or _NUMBER.match(self.text, self.pos)
        return repr(m.group() if m else self.text[self.pos])

    def parse(self):
        self.skip()
        if self.pos == len(self.text):
            self.error("empty expression")
        expr = self.parse_or()
        self.skip()
        if self.pos < len(self.text):
            if self.text[self.pos] == ")":
                self.error("unbalanced ')'")
            self.error(f"unexpected {self.describe_next()}; expected 'and', 'or' or the end")
        return expr

    def parse_or(self):
        """The whole expression: or < and < not < comparison.

        Groups in parentheses are kept on an explicit stack, not by
        recursion, so any number of them parses; nested and/or of the same
        kind are flattened. Each operand is ``(expr, depth, position)``; a
        tree deeper than :data:`MAX_DEPTH` is an error at the operand
        that makes it so.
        """
        groups = []              # enclosing groups: (ors, ands, nots, position of '(')
        ors, ands, nots = [], [], []   # nots: positions of the pending 'not's
        while True:
            self.skip()
            while self.word("not"):
                nots.append(self.pos - 3)
                self.skip()
            if self.symbol("("):
                groups.append((ors, ands, nots, self.pos - 1))
                ors, ands, nots = [], [], []
                continue
            operand = (self.parse_comparison(), 0, self.pos)
            while True:            # close the groups this operand ends
                ands.append(self.negated(operand, nots))
                if self.word("and"):
                    nots = []
                    break
                ors.append(self.junction(And, ands))
                ands = []
                if self.word("or"):
                    nots = []
                    break
                operand = self.junction(Or, ors)
                if not groups:
                    return operand[0]
                ors, ands, nots, start = groups.pop()
                if not self.symbol(")"):
                    self.error(f"expected ')' to close the '(' at position {start + 1}, "
                               f"found {self.describe_next()}")
                operand = operand[0], operand[1], start

    def negated(self, operand, nots):
        """``operand`` under the 'not's written before it (innermost last)."""
        expr, depth, pos = operand
        for not_pos in reversed(nots):
            expr, depth, pos = Not(expr), depth + 1, not_pos
            self.check_depth(depth, pos)
        return expr, depth, pos

    def junction(self, cls, operands):
        """``cls`` (And or Or) of ``operands``, flattening those of the same kind."""
        if len(operands) == 1:
            return operands[0]
        children, depth, pos = [], 0, operands[0][2]
        for expr, d, p in operands:
            if type(expr) is cls:
                children.extend(expr.children)
            else:
                children.append(expr)
                d += 1
            if d > depth:
                depth, pos = d, p
        self.check_depth(depth, pos)
        return cls(children), depth, pos

    def check_depth(self, depth, pos):
        if depth > MAX_DEPTH:
            self.error(f"nested too deeply: at most {MAX_DEPTH} levels of 'and', 'or' and "
                       "'not' inside one another", pos)

    def parse_comparison(self):
        self.skip()
        if self.pos >= len(self.text):
            self.error("expected a key, a value or '(' but the expression ends")
        if self.at_value():
            return self.parse_value_first()
        return self.parse_key_first()

    def at_value(self):
        c = self.text[self.pos]
        return (c in "'\"[-.0123456789") or self.peek_word() in _CONSTANTS

    # key op value
    def parse_key_first(self):
        start = self.pos
        key = self.parse_key()
        if self.word("exists"):
            return Exists(key)
        if self.word("missing"):
            return Missing(key)
        op = self.parse_operator(key)
        self.skip()
        value_pos = self.pos
        value = self.parse_value(f"expected a value after '{op}'")
        return self.build(key, op, value, start, value_pos)

    def parse_operator(self, key):
        self.skip()
        op_pos = self.pos
        if self.word("not"):
            if not self.word("in"):
                self.error("expected 'in' after 'not'")
            return "not in"
        w = self.word("in", "matches")
        if w:
            return w
        if self.text.startswith("=", self.pos) and not self.text.startswith("==", self.pos):
            self.error("'=' is not an operator: write '=='")
        s = self.symbol(*_SYMBOL_OPS)
        if s:
            return s
        self.error(f"expected an operator (== != < <= > >= in, not in, ~, matches, exists, "
                   f"missing) after '{key}', found {self.describe_next()}", op_pos)

    # value op key
    def parse_value_first(self):
        value_pos = self.pos
        value = self.parse_value("expected a value")
        self.skip()
        op_pos = self.pos
        if self.word("not"):
            if not self.word("in"):
                self.error("expected 'in' after 'not'")
            op = "not contains"
        elif self.word("in"):
            op = "contains"
        else:
            op = self.symbol(*_SYMBOL_OPS[:-1])
            if op is None:
                if self.text.startswith("~", self.pos) or self.peek_word() == "matches":
                    self.error("put the key before '~' or 'matches'")
                self.error("expected an operator (== != < <= > >= in, not in) after the "
                           f"value, found {self.describe_next()}", op_pos)
            op = _FLIP[op]
        self.skip()
        key_pos = self.pos
        key = self.parse_key()
        return self.build(key, op, value, key_pos, value_pos)

    def build(self, key, op, value, key_pos, value_pos):
        try:
            return Compare(key, op, value)
        except QueryError as err:
            message = str(err).splitlines()[0]
            pos = key_pos if "does not apply" in message else value_pos
            raise WhereSyntaxError(self.text, pos, message) from None

    def parse_key(self):
        self.skip()
        parts, quoted = [], []
        while True:
            if self.text.startswith("`", self.pos):
                part, end = _backticked(self.text, self.pos)
                if part is None:
                    self.error("unclosed backtick")
                if not part:
                    self.error("empty key segment ``")
                quoted.append(True)
            else:
                pattern = _FIRST_SEGMENT if not parts else _SEGMENT
                m = pattern.match(self.text, self.pos)
                if not m:
                    if parts:
                        self.error("expected a key segment after '.'")
                    self.error(f"expected a key, a value or '(', found {self.describe_next()}")
                part, end = m.group(), m.end()
                if part in KEYWORDS and not parts:
                    self.error(f"'{part}' is a keyword: quote a key named so with backticks, "
                               f"`{part}`")
                quoted.append(False)
            parts.append(part)
            self.pos = end
            if not self.text.startswith(".", self.pos):
                break
            self.pos += 1
        if len(parts) == 1 and not quoted[0] and parts[0] in FIELDS:
            return Field(parts[0])
        return Key(parts)

    def parse_value(self, expected, depth=0):
        self.skip()
        start = self.pos
        if self.pos >= len(self.text):
            self.error(expected + " but the expression ends")
        c = self.text[self.pos]
        if c in "'\"":
            return self.parse_string()
        if c == "[":
            if depth == MAX_LIST_DEPTH:
                self.error(f"lists nested too deeply: at most {MAX_LIST_DEPTH} levels")
            self.pos += 1
            items = []
            while True:
                self.skip()
                if self.symbol("]"):
                    return items
                items.append(self.parse_value("expected a value or ']' in the list", depth + 1))
                if self.symbol(","):
                    continue
                if self.symbol("]"):
                    return items
                self.error(f"expected ',' or ']' in the list opened at position {start + 1}, "
                           f"found {self.describe_next()}")
        m = _NUMBER.match(self.text, self.pos)
        if m:
            end = m.end()
            if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_."):
                self.error(f"bad number {self.text[self.pos:end + 1]!r}")
            self.pos = end
            literal = m.group()
            return int(literal) if re.fullmatch(r"-?\d+", literal) else float(literal)
        w = self.peek_word()
        if w in _CONSTANTS:
            self.pos += len(w)
            return _CONSTANTS[w]
        self.error(f"{expected}, found {self.describe_next()}"
                   + (" (quote strings: 'text')" if w else ""))

    def parse_string(self):
        quote, start = self.text[self.pos], self.pos
        i, out = self.pos + 1, []
        while i < len(self.text):
            c = self.text[i]
            if c == quote:
                self.pos = i + 1
                return "".join(out)
            if c == "\\":
                nxt = self.text[i + 1:i + 2]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                    i += 2
                    continue
                width = {"u": 4, "U": 8}.get(nxt)
                digits = self.text[i + 2:i + 2 + width] if width else ""
                if width and re.fullmatch(r"[0-9a-fA-F]+", digits) and len(digits) == width:
                    code = int(digits, 16)
                    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                        self.error(f"\\{nxt}{digits} is not a character", i)
                    out.append(chr(code))
                    i += 2 + width
                    continue
                self.error(f"unknown escape '\\{nxt}' (use \\\\ \\' \\\" \\n \\r \\t "
                           "\\uXXXX \\UXXXXXXXX)", i)
            out.append(c)
            i += 1
        self.error("unterminated string", start)


# -- SQL: record fields ---------------------------------------------------------------

def _never():
    from django.db.models import Q
    return Q(pk__in=[])


def _safe_number(x):
    """Whether a number compares identically in Python and in SQL (see _pg_number)."""
    if isinstance(x, int):
        return abs(x) < _SAFE_INT
    return math.isfinite(x) and (x == 0 or _TINY_FLOAT <= abs(x) < _SAFE_INT)


def sql_text_ok(text):
    """Whether ``text`` can be sent to both databases as is (no NUL, no
    lone surrogates)."""
    if "\0" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _sql_value_ok(x):
    """Whether a literal can be sent to SQL as is (numbers safe, no NUL, no dict)."""
    if _is_number(x):
        return _safe_number(x)
    if isinstance(x, str):
        return sql_text_ok(x)
    if isinstance(x, list):
        return all(map(_sql_value_ok, x))
    return x is None or isinstance(x, bool)


#: Up to this many tag names, one ``instr``/``strpos`` test each; above, one set condition.
_TAG_TESTS_MAX = 16


def tags_q(ctx, names):
    """A ``Q`` selecting the records whose ``tags`` column carries a tag in
    ``names`` -- exactly and case-sensitively -- or any tag if ``names`` is
    None; ``None`` if that cannot be said in SQL (a NUL character; a database
    other than SQLite and PostgreSQL).

    The column (Sumatra's ``Record.tags``: the tags joined by commas) is the
    truth for each store; Sumatra's Tag/TaggedItem rows are not read (they
    are written to Django's default database only, so they can be missing or
    stale). A name is found by its delimiters (``',' || tags || ','``
    contains ``',name,'``), never with ``LIKE`` (wildcards ``_``/``%``,
    case-insensitive on SQLite).
    """
    from django.db.models import Q
    if ctx.vendor not in ("sqlite", "postgresql"):
        return None
    if names is not None:
        # a tag read from the column is never empty and has no comma
        names = sorted({n for n in names if n and "," not in n})
        if any("\0" in n for n in names):
            return None
        if not names:
            return Q(pk__in=[])
    return Q(_tag_match()(names))


@functools.lru_cache(maxsize=None)
def _tag_match():
    """The Django expression class behind :func:`tags_q` (made on first use:
    this module does not import Django)."""
    from django.db.models import BooleanField, F, Func

    class TagMatch(Func):
        output_field = BooleanField()

        def __init__(self, names):
            super().__init__(F("tags"))
            self.names = names

        def as_sql(self, compiler, connection, **extra):
            col, col_params = compiler.compile(self.get_source_expressions()[0])
            column = f"COALESCE({col}, '')"
            if self.names is None:
                return f"REPLACE({column}, ',', '') <> ''", col_params
            wrapped = f"(',' || {column} || ',')"
            if len(self.names) <= _TAG_TESTS_MAX:
                # the bare name first: cheap, and false for most rows
                find = "instr" if connection.vendor == "sqlite" else "strpos"
                tests = [f"({find}({column}, %s) > 0 AND {find}({wrapped}, %s) > 0)"
                         for _ in self.names]
                params = [p for n in self.names
                          for p in (*col_params, n, *col_params, f",{n},")]
                return "(" + " OR ".join(tests) + ")", params
            if connection.vendor == "postgresql":
                return (f"string_to_array({column}, ',') && CAST(%s AS text[])",
                        [*col_params, list(self.names)])
            return (f"EXISTS (SELECT 1 FROM json_each(%s) AS smtq_tag "
                    f"WHERE instr({wrapped}, ',' || smtq_tag.value || ',') > 0)",
                    [json.dumps(self.names), *col_params])

    return TagMatch


def _tagged(ctx, names):
    """Q selecting records carrying a tag in ``names``, or any tag (None)."""
    return tags_q(ctx, names)


def _field_q(node, ctx):
    from django.db.models import F, Q, Value
    from django.db.models.functions import Collate, StrIndex
    from django.db.models.lookups import (GreaterThan, GreaterThanOrEqual, LessThan,
                                          LessThanOrEqual)
    field, op = node.key, node.op
    kind, name = field.kind, field.name
    if ctx.vendor not in ("sqlite", "postgresql"):
        return None
    if kind == "status":
        from .fields import status_tag
        any_status = _tagged(ctx, [status_tag(w) for w in _statuses()])
        if op in ("exists", "missing"):
            return any_status if op == "exists" else ~any_status
        if op in ("~", "matches"):
            words = _words_matching(node, _statuses())
        else:
            words = set(node.value) if op in ("in", "not in") else {node.value}
        has = _tagged(ctx, [status_tag(w) for w in words])
        return has if op in ("==", "in", "~", "matches") else any_status & ~has
    if kind == "tags":
        if op in ("exists", "missing"):
            return _tagged(ctx, None) if op == "exists" else ~_tagged(ctx, None)
        if op in ("~", "matches"):
            return _tagged(ctx, _words_matching(node, ctx.tag_names()))
        has = _tagged(ctx, [node.value])
        if has is None:
            return None
        return has if op == "contains" else ~has
    present = Q(**{f"{name}__isnull": False})
    if op in ("exists", "missing"):
        return present if op == "exists" else ~present
    if kind == "date":
        return _date_q(node)
    values = node.numbers if kind == "number" else (
        node.value if op in ("in", "not in") else [node.value])
    if not all(map(_sql_value_ok, values)):
        return None
    if op == "matches":
        return None if ctx.vendor != "sqlite" else Q(**{f"{name}__regex": node.value})
    # lookups on expressions: AND present keeps them two-valued under NOT
    if op == "~":
        return present & Q(GreaterThan(StrIndex(F(name), Value(node.value)), 0))
    if op in ("in", "not in"):
        q = in_set(ctx, name, values, kind)
        return q if op == "in" else present & ~q
    if op in ("==", "!="):
        q = Q(**{name: values[0]})
        return q if op == "==" else present & ~q
    lhs = F(name)
    if kind == "text" and ctx.vendor == "postgresql":
        lhs = Collate(lhs, "C")  # code-point order, as Python compares strings
    lookup = {"<": LessThan, "<=": LessThanOrEqual, ">": GreaterThan,
              ">=": GreaterThanOrEqual}[op]
    q = present & Q(lookup(lhs, Value(values[0])))
    if kind == "number" and ctx.vendor == "postgresql" and op in (">", ">="):
        q &= Q(**{f"{name}__lt": float("nan")})  # PostgreSQL's NaN is above every number
    return q


#: Lists longer than this are sent to SQL as one value (see :func:`in_set`).
_SET_SIZE = 64


def in_set(ctx, column, values, kind="text"):
    """Q: ``column`` (text, or a number for ``kind="number"``) is one of
    ``values``. A long list goes as one parameter, a JSON text on SQLite and
    an array on PostgreSQL, whatever its length (no limit on parameters or
    on the depth of the SQL)."""
    from django.db.models import Q
    from django.db.models.expressions import RawSQL
    values = list(values)
    if len(values) <= _SET_SIZE or ctx.vendor not in ("sqlite", "postgresql"):
        return Q(**{f"{column}__in": values})
    if ctx.vendor == "sqlite":
        subquery = RawSQL("SELECT value FROM json_each(%s)", (json.dumps(values),))
    elif kind == "number":
        subquery = RawSQL("SELECT unnest(CAST(%s AS double precision[]))",
                          (_pg_array(repr(float(v)) for v in values),))
    else:
        subquery = RawSQL("SELECT unnest(CAST(%s AS text[]))", (_pg_text_array(values),))
    return Q(**{f"{column}__in": subquery})


def _pg_array(items):
    """A PostgreSQL array literal of ``items`` (texts that need no quotes)."""
    return "{" + ",".join(items) + "}"


def _pg_text_array(strings):
    """A PostgreSQL array literal of any ``strings`` (without NUL)."""
    return _pg_array('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings)


def _date_q(node):
    from django.db.models import Q

    def before(end):   # end None: later than any timestamp
        return Q(timestamp__isnull=False) if end is None else Q(timestamp__lt=end)

    def within(span):
        return Q(timestamp__gte=span[0]) & before(span[1])
    op, (start, end) = node.op, node.spans[0]
    if op in ("==", "!=", "in", "not in"):
        if len(node.spans) > _MAX_SQL_TERMS:
            return None
        q = _never()
        for span in node.spans:
            q |= within(span)
        return q if op in ("==", "in") else ~q
    return {"<": Q(timestamp__lt=start), "<=": before(end),
            ">": _never() if end is None else Q(timestamp__gte=end),
            ">=": Q(timestamp__gte=start)}[op]


# -- SQL: parameters ---------------------------------------------------------------
#
# A key resolves as params.get_task_param() does, on the parameters with
# params.apply_overrides() applied.
#
# Fast path (_Chain.tree), for rows without a relevant override: a CASE over
# the few concrete paths the key may resolve to (each ``inputs`` level taken
# or not) reads the stored JSON directly.
#
# Replay (_Chain.replayed), for rows that may hold one: a scalar subquery
# whose recursive common table expression "w" is apply_overrides() on the
# row's document, one row per step: the top-level dotted keys in stored
# order ("dk"), each walked one part at a time from the root -- a part
# present in the current dict, else in the ``inputs`` of a task description,
# else created -- and written with json_set / jsonb_set. Layers (common
# table expressions, kept from being flattened) then walk the key through
# the result as get_task_param() does.
#
# A relevant override is a top-level key with a dot that starts with the
# key's first part, ``inputs``, ``taskname`` or ``module`` (or, for a key
# ``inputs.x...``, with ``x``): any other one writes below a top-level key
# the lookup does not read, or below an ``inputs`` entry other than the one
# it reads, and leaves the task descriptions on its way as they are.


class _Sql:
    """SQL text with ``%s`` placeholders and their parameters."""

    __slots__ = ("text", "params")

    def __init__(self, text, params=()):
        self.text, self.params = text, list(params)

    def __repr__(self):
        return f"_Sql({self.text!r}, {self.params!r})"


def _f(template, *args):
    """Fill each ``{}`` of ``template``: _Sql inline, anything else as a parameter."""
    pieces = template.split("{}")
    if len(pieces) != len(args) + 1:
        raise ValueError("placeholders and arguments differ")
    text, params = [pieces[0]], []
    for arg, piece in zip(args, pieces[1:]):
        if isinstance(arg, _Sql):
            text.append(arg.text)
            params.extend(arg.params)
        else:
            text.append("%s")
            params.append(arg)
        text.append(piece)
    return _Sql("".join(text), params)


def _join(sep, items):
    items = list(items)
    return _f(sep.join(["{}"] * len(items)), *items)


def _balanced(sep, items, width=16):
    """``items`` joined by ``sep`` in parentheses, in nested groups of at most
    ``width``: the depth of the SQL grows with the logarithm of their number
    (SQLite refuses expressions more than 1000 deep)."""
    items = list(items)
    while len(items) > width:
        items = [_f("({})", _join(sep, items[i:i + width])) for i in range(0, len(items), width)]
    return _f("({})", _join(sep, items))


_RAW = _Sql


class _Chain:
    """Builds the SQL condition of a ``where`` leaf on a parameter."""

    TRUE, FALSE = _RAW("1"), _RAW("0")

    def __init__(self, column):
        self.c = column          # the ParameterSet.content column
        self.n_alias = 0
        self.layers = []         # the WITH clause of the replay

    def alias(self):
        self.n_alias += 1
        return f"e{self.n_alias}"

    def layer(self, columns, inner):
        """Add a layer computing ``columns`` from the row of layer ``inner``
        (as ``s``); return its name. Layers are common table expressions:
        nested subqueries would overflow SQLite's parser stack."""
        cols = _join(", ", (_f("{} AS " + name, sql) for name, sql in columns.items()))
        name = f"l{len(self.layers)}"
        self.layers.append(_f(f"{name} AS (SELECT {{}} FROM {inner} AS s{self.NO_FLATTEN})", cols))
        return name

    @staticmethod
    def prefixes(node):
        """How the top-level keys of the overrides that may change what the
        leaf ``node`` reads start; None: any (the key is too deep for the
        fast path, every row is replayed)."""
        parts = node.key.parts
        if len(parts) > _MAX_TREE_DEPTH:
            return None
        firsts = {parts[0], "inputs", "taskname", "module"}
        if parts[0] == "inputs" and len(parts) > 1:
            firsts.add(parts[1])
        return sorted(k + "." for k in firsts)

    def boolean(self, expr, leaf):
        """``expr`` (And/Or/Not over parameter leaves) in SQL, each leaf
        written by ``leaf(node)`` (never NULL, so two-valued logic holds)."""
        if isinstance(expr, Not):
            return _f("NOT {}", self.boolean(expr.child, leaf))
        if isinstance(expr, _Junction):
            if not expr.children:
                return self.const(expr.EMPTY)
            sep = " AND " if isinstance(expr, And) else " OR "
            return _balanced(sep, [self.boolean(c, leaf) for c in expr.children])
        return leaf(expr)

    def replayed(self, node, doc):
        """``node`` on the parameters ``doc`` with their overrides applied."""
        self.layers = []
        chain = self.replay(doc)
        for i, part in enumerate(node.key.parts):
            # a top-level key with a dot is an override, never found as such
            chain = self.layer(self.step(part, direct=i > 0 or "." not in part), chain)
        missing, ref = self.leaf()
        leaf = _f("CASE WHEN {} THEN {} ELSE {} END", missing,
                  self.const(node.holds(_NO_VALUE)), self.compare(node, ref))
        return _f(f"(WITH RECURSIVE {{}} SELECT {{}} FROM {chain} AS s)",
                  _join(", ", self.layers), leaf)

    def slow(self, node, doc, fast):
        """Leaf ``node`` on a row that may hold overrides: replayed on ``doc``
        if one may change what it reads, else ``fast(node)``."""
        body = self.replayed(node, doc)
        p = self.prefixes(node)
        if p is None:
            return body
        return _f("CASE WHEN {} THEN {} ELSE {} END", self.overridden(p, doc), body, fast(node))

    def tree(self, node, path=(), i=0):
        """The lookup without overrides, as a CASE over the concrete paths
        (with or without each ``inputs`` level) the key may resolve to."""
        parts = node.key.parts
        if i == len(parts):
            return self.compare(node, self.ref(path))
        part = parts[i]
        below = []
        if path or "." not in part:
            below.append((self.present(path + (part,)), path + (part,)))
        desc = _join(" AND ", [self.present(path + ("taskname",)),
                               self.present(path + ("module",)),
                               self.is_type(self.ref(path + ("inputs",)), "object")])
        via = path + ("inputs", part)
        below.append((_f("{} AND {}", desc, self.present(via)), via))
        cases = _join(" ", (_f("WHEN {} THEN {}", test, self.tree(node, sub, i + 1))
                            for test, sub in below))
        return _f("CASE {} ELSE {} END", cases, self.const(node.holds(_NO_VALUE)))

    def const(self, flag):
        return self.TRUE if flag else self.FALSE

    def case(self, guard, then):
        return _f("CASE WHEN {} THEN {} ELSE {} END", guard, then, self.FALSE)

    def compare(self, node, ref):
        if not isinstance(node, Compare):
            return self.const(isinstance(node, Exists) and not isinstance(node, Missing))
        op, x = node.op, node.value
        if op == "==":
            return self.eq(ref, x)
        if op == "!=":
            return _f("NOT {}", self.eq(ref, x))
        if op in _ORDER:
            if isinstance(x, str):
                return self.case(self.is_type(ref, "string"), self.text_cmp(ref, op, x))
            return self.case(self.is_type(ref, "number"), self.num_cmp(ref, op, x))
        if op in ("in", "not in"):
            any_eq = self.member(ref, x)
            return any_eq if op == "in" else _f("NOT {}", any_eq)
        if op in ("contains", "not contains"):
            found = self.elements_exist(ref, lambda elem: self.eq(elem, x))
            return self.case(self.is_type(ref, "array"),
                             found if op == "contains" else _f("NOT {}", found))
        if op == "~":
            return self.case(self.is_type(ref, "string"), self.substring(ref, x))
        return self.case(self.is_type(ref, "string"), self.regex(ref, x))

    def eq(self, ref, x):
        if x is None:
            return self.case(self.is_type(ref, "null"), self.TRUE)
        if isinstance(x, bool):
            return self.case(self.is_type(ref, "true" if x else "false"), self.TRUE)
        if isinstance(x, str):
            return self.case(self.is_type(ref, "string"), self.text_cmp(ref, "==", x))
        if _is_number(x):
            return self.case(self.is_type(ref, "number"), self.num_cmp(ref, "==", x))
        parts = [_f("{} = {}", self.array_length(ref), len(x))]
        parts += [self.eq(self.item(ref, i), item) for i, item in enumerate(x)]
        return self.case(self.is_type(ref, "array"), _balanced(" AND ", parts))

    def member(self, ref, items):
        """Whether the value at ``ref`` equals one of ``items`` (as ``in``
        compares): the numbers looked up in one set, the strings in another
        (one parameter each), the other items one by one."""
        numbers = [v for v in items if _is_number(v)]
        strings = [v for v in items if isinstance(v, str)]
        parts = [self.eq(ref, v) for v in items if not (_is_number(v) or isinstance(v, str))]
        if numbers:
            parts.append(self.case(self.is_type(ref, "number"), self.num_in(ref, numbers)))
        if strings:
            parts.append(self.case(self.is_type(ref, "string"), self.text_in(ref, strings)))
        return _balanced(" OR ", parts) if parts else self.FALSE


class _SQLiteChain(_Chain):
    """SQLite's JSON1 functions; keys are read with JSON paths.

    SQLite (before 3.45) matches a path label against the key *as written*
    in the JSON text, escapes included. Python's ``json`` module writes a key
    the same way except for non-ASCII characters, which it escapes unless
    ``ensure_ascii=False`` -- in which case no ASCII-only text has any. So a
    label is spelled raw when the content has a non-ASCII byte ("m"), else
    escaped.

    The replay finds keys with json_each (which decodes them, as Python
    does) and addresses them by their ``fullkey`` (spelled as written); it
    creates a key from its decoded text, which json_set writes escaped, and
    copies override values as written with ``->`` (SQLite 3.38).
    """

    vendor = "sqlite"
    NO_FLATTEN = " LIMIT -1"
    KIND = {"number": "IN ('integer', 'real')", "string": "= 'text'", "true": "= 'true'",
            "false": "= 'false'", "null": "= 'null'", "array": "= 'array'",
            "object": "= 'object'"}

    @staticmethod
    def pushable(node):
        # A path label cannot hold '"' (no escape in SQLite's path syntax); DEL
        # is written raw or escaped depending on ensure_ascii, in ASCII text.
        import sqlite3
        return (sqlite3.sqlite_version_info >= (3, 38)
                and not any('"' in p or "\x7f" in p for p in node.key.parts))

    def param(self, k):
        return _f("{}", k)

    @staticmethod
    def child(d, p, k):
        return _f(f"(SELECT fullkey FROM json_each({d}, {p}) WHERE key = {{}})", k)

    @staticmethod
    def is_desc(d, p):
        return _RAW(f"(json_type({d}, {p} || '.taskname') IS NOT NULL AND json_type({d}, {p} "
                    f"|| '.module') IS NOT NULL AND json_type({d}, {p} || '.inputs') = 'object')")

    def replay(self, doc):
        mid = "instr(w.rest, '.') > 0"
        part = _RAW(f"CASE WHEN {mid} THEN substr(w.rest, 1, instr(w.rest, '.') - 1) "
                    "ELSE w.rest END")
        path = _f("COALESCE({}, CASE WHEN {} THEN {} END, w.p || '.\"' || {} || '\"')",
                  self.child("w.d", "w.p", part), self.is_desc("w.d", "w.p"),
                  self.child("w.d", "w.p || '.inputs'", part), part)
        self.layers += [
            # a key with '"' has no JSON path (no escapes in SQLite's syntax)
            _f("dk AS (SELECT row_number() OVER (ORDER BY id) AS n, key, fullkey AS fk "
               "FROM json_each({}) WHERE instr(key, '.') > 0 AND CASE WHEN instr(key, '\"') "
               "> 0 THEN {} ELSE 1 END)", doc, self.refuse(_RAW("key"))),
            _f("w(n, rest, p, d, np) AS (SELECT 1, (SELECT key FROM dk WHERE n = 1), '$', {}, "
               f"NULL UNION ALL SELECT CASE WHEN w.np IS NULL OR {mid} THEN w.n ELSE w.n + 1 END, "
               f"CASE WHEN w.np IS NULL THEN w.rest WHEN {mid} THEN substr(w.rest, "
               "instr(w.rest, '.') + 1) ELSE (SELECT key FROM dk WHERE dk.n = w.n + 1) END, "
               f"CASE WHEN w.np IS NULL THEN w.p WHEN {mid} THEN w.np ELSE '$' END, "
               f"CASE WHEN w.np IS NULL THEN w.d WHEN NOT {mid} THEN json_set(w.d, w.np, "
               "json({} -> (SELECT fk FROM dk WHERE dk.n = w.n))) WHEN json_type(w.d, w.np) = "
               "'object' THEN w.d ELSE json_set(w.d, w.np, json_object()) END, "
               "CASE WHEN w.np IS NULL THEN {} END FROM w WHERE w.rest IS NOT NULL)",
               doc, doc, path),
            _RAW("l0 AS (SELECT d, '$' AS p FROM w WHERE rest IS NULL)")]
        return "l0"

    def step(self, k, direct):
        found = _f("CASE WHEN {} THEN {} END", self.is_desc("s.d", "s.p"),
                   self.child("s.d", "s.p || '.inputs'", k))
        if direct:
            found = _f("COALESCE({}, {})", self.child("s.d", "s.p", k), found)
        return {"d": _RAW("s.d"), "p": _f("CASE WHEN s.p IS NOT NULL THEN {} END", found)}

    def leaf(self):
        return _RAW("s.p IS NULL"), ("path", _RAW("s.d"), _RAW("s.p"))

    def condition(self, expr, kind):
        """``expr`` on the row's parameter set (``kind``: its type column).
        A set SQLite cannot read as Python does -- not JSON, or JSON with
        NaN, which json.dumps writes -- raises "malformed JSON" instead."""
        prefixes = [self.prefixes(node) for node in _param_leaves(expr)]
        cond = self.boolean(expr, lambda node: self.slow(node, self.c, self.fast))
        if None not in prefixes:
            cond = _f("CASE WHEN {} THEN {} ELSE {} END",
                      self.overridden(sorted(set().union(*prefixes)), self.c), cond,
                      self.boolean(expr, self.fast))
        return _f("CASE WHEN {} = 'JSONParameterSet' AND json_valid({}) THEN {} ELSE {} END",
                  kind, self.c, cond, self.refuse(kind))

    @staticmethod
    def refuse(text):
        """SQL raising "malformed JSON" when evaluated (for a non-JSON ``text``)."""
        return _f("json('{' || {}) IS NULL", text)

    @staticmethod
    def overridden(prefixes, doc):
        # json_each parses the text again (the scalar functions share one parse);
        # still cheaper than searching the text for each prefix
        starts = _join(" OR ", (_f(f"substr(key, 1, {len(p)}) = {{}}", p) for p in prefixes))
        return _f("EXISTS (SELECT 1 FROM json_each({}) WHERE instr(key, '.') > 0 AND ({}))",
                  doc, starts)

    def fast(self, node):
        labels = [k for k in node.key.parts if json.dumps(k) != json.dumps(k, ensure_ascii=False)]
        if not labels:
            return self.tree(node)
        self.ascii = False
        raw = self.tree(node)
        self.ascii = True
        escaped = self.tree(node)
        return _f("CASE WHEN length(CAST({} AS BLOB)) <> length({}) THEN {} ELSE {} END",
                  self.c, self.c, raw, escaped)

    ascii = False   # how fast() spells path labels

    def ref(self, path):
        labels = "".join('."' + json.dumps(k, ensure_ascii=self.ascii)[1:-1] + '"' for k in path)
        return ("path", self.c, _f("{}", "$" + labels))

    def present(self, path):
        return _f("{} IS NOT NULL", self.type_of(self.ref(path)))

    # values: ("path", doc, path) or ("row", alias) of json_each
    def type_of(self, ref):
        if ref[0] == "row":
            return _RAW(f"{ref[1]}.type")
        return _f("json_type({}, {})", ref[1], ref[2])

    def value_of(self, ref):
        if ref[0] == "row":
            return _RAW(f"{ref[1]}.value")
        return _f("json_extract({}, {})", ref[1], ref[2])

    def is_type(self, ref, kind):
        return _f("{} " + self.KIND[kind], self.type_of(ref))

    def item(self, ref, i):
        if ref[0] == "row":
            return ("path", _RAW(f"{ref[1]}.value"), _f("{}", f"$[{i}]"))
        return ("path", ref[1], _f("{} || {}", ref[2], f"[{i}]"))

    def array_length(self, ref):
        if ref[0] == "row":
            return _RAW(f"json_array_length({ref[1]}.value)")
        return _f("json_array_length({}, {})", ref[1], ref[2])

    def elements_exist(self, ref, cond):
        a = self.alias()
        source = (_RAW(f"json_each({ref[1]}.value)") if ref[0] == "row"
                  else _f("json_each({}, {})", ref[1], ref[2]))
        return _f("EXISTS (SELECT 1 FROM {} AS " + a + " WHERE {})", source, cond(("row", a)))

    def num_cmp(self, ref, op, x):
        return _f("{} " + ("=" if op == "==" else op) + " {}", self.value_of(ref), x)

    def text_cmp(self, ref, op, x):
        return _f("{} " + ("=" if op == "==" else op) + " {}", self.value_of(ref), x)

    def num_in(self, ref, numbers):
        return _f("{} IN (SELECT value FROM json_each({}))", self.value_of(ref), json.dumps(numbers))

    text_in = num_in

    def substring(self, ref, x):
        return _f("instr({}, {}) > 0", self.value_of(ref), x)

    def regex(self, ref, x):
        return _f("{} REGEXP {}", self.value_of(ref), x)  # Django's: Python's re.search


class _PostgresChain(_Chain):
    """PostgreSQL: the content is cast to jsonb once per row; lookups walk
    jsonb values. Dotted keys are ordered from the text (``json_each`` keeps
    the document order; jsonb does not)."""

    vendor = "postgresql"
    NO_FLATTEN = " OFFSET 0"
    TRUE, FALSE = _RAW("TRUE"), _RAW("FALSE")
    KIND = {"number": "= 'number'", "string": "= 'string'", "true": "= 'boolean'",
            "false": "= 'boolean'", "null": "= 'null'", "array": "= 'array'",
            "object": "= 'object'"}

    @staticmethod
    def pushable(node):
        return node.op != "matches"  # POSIX regular expressions differ from Python's

    def param(self, k):
        return _f("CAST({} AS text)", k)

    @staticmethod
    def is_desc(v):
        # (?& would look at the items of an array, but then inputs is no object)
        return _RAW(f"({v} ?& ARRAY['taskname', 'module'] AND "
                    f"jsonb_typeof({v} -> 'inputs') = 'object')")

    def replay(self, doc):
        node = "(w.d #> w.p)"
        path = _f(f"w.p || CASE WHEN {node} -> w.rest[1] IS NULL AND {{}} AND {node} -> 'inputs' "
                  "-> w.rest[1] IS NOT NULL THEN ARRAY['inputs', w.rest[1]] ELSE "
                  "ARRAY[w.rest[1]] END", self.is_desc(node))
        mid = "cardinality(w.rest) > 1"
        # keys: the dotted keys left, the first being replayed. No subquery in
        # the recursive step: it would raise the cost estimates, and so JIT.
        self.layers.append(_f(
            "w(keys, rest, p, d, np) AS (SELECT x.a, string_to_array(x.a[1], '.'), "
            "CAST(ARRAY[] AS text[]), {}, CAST(NULL AS text[]) FROM (SELECT ARRAY(SELECT o.key "
            "FROM json_each(CASE WHEN jsonb_typeof({}) = 'object' THEN CAST({} AS json) END) "
            "WITH ORDINALITY AS o(key, value, n) WHERE strpos(o.key, '.') > 0 ORDER BY o.n) AS a "
            f"OFFSET 0) AS x UNION ALL SELECT CASE WHEN w.np IS NULL OR {mid} THEN w.keys ELSE "
            f"w.keys[2:] END, CASE WHEN w.np IS NULL THEN w.rest WHEN {mid} THEN w.rest[2:] "
            f"ELSE string_to_array(w.keys[2], '.') END, CASE WHEN w.np IS NULL THEN w.p WHEN "
            f"{mid} THEN w.np ELSE CAST(ARRAY[] AS text[]) END, CASE WHEN w.np IS NULL THEN w.d "
            f"WHEN NOT {mid} THEN jsonb_set(w.d, w.np, {{}} -> w.keys[1]) WHEN "
            "jsonb_typeof(w.d #> w.np) = 'object' THEN w.d ELSE jsonb_set(w.d, w.np, "
            "jsonb_build_object()) END, CASE WHEN w.np IS NULL THEN {} END FROM w WHERE "
            "w.rest IS NOT NULL)", doc, doc, self.c, doc, path))
        self.layers += [
            _RAW("l0 AS (SELECT d AS v FROM w WHERE rest IS NULL)")]
        return "l0"

    def step(self, k, direct):
        k = self.param(k)
        found = _f("CASE WHEN {} THEN s.v -> 'inputs' -> {} END", self.is_desc("s.v"), k)
        return {"v": _f("COALESCE(s.v -> {}, {})", k, found) if direct else found}

    def leaf(self):
        return _RAW("s.v IS NULL"), _RAW("s.v")

    def condition(self, expr, table):
        """``IN (...)``: the ids of the parameter sets satisfying ``expr``.

        One pass over ``table``, in parallel where PostgreSQL plans so: each
        set is cast to jsonb once (a set that is not JSON raises, as does
        JSON with NaN or \\u0000, which PostgreSQL refuses), every leaf read
        by its fast path. Sets with an override that may matter (rare) keep
        their text and are replayed above, in the leader.
        """
        leaves = list(_param_leaves(expr))
        index = {id(node): i for i, node in enumerate(leaves)}
        prefixes = [self.prefixes(node) for node in leaves]
        maybe = (self.TRUE if None in prefixes
                 else self.overridden(sorted(set().union(*prefixes)), _RAW("s.d")))
        trees = _join(", ", (_f(f"{{}} AS t{i}", self.FALSE if p is None else self.tree(node))
                             for i, (node, p) in enumerate(zip(leaves, prefixes))))
        inner = _f(f"SELECT p.id, CASE WHEN {{}} THEN p.content END AS c, {{}} FROM {table} AS p "
                   "CROSS JOIN LATERAL unnest(ARRAY[CASE WHEN p.type = 'JSONParameterSet' THEN "
                   "CAST(p.content AS jsonb) ELSE CAST('{' || p.type AS jsonb) END]) AS s(d) "
                   "OFFSET 0", maybe, trees)

        def fast(node):
            return _RAW(f"px.t{index[id(node)]}")
        replay = _PostgresChain(_RAW("px.c"))
        return _f("IN (SELECT px.id FROM ({}) AS px CROSS JOIN LATERAL unnest(ARRAY[CAST(px.c AS "
                  "jsonb)]) AS q(d) WHERE CASE WHEN px.c IS NULL THEN {} ELSE {} END)",
                  inner, self.boolean(expr, fast),
                  replay.boolean(expr, lambda node: replay.slow(node, _RAW("q.d"), fast)))

    def overridden(self, prefixes, doc):
        """Whether the jsonb ``doc`` is an object with a top-level key
        starting with one of ``prefixes`` (a plain function call: parallel safe)."""
        test = " || ".join(f"@ starts with $p{i}" for i in range(len(prefixes)))
        names = _join(", ", (_f(f"'p{i}', {{}}", self.param(p)) for i, p in enumerate(prefixes)))
        return _f("CASE WHEN jsonb_typeof({}) = 'object' THEN jsonb_path_exists({}, "
                  f"'strict $.keyvalue().key ? ({test})', jsonb_build_object({{}})) ELSE FALSE END",
                  doc, doc, names)

    def ref(self, path):
        return _f("(s.d" + " -> {}" * len(path) + ")", *(self.param(k) for k in path))

    def present(self, path):
        return _f("{} IS NOT NULL", self.ref(path))

    def is_type(self, ref, kind):
        test = _f("jsonb_typeof({}) " + self.KIND[kind], ref)
        if kind in ("true", "false"):
            return _f("({} AND {} = CAST({} AS jsonb))", test, ref, kind)
        return test

    def item(self, ref, i):
        return _f("({} -> {})", ref, _RAW(str(i)))

    def array_length(self, ref):
        return _f("jsonb_array_length({})", ref)

    def elements_exist(self, ref, cond):
        a = self.alias()
        return _f("EXISTS (SELECT 1 FROM jsonb_array_elements({}) AS " + a + "(v) WHERE {})",
                  ref, cond(_RAW(f"{a}.v")))

    def num_cmp(self, ref, op, x):
        return _pg_number(_f("CAST({} AS numeric)", ref), "=" if op == "==" else op, x)

    def num_in(self, ref, numbers):
        return _pg_number(_f("CAST({} AS numeric)", ref), "=", numbers)

    def text_in(self, ref, strings):
        return _f("({} #>> {}) = ANY(CAST({} AS text[]))", ref, _RAW("'{}'"),
                  _pg_text_array(strings))

    def text_cmp(self, ref, op, x):
        text = _f("({} #>> {})", ref, _RAW("'{}'"))
        if op == "==":
            return _f("{} = CAST({} AS text)", text, x)
        return _f('{} COLLATE "C" ' + op + ' CAST({} AS text) COLLATE "C"', text, x)

    def substring(self, ref, x):
        text = _f("({} #>> {})", ref, _RAW("'{}'"))
        return _f("strpos({}, CAST({} AS text)) > 0", text, x)


@functools.cache
def _tiny():
    """2**-1075 exactly: decimal texts at or below it become 0.0 as doubles."""
    return decimal.Decimal(5 ** 1075).scaleb(-1075)


def _pg_number(n, op, x):
    """``n op x`` for a jsonb number ``n`` (numeric, exact) as Python compares
    json.loads(text) with ``x``: jsonb keeps the exact decimal, Python rounds
    a non-integer to a double. Integers and numbers beyond 2**53 compare
    exactly (|x| < 2**53 cannot tie with them); tiny numbers round to 0 or
    keep their sign (x is 0 or |x| >= 1e-300); the rest compare as doubles.
    """
    def exact(v):
        return v if isinstance(v, int) else decimal.Decimal(v)
    if isinstance(x, list):   # n is one of x (op "="): each number as the one below
        exact_x = _f("ANY(CAST({} AS numeric[]))", _pg_array(str(exact(v)) for v in x))
        double_x = _f("ANY(CAST({} AS double precision[]))", _pg_array(repr(float(v)) for v in x))
    else:
        exact_x = _f("CAST({} AS numeric)", exact(x))
        double_x = _f("CAST({} AS double precision)", float(x))
    return _f(f"CASE WHEN abs({{}}) >= {_SAFE_INT} OR {{}} = trunc({{}}) "
              f"THEN {{}} {op} {{}} "
              f"WHEN abs({{}}) < 1e-307 THEN (CASE WHEN abs({{}}) <= CAST({{}} AS numeric) "
              f"THEN 0 ELSE {{}} END) {op} {{}} "
              f"ELSE CAST({{}} AS double precision) {op} {{}} END",
              n, n, n, n, exact_x, n, n, _tiny(), n, exact_x, n, double_x)


_CHAINS = {"sqlite": _SQLiteChain, "postgresql": _PostgresChain}


@functools.cache
def _condition_class():
    from django.db.models import BooleanField, Expression

    class ParamsCondition(Expression):
        """A ``where`` condition on parameters, compiled when the query is:
        on SQLite over the joined parameter set (``content``, ``type``), on
        PostgreSQL as ``parameters_id IN (...)``."""

        output_field = BooleanField()

        def __init__(self, expr, table, *columns):
            super().__init__()
            self.expr, self.table, self.columns = expr, table, list(columns)

        def get_source_expressions(self):
            return self.columns

        def set_source_expressions(self, exprs):
            self.columns = list(exprs)

        def as_sql(self, compiler, connection):
            compiled = [compiler.compile(c) for c in self.columns]
            columns = [_Sql(sql, params) for sql, params in compiled]
            table = connection.ops.quote_name(self.table)
            if connection.vendor == "postgresql":
                sql = _f("{} {}", columns[0], _PostgresChain(None).condition(self.expr, table))
            else:
                sql = _SQLiteChain(columns[0]).condition(self.expr, columns[1])
            return sql.text, sql.params

    return ParamsCondition


def reads_params(qs):
    """Whether the queryset ``qs`` filters with a condition on parameters
    (worth not evaluating twice: read its ids once instead of a subquery)."""
    cls = _condition_class()

    def walk(node):
        if isinstance(node, cls):
            return True
        children = list(getattr(node, "children", ()))
        if hasattr(node, "get_source_expressions"):
            children += node.get_source_expressions()
        return any(walk(child) for child in children if child is not None)
    return walk(qs.query.where)


def _param_leaves(expr):
    if isinstance(expr, (_Junction, Not)):
        for child in expr.children:
            yield from _param_leaves(child)
    else:
        yield expr


def _param_q(expr, ctx):
    from django.db.models import F, Q
    chain = _CHAINS.get(ctx.vendor)
    if chain is None or not ctx.store.params_in_sql:
        return None
    for n, leaf in enumerate(_param_leaves(expr)):
        if not chain.pushable(leaf) or isinstance(leaf, Compare) and not _sql_value_ok(leaf.value):
            return None
        if n == _MAX_PARAM_LEAVES:
            return None   # one column per leaf on PostgreSQL: Python finishes
    columns = ([F("parameters_id")] if ctx.vendor == "postgresql"
               else [F("parameters__content"), F("parameters__type")])
    return Q(_condition_class()(expr, ctx.models.ParameterSet._meta.db_table, *columns))


def unreadable_params(exc):
    """Whether the database error ``exc`` is the database refusing a stored
    parameter set that a ``where`` condition reads: not JSON, or JSON it
    parses differently from Python (NaN, Infinity; ``\\u0000`` and lone
    surrogates on PostgreSQL; a dotted key with ``"`` in an override on SQLite;
    JSON nested too deep for PostgreSQL's stack). The query is then right only
    in Python."""
    cause = exc.__cause__
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    # invalid_text_representation, untranslatable_character, statement_too_complex
    if code in ("22P02", "22P05", "54001"):
        return True
    return "malformed JSON" in str(exc)
