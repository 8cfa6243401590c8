"""Django ``Q`` objects on the record's own columns: tags, text, numbers,
time spans and sets. The one copy of each, used by the ``where`` nodes and
by the filters alike.

Each builder returns None where SQL cannot say the condition exactly on the
store (no dialect, a NUL character...): Python then decides. Django is
imported when a builder runs, never on import.
"""
import functools

from ..fields import STATUSES, status_tag
from .dialect import dialect_for, dialect_of
from .globs import is_glob, matches_nothing
from .sqltext import MAX_SQL_TERMS, sql_text_ok, sql_value_ok

#: Up to this many tag names, one ``instr``/``strpos`` test each; above, one set condition.
_TAG_TESTS_MAX = 16
#: Lists longer than this are sent to SQL as one value (see :func:`in_set`).
_SET_SIZE = 64


def never():
    """Q selecting no record."""
    from django.db.models import Q
    return Q(pk__in=[])


def tags_q(ctx, names):
    """A ``Q`` selecting the records whose ``tags`` column carries a tag in
    ``names`` -- exactly and case-sensitively -- or any tag if ``names`` is
    None; ``None`` if that cannot be said in SQL (a NUL character; a database
    without a dialect).

    The column (Sumatra's ``Record.tags``: the tags joined by commas) is the
    truth for each store; Sumatra's Tag/TaggedItem rows are not read (they
    are written to Django's default database only, so they can be missing or
    stale). A name is found by its delimiters (``',' || tags || ','``
    contains ``',name,'``), never with ``LIKE`` (wildcards ``_``/``%``,
    case-insensitive on SQLite).
    """
    from django.db.models import Q
    if dialect_of(ctx) is None:
        return None
    if names is not None:
        # a tag read from the column is never empty and has no comma
        names = sorted({n for n in names if n and "," not in n})
        if any("\0" in n for n in names):
            return None
        if not names:
            return never()
    return Q(_tag_match()(names))


@functools.cache
def _tag_match():
    """The Django expression class behind :func:`tags_q` (made on first use)."""
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
            return dialect_for(connection.vendor).tag_condition(
                column, col_params, self.names, _TAG_TESTS_MAX)

    return TagMatch


def status_q(ctx, words):
    """Q: the record carries the status tag of a word in ``words`` (None: any status)."""
    return tags_q(ctx, [status_tag(w) for w in (STATUSES if words is None else words)])


def in_set(ctx, column, values, kind="text"):
    """Q: ``column`` (text, or a number for ``kind="number"``) is one of
    ``values``. A long list goes as one parameter, a JSON text on SQLite and
    an array on PostgreSQL, whatever its length (no limit on parameters or
    on the depth of the SQL)."""
    from django.db.models import Q
    values = list(values)
    dialect = dialect_of(ctx)
    if len(values) <= _SET_SIZE or dialect is None:
        return Q(**{f"{column}__in": values})
    return Q(**{f"{column}__in": dialect.value_set(values, kind)})


def span_q(start, end):
    """Q: ``start <= timestamp < end``; None for an open bound. The timestamp
    must be readable (:func:`timestamp_ok`): an unreadable one matches no date
    condition. The bounds apply to :func:`timestamp_key` (NULL where
    unreadable), which smt-query's indexes hold."""
    from django.db.models import Q
    from django.db.models.lookups import GreaterThanOrEqual, IsNull, LessThan
    if start is None and end is None:
        return timestamp_ok()
    q = Q()
    if start is not None:
        q &= Q(GreaterThanOrEqual(timestamp_key(), start))
    if end is not None:
        q &= Q(LessThan(timestamp_key(), end))
    return q & Q(IsNull(timestamp_key(), False))   # false, not NULL, where unreadable (NOT)


@functools.lru_cache(maxsize=None)
def _timestamp_expressions():
    """The Django expression classes of :func:`timestamp_ok` and
    :func:`timestamp_key` (made on first use: Django is not imported with
    this module)."""
    from django.db.models import BooleanField, Case, Func

    class TimestampOk(Func):
        """SQL: the timestamp column is readable, by the dialect's rule
        (``timestamp_ok``; NOT NULL where the database has no dialect)."""
        output_field = BooleanField()

        def as_sql(self, compiler, connection, **extra):
            sql, params = compiler.compile(self.source_expressions[0])
            dialect = dialect_for(connection.vendor)
            if dialect is None:
                return f"({sql} IS NOT NULL)", params
            text = dialect.timestamp_ok(sql, connection)
            return text, params * text.count(sql)   # the column may appear more than once

    class TimestampKey(Case):
        """Ordered with the NULLs (unreadable timestamps) last either way."""
        def asc(self, **kwargs):
            return super().asc(nulls_last=True)

        def desc(self, **kwargs):
            return super().desc(nulls_last=True)

    return TimestampOk, TimestampKey


