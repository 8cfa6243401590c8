"""Globs: what ``fnmatch.fnmatchcase`` matches, in Python and as SQL sees it.

Globs mean exactly what :func:`fnmatch.fnmatchcase` does, and match in time
linear in the text for every pattern: in Python, fnmatch itself (atomic
groups since Python 3.9); on SQLite, a Python function registered on the
connection that calls it (:func:`glob_match`); on PostgreSQL, the regular
expression :func:`glob_regex` writes, which its engine (a DFA) matches in
linear time. Nothing else turns a glob into a backtracking regular
expression. Standard library only.
"""
import fnmatch
import re

from ..errors import QueryError

GLOB_CHARS = re.compile(r"[*?\[]")


def is_glob(pattern):
    """Whether ``pattern`` has a glob character (``*``, ``?``, ``[``)."""
    return bool(GLOB_CHARS.search(pattern))


def matches_nothing(pattern):
    """Whether the glob ``pattern`` matches no text at all (``[z-a]``)."""
    return glob_parts(pattern) is None


def glob_parts(pattern):
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
            cls = glob_class(pattern, i, j)
            if cls is None:
                return None
            parts.append(cls)
            i = j + 1
    return parts


def glob_class(pattern, i, j):
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
    parts = glob_parts(pattern)
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


def glob_match(text, pattern):
    """fnmatch's case-sensitive match (a missing text is empty), the function
    that SQLite calls as ``smtq_glob(text, pattern)``."""
    return fnmatch.fnmatchcase(text or "", pattern)
