"""`smt query` through click's CliRunner: flags, formats, tagging, saved queries, errors."""
import csv
import hashlib
import io
import json

import pytest
from click.testing import CliRunner

from smt_query import RecordStoreView
from smt_query.cli.query import query
from smt_query.project import read_project_file, write_project_file


@pytest.fixture
def view(demo_project):
    return RecordStoreView(project=demo_project.path)


def labels_of(result):
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("args, build", [
    (["--tag", "fig"], lambda v: v.filter.tags("fig")),
    (["--tag", "finished", "--tag", "OU"], lambda v: v.filter.tags("finished", "OU")),
    (["--any-tag", "figure1", "--any-tag", "figure2"], lambda v: v.filter.any_tag("figure1", "figure2")),
    (["--not-tag", "finished"], lambda v: v.filter.not_tag("finished")),
    (["--status", "crashed"], lambda v: v.filter.status("crashed")),
    (["--status", "crashed", "--status", "killed"], lambda v: v.filter.status("crashed", "killed")),
    (["--after", "2020-11-01"], lambda v: v.filter.after(20201101)),
    (["--before", "202010"], lambda v: v.filter.before(202010)),
    (["--on", "20200915"], lambda v: v.filter.on(20200915)),
    (["--on", "2020-11"], lambda v: v.filter.on(202011)),
    (["--after", "20200912-133000"], lambda v: v.filter.after("20200912-133000")),
    (["--label", "202011"], lambda v: v.filter.label("202011")),
    (["--label", "2020091?-*"], lambda v: v.filter.label("2020091?-*")),
    (["--reason", "NaN"], lambda v: v.filter.reason("NaN")),
    (["--outcome", "Converged"], lambda v: v.filter.outcome("Converged")),
    (["--user", "Ada"], lambda v: v.filter.user("Ada")),
    (["--main-file", "tasks.py"], lambda v: v.filter.main_file("tasks.py")),
    (["--version", "a"], lambda v: v.filter.version("a")),
    (["--min-duration", "2h30m"], lambda v: v.filter.duration(min=9000)),
    (["--max-duration", "60"], lambda v: v.filter.duration(max=60)),
    (["--has-output"], lambda v: v.filter.output()),
    (["--where", "optimizer.lr >= 0.005"], lambda v: v.filter.where("optimizer.lr >= 0.005")),
    (["--where", "nsteps == 25000", "--where", "optimizer.model.activation == 'relu'"],
     lambda v: v.filter.where("nsteps == 25000").filter.where("optimizer.model.activation == 'relu'")),
    (["--tag", "finished", "--on", "2020-11-10", "--label", "20201110"],
     lambda v: v.filter.label("20201110").filter.on(20201110).filter.tags("finished")),
])
def test_flags_mean_the_library_filters(run, view, args, build):
    expected = build(view).labels()
    assert labels_of(run(*args, "--format", "labels")) == expected


def test_labels_as_arguments(run, view):
    some = view.labels()[3:6]
    assert labels_of(run(*some, "--format", "labels")) == some
    result = run(some[0], "no-such-label", "--format", "labels")
    assert labels_of(result) == [some[0]]


def test_json_contract(run, view):
    result = run("--on", "20200915", "--format", "json")
    data = json.loads(result.stdout)
    assert [d["label"] for d in data] == view.filter.on(20200915).labels()
    for d in data:
        assert {"label", "timestamp", "tags", "reason", "outcome", "duration", "main_file",
                "version", "user"} <= set(d)
        assert isinstance(d["tags"], list) and d["timestamp"].startswith("2020-09-15T")
        assert d["duration"] is None or isinstance(d["duration"], float)
        assert "parameters" not in d
    with_params = json.loads(run("--on", "20200915", "--format", "json",
                                 "--with-parameters").stdout)
    assert with_params[0]["parameters"]["inputs"]["optimizer"]["taskname"] == "AlternatedSGD"
    one = json.loads(run("--on", "20200915", "--format", "json", "--param", "optimizer.lr").stdout)
    assert all(isinstance(d["optimizer.lr"], float) for d in one)