def timestamp_ok(column="timestamp"):
    """Q: the record's timestamp is readable: not NULL, and on SQLite text
    :func:`smt_query.dates.read_stored_timestamp` reads (``2020-13-45`` is
    not), on PostgreSQL finite (not ``infinity``). The SQL form of the rule
    the store's reading applies (``smt_query.storesetup``): tested equal."""
    from django.db.models import F, Q
    return Q(_timestamp_expressions()[0](F(column)))


def timestamp_key():
    """An expression to order records by: the timestamp where readable, else
    NULL; its ``asc()`` and ``desc()`` put the NULLs last. Date conditions
    compare it too; smt-query's indexes hold it (``storetools.INDEXES``)."""
    from django.db.models import DateTimeField, F, When
    return _timestamp_expressions()[1](When(timestamp_ok(), then=F("timestamp")), default=None,
                        output_field=DateTimeField())


def timestamp_order(descending=True):
    """``order_by()`` terms: by timestamp (newest first if ``descending``),
    then label; unreadable timestamps last either way (Python's order:
    ``smt_query.dates.timestamp_order``)."""
    from django.db.models import F
    if descending:
        return [timestamp_key().desc(), F("label").desc()]
    return [timestamp_key().asc(), F("label").asc()]


def substring_q(column, text):
    """Q: the text ``column`` (a name or an expression) contains ``text``,
    case-sensitively (Django's ``__contains`` is case-insensitive on SQLite:
    LIKE; instr/strpos are not)."""
    from django.db.models import F, Q, Value
    from django.db.models.functions import StrIndex
    from django.db.models.lookups import GreaterThan
    column = F(column) if isinstance(column, str) else column
    return Q(GreaterThan(StrIndex(column, Value(text)), 0))


def text_q(ctx, column, pattern):
    """Case-sensitive substring (or whole-value glob) match of a text column;
    None where SQL cannot say it exactly (Python then decides)."""
    if dialect_of(ctx) is None or not sql_text_ok(pattern):
        return None
    if not is_glob(pattern):
        return substring_q(column, pattern)
    return glob_q(ctx, column, pattern)


def folded_text_q(ctx, column, folded):
    """Case-insensitive :func:`text_q`: the text ``column``, folded as
    :meth:`str.lower` folds it, contains (or as a glob, matches) ``folded``,
    a pattern already folded; None unless ``folded`` is ASCII (Python then
    decides).

    Exact for an ASCII pattern: of the characters beyond ASCII, only ``İ``
    (U+0130, to ``i̇``, two characters) and the Kelvin sign (U+212A, to
    ``k``) lower to text with ASCII in it, so the column has these two
    replaced as Python does, then its ASCII letters lowered (SQLite's
    ``lower()``, ASCII only; PostgreSQL's ``translate()``, which unlike its
    ``lower()`` does not depend on the database's locale). Every other
    character stays one character that no ASCII pattern character matches,
    folded or not."""
    from django.db.models import F
    if dialect_of(ctx) is None or not folded.isascii() or not sql_text_ok(folded):
        return None
    column = _ascii_fold()(F(column))
    if not is_glob(folded):
        return substring_q(column, folded)
    return _glob_on(ctx, column, folded)


@functools.cache
def _ascii_fold():
    """The Django function behind :func:`folded_text_q` (made on first use)."""
    from django.db.models import Func, TextField, Value
    from django.db.models.functions import Replace

    upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

    class AsciiFold(Func):
        function = "LOWER"
        output_field = TextField()

        def __init__(self, expression):
            expression = Replace(Replace(expression, Value("\u0130"), Value("i\u0307")),
                                 Value("\u212a"), Value("k"))
            super().__init__(expression)

        def as_postgresql(self, compiler, connection, **extra):
            sql, params = compiler.compile(self.get_source_expressions()[0])
            return f"TRANSLATE({sql}, %s, %s)", [*params, upper, upper.lower()]

    return AsciiFold


