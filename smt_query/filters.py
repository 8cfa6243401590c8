"""Record filters: small objects kept in one registry.

A filter is built with its arguments (validated at once, so a bad date fails
where it is written) and offers

* :meth:`Filter.test` -- a Python predicate over a Sumatra ``Record``; this is
  the reference semantics, used for stores without SQL and in tests;
* :meth:`Filter.to_q` -- the same condition as a Django ``Q`` over Sumatra's
  ``Record`` model, or ``None`` when it cannot be said exactly in SQL.

``view.filter.<name>(...)`` and the ``smt query`` options come from
:data:`FILTERS`. Register your own with :func:`register_filter`::

    @register_filter
    def long_runs(hours=10):
        "Keep records that ran longer than `hours`."
        return lambda record: (record.duration or 0) > hours * 3600

A registered function takes the filter's arguments and returns the predicate
(the smttask convention); such filters run in Python, after the SQL ones.
"""
import fnmatch
import functools
import inspect
import math
import re

from .dates import as_utc, date_span, on_span, parse_duration
from .errors import QueryError
from .fields import STATUSES, status_tag  # noqa: F401  (STATUSES: importable from here too)

#: name -> Filter subclass; ``view.filter.<name>`` looks names up here.
FILTERS = {}

_GLOB_CHARS = re.compile(r"[*?\[]")


def register_filter(obj=None, *, name=None):
    """Register a :class:`Filter` subclass, or a function returning a predicate.

    Usable as ``@register_filter`` or ``@register_filter(name="...")``.
    """
    def register(obj):
        if isinstance(obj, type) and issubclass(obj, Filter):
            cls = obj
        elif callable(obj):
            cls = type(obj.__name__, (FunctionFilter,), {
                "factory": staticmethod(obj), "__doc__": obj.__doc__,
                "__signature__": inspect.signature(obj)})
        else:
            raise TypeError(f"cannot register {obj!r} as a filter")
        key = name or cls.__dict__.get("name") or cls.__name__
        cls.name = key
        FILTERS[key] = cls
        return obj
    return register if obj is None else register(obj)


def get_filter(name):
    """The filter class registered as ``name``, or a clear :class:`QueryError`."""
    try:
        return FILTERS[name]
    except KeyError:
        known = ", ".join(sorted(FILTERS))
        raise QueryError(f"unknown filter {name!r}; known filters: {known}") from None


class Filter:
    """A condition on records, built with its arguments (checked at once).

    Subclass it and register the subclass with :func:`register_filter` to add a
    filter that can run in SQL: :meth:`test` is the condition in Python (the
    reference), :meth:`to_q` the same condition as a Django ``Q`` over
    Sumatra's ``Record`` model, or ``None`` when SQL cannot say it exactly (then
    :meth:`test` runs, after the SQL filters). The class attribute ``name`` is
    the name of ``view.filter.<name>``.
    """

    name = None

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def test(self, record):
        """True if ``record`` (a Sumatra ``Record``) passes."""
        raise NotImplementedError

    def to_q(self, ctx):
        """A Django ``Q`` selecting exactly the passing records, or ``None``.

        ``ctx`` is the :class:`~smt_query.recordstore.SQLContext` of the store.
        """
        return None

    def __repr__(self):
        parts = [repr(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(parts)})"


class FunctionFilter(Filter):
    """A filter made from a function ``factory(*args) -> predicate``."""

    factory = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.predicate = self.factory(*args, **kwargs)

    def test(self, record):
        return bool(self.predicate(record))


@register_filter(name="generic_filter")
class GenericFilter(Filter):
    """The default filter: keep records for which `fn` returns True.
    Equivalent to Python's `filter`."""

    def __init__(self, fn):
        if not callable(fn):
            raise QueryError(f"generic_filter needs a function, not {fn!r}")
        super().__init__(fn)
        self.fn = fn

    def test(self, record):
        return bool(self.fn(record))


# -- text -------------------------------------------------------------------
#
# Globs mean exactly what fnmatch.fnmatchcase() does, and match in time
# linear in the text for every pattern: in Python, fnmatch itself (atomic
# groups since Python 3.9); on SQLite, a Python function registered on the
# connection that calls it; on PostgreSQL, a regular expression, which its
# engine (a DFA) matches in linear time. Nothing else turns a glob into a
# backtracking regular expression.