def test_csv_markdown_table_count(run, view):
    expected = view.filter.tags("fig").labels()
    rows = list(csv.DictReader(io.StringIO(run("--tag", "fig", "--format", "csv",
                                               "--fields", "label,tags,reason").stdout)))
    assert [r["label"] for r in rows] == expected
    assert all("fig" in r["tags"].split(", ") for r in rows)
    assert [r["reason"] for r in rows] == [rec.reason for rec in view.filter.tags("fig")]
    md = run("--tag", "fig", "--format", "markdown").stdout.splitlines()
    assert md[0].startswith("| label | timestamp |") and md[1].startswith("|---|")
    assert len(md) == 2 + len(expected)
    table = run("--tag", "fig").stdout.splitlines()
    assert table[0].split()[:2] == ["label", "timestamp"] and len(table) == 2 + len(expected)
    assert run("--tag", "fig", "--count").stdout == f"{len(expected)}\n"


def test_fields_param_sort_limit(run, view):
    result = run("--fields", "label,duration", "--param", "nsteps", "--sort", "-duration",
                 "--limit", "5", "--format", "json")
    data = json.loads(result.stdout)
    assert len(data) == 5
    durations = [d["duration"] for d in data]
    assert durations == sorted(durations, reverse=True)
    longest = max((r for r in view if r.duration is not None), key=lambda r: r.duration)
    assert data[0]["label"] == longest.label
    assert all(d["nsteps"] in (5000, 10000, 25000) for d in data)
    asc = json.loads(run("--fields", "label", "--param", "optimizer.lr", "--sort", "optimizer.lr",
                         "--format", "json").stdout)
    lrs = [d["optimizer.lr"] for d in asc if d["optimizer.lr"] is not None]
    assert lrs == sorted(lrs)


def test_merged_and_group_by(run, view):
    merged = json.loads(run("--merged", "--format", "json").stdout)
    assert sum(d["# records"] for d in merged) == len(view)
    assert any(d["# records"] > 1 for d in merged)
    groups = json.loads(run("--group-by", "main_file", "--format", "json").stdout)
    counts = {g["main_file"]: g["count"] for g in groups}
    assert sum(counts.values()) == len(view)
    assert counts["main.py"] == len(view.filter(lambda r: r.main_file == "main.py"))
    by_param = json.loads(run("--group-by", "nsteps", "--format", "json").stdout)
    assert {g["nsteps"] for g in by_param} <= {5000, 10000, 25000}
    for g in by_param:
        assert g["min_duration"] is None or g["min_duration"] <= g["mean_duration"] <= g["max_duration"]


def test_tagging_with_dry_run(demo_project_rw, monkeypatch):
    monkeypatch.chdir(demo_project_rw.path)
    view = RecordStoreView(project=demo_project_rw.path)
    target = view.filter.status("crashed")
    runner = CliRunner()
    dry = runner.invoke(query, ["--status", "crashed", "--add-tag", "rerun", "--dry-run"])
    assert dry.exit_code == 0
    assert dry.stdout.split() == target.labels()
    assert f"Would add tag 'rerun' to {len(target)} of {len(target)}" in dry.stderr
    assert len(view.filter.tags("rerun")) == 0
    done = runner.invoke(query, ["--status", "crashed", "--add-tag", "rerun"])
    assert done.exit_code == 0 and f"to {len(target)} records" in done.stderr
    assert view.filter.tags("rerun").labels() == target.labels()
    gone = runner.invoke(query, ["--tag", "rerun", "--on", "202011", "--remove-tag", "rerun"])
    assert gone.exit_code == 0
    assert set(view.filter.tags("rerun").labels()) == set(target.labels()) - set(
        target.filter.on(202011).labels())


def test_saved_queries(demo_project_rw, monkeypatch):
    monkeypatch.chdir(demo_project_rw.path)
    view = RecordStoreView(project=demo_project_rw.path)
    runner = CliRunner()
    saved = runner.invoke(query, ["--tag", "finished", "--after", "202010", "--save", "recent",
                                  "--format", "labels"])
    assert saved.exit_code == 0 and "Saved query 'recent'" in saved.stderr
    expected = view.filter.tags("finished").filter.after(202010)
    assert saved.stdout.split() == expected.labels()
    again = runner.invoke(query, ["@recent", "--format", "labels"])
    assert again.stdout.split() == expected.labels()
    narrower = runner.invoke(query, ["@recent", "--tag", "fig", "--format", "labels"])
    assert narrower.stdout.split() == expected.filter.tags("fig").labels()
    listing = runner.invoke(query, ["--saved", "--format", "json"])
    assert json.loads(listing.stdout) == [{"name": "recent", "query": "--tag finished --after 202010",
                                           "spec": {"tag": ["finished"], "after": "202010"}}]


