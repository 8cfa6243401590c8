"""Record filters: small objects kept in one registry.

A filter is built with its arguments (validated at once, so a bad date fails
where it is written) and offers

* :meth:`Filter.test` -- a Python predicate over a Sumatra ``Record``; this is
  the reference semantics, used for stores without SQL and in tests;
* :meth:`Filter.to_q` -- the same condition as a Django ``Q`` over Sumatra's
  ``Record`` model, or ``None`` when it cannot be said exactly in SQL.

``view.filter.<name>(...)`` looks filters up in :data:`FILTERS`. A filter
offered on the command line and in query specs also carries its
:class:`Option` declarations (flag, metavar, help, value check, completion,
spec key; the way django-filter's filters carry their form field):
``smt query``'s options (:mod:`smt_query.cli.options`), the query specs
(:mod:`smt_query.query`) and the filter reference in the docs are all
generated from them (:func:`spec_options`), in the order the filters are
registered here. Adding such a filter is one class below, its tests and a
line in ``CHANGES.rst``.

Register your own with :func:`register_filter`::

    @register_filter
    def long_runs(hours=10):
        "Keep records that ran longer than `hours`."
        return lambda record: (record.duration or 0) > hours * 3600

A registered function takes the filter's arguments and returns the predicate
(the smttask convention); such filters run in Python, after the SQL ones.
"""
import fnmatch
import inspect
import math

from . import where
from .dates import as_utc, check_date, date_span, on_span, parse_duration
from .errors import QueryError, did_you_mean, shown
from .fields import FIELD_KINDS, STATUSES, is_status_tag, status_tag, status_words
from .params import NO_VALUE, get_task_param
from .where.globs import GLOB_CHARS, glob_match, glob_regex, is_glob  # noqa: F401 (importable here)
from .where.qfields import folded_text_q, glob_q, in_set, span_q, tags_q, text_q
from .where.sqltext import sql_text_ok

__all__ = ["FILTERS", "Filter", "FunctionFilter", "Option", "STATUSES", "Sidebar", "UnknownFilter",
           "get_filter",
           "glob_match", "glob_regex", "literal_tag", "register_filter", "spec_options",
           "sql_form_of"]

#: name -> Filter subclass; ``view.filter.<name>`` looks names up here.
FILTERS = {}


class Option:
    """How a filter is offered as a command-line option and a query-spec key.

    ``key`` is the spec key (``--`` + key with hyphens is the flag);
    ``how`` says how values become the filter's arguments: ``"all"`` one
    filter with every value, ``"each"`` one filter per value, ``"one"`` one
    filter with the value, ``"flag"`` the filter without arguments when
    true, ``"keyword"`` the keyword argument ``arg`` (the options of one
    filter with this ``how`` make one filter), ``"modifier"`` no filter
    but the keyword argument ``arg`` set to ``value`` in every filter of the
    spec that takes it (:data:`MODIFIERS`). ``convert`` checks a value
    given on the command line (raising :class:`QueryError`) and returns the
    value to keep; ``type_name`` names such values in ``--help``;
    ``choices`` restricts them; ``complete`` names a shell completion of
    :mod:`smt_query.cli.complete`. A ``positional`` option is the command's
    arguments, not a flag. ``sidebar``: how the admin offers it in its list
    (a :class:`Sidebar`; the admin's list filter is generated from it).
    """

    def __init__(self, key, help, *, how="each", metavar=None, multiple=None, arg=None,
                 convert=None, type_name=None, choices=None, complete=None, positional=False,
                 value=None, sidebar=None):
        self.key, self.help, self.how, self.metavar, self.arg = key, help, how, metavar, arg
        self.value, self.sidebar = value, sidebar
        self.multiple = how in ("all", "each") if multiple is None else multiple
        self.convert, self.type_name, self.choices = convert, type_name, choices
        self.complete, self.positional = complete, positional
        self.filter = None    # the filter's name, set by register_filter

    @property
    def flag(self):
        """The command-line flag, ``--any-tag`` for the key ``any_tag``."""
        return "--" + self.key.replace("_", "-")

    def __repr__(self):
        return f"Option({self.key!r} -> {self.filter}, {self.how})"


