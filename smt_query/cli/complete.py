"""Values offered by shell completion, from the current project
(:mod:`smt_query.completion`: no Django, no pandas). Each function takes
what is typed so far and returns the values that start with it."""
from .. import completion


def complete_with(kind):
    """Shell completion from the project's store: the function ``kind`` of
    this module (tags, keys, labels, saved queries), as a click
    ``shell_complete`` callback (its ``kind`` attribute names it)."""
    def complete(ctx, param, incomplete):
        try:
            return globals()[kind](incomplete)
        except Exception:  # completion must never break the shell
            return []
    complete.kind = kind
    return complete


def tags(incomplete):
    """The project's tags, written as ``--tag`` reads them literally (``fig[*]``)."""
    return [t for t in completion.tag_terms() if t.startswith(incomplete)]


def keys(incomplete):
    """Parameter keys of the most recent records."""
    return [k for k in completion.parameter_keys() if k.startswith(incomplete)]


def saved_names(incomplete):
    """Names of saved queries (``--delete-saved NAME``)."""
    return [n for n in completion.saved_names() if n.startswith(incomplete)]


def saved(incomplete):
    """Saved queries as arguments: ``@NAME``."""
    return ["@" + n for n in completion.saved_names() if ("@" + n).startswith(incomplete)]


def labels(incomplete):
    """Labels starting with ``incomplete``; after ``@``, saved queries (both
    when nothing is typed yet)."""
    if incomplete.startswith("@"):
        return saved(incomplete)
    found = completion.labels(incomplete)
    return found + saved(incomplete) if not incomplete else found
