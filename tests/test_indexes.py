"""smt-query's optional indexes: idempotent, reversible, same results, used by the planner."""
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from smt_query import RecordStoreView
from smt_query.cli.store import querystore
from smt_query.recordstore import (INDEXES, add_indexes, index_status, project_store,
                                   remove_indexes)
from smt_query.storetools import OLD_INDEXES, TIMESTAMP_KEY

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
TABLES = ("django_store_record", "django_store_taggeditem", "django_store_tag",
          "django_store_parameterset")


def all_indexes(store):
    """``{table: {constraint or index name: its definition}}`` of Sumatra's main tables."""
    from django.db import connections
    conn = connections[store.db_alias]
    with conn.cursor() as cur:
        return {table: conn.introspection.get_constraints(cur, table) for table in TABLES}


def results(view):
    """Answers that could change if an index changed a query (they must not)."""
    return {
        "range": view.filter.after(20200912).filter.before(20200916).labels(),
        "on": view.filter.on(20201110).rows(["label", "timestamp", "duration"]),
        "latest": view.latest.label,
        "earliest": view.earliest.label,
        "label": view.filter.label("202011").labels(),
        "glob": view.filter.label("2020091?-*").labels(),
        "get": [r.label for r in view.get(view.filter.on(20200915).labels()[:3])],
        "labels": view.filter.labels(view.labels()[::7]).labels(),
        "tags": view.filter.tags("killed").filter.label("202011").labels(),
        "all": view.rows(["label", "reason"]),
    }


def test_add_is_idempotent_and_remove_restores_the_schema(demo_project_rw):
    store = RecordStoreView(project=demo_project_rw.path)._store
    before = all_indexes(store)
    assert index_status(store) == {name: False for name in INDEXES}
    assert add_indexes(store) == list(INDEXES)
    assert add_indexes(store) == []                                  # idempotent
    assert index_status(demo_project_rw.store_uri) == {name: True for name in INDEXES}
    added = all_indexes(store)
    for table in TABLES:                                             # only ours were added
        ours = {name for name in INDEXES if INDEXES[name][0] == table}
        assert set(added[table]) == set(before[table]) | ours
        for name in ours:
            assert added[table][name]["index"]
            assert added[table][name]["columns"] == [   # an expression has no column name
                None if c == TIMESTAMP_KEY else c for c in INDEXES[name][1]]
    assert remove_indexes(store) == list(INDEXES)
    assert remove_indexes(store) == []
    assert all_indexes(store) == before                              # Sumatra's untouched
    from django.db import connections                                # an earlier version's
    with connections[store.db_alias].cursor() as cur:
        cur.execute('CREATE INDEX "%s" ON django_store_record (project_id, timestamp)'
                    % OLD_INDEXES[0])
    assert OLD_INDEXES[0] in all_indexes(store)["django_store_record"]
    assert add_indexes(store) == list(INDEXES)                        # replaced
    assert OLD_INDEXES[0] not in all_indexes(store)["django_store_record"]
    remove_indexes(store)
    assert index_status(store) == {name: False for name in INDEXES}


def test_results_identical_with_and_without(demo_project_rw):
    view = RecordStoreView(project=demo_project_rw.path)
    without = results(view)
    add_indexes(view._store)
    try:
        assert results(RecordStoreView(project=demo_project_rw.path)) == without
    finally:
        remove_indexes(view._store)


def plan(store, qs):
    """The query plan of ``qs`` as one string. On PostgreSQL, sequential scans are
    disabled for the statement: a 400-record table is cheaper to scan, and the
    question here is whether the index can serve the query, not whether the
    planner prefers it at this size (at 100k it does; see docs/performance.rst)."""
    from django.db import connections, transaction
    sql, params = qs.query.get_compiler(using=store.db_alias).as_sql()
    with transaction.atomic(using=store.db_alias), connections[store.db_alias].cursor() as cur:
        if store.vendor == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + sql, params)
        else:
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("EXPLAIN " + sql, params)
        return "\n".join(str(row[-1]) for row in cur.fetchall())


def test_planner_uses_the_indexes(demo_project_rw):
    view = RecordStoreView(project=demo_project_rw.path)
    store = view._store
    date_range = view.filter.after(20200912).filter.before(20200916)._plan()[0].values("label")
    newest = store.queryset("demo").values("label")[:20]
    label = view.filter.on(20200915).labels()[0]
    by_label = store.queryset("demo").filter(label=label).values("label")   # ORDER BY kept
    assert "smtq_" not in plan(store, date_range) + plan(store, newest) + plan(store, by_label)
    add_indexes(store)
    try:
        if store.vendor == "postgresql":
            from django.db import connections
            with connections[store.db_alias].cursor() as cur:
                cur.execute("ANALYZE django_store_record")
        assert "smtq_record_project_time" in plan(store, date_range)
        assert "smtq_record_project_time" in plan(store, newest)
        assert "smtq_record_project_label_time" in plan(store, by_label)
        if store.vendor == "sqlite":        # no statistics: the ORDER BY is served too
            assert "TEMP B-TREE" not in plan(store, date_range) + plan(store, by_label)
    finally:
        remove_indexes(store)


def test_cli_add_status_remove(demo_project_rw, chdir):
    chdir(demo_project_rw.path)

    def smt_querystore(*args):
        result = CliRunner().invoke(querystore, ["indexes", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert smt_querystore("status").count("missing") == len(INDEXES)
    assert smt_querystore("add").startswith(f"Added {len(INDEXES)} index(es): smtq_")
    assert "already present" in smt_querystore("add")
    status = smt_querystore("status")
    for name, (table, columns) in INDEXES.items():
        assert f"{name}" in status and f"{table} ({', '.join(columns)})" in status
    assert status.count("present") == len(INDEXES)
    assert smt_querystore("remove").startswith(f"Removed {len(INDEXES)} index(es)")
    assert "None of smt-query's indexes" in smt_querystore("remove")
    assert index_status(project_store()) == {name: False for name in INDEXES}


def test_cli_refuses_non_django_stores(make_project, chdir, tmp_path):
    project = make_project(store="shelve")
    chdir(project.path)
    result = CliRunner().invoke(querystore, ["indexes", "add"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the project's record store is") and \
        result.output.count("\n") == 1
    chdir(tmp_path)
    result = CliRunner().invoke(querystore, ["indexes", "status"])
    assert result.exit_code == 1 and "No Sumatra project" in result.output


def test_sumatra_keeps_working_with_the_indexes(make_project):
    project = make_project(runs=[{"tags": ["fig"]}])
    subprocess.run([SMT, "querystore", "indexes", "add"], cwd=project.path, check=True,
                   capture_output=True)
    label = "with-indexes"
    subprocess.run([SMT, "run", "--label", label, "default.json"], cwd=project.path,
                   check=True, capture_output=True)
    subprocess.run([SMT, "tag", "fig", label], cwd=project.path, check=True)
    out = subprocess.run([SMT, "list", "fig"], cwd=project.path, check=True,
                         capture_output=True, text=True).stdout.split()
    assert sorted(out) == sorted([label, project.labels[0]])
    out = subprocess.run([SMT, "querystore", "indexes", "remove"], cwd=project.path,
                         check=True, capture_output=True, text=True).stdout
    assert out.startswith("Removed")
    assert RecordStoreView(project=project.path).filter.tags("fig").labels()[0] == label


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_index_names_are_ours(name):
    assert name.startswith("smtq_") and INDEXES[name][0] == "django_store_record"