class Sidebar:
    """How the admin offers a filter in its record list, the way django-filter's
    filters carry their form field: :mod:`smt_query.admin.lists` generates a
    list filter from each option that has one (query-string key: the option's).

    ``title`` heads it; ``choices(records, ctx)`` gives the values listed (a
    queryset of the project's records and the store's ``SQLContext``; None:
    no sidebar entry, the value comes from a box above the list); ``make``
    builds the library filter of a chosen value (default: the option's filter
    with that value); with ``several``, choosing values keeps the records
    matching all of them (the query string lists them comma-separated and
    ``make`` gets the list).
    """

    def __init__(self, title, choices=None, make=None, several=False):
        self.title, self.choices, self.make, self.several = title, choices, make, several

    def filter_for(self, option, value):
        """The library filter of the chosen ``value`` (a list if ``several``)."""
        if self.make is not None:
            return self.make(value)
        return get_filter(option.filter)(value)


def most_used(column, limit=30):
    """Sidebar choices: the ``limit`` most used values of a record column, or of
    a related model's column (``"platforms__network_name"``), blanks left out."""
    def choices(records, ctx):
        from django.db.models import Count
        rows = (records.order_by().exclude(**{f"{column}__isnull": True})
                .values_list(column).annotate(n=Count("pk")).order_by("-n", column)[:limit])
        return [value for value, _ in rows if value]
    return choices


def exact_field(column):
    """Sidebar ``make``: the records whose ``column`` is exactly the chosen value."""
    return lambda value: get_filter("where")(where.Compare(where.Field(column), "==", value))


def literal_glob(text):
    """A glob matching exactly ``text`` (``*``, ``?``, ``[`` escaped)."""
    return GLOB_CHARS.sub(lambda m: f"[{m.group()}]", text)


def _user_tag_choices(records, ctx):
    return [name for name in ctx.tag_names() if not is_status_tag(name)]


def _status_choices(records, ctx):
    names = set(ctx.tag_names())
    return [word for word in STATUSES if status_tag(word) in names]


def spec_options():
    """``{spec key: Option}`` of every registered filter, in registration
    order, then the :data:`MODIFIERS`."""
    out = {opt.key: opt for cls in FILTERS.values() for opt in cls.options}
    out.update((opt.key, opt) for opt in MODIFIERS)
    return out


#: Options that make no filter but set a keyword argument (``Option.arg``)
#: of every filter of the spec that takes it (``Filter.modifiers``).
MODIFIERS = (
    Option("case_sensitive", "Match --reason, --outcome, --user and --main-file with case "
           "exactly (default: smart case, which ignores case unless the text has an "
           "upper-case letter).", how="modifier", arg="case_sensitive", value=True),
    Option("ignore_case", "Match --reason, --outcome, --user and --main-file ignoring case, "
           "even when the text has upper-case letters.", how="modifier", arg="case_sensitive",
           value=False),
)


def spec_modifiers(spec):
    """``{keyword: value}`` the :data:`MODIFIERS` set in ``spec``; a
    :class:`QueryError` for two that contradict each other."""
    out, by = {}, {}
    for opt in MODIFIERS:
        value = spec.get(opt.key)
        if value in (None, False):
            continue
        if value is not True:
            raise QueryError(f"{opt.flag} is a flag: true or false, not {value!r}")
        if opt.arg in out and out[opt.arg] != opt.value:
            raise QueryError(f"use either {by[opt.arg]} or {opt.flag}, not both")
        out[opt.arg], by[opt.arg] = opt.value, opt.flag
    return out


