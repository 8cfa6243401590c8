"""Sphinx configuration for smt-query."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))
project = "smt-query"
author = "smt-query developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx_click", "myst_nb",
              "smtq_filters"]   # the filter reference (docs/_ext), from the registry
# tutorial.ipynb is stored without outputs and runs at every build; its first cell
# builds the demo project (in the temporary directory it runs in).
nb_execution_mode = "force"
nb_execution_in_temp = True
nb_execution_timeout = 600
nb_execution_raise_on_error = True
exclude_patterns = ["_build"]
html_theme = "alabaster"
# "--tag" and "fig*" stay as typed, in prose and in the generated CLI reference
smartquotes = False
# `sphinx-build -W -n` (.ci/run, tests/test_docs.py): every reference must resolve
nitpicky = True
autodoc_member_order = "bysource"
autodoc_typehints = "none"
# Targets outside this project: the build is offline (no intersphinx inventories of
# Python, Sumatra or pandas), so these resolve to nothing and are named, not linked.
nitpick_ignore = [
    ("py:class", "sumatra.projects.Project"),
    ("py:class", "sumatra.records.Record"),
    ("py:class", "sumatra.recordstore.django_store.DjangoRecordStore"),
    ("py:class", "pandas.DataFrame"),
    ("py:class", "Record"),             # Sumatra's, in "Args:" sections
    ("py:func", "fnmatch.fnmatchcase"),
    ("py:func", "fnmatch.translate"),
]
# words that napoleon's "Args:" sections turn into class references
nitpick_ignore_regex = [("py:class", r"optional|iterable|sequence|task description")]


def _plain_help(app, ctx, lines):
    """Command help is plain text (what ``--help`` prints): escape the characters
    reStructuredText would read as markup (``'*.digest'``, ``'fig*'``)."""
    for i, line in enumerate(lines):
        line = line.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|")
        lines[i] = re.sub(r"(?<=\w)_(?!\w)", r"\\_", line)        # smtq_: not a link


def _examples(app, ctx, lines):
    """The EXAMPLES epilog of a command: a literal block, to copy from."""
    text = [re.sub(r"^\| ?", "", line).replace("\b", "") for line in lines]
    text = [line.replace("\u00a0", " ") for line in text if line.strip()]
    if text and text[0].strip() == "Examples:":
        lines[:] = ["Examples::", ""] + ["    " + line for line in text[1:]] + [""]
    else:
        _plain_help(app, ctx, lines)


def setup(app):
    for part in ("description", "options"):
        app.connect("sphinx-click-process-" + part, _plain_help)
    app.connect("sphinx-click-process-epilog", _examples)
