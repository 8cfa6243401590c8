"""Smart case for the free-text filters (issue 14): reason, outcome, user and
main file match ignoring case unless the pattern has an upper-case letter;
``case_sensitive=True/False`` (``--case-sensitive`` / ``--ignore-case``)
forces either. The SQL form equals the Python reference exactly on SQLite and
PostgreSQL, also for the characters whose lower case is not one ASCII letter
(``İ`` -> ``i̇``, the Kelvin sign -> ``k``), in records written by ``smt run``.
"""
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from smt_query import RecordStoreView
from smt_query.cli.query import query
from smt_query.query import describe_spec

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
FIELDS = ("reason", "outcome", "user", "main_file")
PATTERNS = ["nan", "NaN", "NAN", "émilie", "Émilie", "ÉMILIE", "ada", "ADA", "tasks.py",
            "indeeg", "IndEEG", "diverged*", "*nan*", "*NaN*", "[a-z]*", "[A-Z]*", "σtilde",
            "ΣTILDE", "converged", "", "?", "test fit", "TEST"]


def expected(records, field, pattern, case_sensitive):
    """The reference, written out: smart case by the pattern's upper-case letters."""
    import fnmatch
    sensitive = (any(c.isupper() for c in pattern) if case_sensitive is None
                 else case_sensitive)
    out = []
    for r in records:
        value = getattr(r, field) or ""
        value, pat = (value, pattern) if sensitive else (value.lower(), pattern.lower())
        glob = any(c in pattern for c in "*?[")
        if (fnmatch.fnmatchcase(value, pat) if glob else pat in value):
            out.append(r.label)
    return out


@pytest.mark.parametrize("field", FIELDS)
def test_smart_case_sql_equals_python(demo_project, field):
    view = RecordStoreView(project=demo_project.path)
    records = view.aslist()
    oracle = RecordStoreView(records=records)
    nonempty = 0
    for pattern in PATTERNS:
        for case in (None, True, False):
            want = expected(records, field, pattern, case)
            sql = getattr(view.filter, field)(pattern, case_sensitive=case)
            assert sql.labels() == want, (field, pattern, case)
            assert getattr(oracle.filter, field)(pattern, case_sensitive=case).labels() == want
            # ignoring case runs in SQL for an ASCII pattern (Python decides the others)
            assert sql.pushed_down == (pattern.isascii() or case is True or (
                case is None and any(c.isupper() for c in pattern)))
            nonempty += bool(want)
    assert nonempty > 10


def test_smart_case_differs_from_exact_case(demo_project):
    view = RecordStoreView(project=demo_project.path)
    lower = view.filter.reason("nan").labels()
    assert lower == view.filter.reason("NaN").labels() != []
    assert view.filter.reason("nan", case_sensitive=True).labels() == []
    assert view.filter.user("émilie").labels() == view.filter.user("Émilie").labels() != []
    assert view.filter.user("ÉMILIE").labels() == []
    assert view.filter.user("ÉMILIE", case_sensitive=False).labels() == view.filter.user(
        "Émilie").labels()
    assert view.filter.label("2020091?-*").labels() != []        # labels stay exact
    assert view.filter.main_file("INDEEG").labels() == []
    assert len(view.filter.main_file("indeeg")) == len(view.filter.main_file("IndEEG")) > 0


REASONS = ["Temperature 5\u212a, cold", "\u0130stanbul run", "plain KI and ki",
           "MIXED Case ǅ ß ﬃ", "Σίσυφος ΑΣ"]
KEY_PATTERNS = ["k", "ki", "5k", "k,", "i\u0307", "i\u0307stanbul", "istanbul", "?stanbul*",
                "*k*", "*i?stanbul*", "??stanbul*", "mixed case", "ǆ", "ss", "ﬃ", "σ", "ς",
                "ασ", "ας", "[h-j]*", "*[j-l]*"]


def test_folding_is_exact_for_unusual_characters(make_project):
    """Records made by ``smt run`` with reasons holding the characters whose
    lower case is not one ASCII letter; SQL must agree with str.lower."""
    project = make_project(runs=[{"reason": r} for r in REASONS])
    view = RecordStoreView(project=project.path)
    records = view.aslist()
    assert sorted(r.reason for r in records) == sorted(REASONS)
    oracle = RecordStoreView(records=records)
    matched = 0
    for pattern in KEY_PATTERNS:
        for case in (None, False, True):
            want = expected(records, "reason", pattern, case)
            assert view.filter.reason(pattern, case_sensitive=case).labels() == want, (
                pattern, case)
            assert oracle.filter.reason(pattern, case_sensitive=case).labels() == want
            matched += bool(want)
    assert matched > 10
    kelvin = [r.label for r in records if "\u212a" in r.reason]
    assert view.filter.reason("5k").labels() == kelvin            # K (Kelvin) lowers to k


@pytest.fixture
def run(demo_project, monkeypatch):
    monkeypatch.chdir(demo_project.path)

    def invoke(*args):
        return CliRunner().invoke(query, [*args, "--format", "labels"], catch_exceptions=False)
    return invoke


def test_cli_smart_case_and_flags(run, demo_project):
    view = RecordStoreView(project=demo_project.path)
    labels = view.filter.outcome("diverged").labels()
    assert labels and run("--outcome", "diverged").stdout.split() == labels
    assert run("--outcome", "DIVERGED").stdout.split() == []
    assert run("--outcome", "DIVERGED", "--ignore-case").stdout.split() == labels
    assert run("--outcome", "diverged", "--case-sensitive").stdout.split() == []
    assert run("--outcome", "Diverged", "--case-sensitive").stdout.split() == labels
    both = run("--outcome", "x", "--case-sensitive", "--ignore-case")
    assert both.exit_code == 1
    assert both.stderr == "Error: use either --case-sensitive or --ignore-case, not both\n"
    assert describe_spec({"outcome": "DIVERGED", "ignore_case": True}) == (
        "--outcome DIVERGED --ignore-case")
    # the modifier reaches every free-text filter, not the others
    assert run("--user", "ADA", "--main-file", "MAIN", "--ignore-case").stdout.split() == (
        view.filter.user("ada").filter.main_file("main").labels())


def test_real_smt_query_smart_case(demo_project):
    view = RecordStoreView(project=demo_project.path)

    def smt_query(*args):
        done = subprocess.run([SMT, "query", *args, "--format", "json"], cwd=demo_project.path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return [d["label"] for d in json.loads(done.stdout)]
    turing = view.filter.user("Turing").labels()
    assert turing and smt_query("--user", "turing") == turing
    assert smt_query("--user", "TURING", "--ignore-case") == turing
    assert smt_query("--user", "turing", "--case-sensitive") == []