def modifier_kwargs(name, modifiers):
    """The keyword arguments of ``modifiers`` that the filter ``name`` takes."""
    taken = getattr(FILTERS[name], "modifiers", ())
    return {k: v for k, v in modifiers.items() if k in taken}


def sql_form_of(cls):
    """Whether the filter class ``cls`` runs in SQL: ``"yes"``, ``"JSON"``
    (when the store's parameter sets are JSON) or ``"no"`` (Python only)."""
    if cls.to_q is Filter.to_q:
        return "no"
    return "JSON" if cls.reads_parameters else "yes"


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
        cls.options = tuple(cls.__dict__.get("options", ()))   # not inherited
        taken = spec_options()
        for opt in cls.options:
            if opt.key in taken and taken[opt.key].filter != key:
                raise ValueError(f"option {opt.key!r} of filter {key!r} is taken by "
                                 f"{taken[opt.key].filter!r}")
            opt.filter = key
        FILTERS[key] = cls
        return obj
    return register if obj is None else register(obj)


class UnknownFilter(QueryError, AttributeError):
    """``view.filter.<name>`` names no registered filter (an AttributeError
    too, so that ``hasattr`` and ``getattr(..., default)`` work)."""


def get_filter(name):
    """The filter class registered as ``name``, or a clear :class:`UnknownFilter`
    naming the close matches (``tag`` -> did you mean ``tags``?)."""
    try:
        return FILTERS[name]
    except KeyError:
        known = ", ".join(sorted(FILTERS))
        raise UnknownFilter(f"unknown filter {shown(name)!r}{did_you_mean(name, FILTERS)}; "
                            f"known filters: {known}") from None


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
    #: How the filter is offered on the command line (``filters.Option``).
    options = ()
    #: Whether its SQL form reads parameter sets (see ``filters.sql_form_of``).
    reads_parameters = False

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

    def hint(self, project):
        """A message if this filter names something no record of ``project``
        (the unfiltered :class:`~smt_query.RecordStoreView`) has, with
        the close matches that exist; else None. Asked only when a view's
        answer is empty, so it may read the store."""
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


@register_filter(name="labels")
class LabelsFilter(Filter):
    """Keep the records with exactly these labels."""

    options = [Option("labels", "The records with these labels.", how="all", positional=True)]

    def __init__(self, *labels):
        labels = _flatten(labels)
        if not all(isinstance(lbl, str) for lbl in labels):
            raise QueryError(f"labels must be strings, not {labels!r}")
        super().__init__(*labels)
        self.labels = frozenset(labels)

    def test(self, record):
        return record.label in self.labels

    def to_q(self, ctx):
        if not all(map(sql_text_ok, self.labels)):
            return None
        return in_set(ctx, "label", sorted(self.labels))   # any number: one parameter

    def hint(self, project):
        missing = sorted(self.labels - set(project.labels()))
        if not missing:
            return None
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return (f"no record is labelled {shown(missing[0])!r}{more}"
                + _nearest(project.labels_near(missing[0])))


# -- tags -------------------------------------------------------------------

class _TagTerm:
    """One tag as a user writes it: exact name, status word or glob.

    ``literal_tag(name)`` writes a term matching exactly the tag ``name``.
    """

    def __init__(self, term):
        if not isinstance(term, str) or not term:
            raise QueryError(f"a tag must be a non-empty string, not {term!r}")
        self.term = term
        self.glob = is_glob(term)
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
        return tags_q(ctx, self.names_in(ctx))


