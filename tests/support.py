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


def drift_tag_rows(store):
    """Make the store's Tag/TaggedItem rows disagree with the records' ``tags``
    column (the truth), as Sumatra leaves them in a store written through a
    second Django alias: rows missing for a third of the records, stale rows
    on another third, rows of records that do not exist."""
    m, db = store.models, store.db_alias
    items = m.TaggedItem.objects.using(db).filter(content_type_id=store.record_ctype_id)
    ids = sorted(m.Record.objects.using(db).values_list("db_id", flat=True))
    items.filter(object_id__in=ids[::3]).delete()
    stale = [m.Tag.objects.using(db).get_or_create(name=name)[0]
             for name in ("fig", "_crashed_", "a_b", "gone")]
    m.TaggedItem.objects.using(db).bulk_create(
        [m.TaggedItem(tag=tag, content_type_id=store.record_ctype_id, object_id=i)
         for i in ids[1::3] + [max(ids) + 1000] for tag in stale], ignore_conflicts=True)
def store_digest(uri):
    """A digest of the schema and every row of a record store (an SQLite file
    or a PostgreSQL URI), read with the database's own client: equal digests
    before and after a command mean the command left the store unchanged."""
    import hashlib
    digest = hashlib.sha256()
    if uri.startswith(("postgres://", "postgresql://")):
        import psycopg2
        conn = psycopg2.connect(uri)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = 'public' ORDER BY table_name")
                tables = [t for (t,) in cur.fetchall()]
                cur.execute("SELECT indexname, indexdef FROM pg_indexes "
                            "WHERE schemaname = 'public' ORDER BY indexname")
                digest.update(repr(cur.fetchall()).encode())
                for table in tables:
                    cur.execute(f'SELECT * FROM "{table}" ORDER BY 1')
                    digest.update(repr((table, cur.fetchall())).encode())
        finally:
            conn.close()
    else:
        import sqlite3
        conn = sqlite3.connect(f"file:{uri}?mode=ro", uri=True)
        try:
            schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
            digest.update(repr(schema).encode())
            for kind, name, _sql in schema:
                if kind == "table":
                    rows = conn.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall()
                    digest.update(repr((name, rows)).encode())
        finally:
            conn.close()
    return digest.hexdigest()
