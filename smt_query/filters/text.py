"""Filters on one text field (substring or glob), with smart case."""
import fnmatch

from ..errors import QueryError, shown
from ..where.globs import is_glob
from ..where.qfields import folded_text_q, text_q
from .names import _nearest
from .registry import Filter, Option, register_filter
from .sidebar import Sidebar, exact_field, most_used


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