def literal_tag(name):
    """The tag term matching exactly the tag ``name``, for the tag filters
    (``tags``, ``any_tag``, ``not_tag``, ``smt query --tag``): ``*``, ``?``
    and ``[`` are escaped as ``[*]``, ``[?]``, ``[[]`` and a status word is
    not widened to its status tag (``literal_tag("fig*") == "fig[*]"``,
    ``literal_tag("finished") == "[f]inished"``)."""
    if not isinstance(name, str) or not name:
        raise QueryError(f"a tag must be a non-empty string, not {name!r}")
    term = literal_glob(name)
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

    def hint(self, project):
        tags = project.tag_names()
        candidates = set(tags) | status_words(tags)
        out = []
        for term in self.terms:
            if term.found_in(tags):
                continue
            what = "no tag matches" if term.glob else "no record has the tag"
            out.append(f"{what} {shown(term.term)!r}{did_you_mean(term.term, candidates)}")
        return "; ".join(out) or None


@register_filter(name="tags")
class AllTags(TagsFilter):
    """Keep records carrying every one of the given tags (exact names).
    A status word such as 'finished' also matches the status tag '_finished_';
    a glob such as 'fig*' matches by pattern; 'fig[*]' (or literal_tag('fig*'))
    is the tag 'fig*' itself."""

    options = [Option(
        "tag", "Records carrying this tag (exactly; repeat: all of them). 'finished' also "
        "matches '_finished_'; globs such as 'fig*' work; brackets make a tag literal: "
        "'fig[*]' is the tag 'fig*'.", how="all", metavar="TAG", complete="tags",
        sidebar=Sidebar("tag", _user_tag_choices, several=True,   # names: literal
                        make=lambda names: AllTags(*map(literal_tag, names))))]

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

    options = [Option("any_tag", "Records carrying at least one of these tags (repeatable).",
                      how="all", metavar="TAG", complete="tags")]

    def test(self, record):
        return any(t.found_in(record.tags) for t in self.terms)

    def to_q(self, ctx):
        return tags_q(ctx, set().union(*(term.names_in(ctx) for term in self.terms)))


@register_filter(name="not_tag")
class NotTag(TagsFilter):
    """Keep records carrying none of the given tags (as for `tags`)."""

    options = [Option("not_tag", "Records carrying none of these tags (repeatable).",
                      how="all", metavar="TAG", complete="tags")]

    def test(self, record):
        return not any(t.found_in(record.tags) for t in self.terms)

    def to_q(self, ctx):
        q = AnyTag.to_q(self, ctx)
        return None if q is None else ~q

    def hint(self, project):
        return None     # an absent tag leaves every record in


@register_filter(name="status")
class StatusFilter(AnyTag):
    """Keep records whose Sumatra status is one of the given words
    (finished, crashed, killed, running, initialized, ...)."""

    options = [Option("status", "Records with this Sumatra status (repeat: any of them).",
                      how="all", choices=STATUSES, sidebar=Sidebar("status", _status_choices))]

    def __init__(self, *statuses):
        words = _flatten(statuses)
        for word in words:
            if word not in STATUSES:
                raise QueryError(f"unknown status {word!r}; use one of: {', '.join(STATUSES)}")
        super().__init__(*[status_tag(w) for w in words])
        self.args = statuses

    def hint(self, project):
        return None     # the words are checked; no record of a status is an answer


# -- dates ------------------------------------------------------------------

class DateFilter(Filter):
    """Base for date filters: ``start <= timestamp < end`` with open ends."""

    def __init__(self, date, *args):
        super().__init__(date, *args)
        self.start, self.end = self.span(date, *args)

    def test(self, record):
        if record.timestamp is None:   # unreadable in the store: matches no date
            return False
        ts = as_utc(record.timestamp)
        return ((self.start is None or ts >= self.start)
                and (self.end is None or ts < self.end))

    def to_q(self, ctx):
        return span_q(self.start, self.end)


def _date_option(key, help):
    return Option(key, help, how="one", convert=check_date, type_name="DATE")


