"""``--group-by`` with several keys, time buckets and ``--aggregate``: the library
(rows.group_view, summary.group_by), ``smt query`` through CliRunner and a real
``smt`` process, on SQLite and PostgreSQL; the oracle is computed from full records."""
import csv
import io
import json
import os
import subprocess
import sys
import warnings

import pytest

from smt_query import RecordStoreView, get_task_param
from smt_query.dates import as_utc
from smt_query.errors import QueryError, QueryHint
from smt_query.rows import group_view

SMT = os.path.join(os.path.dirname(sys.executable), "smt")


@pytest.fixture
def view(demo_project):
    return RecordStoreView(project=demo_project.path)


def oracle(view, key_fns, aggregate):
    """{key tuple: (count, {agg: (mean, min, max)})} from full records."""
    groups = {}
    for rec in view:
        groups.setdefault(tuple(fn(rec) for fn in key_fns), []).append(rec)
    out = {}
    for key, recs in groups.items():
        stats = {}
        for name, get in aggregate.items():
            nums = [v for v in map(get, recs)
                    if isinstance(v, (int, float)) and not isinstance(v, bool)]
            stats[name] = ((sum(nums) / len(nums), min(nums), max(nums)) if nums
                           else (None, None, None))
        out[key] = (len(recs), stats)
    return out


def lr(rec):
    return get_task_param(rec, "optimizer.lr", None)


def test_several_keys_bucket_and_aggregate(view):
    rows, columns = group_view(view, ["optimizer.model.activation", "month"],
                               ["optimizer.lr"])
    assert columns == ["optimizer.model.activation", "month", "count",
                       "mean_duration", "min_duration", "max_duration",
                       "mean_optimizer.lr", "min_optimizer.lr", "max_optimizer.lr"]
    expected = oracle(view, [lambda r: get_task_param(r, "optimizer.model.activation", None),
                             lambda r: as_utc(r.timestamp).strftime("%Y-%m")],
                      {"duration": lambda r: r.duration, "optimizer.lr": lr})
    got = {(r["optimizer.model.activation"], r["month"]): r for r in rows}
    assert set(got) == set(expected) and len(got) > 4
    for key, (count, stats) in expected.items():
        row = got[key]
        assert row["count"] == count
        for name, (mean, lo, hi) in stats.items():
            assert row["min_" + name] == lo and row["max_" + name] == hi
            assert row["mean_" + name] == pytest.approx(mean)
    assert [r["count"] for r in rows] == sorted((r["count"] for r in rows), reverse=True)


@pytest.mark.parametrize("spelling, fmt", [("week", "%G-W%V"), ("timestamp:day", "%Y-%m-%d"),
                                           ("year", "%Y")])
def test_time_buckets(view, spelling, fmt):
    rows, columns = group_view(view, spelling)
    name = spelling.split(":")[-1]
    assert columns[0] == name
    expected = oracle(view, [lambda r: as_utc(r.timestamp).strftime(fmt)], {})
    assert {r[name]: r["count"] for r in rows} == {k[0]: c for k, (c, _) in expected.items()}


def test_summary_group_by(view):
    frame = view.summary.group_by("nsteps", "week", aggregate="optimizer.lr")
    assert list(frame.index.names) == ["nsteps", "week"]
    assert frame["count"].sum() == len(view)
    assert {"mean_optimizer.lr", "max_duration"} <= set(frame.columns)
    assert len(view.summary.head(3).group_by("week")) == 3


def test_unknown_key_hints(view):
    with pytest.warns(QueryHint, match=r"--group-by 'optimiser\.lr'.*did you mean 'optimizer\.lr'"):
        rows, _ = group_view(view, "optimiser.lr")
    assert rows[0]["count"] == len(view)        # still answered: one group of None
    with pytest.warns(QueryHint, match=r"--aggregate 'nstep'.*did you mean 'nsteps'"):
        group_view(view, "week", ["nstep"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        group_view(view, ["nsteps", "day"], ["optimizer.lr"])   # all known: no hint
    with pytest.raises(QueryError, match=r"unknown time bucket 'dya'.*did you mean 'day'"):
        group_view(view, "timestamp:dya")


def test_backticks_reach_a_parameter_named_like_a_bucket(make_project):
    proj = make_project({"day": 1}, runs=[{}, {"overrides": ["day=2"]}, {"overrides": ["day=2"]}])
    rows, columns = group_view(RecordStoreView(project=proj.path), "`day`")
    assert columns[0] == "day"
    assert {r["day"]: r["count"] for r in rows} == {1: 1, 2: 2}


def test_cli_repeated_and_comma_separated_agree(run, view):
    repeated = run("--group-by", "nsteps", "--group-by", "week", "--aggregate", "optimizer.lr",
                   "--format", "json")
    comma = run("--group-by", "nsteps,week", "--aggregate", "optimizer.lr", "--format", "json")
    assert repeated.exit_code == comma.exit_code == 0
    data = json.loads(repeated.stdout)
    assert data == json.loads(comma.stdout)
    assert sum(g["count"] for g in data) == len(view)
    assert set(data[0]) == {"nsteps", "week", "count", "mean_duration", "min_duration",
                            "max_duration", "mean_optimizer.lr", "min_optimizer.lr",
                            "max_optimizer.lr"}


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_cli_formats(run, view, fmt):
    result = run("--group-by", "optimizer.model.activation,month", "--aggregate", "optimizer.lr",
                 "--sort", "month", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    expected = oracle(view, [lambda r: get_task_param(r, "optimizer.model.activation", None),
                             lambda r: as_utc(r.timestamp).strftime("%Y-%m")], {})
    lines = result.stdout.splitlines()
    if fmt == "csv":
        table = list(csv.DictReader(io.StringIO(result.stdout)))
        assert {(r["optimizer.model.activation"], r["month"]): int(r["count"]) for r in table} \
            == {k: c for k, (c, _) in expected.items()}
        assert [r["month"] for r in table] == sorted(r["month"] for r in table)
    else:
        header = [c for c in lines[0].replace("|", " ").split()]
        assert header == ["optimizer.model.activation", "month", "count", "mean_duration",
                          "min_duration", "max_duration", "mean_optimizer.lr",
                          "min_optimizer.lr", "max_optimizer.lr"]
        assert len(lines) == 2 + len(expected)


def test_cli_hint_and_errors(run):
    hinted = run("--group-by", "optimiser.lr", "--format", "json")
    assert hinted.exit_code == 0
    assert "Warning: --group-by 'optimiser.lr': no record has this parameter" in hinted.stderr
    assert "did you mean 'optimizer.lr'" in hinted.stderr
    bad = run("--group-by", "timestamp:fortnight")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: unknown time bucket")
    assert run("--group-by", "week", "--merged").exit_code == 1
    alone = run("--aggregate", "optimizer.lr")
    assert alone.exit_code == 1 and "--aggregate goes with --group-by" in alone.stderr


def test_smt_subprocess(demo_project, view):
    proc = subprocess.run([SMT, "query", "--group-by", "week,nsteps", "--aggregate",
                           "optimizer.lr", "--group-by", "optimiser", "--format", "json"],
                          cwd=demo_project.path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert sum(g["count"] for g in data) == len(view)
    assert {"week", "nsteps", "optimiser", "mean_optimizer.lr"} <= set(data[0])
    assert "Warning: --group-by 'optimiser'" in proc.stderr and "Traceback" not in proc.stderr
