"""The record's vocabulary: field names and kinds, tags and status words
(import-light, no Django; durations and dates are read by :mod:`smt_query.dates`).

Tags are read from Sumatra's ``Record.tags`` column: the record's tags joined
by commas, written on every save. A *status* is one of :data:`STATUSES`,
carried as the tag ``_<word>_`` (``_finished_``); every path (filters,
``--where``, ``--fields status``, the admin, summaries) uses
:func:`status_words` and :func:`status_of` from here.
"""
from .errors import QueryError

#: Record columns readable with ``.values()``, in display order.
ROW_FIELDS = ("label", "timestamp", "reason", "outcome", "duration",
              "main_file", "version", "user", "script_arguments", "repeats",
              "diff", "stdout_stderr")
#: Fields computed from the tags.
TAG_FIELDS = ("tags", "status")
#: Fields read from the rows a record points to: the paths of its input and
#: output files (lists), its executable (``name version (path)``).
RELATED_FIELDS = ("output_data", "input_data", "executable")
FIELDS = ROW_FIELDS + TAG_FIELDS + RELATED_FIELDS
#: Record fields a ``--where`` expression names with a bare word, by kind
#: (text, number, date, status, tags): the kind decides the operators.
FIELD_KINDS = {
    "label": "text", "reason": "text", "outcome": "text", "user": "text",
    "version": "text", "main_file": "text", "script_arguments": "text",
    "duration": "number", "timestamp": "date", "status": "status", "tags": "tags",
}
#: What every ``--format json`` element carries (the documented contract).
JSON_FIELDS = ("label", "timestamp", "tags", "reason", "outcome", "duration",
               "main_file", "version", "user")

#: Sumatra's status words (``smt tag``'s list); the tag of ``finished`` is ``_finished_``.
STATUSES = ("initialized", "pre_run", "running", "finished", "failed",
            "killed", "succeeded", "crashed")
_STATUS_TAGS = {f"_{word}_": word for word in STATUSES}
#: What writes each status tag (read from Sumatra 0.8.1's ``records.py``,
#: ``decorators.py`` and ``commands.py``, and smttask's ``task_types.py``);
#: ``smt query --help`` and ``docs/status.rst`` say the same.
STATUS_WRITERS = {
    "initialized": "Sumatra, when the record is made (a record still carrying it never ran)",
    "pre_run": "Sumatra, before the pre-run steps",
    "running": "Sumatra, while the program runs (or it died unnoticed)",
    "finished": "Sumatra, the program exited with status 0",
    "failed": "Sumatra, any other exit status (or an exception under @capture)",
    "killed": "Sumatra, interrupted by Ctrl-C (SIGINT)",
    "succeeded": "never written by Sumatra: by hand (smt tag)",
    "crashed": "smttask, the task raised an exception; or by hand",
}

#: Longest tag name: Sumatra's ``Tag.name`` is ``varchar(50)`` (PostgreSQL enforces it).
TAG_MAX = 50
#: Longest tag list of a record: its ``tags`` column is ``varchar(255)``.
TAG_COLUMN_MAX = 255
#: Separates tags in the ``tags`` column.
TAG_SEPARATOR = ","


def executable_text(name, version, path):
    """How a record's executable is shown: ``Python 3.11.4 (/usr/bin/python3)``."""
    text = " ".join(p for p in (name, version) if p)
    return f"{text} ({path})" if path and text else (text or path or None)


def status_tag(word):
    """The tag carrying the status ``word`` (``finished`` -> ``_finished_``)."""
    return f"_{word}_"


def is_status_tag(tag):
    """Whether ``tag`` is a status tag (``_finished_``; not ``_draft_``)."""
    return tag in _STATUS_TAGS


def status_words(tags):
    """The set of status words among ``tags`` (``{"_finished_", "fig"}`` -> ``{"finished"}``)."""
    return {_STATUS_TAGS[t] for t in tags if t in _STATUS_TAGS}


def status_of(tags):
    """The record's status for display: its status words in :data:`STATUSES`
    order, joined by ``", "`` (normally one word), or ``""``."""
    words = status_words(tags)
    return ", ".join(w for w in STATUSES if w in words)


def split_tags(column):
    """The set of tags in a ``tags`` column value (``"fig,_finished_"``; None or ``""``: none)."""
    return {t for t in (column or "").split(TAG_SEPARATOR) if t}


def tag_column(tags):
    """The ``tags`` column value of a set of tags (sorted, joined by commas)."""
    return TAG_SEPARATOR.join(sorted(tags))


def check_tag(tag, adding=True):
    """Raise :class:`QueryError` unless ``tag`` can be written as a tag.

    A tag is a non-empty string without a comma (the column's separator),
    line breaks or other control characters, and without spaces at its ends;
    to add it, it must also fit Sumatra's ``Tag.name`` (:data:`TAG_MAX`
    characters). With ``adding=False`` (removing) only the type and
    emptiness are checked: any tag that can exist can be removed.
    """
    if not isinstance(tag, str) or not tag.strip():
        raise QueryError(f"bad tag {tag!r}: a tag is a non-empty string")
    if not adding:
        return
    if TAG_SEPARATOR in tag:
        raise QueryError(f"bad tag {tag!r}: a tag cannot contain a comma "
                         "(commas separate the tags in Sumatra's tags column)")
    if any(c < " " or "\x7f" <= c <= "\x9f" or c in "\u2028\u2029" for c in tag):
        raise QueryError(f"bad tag {tag!r}: a tag cannot contain line breaks "
                         "or other control characters")
    if tag != tag.strip():
        raise QueryError(f"bad tag {tag!r}: a tag cannot begin or end with a space")
    if len(tag) > TAG_MAX:
        raise QueryError(f"tag too long ({len(tag)} characters): Sumatra's tag names "
                         f"hold at most {TAG_MAX}")