@register_filter(name="after")
class After(DateFilter):
    """Keep only records which occurred after the given date. Date is inclusive.
    Can provide date either as a single tuple, or multiple arguments as for
    `datetime.datetime()`; a `datetime` instance is also accepted.

    As a convenience, tuple values may be concatenated and replaced by a
    single integer of 4 to 8 digits; if it has less than 8 digits, it is
    extended to the earliest date (so 2018 -> 20180101). Strings such as
    '2020-09-12', '2020-09-12T13:30' or '20200912-133000' work too, and
    relative dates: 'today', 'yesterday', '7d', '2w', '3 days ago',
    'last monday', 'last month', 'now' (``smt_query.dates.relative_span``).
    Times are UTC, the clock of Sumatra's labels: 'today' starts at midnight UTC."""

    options = [_date_option("after", "Records made on or after DATE (UTC; also today, "
                                     "yesterday, 7d, '3 days ago', 'last monday').")]

    @staticmethod
    def span(date, *args):
        return date_span(date, *args)[0], None


@register_filter(name="before")
class Before(DateFilter):
    """Keep only records which occurred before the given date. Date is exclusive.
    Accepts the same dates as `after`."""

    options = [_date_option("before", "Records made before DATE (exclusive).")]

    @staticmethod
    def span(date, *args):
        return None, date_span(date, *args)[0]


@register_filter(name="on")
class On(DateFilter):
    """Keep only records which occurred on the given date: a day (20200915),
    a month (202009), a year (2020), or the day of a `datetime`.
    Accepts the same dates as `after`."""

    options = [_date_option("on", "Records made on DATE: a day, a month (202009) or a year.")]
    span = staticmethod(on_span)


# -- text -------------------------------------------------------------------

class TextFilter(Filter):
    """Base for filters on one text field: substring, or glob if it has * ? [.

    ``case_sensitive``: True matches case exactly, False ignores case (both
    sides folded as :meth:`str.lower` folds them), None (the default) is
    *smart case* for the free-text fields (``smart_case``): case is ignored
    unless ``pattern`` has an upper-case letter, as ripgrep and less do.
    Ignoring case runs in SQL when the pattern is ASCII (see
    :func:`smt_query.where.qfields.folded_text_q`), else in Python.
    """

    field = None
    #: Whether case is smart by default (free text), else exact.
    smart_case = False
    #: Keyword arguments spec modifiers may set (``--ignore-case``).
    modifiers = ("case_sensitive",)
    #: How hints name the field.
    what = None

    def __init__(self, pattern, case_sensitive=None):
        if not isinstance(pattern, str):
            raise QueryError(f"{self.name} needs a string, not {pattern!r}")
        if case_sensitive not in (None, True, False):
            raise QueryError(f"{self.name}: case_sensitive is True, False or None (smart "
                             f"case), not {case_sensitive!r}")
        super().__init__(pattern, **({} if case_sensitive is None
                                     else {"case_sensitive": case_sensitive}))
        self.pattern = pattern
        self.sensitive = case_sensitive if case_sensitive is not None else (
            not self.smart_case or has_upper(pattern))
        self.folded = pattern if self.sensitive else pattern.lower()
        self.glob = is_glob(pattern)

    def matches(self, value):
        value = value or ""
        if not self.sensitive:
            value = value.lower()
        return fnmatch.fnmatchcase(value, self.folded) if self.glob else self.folded in value

    def test(self, record):
        return self.matches(getattr(record, self.field))

    def to_q(self, ctx):
        if self.sensitive:
            return text_q(ctx, self.field, self.pattern)
        return folded_text_q(ctx, self.field, self.folded)

    def hint(self, project):
        if project.any_match(self):
            return None
        what = self.what or f"record's {self.field.replace('_', ' ')}"
        verb = "matches" if self.glob else "contains"
        message = f"no {what} {verb} {shown(self.pattern)!r}"
        if self.field == "label":
            return message + _nearest(project.labels_near(self.pattern.split("*")[0]))
        if self.sensitive and self.case_sensitive is None and project.any_match(
                type(self)(self.pattern, case_sensitive=False)):
            return (message + " (matched case-sensitively, as it has an upper-case letter; "
                    "some records match ignoring case: --ignore-case, "
                    "or case_sensitive=False)")
        return message

    @property
    def case_sensitive(self):
        """The ``case_sensitive`` argument given (None: the default)."""
        return self.kwargs.get("case_sensitive")


