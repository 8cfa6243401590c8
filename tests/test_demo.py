"""The demo project is a real Sumatra project whose inserted records look like real ones."""
import collections
import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import given, strategies as st

from smt_query.demo import DemoError, build_demo, pretty_json, store_uri
from smt_query.params import get_task_param
from support import sumatra_records

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
LABEL = re.compile(r"\d{8}-\d{6}(_[0-9a-f]{6}|_[0-9a-f]{4})?")   # 4 hex: the guide's older labels


@pytest.fixture(scope="module")
def records(demo_project):
    """The demo's records as Sumatra itself loads them (``to_sumatra()``), newest first."""
    return sumatra_records(demo_project.path)


@pytest.fixture(scope="module")
def rows(demo_project):
    """Per record: its row's columns, and the tag names of its TaggedItem rows."""
    from smt_query.recordstore import QueryDjangoRecordStore
    store = QueryDjangoRecordStore(demo_project.store_uri)
    m, db = store.models, store.db_alias
    tagged = collections.defaultdict(set)
    for object_id, name in m.TaggedItem.objects.using(db).filter(
            content_type_id=store.record_ctype_id).values_list("object_id", "tag__name"):
        tagged[object_id].add(name)
    columns = list(m.Record.objects.using(db).order_by("db_id").values())
    psets = dict(m.ParameterSet.objects.using(db).values_list("pk", "content"))
    types = set(m.ParameterSet.objects.using(db).values_list("type", flat=True))
    return columns, tagged, psets, types


def test_sumatra_loads_every_record(demo_project, records):
    from sumatra.projects import load_project
    project = load_project(demo_project.path)
    assert project.name == "demo"
    assert project.record_store.has_project("demo")
    assert len(records) == demo_project.n_records
    labels = [r.label for r in records]
    assert len(set(labels)) == len(labels)
    assert all(LABEL.fullmatch(label) for label in labels)
    with open(os.path.join(demo_project.path, ".smt", "labels")) as f:
        assert sorted(f.read().split()) == sorted(labels)


def test_inserted_records_look_like_real_ones(records):
    real, inserted = records[:2], records[2:]     # the real runs are the newest
    assert all(r.timestamp.year > 2020 for r in real)
    assert all(r.timestamp.year == 2020 and 9 <= r.timestamp.month <= 11 for r in inserted)
    for record in inserted:
        for attr in ("executable", "repository", "launch_mode", "datastore", "input_datastore",
                     "parameters"):
            assert type(getattr(record, attr)) is type(getattr(real[0], attr)), attr
        assert record.executable.path == real[0].executable.path
        assert record.script_arguments == "<parameters>"
        assert len(record.platforms) == 1 and record.dependencies
        assert record.label.startswith(record.timestamp.strftime("%Y%m%d-%H%M%S"))
        assert record.timestamp.tzinfo is not None
        status = {t for t in record.tags if re.fullmatch(r"_[a-z]+_", t)}
        assert len(status) == 1
        assert (record.duration is None) == (status <= {"_running_", "_initialized_"})
        params = record.parameters.as_dict()
        assert set(params) >= {"taskname", "module", "inputs"}
        mu = get_task_param(params, "optimizer.model.params.μtilde")   # some give values, not tasks
        assert len(mu) == 2 and all(isinstance(x, float) for x in mu)
    assert sum(bool(r.output_data) for r in inserted) > len(inserted) / 2
    assert all(key.digest and key.creation for r in inserted for key in r.output_data)


def test_overrides_are_literal_dotted_keys(records):
    real_override = records[0].parameters.as_dict()        # 2nd real run: optimizer.lr=0.01
    assert real_override["optimizer.lr"] == 0.01
    assert real_override["inputs"]["optimizer"]["inputs"]["lr"] != 0.01
    assert "optimizer.lr" not in records[1].parameters.as_dict()
    assert sum("optimizer.lr" in r.parameters.as_dict() for r in records[2:]) > 1


def test_rows_are_what_save_writes(demo_project, rows):
    columns, tagged, psets, types = rows
    assert types == {"JSONParameterSet"}
    for content in psets.values():
        assert content == json.dumps(json.loads(content), sort_keys=True, indent=4)
    assert len(set(psets.values())) == len(psets)              # get_or_create never finds two
    used = collections.Counter(row["parameters_id"] for row in columns)
    assert max(used.values()) > 1 and len(used) > 0.8 * len(columns)
    for row in columns:
        assert set(row["tags"].split(",")) == tagged[row["db_id"]]
        assert row["project_id"] == "demo"