#: Longest glob sent to PostgreSQL (its regex compiler slows down with the
#: pattern's length: 0.02 s at 1,000 characters, 2 s at 10,000); longer
#: ones run in Python.
_MAX_SQL_GLOB = 1000


def _glob_parts(pattern):
    """``pattern`` as fnmatch reads it: a list of ``"*"``, ``"?"``, single
    characters and classes ``(negated, [(first, last), ...])``; None if it
    contains a class that matches nothing (``[z-a]``).

    Bracket expressions are cut as :func:`fnmatch.translate` cuts them
    (``!`` negates, ``]`` first is literal, an unclosed ``[`` is literal,
    a range ending below its start is dropped) and their body is then read
    as :mod:`re` reads the class fnmatch writes.
    """
    parts, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            if not parts or parts[-1] != "*":
                parts.append("*")
        elif c != "[":
            parts.append(c)
        else:
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                parts.append("[")
                continue
            cls = _glob_class(pattern, i, j)
            if cls is None:
                return None
            parts.append(cls)
            i = j + 1
    return parts


def _glob_class(pattern, i, j):
    """The class ``pattern[i:j]`` (between ``[`` and ``]``): the class body
    fnmatch writes for it, read as :mod:`re` reads a class."""
    body = pattern[i:j]
    if "-" in body:   # fnmatch's chunks: the text between hyphens making ranges
        chunks, k = [], i + 2 if pattern[i] == "!" else i + 1
        while True:
            k = pattern.find("-", k, j)
            if k < 0:
                break
            chunks.append(pattern[i:k])
            i, k = k + 1, k + 3
        chunk = pattern[i:j]
        if chunk:
            chunks.append(chunk)
        else:
            chunks[-1] += "-"
        for k in range(len(chunks) - 1, 0, -1):     # drop empty ranges
            if chunks[k - 1][-1] > chunks[k][0]:
                chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
                del chunks[k]
        # fnmatch joins the chunks with bare hyphens (ranges) and escapes the
        # hyphens inside them (characters): tokens (character, is a bare "-")
        tokens = [("-", True)] * (2 * len(chunks) - 1)
        tokens[::2] = [[(c, False) for c in chunk] for chunk in chunks]
        tokens = [t for item in tokens for t in (item if isinstance(item, list) else [item])]
    else:
        tokens = [(c, False) for c in body]
    if not tokens:
        return None                # fnmatch: "(?!)", nothing matches
    if tokens == [("!", False)]:
        return (True, [])          # a negated empty class: any character
    negated = tokens[0] == ("!", False)
    tokens = tokens[negated:]
    ranges, t = [], 0
    while t < len(tokens):         # as re reads a class: "a-b" is a range
        c = tokens[t][0]
        if t + 2 < len(tokens) and tokens[t + 1][1]:
            hi = tokens[t + 2][0]
            if hi < c:             # fnmatch drops such ranges: cannot happen
                raise QueryError(f"bad glob {pattern!r}: range {c}-{hi}")
            ranges.append((c, hi))
            t += 3
        else:                      # a character ("-" too, first or last)
            ranges.append((c, c))
            t += 1
    return (negated, ranges)


def glob_regex(pattern):
    """A regular expression matching what ``fnmatchcase(s, pattern)`` matches.

    Written in the common subset of Python's ``re`` and PostgreSQL's regular
    expressions (``(?s)``, ``\\A``, ``\\Z``, bracket classes, ``\\uXXXX``
    escapes); None for a pattern that matches nothing.
    """
    parts = _glob_parts(pattern)
    if parts is None:
        return None
    out = []
    for part in parts:
        if part == "*":
            out.append(".*")
        elif part == "?":
            out.append(".")
        elif isinstance(part, tuple):
            negated, ranges = part
            if not ranges:
                out.append(".")
                continue
            body = "".join(_re_char(a) if a == b else f"{_re_char(a)}-{_re_char(b)}"
                           for a, b in ranges)
            out.append("[" + ("^" if negated else "") + body + "]")
        else:
            out.append(_re_char(part))
    return r"(?s)\A" + "".join(out) + r"\Z"


def _re_char(c):
    """``c`` for a regular expression: ASCII letters and digits as they are,
    anything else as a \\u escape (read alike by re and PostgreSQL)."""
    if c.isascii() and c.isalnum():
        return c
    return f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"