def has_upper(text):
    """Whether ``text`` has an upper-case letter (smart case: then case matters)."""
    return any(c.isupper() for c in text)


def _nearest(labels):
    """`` (nearest labels: 'a', 'b')`` or ``""``."""
    return (" (nearest labels: " + ", ".join(repr(shown(x)) for x in labels) + ")"
            if labels else "")


def _text_filter(field, doc, *options, smart_case=False, what=None):
    cls = type(field, (TextFilter,), {"field": field, "__doc__": doc, "options": options,
                                      "smart_case": smart_case, "what": what})
    return register_filter(cls)


_SMART = (" Smart case: case is ignored unless `pattern` has an upper-case letter "
          "(`case_sensitive=True` or `False` forces either).")
_text_filter("label", "Keep records whose label contains `pattern` (or matches it as a "
             "glob such as '2020091?-*').",
             Option("label", "Labels containing PATTERN (or matching a glob such as '202009*').",
                    metavar="PATTERN"), what="label")
_text_filter("reason", "Keep records whose reason contains `pattern` (or matches the glob)."
             + _SMART, Option("reason", "Reason contains TEXT (smart case).", metavar="TEXT"),
             smart_case=True)
_text_filter("outcome", "Keep records whose outcome contains `pattern` (or matches the glob)."
             + _SMART, Option("outcome", "Outcome contains TEXT (smart case).", metavar="TEXT"),
             smart_case=True)
_text_filter("user", "Keep records whose user contains `pattern` (or matches the glob)."
             + _SMART, Option("user", "User contains TEXT (smart case).", metavar="TEXT"),
             smart_case=True)
_text_filter("main_file", "Keep records whose main file contains `pattern` (or matches "
             "the glob)." + _SMART, Option("main_file", "Main file contains PATH (smart case).",
                                           metavar="PATH", sidebar=Sidebar(
                                               "main file", most_used("main_file"),
                                               exact_field("main_file"))), smart_case=True)
_text_filter("script_arguments", "Keep records whose script arguments contain `pattern`.")
_text_filter("stdout_stderr", "Keep records whose captured output contains `pattern`.")

@register_filter(name="version")
class VersionFilter(Filter):
    """Keep records whose code version begins with `prefix`."""

    options = [Option("version", "Code version starts with PREFIX.", metavar="PREFIX",
                      sidebar=Sidebar("version", most_used("version"), exact_field("version")))]

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


@register_filter(name="platform")
class PlatformFilter(Filter):
    """Keep records run on a machine matching `pattern`: a glob (or the exact
    text), matched case-sensitively against the host name, the system name
    (Linux, Darwin, Windows), the machine type (x86_64, arm64) and the
    processor of each platform Sumatra recorded for the run; one match is
    enough ('node*', 'Linux', 'arm64')."""

    options = [Option("platform", "Records run on a machine whose host name, system (Linux), "
                      "machine (x86_64) or processor matches PATTERN, exactly or as a glob "
                      "such as 'node*' (repeat: all of them).", metavar="PATTERN",
                      sidebar=Sidebar("platform", most_used("platforms__network_name"),
                                      lambda host: PlatformFilter(literal_glob(host))))]
    #: The attributes of Sumatra's PlatformInformation matched.
    fields = ("network_name", "system_name", "machine", "processor")

    def __init__(self, pattern):
        if not isinstance(pattern, str) or not pattern:
            raise QueryError(f"platform needs a non-empty string, not {pattern!r}")
        super().__init__(pattern)
        self.pattern = pattern

    def test(self, record):
        return any(fnmatch.fnmatchcase(getattr(p, f, None) or "", self.pattern)
                   for p in record.platforms or () for f in self.fields)

    def to_q(self, ctx):
        from django.db.models import Exists, OuterRef, Q
        q = Q(pk__in=[])
        for f in self.fields:
            part = glob_q(ctx, f, self.pattern)
            if part is None:
                return None
            q |= part
        platforms = ctx.models.PlatformInformation.objects.filter(q, record=OuterRef("pk"))
        return Q(Exists(platforms))


