"""The ``tags`` column is the truth, on every store Sumatra writes.

Sumatra writes a record's tags twice: into its own ``tags`` column and, through
django-tagging's save signal, as Tag/TaggedItem rows -- always in Django's
*default* database. Sumatra's own ``smt sync A B`` (two stores in one process)
therefore leaves B with a filled ``tags`` column and no tag rows, and A with
stale rows (B's tags, under B's record ids). Every tag read of smt-query uses
the column; ``smt querystore check`` reports the drift and ``--repair`` fixes
the rows (which Sumatra's ``smtweb`` and ``to_sumatra()`` read).
"""
import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import DemoProject, _copy_project
from smt_query import RecordStoreView
from smt_query.demo import build_demo, store_uri
from smt_query.project import read_project_file, write_project_file
from smt_query.recordstore import check_tag_rows
from support import sumatra_records

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
N = 40


def smt(path, *args, code=0):
    proc = subprocess.run([SMT, *args], cwd=path, capture_output=True, text=True)
    assert proc.returncode == code, f"smt {' '.join(args)}: {proc.stdout}{proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def synced(backend, tmp_path_factory):
    """Project ``a`` (a small demo) and project ``b``: the same project over a
    second store, filled by Sumatra's own ``smt sync A B``."""
    base = tmp_path_factory.mktemp(f"synced-{backend.name}")
    a = build_demo(str(base / "a"), N, runs=1, store=backend.new_store(), progress=False)
    b = str(base / "b")
    shutil.copytree(a, b, symlinks=True)
    b_uri = backend.new_store() or os.path.join(b, ".smt", "records")
    if backend.name == "sqlite":
        os.remove(b_uri)
    state = read_project_file(b)
    state["record_store"]["db_file"] = b_uri
    write_project_file(state, b)
    smt(str(base), "sync", store_uri(a), b_uri)
    return SimpleNamespace(a=DemoProject(a, store_uri(a), N, backend.name),
                           b=DemoProject(b, b_uri, N, backend.name))


def column_tags(path):
    """``{label: set of tags}`` from the ``tags`` column (read with the ORM)."""
    store = RecordStoreView(project=path)._store
    return {label: set(filter(None, column.split(",")))
            for label, column in store.models.Record.objects.using(store.db_alias)
            .values_list("label", "tags")}


def row_tags(path):
    """``{label: set of tags}`` from the Tag/TaggedItem rows."""
    store = RecordStoreView(project=path)._store
    m, db = store.models, store.db_alias
    labels = dict(m.Record.objects.using(db).values_list("db_id", "label"))
    out = {label: set() for label in labels.values()}
    for object_id, name in m.TaggedItem.objects.using(db).filter(
            content_type_id=store.record_ctype_id).values_list("object_id", "tag__name"):
        if object_id in labels:
            out[labels[object_id]].add(name)
    return out


def test_smt_sync_leaves_tag_rows_missing_and_stale(synced):
    """The setting of these tests, as Sumatra itself makes it. (Sumatra reads the
    tags it copies from A's rows while rewriting them, so B's column is not
    even A's: each store's column is what its own `smt list TAG` filters on.)"""
    a, b = column_tags(synced.a.path), column_tags(synced.b.path)
    assert set(a) == set(b) and len(a) == N and all(a.values()) and all(b.values())
    assert not any(row_tags(synced.b.path).values())               # B: no rows at all
    assert row_tags(synced.a.path) != a                             # A: stale rows


