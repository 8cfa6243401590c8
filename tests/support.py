"""Helpers shared by the tests (plain functions; fixtures live in conftest.py)."""
import contextlib


@contextlib.contextmanager
def count_queries(view_or_store):
    """Capture the SQL queries run on the store's database connection."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    store = getattr(view_or_store, "_store", view_or_store)
    with CaptureQueriesContext(connections[store.db_alias]) as ctx:
        yield ctx.captured_queries
