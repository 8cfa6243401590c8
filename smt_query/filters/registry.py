"""The filter registry: :data:`FILTERS`, the :class:`Filter` base, the
:class:`Option` declarations filters carry and the spec :data:`MODIFIERS`.
Imports nothing of the package but :mod:`smt_query.errors`."""
import inspect

from ..errors import QueryError, did_you_mean, shown

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
