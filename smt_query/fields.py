"""Names of record fields, shared by rows, tables and the CLI (import-light)."""

#: Record columns readable with ``.values()``, in display order.
ROW_FIELDS = ("label", "timestamp", "reason", "outcome", "duration",
              "main_file", "version", "user", "script_arguments", "repeats",
              "diff", "stdout_stderr")
#: Fields computed from the tags.
TAG_FIELDS = ("tags", "status")
FIELDS = ROW_FIELDS + TAG_FIELDS
#: What every ``--format json`` element carries (the documented contract).
JSON_FIELDS = ("label", "timestamp", "tags", "reason", "outcome", "duration",
               "main_file", "version", "user")


def status_of(tags):
    """The Sumatra status word in ``tags`` (``_finished_`` -> ``finished``), or ''."""
    for tag in tags:
        if len(tag) > 2 and tag[0] == "_" and tag[-1] == "_":
            return tag[1:-1]
    return ""
