"""Progress bars of long jobs: one rule for when to show one, and the bar.

A bar goes to stderr only, so stdout stays clean for pipes. It shows when

* the caller says so (``progress=True``; ``False`` never), else
* the environment says so: ``SMTQ_PROGRESS=1`` always, ``SMTQ_PROGRESS=0``
  never, else
* someone watches and the job is long: stderr is a terminal or the code
  runs in a Jupyter kernel, and the job has at least ``min_items`` items
  (:data:`MIN_ITEMS` by default; an unknown size counts as long).

Used by the demo builder, Python-side filters, bulk tagging and parameter
comparisons. tqdm is imported only when a bar is shown (never on the path
of ``smt query --help``); in a notebook with ipywidgets the bar is a widget.
Standard library only, so every layer may use it.
"""
import os
import sys

#: The environment variable that forces bars on (``1``) or off (``0``).
ENV = "SMTQ_PROGRESS"
#: The size from which a job gets a bar by default.
MIN_ITEMS = 1000

_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def in_notebook():
    """True inside a Jupyter kernel (IPython's ZMQ shell)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def wanted(progress=None, total=None, min_items=MIN_ITEMS):
    """Whether a job of ``total`` items shows a bar (the rule above);
    ``progress`` is the caller's True/False, or None to decide here."""
    if progress is not None:
        return bool(progress)
    forced = os.environ.get(ENV)
    if forced is not None and forced.strip().lower() in _ON + _OFF:
        return forced.strip().lower() in _ON
    if total is not None and total < min_items:
        return False
    try:
        watched = sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):   # a closed or odd stream
        watched = False
    return watched or in_notebook()


class NoBar:
    """What :func:`bar` returns when no bar shows: iterates ``iterable``,
    ignores ``update``, ``set_description`` and ``close``."""

    def __init__(self, iterable=None):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def update(self, n=1):
        pass

    def set_description(self, desc=None, refresh=True):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def bar(iterable=None, *, total=None, desc=None, unit="it", progress=None,
        min_items=MIN_ITEMS, leave=False):
    """A tqdm bar on stderr over ``iterable`` (or to ``update`` by hand) when
    :func:`wanted`, else a :class:`NoBar`. ``total`` defaults to
    ``len(iterable)`` when it has one. Use it as an iterable or in ``with``."""
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if not wanted(progress, total, min_items):
        return NoBar(iterable)
    return _tqdm()(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave,
                   dynamic_ncols=True)


def _tqdm():
    """tqdm's notebook widget in a kernel that has ipywidgets, else its text bar."""
    if in_notebook():
        import importlib.util
        if importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.notebook import tqdm
            return tqdm
    from tqdm import tqdm
    return tqdm
