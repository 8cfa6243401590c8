"""``smt compare``: --summary (what varies), --env with a real git repository,
records in the order they were named, tables fitted to the width; the library
(ParameterComparison.value_counts, smt_query.compare) and the command, through
CliRunner and a real ``smt`` process, on SQLite and PostgreSQL."""
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hostile import run_sql
from smt_query import RecordStoreView, get_task_param
from smt_query.cli.compare import compare
from smt_query.compare import commit_details, compare_view
from smt_query.demo import smt_run
from smt_query.params import MISSING, ParameterComparison

SMT = os.path.join(os.path.dirname(sys.executable), "smt")


def test_value_counts_follow_values_equal():
    cmp = ParameterComparison(params=[
        {"a": 1, "b": [1, 2], "c": float("nan")},
        {"a": 1.0, "b": (1, 2), "c": float("nan")},
        {"a": True, "b": [1, 2]},
        {"a": 1, "b": [2, 1], "c": float("nan")}])
    counts = cmp.value_counts()
    assert [(type(v), n) for v, n in counts["a"]] == [(int, 2), (float, 1), (bool, 1)]
    assert [(list(v), n) for v, n in counts["b"]] == [([1, 2], 3), ([2, 1], 1)]
    assert counts["c"][1] == (MISSING, 1) and counts["c"][0][1] == 3
    assert set(counts) == {"a", "b", "c"}


@pytest.fixture
def view(demo_project):
    return RecordStoreView(project=demo_project.path)


def test_summary_counts_values(view):
    sweep = view.filter.on(20201110)
    result = compare_view(sweep)
    rows, columns = result.summary()
    assert columns == ["key", "value", "count"]
    by_key = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append((row["value"], row["count"]))
    assert set(by_key) == set(result.comparison.differences)
    n = len(result.labels)
    for key in ("optimizer.lr", "nsteps"):
        expected = {}
        for rec in sweep:
            value = get_task_param(rec, key, MISSING)
            expected[value] = expected.get(value, 0) + 1
        assert dict(by_key[key]) == expected
        counts = [c for _, c in by_key[key]]
        assert sum(counts) == n and counts == sorted(counts, reverse=True)
    assert result.as_json(summary=True)["summary"]["nsteps"] == [
        {"value": v, "count": c} for v, c in by_key["nsteps"]]


@pytest.fixture
def run(demo_project, monkeypatch):
    monkeypatch.chdir(demo_project.path)

    def invoke(*args, env=None):
        return CliRunner(env=env).invoke(compare, list(args), catch_exceptions=False)
    return invoke