def test_tags_dates_and_merged_seconds(records):
    tags = collections.Counter(t for r in records for t in r.tags)
    assert {t for t in tags if t.startswith("fig")} == {"fig", "figure1", "figure2"}
    assert {"_finished_", "_crashed_", "_killed_", "_running_", "_initialized_"} <= set(tags)
    assert tags["_finished_"] > len(records) / 2
    for day in ("20200915", "20201110"):
        finished = [r for r in records if r.label.startswith(day) and "_finished_" in r.tags]
        assert len(finished) >= 2, day
    seconds = collections.Counter(r.label[:15] for r in records)
    assert max(seconds.values()) > 2
    assert any("\n\n" in r.reason for r in records)
    assert any("NaN" in r.outcome for r in records)
    assert len({r.user for r in records}) >= 3 and len({r.version for r in records}) >= 5
    assert len({r.main_file for r in records}) >= 3
    durations = [r.duration for r in records if r.duration]
    assert min(durations) < 60 and max(durations) > 10 * 3600


def test_smt_list_runs_and_matches_tags_by_substring(demo_project, records):
    out = subprocess.run([SMT, "list"], cwd=demo_project.path, capture_output=True, text=True,
                         check=True).stdout.split()
    assert sorted(out) == sorted(r.label for r in records)
    fig = subprocess.run([SMT, "list", "fig"], cwd=demo_project.path, capture_output=True,
                         text=True, check=True).stdout.split()
    assert len(fig) > sum("fig" in r.tags for r in records)   # why smt-query exists


def test_cli_builds_deterministically_and_refuses_existing_project(backend, tmp_path):
    store = backend.new_store()
    cmd = [sys.executable, "-m", "smt_query.demo", str(tmp_path / "a"), "--records", "60",
           "--runs", "1", "--seed", "3"] + (["--store", store] if store else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / "a") in done.stdout and "60" in done.stdout
    assert "smt query" in done.stdout
    if store:
        assert store not in done.stdout and ":***@" in done.stdout   # password hidden
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 1
    assert again.stderr.startswith("Error: ") and "already contains a Sumatra project" in again.stderr
    assert again.stderr.count("\n") == 1
    same = build_demo(tmp_path / "b", 60, runs=1, seed=3, store=backend.new_store())
    first, second = sumatra_records(str(tmp_path / "a")), sumatra_records(same)
    assert [r.label for r in first[1:]] == [r.label for r in second[1:]]
    assert [r.parameters.as_dict() for r in first] == [r.parameters.as_dict() for r in second]


@pytest.mark.parametrize("kwargs", [dict(records=5, runs=0), dict(records=2, runs=3)])
def test_bad_arguments_fail_before_building(tmp_path, kwargs):
    with pytest.raises(DemoError, match="runs"):
        build_demo(tmp_path / "x", **kwargs)
    assert not os.path.exists(tmp_path / "x")


def test_refuses_a_store_that_holds_a_demo_already(demo_project, tmp_path):
    with pytest.raises(DemoError, match="already holds a project 'demo'"):
        build_demo(tmp_path / "x", 10, runs=1, store=demo_project.store_uri)


def test_directory_must_be_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DemoError, match="not empty"):
        build_demo(tmp_path, 3, runs=1)
    assert os.listdir(tmp_path) == ["notes.txt"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(json_values)
def test_pretty_json_is_what_sumatra_stores(value):
    assert pretty_json(value) == json.dumps(value, sort_keys=True, indent=4)


def test_make_project(make_project, backend):
    project = make_project({"a": 1, "b": {"c": 2}}, runs=[
        {"reason": "first\n\nsecond line", "tags": ["fig", "figure1"]},
        {"overrides": ["a=2", "b.c=3"]},
        {"params": {"x": "μ"}}])
    records = {r.label: r for r in sumatra_records(project.path)}
    assert list(records) == project.labels[::-1]
    first, second, third = (records[label] for label in project.labels)
    assert first.reason == "first\n\nsecond line" and first.tags == {"_finished_", "fig", "figure1"}
    assert second.parameters.as_dict() == {"a": 2, "b": {"c": 2}, "b.c": 3}
    assert third.parameters.as_dict() == {"x": "μ"}
    assert all(r.output_data for r in records.values())
    assert project.store_uri.startswith("postgres") == (backend.name == "postgresql")


def test_make_project_shelve(make_project):
    project = make_project(store="shelve", runs=[{"tags": ["fig"]}])
    assert project.store_uri.endswith(".smt/records.shelf")
    [record] = sumatra_records(project.path)
    assert record.tags == {"_finished_", "fig"}


def test_demo_project_rw_is_an_independent_copy(demo_project, demo_project_rw, records):
    assert demo_project_rw.path != demo_project.path
    assert demo_project_rw.store_uri != demo_project.store_uri
    assert store_uri(demo_project_rw.path) == demo_project_rw.store_uri
    subprocess.run([SMT, "tag", "only-in-copy"], cwd=demo_project_rw.path, check=True)
    copy = sumatra_records(demo_project_rw.path)
    assert [r.label for r in copy] == [r.label for r in records]
    assert "only-in-copy" in copy[0].tags and "only-in-copy" not in sumatra_records(demo_project.path)[0].tags
    assert copy[0].repository.url == demo_project_rw.path
    assert copy[0].datastore.root == os.path.join(demo_project_rw.path, "Data")


def test_chdir(chdir, demo_project):
    chdir(demo_project.path)
    assert os.getcwd() == demo_project.path
