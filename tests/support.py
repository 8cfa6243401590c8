"""Helpers shared by the tests (plain functions; fixtures live in conftest.py)."""
import contextlib


@contextlib.contextmanager
def count_queries(view_or_store):
    """Capture the SQL queries run on the store's database connection.

    Yields the capture: ``len(c)`` and ``c.captured_queries`` after the block.
    """
    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    store = getattr(view_or_store, "_store", view_or_store)
    with CaptureQueriesContext(connections[store.db_alias]) as ctx:
        yield ctx


_SUMATRA_LIST = """
import pickle, sys
from sumatra.projects import load_project
project = load_project(sys.argv[1])
sys.stdout.buffer.write(pickle.dumps(project.record_store.list(project.name)))
"""


def sumatra_records(path):
    """The project's records exactly as Sumatra loads them (``to_sumatra()``).

    Read in a fresh process: Sumatra's tag lookup uses Django's *default*
    database, so in a process with several stores open it would read tags
    from the wrong one.
    """
    import pickle
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", _SUMATRA_LIST, path], capture_output=True,
                         check=True)
    return pickle.loads(out.stdout)
