"""Filters on what names a record: its label and its tags (and status)."""
import fnmatch

from ..errors import QueryError, did_you_mean, shown
from ..fields import STATUSES, is_status_tag, status_tag, status_words
from ..where.globs import GLOB_CHARS, is_glob
from ..where.qfields import in_set, tags_q
from ..where.sqltext import sql_text_ok
from .registry import Filter, Option, register_filter
from .sidebar import Sidebar


def literal_glob(text):
    """A glob matching exactly ``text`` (``*``, ``?``, ``[`` escaped)."""
    return GLOB_CHARS.sub(lambda m: f"[{m.group()}]", text)


def _user_tag_choices(records, ctx):
    return [name for name in ctx.tag_names() if not is_status_tag(name)]


def _status_choices(records, ctx):
    names = set(ctx.tag_names())
    return [word for word in STATUSES if status_tag(word) in names]


def _flatten(values):
    out = []
    for v in values:
        out.extend(v if isinstance(v, (list, tuple, set, frozenset)) else [v])
    return out


def _nearest(labels):
    """`` (nearest labels: 'a', 'b')`` or ``""``."""
    return (" (nearest labels: " + ", ".join(repr(shown(x)) for x in labels) + ")"
            if labels else "")


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