def glob_q(ctx, column, pattern):
    """Q: the whole text ``column`` matches the glob ``pattern`` as
    :func:`fnmatch.fnmatchcase` does (a pattern without ``* ? [`` is the
    value itself); None where SQL cannot say it exactly."""
    from django.db.models import F, Q
    dialect = dialect_of(ctx)
    if dialect is None or not sql_text_ok(pattern):
        return None
    if not is_glob(pattern):
        return Q(**{column: pattern})
    return _glob_on(ctx, F(column), pattern)


def _glob_on(ctx, expression, pattern):
    """Q: the text ``expression`` matches the glob ``pattern``, or None."""
    from django.db.models import Q
    dialect = dialect_of(ctx)
    if dialect.max_glob is not None and len(pattern) > dialect.max_glob:
        return None
    if matches_nothing(pattern):
        return never()                 # [z-a]: matches nothing
    return Q(_glob_expression()(expression, pattern))


@functools.cache
def _glob_expression():
    from django.db.models import BooleanField, Expression

    class Glob(Expression):
        """``column`` matches the glob ``pattern`` (see :mod:`~smt_query.where.globs`)."""

        output_field = BooleanField()

        def __init__(self, column, pattern):
            super().__init__()
            self.column, self.pattern = column, pattern

        def get_source_expressions(self):
            return [self.column]

        def set_source_expressions(self, exprs):
            (self.column,) = exprs

        def as_sql(self, compiler, connection):
            sql, params = compiler.compile(self.column)
            return dialect_for(connection.vendor).glob_sql(sql, params, self.pattern, connection)

    return Glob


# -- a where leaf on a record field -------------------------------------------

def field_q(node, ctx):
    """Q of the ``where`` leaf ``node`` on a record field (``node.key`` is a
    Field), or None."""
    from django.db.models import F, Q, Value
    from django.db.models.lookups import (GreaterThan, GreaterThanOrEqual, LessThan,
                                          LessThanOrEqual)
    field, op = node.key, node.op
    kind, name = field.kind, field.name
    dialect = dialect_of(ctx)
    if dialect is None:
        return None
    if kind == "status":
        any_status = status_q(ctx, None)
        if op in ("exists", "missing"):
            return any_status if op == "exists" else ~any_status
        if op in ("~", "matches"):
            words = node.matching(STATUSES)
        else:
            words = set(node.value) if op in ("in", "not in") else {node.value}
        has = status_q(ctx, words)
        return has if op in ("==", "in", "~", "matches") else any_status & ~has
    if kind == "tags":
        if op in ("exists", "missing"):
            return tags_q(ctx, None) if op == "exists" else ~tags_q(ctx, None)
        if op in ("~", "matches"):
            return tags_q(ctx, node.matching(ctx.tag_names()))
        has = tags_q(ctx, [node.value])
        if has is None:
            return None
        return has if op == "contains" else ~has
    present = timestamp_ok(name) if kind == "date" else Q(**{f"{name}__isnull": False})
    if op in ("exists", "missing"):
        return present if op == "exists" else ~present
    if kind == "date":
        return _date_q(node)
    values = node.numbers if kind == "number" else (
        node.value if op in ("in", "not in") else [node.value])
    if not all(map(sql_value_ok, values)):
        return None
    if op == "matches":
        return dialect.regex_q(name, node.value)
    # lookups on expressions: AND present keeps them two-valued under NOT
    if op == "~":
        return present & substring_q(name, node.value)
    if op in ("in", "not in"):
        q = in_set(ctx, name, values, kind)
        return q if op == "in" else present & ~q
    if op in ("==", "!="):
        q = Q(**{name: values[0]})
        return q if op == "==" else present & ~q
    lhs = F(name)
    if kind == "text":
        lhs = dialect.text_order(lhs)
    lookup = {"<": LessThan, "<=": LessThanOrEqual, ">": GreaterThan,
              ">=": GreaterThanOrEqual}[op]
    q = present & Q(lookup(lhs, Value(values[0])))
    guard = dialect.order_guard(name, op) if kind == "number" else None
    return q if guard is None else q & guard


def _date_q(node):
    """Q of a date comparison; an unreadable timestamp satisfies none (as in
    Python: ``nodes._test_date``)."""
    op, (start, end) = node.op, node.spans[0]
    if op in ("==", "!=", "in", "not in"):
        if len(node.spans) > MAX_SQL_TERMS:
            return None
        q = never()
        for span in node.spans:
            q |= span_q(*span)
        return q if op in ("==", "in") else ~q & timestamp_ok()
    return {"<": never() if start is None else span_q(None, start), "<=": span_q(None, end),
            ">": never() if end is None else span_q(end, None),
            ">=": span_q(start, None)}[op]
