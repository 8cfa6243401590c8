"""Values and names of the ``--where`` language: literals, equality and
order as the language defines them, parameter keys and record fields.

Pure Python (standard library, errors, fields): the parser, the nodes and
the SQL side all read these.
"""
import math
import re

from ..errors import QueryError
from ..fields import FIELD_KINDS as FIELDS

#: Words that cannot be bare keys (quote such a key with backticks).
KEYWORDS = frozenset(("and", "or", "not", "in", "exists", "missing", "matches",
                      "true", "false", "null", "True", "False", "None"))
CONSTANTS = {"true": True, "True": True, "false": False, "False": False,
             "null": None, "None": None}
#: Comparison operators of a ``Compare`` node. ``contains`` is ``value in key``.
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains",
             "not contains", "~", "matches")
#: The order operators.
ORDER = ("<", "<=", ">", ">=")
#: Deepest nesting of list literals (``[[1], [2]]`` is two levels).
MAX_LIST_DEPTH = 32


class _Missing:
    """A missing parameter or field (``None`` is a value)."""

    def __repr__(self):
        return "NO_VALUE"


NO_VALUE = _Missing()


# -- values -------------------------------------------------------------------

def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_list(x):
    return isinstance(x, (list, tuple))

def equal(a, b):
    """Equality in ``where``: numbers as numbers (1 == 1.0, NaN equals
    nothing), bools only with bools, strings with strings, null with null,
    lists element-wise, dicts by keys and values."""
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    if is_list(a) and is_list(b):
        return len(a) == len(b) and all(map(equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(v, b[k]) for k, v in a.items())
    return False


def ordered(op, a, b):
    """``a op b`` for op in < <= > >=: numbers with numbers, strings with
    strings (by code point); anything else is False."""
    if not ((is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def normalize(value, depth=0):
    """A literal as the language sees it: tuples -> lists, numpy -> Python."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if (is_list(value) or isinstance(value, dict)) and depth == MAX_LIST_DEPTH:
        raise QueryError(f"lists nested too deeply: at most {MAX_LIST_DEPTH} levels")
    if is_list(value):
        return [normalize(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v, depth + 1) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise QueryError(f"cannot compare with {value!r} (a {type(value).__name__})")


def format_value(value):
    """``value`` written in the expression language."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, float) and math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    if is_number(value):
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
    if is_list(value):
        return "[" + ", ".join(map(format_value, value)) + "]"
    return repr(value)


# -- keys and fields ----------------------------------------------------------

FIRST_SEGMENT = re.compile(r"[^\W\d][\w-]*")
SEGMENT = re.compile(r"[\w-]+")


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
                part, i = backticked(text, i)
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
            plain = (FIRST_SEGMENT if n == 0 else SEGMENT).fullmatch(part)
            if plain and part not in KEYWORDS and not (len(self.parts) == 1 and part in FIELDS) \
                    and not (n == 0 and part == "metric" and len(self.parts) == 2):  # metric.NAME
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


def backticked(text, i):
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




def keys_of(expr):
    """The keys (:class:`Key`, :class:`Field`, a metric's) the leaves of an
    expression tree name, each once, in the order they are written."""
    keys, stack = [], [expr]
    while stack:
        node = stack.pop()
        key = getattr(node, "key", None)
        if key is not None and key not in keys:
            keys.append(key)
        stack.extend(reversed(list(getattr(node, "children", ()))))
    return keys