def _is_glob(pattern):
    return bool(_GLOB_CHARS.search(pattern))


def glob_match(text, pattern):
    """fnmatch's case-sensitive match (a missing text is empty), the function
    that SQLite calls as ``smtq_glob(text, pattern)``."""
    return fnmatch.fnmatchcase(text or "", pattern)


@functools.cache
def _glob_expression():
    from django.db.models import BooleanField, Expression

    class Glob(Expression):
        """``column`` matches the glob ``pattern`` (see :func:`glob_match`)."""

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
            if connection.vendor == "sqlite":
                connection.ensure_connection()
                connection.connection.create_function("smtq_glob", 2, glob_match,
                                                      deterministic=True)
                return f"smtq_glob({sql}, %s)", [*params, self.pattern]
            return f"({sql})::text ~ %s", [*params, glob_regex(self.pattern)]

    return Glob


def _text_q(field, pattern, ctx):
    """Case-sensitive substring (or whole-value glob) match of a text column;
    None where SQL cannot say it exactly (Python then decides)."""
    from django.db.models import F, Q, Value
    from django.db.models.functions import StrIndex
    from django.db.models.lookups import GreaterThan
    if ctx.vendor not in ("sqlite", "postgresql"):
        return None
    from .where import sql_text_ok
    if not sql_text_ok(pattern):
        return None
    if _is_glob(pattern):
        if ctx.vendor == "postgresql" and len(pattern) > _MAX_SQL_GLOB:
            return None
        if _glob_parts(pattern) is None:
            return Q(pk__in=[])                  # [z-a]: matches nothing
        return Q(_glob_expression()(F(field), pattern))
    # Django's __contains is case-insensitive on SQLite (LIKE); INSTR/STRPOS are not.
    return Q(GreaterThan(StrIndex(F(field), Value(pattern)), 0))


class TextFilter(Filter):
    """Base for filters on one text field: substring, or glob if it has * ? [."""

    field = None

    def __init__(self, pattern):
        if not isinstance(pattern, str):
            raise QueryError(f"{self.name} needs a string, not {pattern!r}")
        super().__init__(pattern)
        self.pattern = pattern
        self.glob = _is_glob(pattern)

    def matches(self, value):
        value = value or ""
        return fnmatch.fnmatchcase(value, self.pattern) if self.glob else self.pattern in value

    def test(self, record):
        return self.matches(getattr(record, self.field))

    def to_q(self, ctx):
        return _text_q(self.field, self.pattern, ctx)


def _text_filter(field, doc):
    cls = type(field, (TextFilter,), {"field": field, "__doc__": doc})
    return register_filter(cls)


_text_filter("label", "Keep records whose label contains `pattern` (or matches it as a "
             "glob such as '2020091?-*').")
_text_filter("reason", "Keep records whose reason contains `pattern` (or matches the glob).")
_text_filter("outcome", "Keep records whose outcome contains `pattern` (or matches the glob).")
_text_filter("user", "Keep records whose user contains `pattern` (or matches the glob).")
_text_filter("main_file", "Keep records whose main file contains `pattern` (or matches "
             "the glob).")
_text_filter("script_arguments", "Keep records whose script arguments contain `pattern`.")
_text_filter("stdout_stderr", "Keep records whose captured output contains `pattern`.")


@register_filter(name="labels")
class LabelsFilter(Filter):
    """Keep the records with exactly these labels."""

    def __init__(self, *labels):
        labels = _flatten(labels)
        if not all(isinstance(lbl, str) for lbl in labels):
            raise QueryError(f"labels must be strings, not {labels!r}")
        super().__init__(*labels)
        self.labels = frozenset(labels)

    def test(self, record):
        return record.label in self.labels

    def to_q(self, ctx):
        from .where import in_set, sql_text_ok
        if not all(map(sql_text_ok, self.labels)):
            return None
        return in_set(ctx, "label", sorted(self.labels))   # any number: one parameter


@register_filter(name="version")
class VersionFilter(Filter):
    """Keep records whose code version begins with `prefix`."""

    def __init__(self, prefix):
        if not isinstance(prefix, str):
            raise QueryError(f"version needs a string, not {prefix!r}")
        super().__init__(prefix)
        self.prefix = prefix

    def test(self, record):
        return (record.version or "").startswith(self.prefix)

    def to_q(self, ctx):
        from django.db.models import Q, Value
        from django.db.models.functions import Substr
        from django.db.models.lookups import Exact
        if not self.prefix:
            return Q()
        return Q(Exact(Substr("version", 1, len(self.prefix)), Value(self.prefix)))