@pytest.mark.parametrize("which", ["a", "b"])
def test_tag_reads_use_the_column(synced, which):
    project = getattr(synced, which)
    tags = column_tags(project.path)

    def having(pred):
        return {label for label, ts in tags.items() if pred(ts)}

    view = RecordStoreView(project=project.path)
    cases = {
        view.filter.tags("finished"): having(lambda ts: "_finished_" in ts),
        view.filter.status("crashed", "killed"):
            having(lambda ts: ts & {"_crashed_", "_killed_"}),
        view.filter.tags("fig*"): having(lambda ts: any(t.startswith("fig") for t in ts)),
        view.filter.any_tag("OU", "sweep"): having(lambda ts: ts & {"OU", "sweep"}),
        view.filter.not_tag("fig"): having(lambda ts: "fig" not in ts),
        view.filter.where("status == 'finished' and 'OU' in tags"):
            having(lambda ts: {"_finished_", "OU"} <= ts),
        view.filter.where("tags ~ 'igure' or status matches '^k'"):
            having(lambda ts: any("igure" in t for t in ts) or "_killed_" in ts),
    }
    for filtered, expected in cases.items():
        assert filtered.pushed_down
        assert set(filtered.labels()) == expected, filtered.explain()
    assert view.tag_names() == sorted(set().union(*tags.values()))
    assert view._store.context().tag_names() == view.tag_names()
    assert {r.label: r.tags for r in view.aslist()} == tags
    assert {r["label"]: set(r["tags"]) for r in view.rows(["label"])} == tags
    frame = view.summary.dataframe(fields=("tags",))
    assert {label: set(filter(None, t.split(", "))) for label, t in frame["tags"].items()} == tags

    out = smt(project.path, "query", "--tag", "finished", "--format", "labels")
    assert set(out.split()) == having(lambda ts: "_finished_" in ts)
    rows = json.loads(smt(project.path, "query", "--fields", "label,tags,status",
                          "--format", "json"))
    assert {r["label"]: set(r["tags"]) for r in rows} == tags
    assert all(r["status"] == next((t.strip("_") for t in tags[r["label"]]
                                    if t in ("_finished_", "_crashed_", "_killed_", "_running_",
                                             "_initialized_")), "") for r in rows)


def copy_of(project, backend, tmp_path):
    return _copy_project(project, str(tmp_path / "copy"), backend)


@pytest.mark.parametrize("which", ["a", "b"])
def test_check_reports_and_repair_rewrites_the_rows(synced, which, backend, tmp_path):
    project = copy_of(getattr(synced, which), backend, tmp_path)
    tags = column_tags(project.path)
    rows = row_tags(project.path)
    drifted = {label for label in tags if rows[label] != tags[label]}
    assert drifted

    out = smt(project.path, "querystore", "check", code=1)
    assert f"The tag rows of {len(drifted)} of {N} records differ" in out
    assert "smt querystore check --repair" in out
    assert row_tags(project.path) == rows                   # checking changes nothing
    report = check_tag_rows(RecordStoreView(project=project.path)._store)
    assert {label for label, _, _ in report.drifted} == drifted and not report.ok

    out = smt(project.path, "querystore", "check", "--repair")
    assert f"Repaired the tag rows of {len(drifted)} of {N} records" in out
    assert row_tags(project.path) == column_tags(project.path) == tags
    out = smt(project.path, "querystore", "check")
    assert out.strip() == f"The tag rows agree with the tags column ({N} records checked)."
    # Sumatra's own loading reads the rows: now it sees the column's tags.
    assert {r.label: r.tags for r in sumatra_records(project.path)} == tags


def test_check_deletes_rows_of_deleted_records(demo_project_rw):
    from support import drift_tag_rows
    store = RecordStoreView(project=demo_project_rw.path)._store
    drift_tag_rows(store)
    report = check_tag_rows(store)
    assert report.orphans == 4 and not report.ok
    assert any("row(s) of records that no longer exist" in line for line in report.lines())
    fixed = check_tag_rows(store, repair=True)
    assert fixed.ok and fixed.orphans == 4
    again = check_tag_rows(store)
    assert again.ok and not again.drifted and not again.orphans
    assert row_tags(demo_project_rw.path) == column_tags(demo_project_rw.path)


def test_tagging_a_store_whose_rows_are_missing(synced, backend, tmp_path):
    project = copy_of(synced.b, backend, tmp_path)
    tags = column_tags(project.path)
    finished = {label for label, ts in tags.items() if "_finished_" in ts}
    view = RecordStoreView(project=project.path)
    # changes are computed from the column: the rows have no _finished_ at all
    assert view.filter.status("finished").add_tag("checked") == len(finished)
    assert view.filter.tags("checked").add_tag("checked") == 0
    assert view.filter.tags("fig").remove_tag("_finished_") == len(
        {label for label in finished if "fig" in tags[label]})
    after, rows = column_tags(project.path), row_tags(project.path)
    for label, ts in tags.items():
        expected = set(ts)
        if label in finished:
            expected.add("checked")
            if "fig" in ts:
                expected.discard("_finished_")
        assert after[label] == expected, label
        # the rows of the tags written are right; the others are left to --repair
        assert ("checked" in rows[label]) == ("checked" in expected), label
        assert "_finished_" not in rows[label]
    assert view.filter.status("finished").remove_tag("checked") == len(
        {label for label in finished if "fig" not in tags[label]})
