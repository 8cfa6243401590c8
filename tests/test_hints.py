"""Hints where an answer would be silent (issue 14), and readable tables.

A query naming nothing that exists (a misspelled tag, parameter key, label,
filter) still answers (empty, exit 0) and says so: a ``QueryHint`` warning in
Python, one ``Warning: ...`` line on stderr from ``smt query``, with the
close matches that exist. Tables: a footer with the count, status tags not
repeated beside the status column, mixed statuses in ``--merged``, the last
line of a traceback; ``--fields output_data`` and friends; ``--sort`` by any
parameter key. On the demo project (real store), SQLite and PostgreSQL.
"""
import csv
import io
import json
import os
import subprocess
import sys
import warnings

import pytest

from smt_query import RecordStoreView
from smt_query.errors import QueryError, QueryHint
from smt_query.fields import (STATUS_WRITERS, STATUSES, executable_text, is_status_tag,
                              status_of)
from smt_query.formats import table_lines

SMT = os.path.join(os.path.dirname(sys.executable), "smt")


@pytest.fixture
def view(demo_project):
    return RecordStoreView(project=demo_project.path)


def hints_of(fn):
    """``(result of fn(), [hint messages])``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught if issubclass(w.category, QueryHint)]


def warnings_in(result):
    return [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]


# -- Python --------------------------------------------------------------------------

@pytest.mark.parametrize("build, expected", [
    (lambda v: v.filter.tags("figure3"),
     "no record has the tag 'figure3' (did you mean 'figure2', 'figure1' or 'fig'?)"),
    (lambda v: v.filter.tags("finished", "basline"),
     "no record has the tag 'basline' (did you mean 'baseline'?)"),
    (lambda v: v.filter.any_tag("swep", "paper-drat"),
     "no record has the tag 'swep' (did you mean 'sweep'?); "
     "no record has the tag 'paper-drat' (did you mean 'paper-draft'?)"),
    (lambda v: v.filter.tags("fgi*"), "no tag matches 'fgi*'"),
    (lambda v: v.filter.where("optimiser.lr > 1e-3"),
     "no record has the parameter 'optimiser.lr' (did you mean 'optimizer.lr'"),
    (lambda v: v.filter.where("nstep == 5000 and optimizer.model.seed in [1]"),
     "no record has the parameter 'nstep' (did you mean 'nsteps'?)"),
    (lambda v: v.filter.params(eq={"optimizer.model.seedd": 1}),
     "no record has the parameter 'optimizer.model.seedd' (did you mean 'optimizer.model.seed'"),
    (lambda v: v.filter.label("2021"), "no label contains '2021' (nearest labels: '2020"),
    (lambda v: v.filter.reason("Nan"),
     "no record's reason contains 'Nan' (matched case-sensitively, as it has an upper-case "
     "letter; some records match ignoring case"),
])
def test_empty_answer_says_what_names_nothing(view, build, expected):
    labels, hints = hints_of(lambda: build(view).labels())
    assert labels == []
    assert len(hints) == 1 and hints[0].startswith(expected), hints
    # the same from len(), and from a view of records (Python filters)
    assert hints_of(lambda: len(build(view)))[1] == hints
    oracle = RecordStoreView(records=view.aslist())
    assert hints_of(lambda: build(oracle).aslist()) == ([], hints)


def test_no_hint_when_something_matches_or_turned_off(view, demo_project):
    for build in (lambda v: v.filter.tags("figure1"), lambda v: v.filter.where("nsteps > 1"),
                  lambda v: v.filter.reason("nan"), lambda v: v.filter.not_tag("figure3"),
                  lambda v: v.filter.tags("fig").filter.tags("figure1").filter.status("running")):
        found, hints = hints_of(lambda: build(view).labels())
        assert hints == []
    # a filter that names things that exist, in a combination nothing passes: no hint
    assert hints_of(lambda: view.filter.on(20200915).filter.on(20201110).labels()) == ([], [])
    quiet = RecordStoreView(project=demo_project.path, hints=False)
    assert hints_of(lambda: quiet.filter.tags("figure3").labels()) == ([], [])
    # asked for, on any view
    assert view.filter.tags("figure3").filter.tags("fig").hints() == [
        "no record has the tag 'figure3' (did you mean 'figure2', 'figure1' or 'fig'?)"]


def test_misspelled_filter_name_is_an_error_with_did_you_mean(view):
    with pytest.raises(QueryError, match=r"unknown filter 'tag' \(did you mean 'tags'"):
        view.filter.tag("fig")
    assert not hasattr(view.filter, "tag") and hasattr(view.filter, "tags")
    with pytest.raises(AttributeError, match="did you mean 'reason'"):
        view.filter.reasons("x")


def test_tag_names_and_parameter_keys(view):
    records = view.aslist()
    assert view.tag_names() == sorted({t for r in records for t in r.tags})
    assert view.filter.tags("fig").tag_names() == sorted(
        {t for r in records if "fig" in r.tags for t in r.tags})
    keys = view.parameter_keys(prefixes=True)
    assert {"optimizer", "optimizer.lr", "optimizer.model.seed", "nsteps"} <= set(keys)
    assert view.has_parameter("optimizer.lr") and not view.has_parameter("optimiser.lr")


# -- smt query -----------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["--where", "optimiser.lr > 1e-3"],
     "Warning: no record has the parameter 'optimiser.lr' (did you mean 'optimizer.lr'"),
    (["--tag", "figure3", "--count"],
     "Warning: no record has the tag 'figure3' (did you mean 'figure2', 'figure1' or 'fig'?)"),
    (["--label", "2021", "--format", "labels"], "Warning: no label contains '2021'"),
    (["--param", "optimiser.lr", "--limit", "3"],
     "Warning: no record shown has the parameter 'optimiser.lr' (did you mean 'optimizer.lr'"),
    (["--sort", "nstep", "--limit", "3", "--format", "json"],
     "Warning: no record shown has the parameter 'nstep' to sort by (did you mean 'nsteps'?)"),
    (["--limit", "2", "--with-parameters"],
     "Warning: --with-parameters applies to --format json only"),
])
def test_cli_warns_once_and_exits_0(run, args, expected):
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    found = warnings_in(result)
    assert len(found) == 1 and found[0].startswith(expected), result.stderr


def test_sort_by_any_parameter_key(run, view):
    from smt_query.params import get_task_param
    data = json.loads(run("--sort", "-nsteps", "--fields", "label", "--format", "json").stdout)
    assert "nsteps" not in data[0]           # read to sort, not shown
    values = {r.label: get_task_param(r, "nsteps", None) for r in view}
    order = [values[d["label"]] for d in data]
    known = [v for v in order if v is not None]
    assert len(order) == len(view) and len(set(known)) > 1
    assert order == sorted(known, reverse=True) + [None] * (len(order) - len(known))
    labels = run("--sort", "duration", "--format", "labels").stdout.split()
    durations = {r.label: r.duration for r in view}
    known = [durations[lbl] for lbl in labels if durations[lbl] is not None]
    assert known == sorted(known) and set(labels) == set(durations)


def test_real_smt_query_warns_on_stderr(demo_project):
    done = subprocess.run([SMT, "query", "--where", "optimiser.lr > 1e-3", "--format", "json"],
                          cwd=demo_project.path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and json.loads(done.stdout) == []
    assert done.stderr.splitlines() == [
        "Warning: no record has the parameter 'optimiser.lr' (did you mean 'optimizer.lr', "
        "'optimizer' or 'optimizer.model'?)"]


# -- readable tables -----------------------------------------------------------------

def on_terminal(path, *args):
    """``(exit status, stdout, stderr)`` of a real ``smt query *args`` whose
    stdout is a terminal (a pseudo-terminal read as it writes)."""
    import pty
    master, slave = pty.openpty()
    proc = subprocess.Popen([SMT, "query", *args], cwd=path, stdout=slave,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:       # EIO: the command closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=300), out.decode(), err


def test_footer_in_table_format_on_a_terminal_only(demo_project, run, view):
    n = len(view)
    code, out, err = on_terminal(demo_project.path, "--fields", "label")
    assert code == 0 and err.splitlines() == [f"{n} records"]
    assert len(out.splitlines()) == 2 + n
    code, out, err = on_terminal(demo_project.path, "--limit", "5")
    assert len(out.splitlines()) == 2 + 5
    assert err.splitlines() == [f"5 of {n} records ({n - 5} more; use --limit {n} "
                                "to see them all)"]
    assert on_terminal(demo_project.path, view.labels()[0])[2] == "1 record\n"
    merged = on_terminal(demo_project.path, "--merged", "--limit", "3")[2]
    assert merged.startswith("3 of ") and " rows (" in merged
    for fmt in ("csv", "json", "labels", "markdown"):
        assert on_terminal(demo_project.path, "--limit", "5", "--format", fmt)[2] == "", fmt
    # in a pipe (or a file) the table is data: no count
    for fmt in ("table", "csv", "json", "labels", "markdown"):
        result = run("--limit", "5", "--format", fmt)
        assert result.exit_code == 0 and result.stderr == "", (fmt, result.stderr)


def test_status_tags_not_repeated_beside_the_status_column(run, view):
    records = {r.label: r for r in view.filter.tags("fig")}
    rows = list(csv.DictReader(io.StringIO(run("--tag", "fig", "--format", "csv").stdout)))
    for row in rows:
        tags = records[row["label"]].tags
        assert row["status"] == status_of(tags) != ""
        assert row["tags"].split(", ") == sorted(t for t in tags if not is_status_tag(t))
    table = run("--tag", "fig").stdout
    md = run("--tag", "fig", "--format", "markdown").stdout
    assert "_finished_" not in table and "_finished_" not in md
    # JSON keeps the raw tags; without the status column, the tags column has them
    data = json.loads(run("--tag", "fig", "--format", "json").stdout)
    assert all(set(d["tags"]) == records[d["label"]].tags for d in data)
    plain = list(csv.DictReader(io.StringIO(
        run("--tag", "fig", "--format", "csv", "--fields", "label,tags").stdout)))
    assert all(set(r["tags"].split(", ")) == records[r["label"]].tags for r in plain)


def test_merged_rows_say_when_statuses_differ(run, view):
    groups = {}
    for r in view:
        groups.setdefault(r.label[:15], []).append(status_of(r.tags))
    rows = json.loads(run("--merged", "--format", "json", "--fields", "label,status").stdout)
    mixed = 0
    for row in rows:
        statuses = groups[row["label"]]
        if len(set(statuses)) == 1:
            assert row["status"] == statuses[0]
        else:
            mixed += 1
            assert row["status"].startswith("mixed: ")
            counts = dict(part.rsplit(" ", 1) for part in row["status"][7:].split(", "))
            assert {k: int(v) for k, v in counts.items()} == {
                s: statuses.count(s) for s in set(statuses)}
    assert mixed > 0


def test_table_shows_the_last_line_of_a_traceback(run, view):
    crashed = view.filter.status("crashed")
    out = run("--status", "crashed", "--fields", "label,stdout_stderr").stdout.splitlines()[2:]
    assert len(out) == len(crashed) > 0
    for line, record in zip(out, crashed):
        last = record.stdout_stderr.strip().splitlines()[-1]
        assert record.stdout_stderr.startswith("Traceback (most recent call last):")
        assert line.split(None, 1)[1] == "… " + last
    text = "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad lr\n"
    rows = [{"label": "a", "outcome": text}, {"label": "b", "outcome": "first\nsecond"}]
    assert [line.split(None, 1)[1] for line in table_lines(rows, ["label", "outcome"])[2:]] == [
        "… ValueError: bad lr", "first …"]


def test_status_words_in_help_and_docs(run):
    text = " ".join(run("--help").stdout.split())
    for word, who in STATUS_WRITERS.items():
        assert f"{word} {' '.join(who.split())}" in text
    assert set(STATUS_WRITERS) == set(STATUSES)
    assert "A run that exits non-zero is 'failed'; 'crashed' comes from smttask" in text
    with open(os.path.join(os.path.dirname(__file__), "..", "docs", "status.rst"),
              encoding="utf-8") as f:
        docs = f.read()
    assert all(f"``_{word}_``" in docs for word in STATUSES)
    assert "**failed or crashed?**" in docs


# -- record fields ---------------------------------------------------------------------

def test_fields_output_data_input_data_executable(run, view):
    data = json.loads(run("--fields", "label,output_data,input_data,executable",
                          "--format", "json").stdout)
    records = {r.label: r for r in view}
    with_output = 0
    for d in data:
        record = records[d["label"]]
        assert d["output_data"] == sorted(k.path for k in record.output_data)
        assert d["input_data"] == sorted(k.path for k in record.input_data)
        exe = record.executable
        assert d["executable"] == (None if exe is None else
                                   executable_text(exe.name, exe.version, exe.path))
        with_output += bool(d["output_data"])
    assert with_output > 0
    # the same through Python filters (a view of records), and in a table
    from smt_query.rows import select_rows
    fields = ["label", "output_data", "input_data", "executable"]
    assert (select_rows(RecordStoreView(records=view.aslist()), fields, fmt="json")[0]
            == select_rows(view, fields, fmt="json")[0])
    one = next(d for d in data if len(d["output_data"]) > 1)
    table = run(one["label"], "--fields", "label,output_data").stdout.splitlines()
    assert table[2].split(None, 1)[1] == ", ".join(one["output_data"])