# -- tags -------------------------------------------------------------------

class _TagTerm:
    """One tag as a user writes it: exact name, status word or glob.

    ``literal_tag(name)`` writes a term matching exactly the tag ``name``.
    """

    def __init__(self, term):
        if not isinstance(term, str) or not term:
            raise QueryError(f"a tag must be a non-empty string, not {term!r}")
        self.term = term
        self.glob = _is_glob(term)
        self.names = {term}
        if term in STATUSES:
            self.names.add(status_tag(term))

    def matches(self, tag):
        if self.glob:
            return fnmatch.fnmatchcase(tag, self.term)
        return tag in self.names

    def found_in(self, tags):
        if self.glob:
            return any(self.matches(t) for t in tags)
        return not self.names.isdisjoint(tags)

    def names_in(self, ctx):
        """The tag names this term selects in the store of ``ctx`` (a glob is
        matched in Python against the store's tag names)."""
        return {t for t in ctx.tag_names() if self.matches(t)} if self.glob else self.names

    def q(self, ctx):
        """Q selecting the records carrying a tag this term matches, read from
        their ``tags`` column (:func:`smt_query.where.tags_q`), or None."""
        from .where import tags_q
        return tags_q(ctx, self.names_in(ctx))


def literal_tag(name):
    """The tag term matching exactly the tag ``name``, for the tag filters
    (``tags``, ``any_tag``, ``not_tag``, ``smt query --tag``): ``*``, ``?``
    and ``[`` are escaped as ``[*]``, ``[?]``, ``[[]`` and a status word is
    not widened to its status tag (``literal_tag("fig*") == "fig[*]"``,
    ``literal_tag("finished") == "[f]inished"``)."""
    if not isinstance(name, str) or not name:
        raise QueryError(f"a tag must be a non-empty string, not {name!r}")
    term = _GLOB_CHARS.sub(lambda m: f"[{m.group()}]", name)
    if term in STATUSES:
        term = f"[{term[0]}]{term[1:]}"
    return term


def _flatten(values):
    out = []
    for v in values:
        out.extend(v if isinstance(v, (list, tuple, set, frozenset)) else [v])
    return out


class TagsFilter(Filter):
    """Base for tag filters; terms may be given as several args or lists."""

    def __init__(self, *tags):
        super().__init__(*tags)
        self.terms = [_TagTerm(t) for t in _flatten(tags)]
        if not self.terms:
            raise QueryError(f"{self.name} needs at least one tag")


@register_filter(name="tags")
class AllTags(TagsFilter):
    """Keep records carrying every one of the given tags (exact names).
    A status word such as 'finished' also matches the status tag '_finished_';
    a glob such as 'fig*' matches by pattern; 'fig[*]' (or literal_tag('fig*'))
    is the tag 'fig*' itself."""

    def test(self, record):
        return all(t.found_in(record.tags) for t in self.terms)

    def to_q(self, ctx):
        from django.db.models import Q
        q = Q()
        for term in self.terms:
            term_q = term.q(ctx)
            if term_q is None:
                return None
            q &= term_q
        return q


@register_filter(name="any_tag")
class AnyTag(TagsFilter):
    """Keep records carrying at least one of the given tags (as for `tags`)."""

    def test(self, record):
        return any(t.found_in(record.tags) for t in self.terms)

    def to_q(self, ctx):
        from .where import tags_q
        return tags_q(ctx, set().union(*(term.names_in(ctx) for term in self.terms)))


@register_filter(name="not_tag")
class NotTag(TagsFilter):
    """Keep records carrying none of the given tags (as for `tags`)."""

    def test(self, record):
        return not any(t.found_in(record.tags) for t in self.terms)

    def to_q(self, ctx):
        q = AnyTag.to_q(self, ctx)
        return None if q is None else ~q


@register_filter(name="status")
class StatusFilter(AnyTag):
    """Keep records whose Sumatra status is one of the given words
    (finished, crashed, killed, running, initialized, ...)."""

    def __init__(self, *statuses):
        words = _flatten(statuses)
        for word in words:
            if word not in STATUSES:
                raise QueryError(f"unknown status {word!r}; use one of: {', '.join(STATUSES)}")
        super().__init__(*[status_tag(w) for w in words])
        self.args = statuses