# -- numbers ----------------------------------------------------------------

@register_filter(name="duration")
class DurationFilter(Filter):
    """Keep records whose duration (seconds) lies in [min, max]; either bound may
    be omitted; '2h30m' strings are accepted. Records without a duration
    (still running) are left out."""

    options = [Option("min_duration", "Ran at least D (90, 2h30m).", how="keyword", arg="min",
                      convert=parse_duration, type_name="DURATION"),
               Option("max_duration", "Ran at most D.", how="keyword", arg="max",
                      convert=parse_duration, type_name="DURATION")]

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

    options = [Option("has_output", "Records with at least one output file.", how="flag")]

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

    options = [Option("where", "Condition on parameters and fields, e.g. \"optimizer.lr >= 1e-3 "
                      "and model.activation == 'relu'\" (repeatable; see the docs).",
                      metavar="EXPR", complete="keys", sidebar=Sidebar("parameters"))]
    reads_parameters = True

    def __init__(self, expression):
        super().__init__(expression)
        self.expr = (where.parse(expression) if isinstance(expression, str)
                     else where.check_tree(expression))

    def test(self, record):
        return self.expr.test(record)

    def to_q(self, ctx):
        return self.expr.to_q(ctx)

    def hint(self, project):
        return _key_hints(project, _keys_of(self.expr))


_PARAM_OPS = {"eq": "==", "ge": ">=", "le": "<=", "gt": ">", "lt": "<"}


@register_filter(name="params")
class ParamsFilter(Filter):
    """Keep records for which specific parameters satisfy the given conditions.
    Conditions are dictionaries; keys for nested parameters are written with
    dots, and the `inputs` level of task descriptions may be omitted
    ('optimizer.model.params.μtilde'). Keywords: `eq` (=), `ge` (≥), `le` (≤),
    `gt` (>), `lt` (<), `isclose` (≈, as numpy.isclose). A record lacking a
    key is left out. Example: params(eq={'a': 1}, isclose={'φ': 1.57079})."""

    reads_parameters = True

    def __init__(self, eq=None, *, ge=None, le=None, gt=None, lt=None, isclose=None):
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
        for key, target in self.isclose.items():
            value = get_task_param(record, key.parts, NO_VALUE)
            if value is NO_VALUE or not _isclose(value, target):
                return False
        return True

    def to_q(self, ctx):
        return None if self.isclose else self.expr.to_q(ctx)

    def hint(self, project):
        return _key_hints(project, [*_keys_of(self.expr), *self.isclose])


def _keys_of(expr):
    """The parameter keys (:class:`where.Key`) an expression names, in order."""
    keys, stack = [], [expr]
    while stack:
        node = stack.pop()
        key = getattr(node, "key", None)
        if isinstance(key, where.Key) and key not in keys:
            keys.append(key)
        stack.extend(reversed(list(node.children)))
    return keys


def _key_hints(project, keys):
    """Hints for the parameter ``keys`` no record of ``project`` has, with the
    close matches among the keys and the record fields that exist."""
    out, candidates = [], None
    for key in keys:
        if project.has_parameter(key):
            continue
        if candidates is None:
            candidates = project.parameter_keys(prefixes=True) + list(FIELD_KINDS)
        text = ".".join(key.parts)
        out.append(f"no record has the parameter {shown(text)!r}{did_you_mean(text, candidates)}")
    return "; ".join(out) or None


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
