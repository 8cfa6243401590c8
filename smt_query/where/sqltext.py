"""SQL text with parameters, and which Python values SQL may see as they are.

:class:`Sql` is a fragment of SQL with ``%s`` placeholders and their
parameters; :func:`fill` builds one from a template. No Django, no vendor:
the dialect modules write their SQL with these.
"""
import math

from .values import is_number

# Numbers compared in SQL: |x| < 2**53, and 0 or |x| >= 1e-300 (see
# postgresql.number_condition).
SAFE_INT = 2 ** 53
TINY_FLOAT = 1e-300


class Sql:
    """SQL text with ``%s`` placeholders and their parameters."""

    __slots__ = ("text", "params")

    def __init__(self, text, params=()):
        self.text, self.params = text, list(params)

    def __repr__(self):
        return f"Sql({self.text!r}, {self.params!r})"


#: SQL text without parameters.
raw = Sql


def fill(template, *args):
    """Fill each ``{}`` of ``template``: Sql inline, anything else as a parameter."""
    pieces = template.split("{}")
    if len(pieces) != len(args) + 1:
        raise ValueError("placeholders and arguments differ")
    text, params = [pieces[0]], []
    for arg, piece in zip(args, pieces[1:]):
        if isinstance(arg, Sql):
            text.append(arg.text)
            params.extend(arg.params)
        else:
            text.append("%s")
            params.append(arg)
        text.append(piece)
    return Sql("".join(text), params)


def join(sep, items):
    """``items`` (Sql or parameters) joined by the SQL text ``sep``."""
    items = list(items)
    return fill(sep.join(["{}"] * len(items)), *items)


def balanced(sep, items, width=16):
    """``items`` joined by ``sep`` in parentheses, in nested groups of at most
    ``width``: the depth of the SQL grows with the logarithm of their number
    (SQLite refuses expressions more than 1000 deep)."""
    items = list(items)
    while len(items) > width:
        items = [fill("({})", join(sep, items[i:i + width])) for i in range(0, len(items), width)]
    return fill("({})", join(sep, items))


def safe_number(x):
    """Whether a number compares identically in Python and in SQL."""
    if isinstance(x, int):
        return abs(x) < SAFE_INT
    return math.isfinite(x) and (x == 0 or TINY_FLOAT <= abs(x) < SAFE_INT)


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


def sql_value_ok(x):
    """Whether a literal can be sent to SQL as is (numbers safe, no NUL, no dict)."""
    if is_number(x):
        return safe_number(x)
    if isinstance(x, str):
        return sql_text_ok(x)
    if isinstance(x, list):
        return all(map(sql_value_ok, x))
    return x is None or isinstance(x, bool)


#: Most terms joined in one SQL condition (beyond, Python finishes the filter):
#: SQLite refuses expressions deeper than 1000.
MAX_SQL_TERMS = 256