# -- dates ------------------------------------------------------------------

class DateFilter(Filter):
    """Base for date filters: ``start <= timestamp < end`` with open ends."""

    def __init__(self, date, *args):
        super().__init__(date, *args)
        self.start, self.end = self.span(date, *args)

    def test(self, record):
        ts = as_utc(record.timestamp)
        return ((self.start is None or ts >= self.start)
                and (self.end is None or ts < self.end))

    def to_q(self, ctx):
        from django.db.models import Q
        q = Q()
        if self.start is not None:
            q &= Q(timestamp__gte=self.start)
        if self.end is not None:
            q &= Q(timestamp__lt=self.end)
        return q


@register_filter(name="after")
class After(DateFilter):
    """Keep only records which occurred after the given date. Date is inclusive.
    Can provide date either as a single tuple, or multiple arguments as for
    `datetime.datetime()`; a `datetime` instance is also accepted.

    As a convenience, tuple values may be concatenated and replaced by a
    single integer of 4 to 8 digits; if it has less than 8 digits, it is
    extended to the earliest date (so 2018 -> 20180101). Strings such as
    '2020-09-12', '2020-09-12T13:30' or '20200912-133000' work too. Times are
    UTC, the clock of Sumatra's labels."""

    @staticmethod
    def span(date, *args):
        return date_span(date, *args)[0], None


@register_filter(name="before")
class Before(DateFilter):
    """Keep only records which occurred before the given date. Date is exclusive.
    Accepts the same dates as `after`."""

    @staticmethod
    def span(date, *args):
        return None, date_span(date, *args)[0]


@register_filter(name="on")
class On(DateFilter):
    """Keep only records which occurred on the given date: a day (20200915),
    a month (202009), a year (2020), or the day of a `datetime`.
    Accepts the same dates as `after`."""

    span = staticmethod(on_span)


# -- numbers ----------------------------------------------------------------

@register_filter(name="duration")
class DurationFilter(Filter):
    """Keep records whose duration (seconds) lies in [min, max]; either bound may
    be omitted; '2h30m' strings are accepted. Records without a duration
    (still running) are left out."""

    def __init__(self, min=None, max=None):
        super().__init__(min=min, max=max)
        self.min = None if min is None else parse_duration(min)
        self.max = None if max is None else parse_duration(max)

    def test(self, record):
        d = record.duration
        if d is None or (isinstance(d, float) and math.isnan(d)):
            return False
        return (self.min is None or d >= self.min) and (self.max is None or d <= self.max)

    def to_q(self, ctx):
        from django.db.models import Q
        q = Q(duration__isnull=False)
        if self.min is not None:
            q &= Q(duration__gte=self.min)
        if self.max is not None:
            q &= Q(duration__lte=self.max)
        return q


@register_filter(name="output")
class OutputFilter(Filter):
    """Keep only records whose number of output files is between `minimum`
    and `maximum` (inclusive; `maximum=None` for no upper bound)."""

    def __init__(self, minimum=1, maximum=None):
        super().__init__(minimum=minimum, maximum=maximum)
        self.minimum, self.maximum = minimum, maximum

    def test(self, record):
        n = len(record.output_data)
        return ((self.minimum is None or n >= self.minimum)
                and (self.maximum is None or n <= self.maximum))

    def to_q(self, ctx):
        from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
        from django.db.models.functions import Coalesce
        keys = ctx.models.DataKey.objects.filter(output_from_record=OuterRef("pk"))
        if self.maximum is None and self.minimum == 1:
            return Q(Exists(keys))
        count = Coalesce(Subquery(
            keys.order_by().values("output_from_record").annotate(n=Count("pk")).values("n"),
            output_field=IntegerField()), 0)
        from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
        q = Q()
        if self.minimum is not None:
            q &= Q(GreaterThanOrEqual(count, self.minimum))
        if self.maximum is not None:
            q &= Q(LessThanOrEqual(count, self.maximum))
        return q


# -- parameters -------------------------------------------------------------

