"""A project whose record store is missing: our commands say so and create nothing;
Sumatra's own ``smt init``/``smt run`` still create the store, switched or not."""
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from smt_query import RecordStoreView
from smt_query.demo import smt, smt_run
from smt_query.project import read_project_file, write_project_file
from smt_query.recordstore import StoreMissing, use_query_store

SMT = os.path.join(os.path.dirname(sys.executable), "smt")


def _set_store(path, uri):
    state = read_project_file(path)
    state["record_store"]["db_file"] = uri
    write_project_file(state, path)


def _database_exists(admin_uri, name):
    import psycopg2
    conn = psycopg2.connect(admin_uri)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cur.fetchone() is not None
    finally:
        conn.close()


def test_read_only_commands_on_a_missing_store_create_nothing(backend, make_project):
    project = make_project(runs=[{}, {}])
    if backend.name == "sqlite":
        os.remove(project.store_uri)
        named = project.store_uri
        exists = lambda: os.path.exists(project.store_uri)          # noqa: E731
    else:
        named = "smtq_missing_%s" % uuid.uuid4().hex[:12]
        admin = backend.admin_uri
        _set_store(project.path, urlunsplit(urlsplit(project.store_uri)._replace(path="/" + named)))
        exists = lambda: _database_exists(admin, named)             # noqa: E731
    commands = [["query"], ["query", "--count"], ["query", "--tag", "x", "--format", "json"],
                ["query", "--add-tag", "x"], ["compare", *project.labels],
                ["querystore", "indexes", "status"], ["admin", "--port", "0"]]
    for switched in (False, True):
        use_query_store(switched, project.path)
        for args in commands:
            result = subprocess.run([SMT, *args], cwd=project.path, capture_output=True,
                                    text=True, timeout=120)
            assert result.returncode == 1, (args, result.stdout, result.stderr)
            assert result.stdout == "", args
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: the record store is missing"), \
                (args, result.stderr)
            assert repr(named) in lines[0] if backend.name != "sqlite" else named in lines[0]
            assert not exists(), args
        with pytest.raises(StoreMissing, match="record store is missing"):
            RecordStoreView(project=project.path).labels()
        assert not exists()


def test_smt_init_and_first_runs_on_a_switched_project(backend, make_project):
    project = make_project(runs=[])
    use_query_store(True, project.path)
    first = smt_run(project.path, "default.json")
    second = smt_run(project.path, "default.json", "a=2")
    assert smt(project.path, "list").split() == [second, first]   # newest first
    assert RecordStoreView(project=project.path).labels() == [second, first]
    if backend.name == "sqlite":   # Sumatra's `smt run` makes a store that is missing
        from django.db import connections
        connections.close_all()    # (this process would read the removed file on)
        os.remove(project.store_uri)
        third = smt_run(project.path, "default.json")
        assert os.path.exists(project.store_uri)
        assert smt(project.path, "list").split() == [third]
        assert RecordStoreView(project=project.path).labels() == [third]