def test_cli_summary(run, view):
    result = run("--on", "20201110", "--summary", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    n = len(view.filter.on(20201110))
    assert all(sum(v["count"] for v in values) == n for values in data["summary"].values())
    table = run("--on", "20201110", "--summary", "--format", "csv").stdout.splitlines()
    assert table[0] == "key,value,count"
    assert sum(len(v) for v in data["summary"].values()) == len(table) - 1


def test_records_in_the_order_named(run, view):
    oldest_first = view.labels()[::-1][:3]
    two = run(*oldest_first[:2], "--format", "csv").stdout.splitlines()
    assert two[0] == "key," + ",".join(oldest_first[:2])
    three = json.loads(run(*oldest_first, "--format", "json").stdout)
    assert three["records"] == oldest_first
    rows = run(*oldest_first, "--format", "csv").stdout.splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == oldest_first


def test_table_fits_columns(run, view):
    labels = view.labels()[:6]
    wide = run(*labels)
    assert max(map(len, wide.stdout.splitlines())) > 60     # a pipe: full width
    narrow = run(*labels, env={"COLUMNS": "60"})
    assert narrow.exit_code == 0
    lines = narrow.stdout.splitlines()
    assert max(map(len, lines)) <= 60
    # six records, many keys: transposed to one row per key, wrapped in blocks
    headers = [line for line in lines if line.startswith("key ")]
    assert len(headers) > 1
    shown = " ".join(headers)
    assert all(label[:8] in shown for label in labels)
    keys = json.loads(run(*labels, "--format", "json").stdout)["differences"]
    assert "optimizer.lr" in narrow.stdout and len(keys) > 3
    two = run(*labels[:2], env={"COLUMNS": "50"})
    assert max(map(len, two.stdout.splitlines())) <= 50


def _commit(path, message, text):
    with open(os.path.join(path, "main.py"), "a", encoding="utf-8") as f:
        f.write(text)
    subprocess.run(["git", "commit", "-qam", message], cwd=path, check=True,
                   capture_output=True)


@pytest.fixture
def two_commits(make_project):
    proj = make_project({"a": 1}, runs=[{}])
    _commit(proj.path, "Use a faster solver\n\nThe body is not shown.", "# faster\n# two\n")
    second = smt_run(proj.path, "default.json")
    return proj, proj.labels[0], second


def test_env_commits_and_diff_stat(two_commits, chdir):
    proj, first, second = two_commits
    chdir(proj.path)
    result = compare_view(RecordStoreView(project=proj.path).filter.labels(first, second),
                          env=True, named=[first, second])
    commits = result.commits()
    assert [c["labels"] for c in commits] == [[first], [second]]
    assert commits[1]["subject"] == "Use a faster solver"
    assert "main.py | 2 ++" in commits[1]["diff_stat"] and commits[0]["diff_stat"] is None
    out = CliRunner().invoke(compare, [first, second, "--env"])
    assert out.exit_code == 0, out.stderr
    assert "Use a faster solver" in out.stdout and "main.py | 2 ++" in out.stdout
    assert "The body" not in out.stdout
    data = json.loads(CliRunner().invoke(compare, [first, second, "--env", "--format",
                                                   "json"]).stdout)
    assert data["commits"][1]["subject"] == "Use a faster solver"


def test_env_stored_versions_are_data(two_commits, chdir, tmp_path):
    proj, first, second = two_commits
    chdir(proj.path)
    run_sql(proj, "UPDATE django_store_record SET version = %s WHERE label = %s",
            ("--output=planted", second))     # git diff would write the file
    out = CliRunner().invoke(compare, [first, second, "--env", "--format", "json"])
    assert out.exit_code == 0, out.stderr
    notes = {c["version"]: c["note"] for c in json.loads(out.stdout)["commits"]}
    assert notes["--output=planted"] == "not a commit id"
    assert not os.path.exists(os.path.join(proj.path, "planted"))
    run_sql(proj, "UPDATE django_store_record SET version = %s WHERE label = %s",
            ("deadbeef" * 5, second))
    table = CliRunner().invoke(compare, [first, second, "--env"])
    assert table.exit_code == 0 and "(not in this repository)" in table.stdout
    details = commit_details(str(tmp_path), ["deadbeef"])   # no repository there
    assert details["deadbeef"]["note"] == "no git repository at hand"


def test_env_dependencies(view):
    labels = [lbl for lbl in view.labels() if not lbl[-7:-6] == "_"][:1] \
        + [view.labels()[-1]]
    result = compare_view(view.filter.labels(*labels), env=True, named=labels)
    rows, columns = result.dependency_table()
    deps = result.dependencies()
    assert columns == ["dependency"] + labels
    assert {r["dependency"] for r in rows} == set(deps)
    for row in rows:
        versions = [row[lbl] for lbl in labels]
        assert len(set(map(str, versions))) > 1


def test_smt_subprocess_env(two_commits):
    proj, first, second = two_commits
    proc = subprocess.run([SMT, "compare", second, first, "--env"], cwd=proj.path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["key", second, first]        # in the order named
    assert "Use a faster solver" in proc.stdout and "main.py | 2 --" in proc.stdout
    summary = subprocess.run([SMT, "compare", first, second, "--summary", "--format", "json"],
                             cwd=proj.path, capture_output=True, text=True, timeout=120)
    assert summary.returncode == 0 and "Traceback" not in summary.stderr