@register_filter(name="where")
class WhereFilter(Filter):
    """Keep records satisfying an expression over parameters and fields, e.g.
    "optimizer.lr >= 1e-3 and model.activation == 'relu'" (see the docs for
    the language). Task-description `inputs` levels may be omitted in keys."""

    def __init__(self, expression):
        from . import where
        super().__init__(expression)
        self.expr = (where.parse(expression) if isinstance(expression, str)
                     else where.check_tree(expression))

    def test(self, record):
        return self.expr.test(record)

    def to_q(self, ctx):
        return self.expr.to_q(ctx)


_PARAM_OPS = {"eq": "==", "ge": ">=", "le": "<=", "gt": ">", "lt": "<"}


@register_filter(name="params")
class ParamsFilter(Filter):
    """Keep records for which specific parameters satisfy the given conditions.
    Conditions are dictionaries; keys for nested parameters are written with
    dots, and the `inputs` level of task descriptions may be omitted
    ('optimizer.model.params.μtilde'). Keywords: `eq` (=), `ge` (≥), `le` (≤),
    `gt` (>), `lt` (<), `isclose` (≈, as numpy.isclose). A record lacking a
    key is left out. Example: params(eq={'a': 1}, isclose={'φ': 1.57079})."""

    def __init__(self, eq=None, *, ge=None, le=None, gt=None, lt=None, isclose=None):
        from . import where
        conds = dict(eq=eq, ge=ge, le=le, gt=gt, lt=lt, isclose=isclose)
        super().__init__(**{k: v for k, v in conds.items() if v is not None})
        for kw, cond in conds.items():
            if cond is not None and not isinstance(cond, dict):
                raise QueryError(f"params({kw}=...) needs a dict of key: value, not {cond!r}")
        terms = [where.Compare(where.Key.parse(k), _PARAM_OPS[kw], v)
                 for kw, cond in conds.items() if kw != "isclose" and cond
                 for k, v in cond.items()]
        self.expr = where.And(terms)
        self.isclose = {where.Key.parse(k): v for k, v in (isclose or {}).items()}

    def test(self, record):
        if not self.expr.test(record):
            return False
        if not self.isclose:
            return True
        from .params import NO_VALUE, get_task_param
        for key, target in self.isclose.items():
            value = get_task_param(record, key.parts, NO_VALUE)
            if value is NO_VALUE or not _isclose(value, target):
                return False
        return True

    def to_q(self, ctx):
        return None if self.isclose else self.expr.to_q(ctx)


def _isclose(a, b, rtol=1e-05, atol=1e-08):
    """numpy.isclose semantics, all elements, without importing numpy."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        a = a if isinstance(a, (list, tuple)) else [a] * len(b)
        b = b if isinstance(b, (list, tuple)) else [b] * len(a)
        return len(a) == len(b) and all(_isclose(x, y, rtol, atol) for x, y in zip(a, b))
    try:
        return abs(a - b) <= atol + rtol * abs(b)
    except TypeError:
        return False


@register_filter(name="match")
class MatchFilter(ParamsFilter):
    """Like `params`, but the values come from a reference record (or
    parameter set): keys are given as lists, e.g. match(rec, eq=['a.b']).
    With include_reference=False the reference record itself is left out."""

    def __init__(self, ref, eq=None, *, ge=None, le=None, gt=None, lt=None,
                 isclose=None, include_reference=True):
        from . import where
        from .params import NO_VALUE, get_task_param
        missing = []

        def values(keys):
            if keys is None:
                return None
            out = {}
            for k in keys:
                key = where.Key.parse(k)   # read as the comparison will be
                out[key] = get_task_param(ref, key.parts, NO_VALUE)
                if out[key] is NO_VALUE:
                    missing.append(k)
            return out
        conds = dict(eq=values(eq), ge=values(ge), le=values(le), gt=values(gt),
                     lt=values(lt), isclose=values(isclose))
        if missing:
            raise QueryError(f"the reference has no parameter {', '.join(map(repr, missing))}")
        super().__init__(**conds)
        label = getattr(ref, "label", None)
        self.exclude_label = None if include_reference else label
        self.args, self.kwargs = (ref,), {k: v for k, v in dict(
            eq=eq, ge=ge, le=le, gt=gt, lt=lt, isclose=isclose).items() if v is not None}

    def test(self, record):
        if self.exclude_label is not None and record.label == self.exclude_label:
            return False
        return super().test(record)

    def to_q(self, ctx):
        q = super().to_q(ctx)
        if q is not None and self.exclude_label is not None:
            from django.db.models import Q
            q &= ~Q(label=self.exclude_label)
        return q
