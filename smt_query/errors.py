"""Exceptions raised for user mistakes (bad dates, unknown labels, ...)."""


class QueryError(ValueError):
    """A query cannot be run as asked: the message says why, in one line."""


class UnknownLabel(QueryError, KeyError):
    """A label asked for does not exist in the record store."""

    def __str__(self):  # KeyError would repr() the message
        return self.args[0] if self.args else ""


class StoredDataWarning(UserWarning):
    """Something read from the record store is not what Sumatra writes (a row
    of an unknown type, parameters that cannot be read): it is shown as data
    and the rest of the answer is unaffected. The CLI shows each such warning
    once on stderr."""


class UnknownStoredType(StoredDataWarning):
    """A stored row names a type smt-query does not build (a launch mode, data
    store, repository or dependency kind outside Sumatra's own): the record
    holds its stored values instead (a ``smt_query.loader.StoredComponent``)."""


class UnreadableParameters(StoredDataWarning):
    """A record's stored parameters cannot be read (malformed, not a mapping,
    or past the bounds of :mod:`smt_query.params`): the record counts as
    having no parameters. ``label`` and ``reason`` say which and why."""

    def __init__(self, label, reason):
        super().__init__(f"record {shown(label)}: cannot read its parameters: "
                         f"{shown(reason, 200)}")
        self.label, self.reason = label, reason


class UnreadableTimestamp(StoredDataWarning):
    """A record's stored timestamp is not a date and time as Sumatra writes
    it (hand-written text such as ``2020-13-45`` in an SQLite store, or
    PostgreSQL's ``infinity``): the record reads as having no timestamp, never
    matches a date condition and sorts last (docs/security.rst). ``text`` is
    the stored value."""

    def __init__(self, text, store):
        super().__init__(f"unreadable timestamp {shown(repr(text), 60)} in the record store "
                         f"{shown(store, 200)}: read as no timestamp")
        self.text = text


class QueryHint(UserWarning):
    """A query ran, but part of it names nothing that exists (a misspelled
    parameter key, tag, field, filter or label prefix): the message says which
    and what does exist (:func:`did_you_mean`). The answer is still given (an
    empty one, say); the CLI shows each hint once on stderr and exits 0."""


def did_you_mean(word, candidates, limit=3):
    """`` (did you mean 'a' or 'b'?)`` for the close matches of ``word`` among
    ``candidates`` (at most ``limit``), or ``""`` when none is close."""
    import difflib
    close = difflib.get_close_matches(str(word), sorted(set(map(str, candidates))),
                                      n=limit, cutoff=0.6)
    if not close:
        return ""
    names = [repr(shown(c)) for c in close]
    return " (did you mean " + (" or ".join(names) if len(names) < 3
                                else ", ".join(names[:-1]) + " or " + names[-1]) + "?)"


def shown(text, limit=80):
    """Stored ``text`` fit for a one-line message: control and other
    non-printable characters escaped, cut to ``limit`` characters."""
    text = str(text)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[:limit - 1] + "…"