@pytest.mark.parametrize("args, code, message", [
    (["--after", "2020133"], 2, "Error: Invalid value for '--after': bad date 2020133"),
    (["--on", "someday"], 2, "Error: Invalid value for '--on': bad date 'someday'"),
    (["--status", "done"], 2, "Error: Invalid value for '--status': 'done' is not one of"),
    (["--min-duration", "2 hourz"], 2, "Error: Invalid value for '--min-duration': bad duration"),
    (["--where", "optimizer.lr >"], 1, "Error: bad --where expression at position"),
    (["@nope"], 1, "Error: no saved query 'nope'"),
    (["--fields", "label,nope"], 1, "Error: unknown field 'nope'"),
    (["--add-tag", "a", "--remove-tag", "b"], 2, "Error: use either --add-tag or --remove-tag"),
    (["--dry-run"], 2, "Error: --dry-run goes with --add-tag or --remove-tag"),
    (["--add-tag", "a,b"], 1, "Error: bad tag 'a,b'"),
])
def test_bad_input_is_one_line_and_changes_nothing(demo_project, monkeypatch, args, code,
                                                   message):
    monkeypatch.chdir(demo_project.path)
    before = _digest(demo_project)
    result = CliRunner().invoke(query, args)
    assert result.exit_code == code
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert _digest(demo_project) == before


def test_outside_a_project_and_unreadable_store(tmp_path, monkeypatch, make_project):
    monkeypatch.chdir(tmp_path)
    outside = CliRunner().invoke(query, [])
    assert outside.exit_code == 1
    assert outside.stderr == "Error: No Sumatra project exists in the current directory or above it.\n"
    project = make_project(runs=[{}])
    if project.store_uri.startswith("postgres"):   # a server that does not answer
        state = read_project_file(project.path)
        state["record_store"]["db_file"] = "postgres://smt:smt@127.0.0.1:1/nowhere"
        write_project_file(state, project.path)
    else:
        with open(project.store_uri, "wb") as f:
            f.write(b"this is not a database" * 100)
    monkeypatch.chdir(project.path)
    broken = CliRunner().invoke(query, [])
    assert broken.exit_code == 1
    assert broken.stderr.startswith("Error: cannot read the record store: ")
    assert broken.stderr.count("\n") == 1


def test_empty_result(run):
    result = run("--tag", "no-such-tag")
    assert result.exit_code == 0 and result.stderr == (
        "Warning: no record has the tag 'no-such-tag'\nNo records match.\n")
    assert run("--tag", "no-such-tag", "--format", "labels").stdout == ""
    assert json.loads(run("--tag", "no-such-tag", "--format", "json").stdout) == []


def test_help_has_examples(run):
    result = run("--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "smt query --tag finished --on 20200915" in result.stdout


def _digest(project):
    if not project.store_uri.startswith("/"):
        return None  # a PostgreSQL store: nothing to hash, the tests above assert no tags
    with open(project.store_uri, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()



NO_DRIVER = """
import sys
sys.modules["psycopg2"] = sys.modules["psycopg"] = None   # as if not installed
sys.argv = ["smt", "query", "--format", "labels"]
from sumatra.cli import smt
sys.exit(smt())
"""


def test_without_the_postgresql_driver(make_project):
    import subprocess
    import sys
    project = make_project(runs=[{}])
    result = subprocess.run([sys.executable, "-c", NO_DRIVER], cwd=project.path,
                            capture_output=True, text=True)
    if project.store_uri.startswith("postgres"):
        assert result.returncode == 1
        assert result.stderr == ("Error: this project's record store is on PostgreSQL, which "
                                 "needs a driver: pip install 'smt-query[postgres]'\n")
    else:   # SQLite users never need it
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == project.labels
