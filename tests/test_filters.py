"""Every filter gives the same records on the SQL path and in Python, in any order.

The oracle is the pure-Python path over the records exactly as Sumatra
itself loads them (``DjangoRecordStore.list`` -> ``Record.to_sumatra()``).
"""
import datetime as dt
import platform as host
import random
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from smt_query import RecordStoreView
from smt_query.errors import QueryError
from smt_query.filters import FILTERS, MatchFilter, glob_regex
from smt_query.where import And, Compare, Key
from support import drift_tag_rows, sumatra_records

UTC = dt.timezone.utc

DATES = [2020, 202009, 202010, 202011, 20200915, 20201110, "2020-09-15", "2020-11-10T12:00",
         (2020, 10, 1), dt.date(2020, 11, 1), "20200915-120000",
         dt.datetime(2020, 10, 5, 12, tzinfo=UTC), dt.datetime(2020, 10, 5, 12)]
TAG_TERMS = ["finished", "_finished_", "crashed", "killed", "running", "fig", "figure1",
             "figure2", "fig*", "figure?", "OU", "paper-draft", "no-such-tag", "[Ff]ig*",
             "_*_", "*"]

FILTER = st.one_of(
    st.tuples(st.just("tags"), st.lists(st.sampled_from(TAG_TERMS), min_size=1, max_size=2)),
    st.tuples(st.just("any_tag"), st.lists(st.sampled_from(TAG_TERMS), min_size=1, max_size=3)),
    st.tuples(st.just("not_tag"), st.lists(st.sampled_from(TAG_TERMS), min_size=1, max_size=2)),
    st.tuples(st.just("status"), st.lists(st.sampled_from(
        ["finished", "crashed", "killed", "running", "initialized"]), min_size=1, max_size=2)),
    st.tuples(st.sampled_from(["after", "before", "on"]), st.sampled_from(DATES).map(lambda d: [d])),
    st.tuples(st.just("label"), st.sampled_from(
        ["202011", "20200915", "2020091?-*", "*_a*", "0915-1", "-", "2020*", "20201110-1*"]).map(
        lambda v: [v])),
    st.tuples(st.just("reason"), st.sampled_from(
        ["Hyperparameter", "hyperparameter", "NaN", "Test*", "*passes", "λθ", "–"]).map(lambda v: [v])),
    st.tuples(st.just("outcome"), st.sampled_from(
        ["NaN", "", "Converged", "σtilde", "*NaN*", "?*"]).map(lambda v: [v])),
    st.tuples(st.just("user"), st.sampled_from(
        ["Ada", "ada", "Émilie", "*@example.org>", "Turing"]).map(lambda v: [v])),
    st.tuples(st.just("main_file"), st.sampled_from(
        ["main.py", "tasks", "IndEEG/*", "*.py"]).map(lambda v: [v])),
    st.tuples(st.just("version"), st.sampled_from(
        ["0", "a", "f", "1f", "", "ABC"]).map(lambda v: [v])),
    st.tuples(st.just("duration"), st.tuples(
        st.sampled_from([None, 60, "1h", 7200.5]), st.sampled_from([None, "2h", 36000]))
        .map(lambda mm: {"min": mm[0], "max": mm[1]})),
    st.tuples(st.just("output"), st.sampled_from(
        [{}, {"minimum": 0, "maximum": 0}, {"minimum": 2}, {"minimum": 0, "maximum": 1},
         {"minimum": None, "maximum": 2}])),
    st.tuples(st.just("params"), st.sampled_from([
        {"eq": {"optimizer.lr": 0.01}}, {"ge": {"optimizer.lr": 0.005}},
        {"eq": {"optimizer.model.activation": "relu"}}, {"eq": {"nsteps": 25000}},
        {"lt": {"optimizer.model.seed": 50}, "gt": {"optimizer.lr": 0.001}},
        {"eq": {"inputs.optimizer.inputs.lr": 0.02}},
        {"isclose": {"optimizer.lr": 0.0100000001}},
        {"eq": {"no.such.key": 1}}])),
    st.tuples(st.just("script_arguments"), st.sampled_from(["<parameters>", "param", "x"]).map(
        lambda v: [v])),
    st.tuples(st.just("stdout_stderr"), st.sampled_from(["Fitted", "log L = -", "Error"]).map(
        lambda v: [v])),
    st.tuples(st.just("platform"), st.sampled_from(
        [host.node(), host.system(), host.machine(), "*", "Lin*", "no-such-host"]).map(
        lambda v: [v])),
    st.tuples(st.just("generic_filter"), st.sampled_from(["long", "has_fig"])),
    st.tuples(st.just("where"), st.sampled_from([
        "optimizer.lr >= 0.005", "optimizer.model.activation == 'relu' and nsteps == 25000",
        "optimizer.model.params.μtilde exists", "not (optimizer.lr < 0.01) or nsteps == 5000",
        "optimizer.model.seed in [1, 2, 3, 4, 5]", "optimizer.lr missing",
        "status == 'crashed' or outcome ~ 'NaN'", "inputs.optimizer.inputs.lr != 0.01"]).map(
        lambda v: [v])),
    # drawn from the store's own records inside the test (see `resolve`):
    st.tuples(st.just("labels"), st.integers(1, 5)),
    st.tuples(st.just("match"), st.sampled_from([
        {"eq": ["optimizer.lr"]}, {"eq": ["optimizer.model.activation"], "include_reference": False},
        {"ge": ["nsteps"]}])),
)
#: Every registered filter appears in FILTER (where: see test_where.py too).
COVERED = {"tags", "any_tag", "not_tag", "status", "after", "before", "on", "label", "reason",
           "outcome", "user", "main_file", "version", "duration", "output", "params",
           "script_arguments", "stdout_stderr", "generic_filter", "labels", "match", "where",
           "platform"}

PREDICATES = {"long": lambda r: (r.duration or 0) > 3600,
              "has_fig": lambda r: any(t.startswith("fig") for t in r.tags)}


def resolve(specs, records, rng):
    """Fill in the specs that need real records (labels, match references)."""
    out = []
    for name, args in specs:
        if name == "labels":
            args = [r.label for r in rng.sample(records, args)] + ["no-such-label"]
        elif name == "match":
            args = dict(args, ref=rng.choice(records))
        out.append((name, args))
    return out


def apply(view, specs):
    for name, args in specs:
        if name == "generic_filter":
            view = view.filter(PREDICATES[args])
        elif isinstance(args, dict):
            view = getattr(view.filter, name)(**args)
        else:
            view = getattr(view.filter, name)(*args)
    return view


@pytest.fixture(scope="module")
def oracle(demo_project):
    """The records as Sumatra itself loads them (record-at-a-time)."""
    records = sumatra_records(demo_project.path)
    assert len(records) == demo_project.n_records
    return RecordStoreView(records=records)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(FILTER, min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_sql_equals_python_in_any_order(demo_project, oracle, specs, seed):
    specs = resolve(specs, oracle.aslist(), random.Random(seed))
    view = RecordStoreView(project=demo_project.path)
    expected = apply(oracle, specs).labels()
    assert apply(view, specs).labels() == expected
    shuffled = list(specs)
    random.Random(seed).shuffle(shuffled)
    assert apply(view, shuffled).labels() == expected
    assert len(apply(view, shuffled)) == len(expected)


@pytest.fixture(scope="module")
def drifted_demo(demo_project, backend, tmp_path_factory):
    """A copy of the demo whose tag rows disagree with the ``tags`` column."""
    from conftest import _copy_project
    copy = _copy_project(demo_project, str(tmp_path_factory.mktemp("drifted") / "demo"), backend)
    drift_tag_rows(RecordStoreView(project=copy.path)._store)
    return copy


TAG_FILTER = st.one_of(
    st.tuples(st.sampled_from(["tags", "any_tag", "not_tag"]),
              st.lists(st.sampled_from(TAG_TERMS + ["gone", "fig[*]", "[f]ig"]),
                       min_size=1, max_size=3)),
    st.tuples(st.just("status"), st.lists(st.sampled_from(
        ["finished", "crashed", "killed", "running", "initialized"]), min_size=1, max_size=2)),
    st.tuples(st.just("where"), st.sampled_from([
        "status == 'crashed'", "status != 'finished'", "'fig' in tags", "'fig' not in tags",
        "tags ~ 'fig'", "tags matches '^_'", "status ~ 'ing'", "status missing",
        "'gone' in tags"]).map(lambda v: [v])),
    st.tuples(st.sampled_from(["after", "before"]), st.sampled_from(DATES).map(lambda d: [d])),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(TAG_FILTER, min_size=1, max_size=3))
def test_tags_come_from_the_column_when_tag_rows_drift(drifted_demo, oracle, specs):
    """Tag filters read each record's ``tags`` column, also where Sumatra's tag
    rows are missing or stale: the answers equal the consistent store's."""
    view = RecordStoreView(project=drifted_demo.path)
    assert apply(view, specs).labels() == apply(oracle, specs).labels()


def test_match_reads_the_reference_with_the_key_it_compares():
    ref = {"files": {"data.csv": {"rows": 10}}}
    match = MatchFilter(ref, eq=["files.`data.csv`.rows"])
    assert match.expr == And([Compare(Key(("files", "data.csv", "rows")), "==", 10)])
    assert match.test(SimpleNamespace(label="r", parameters={"files": {"data.csv": {"rows": 10}}}))
    with pytest.raises(QueryError, match="no parameter 'files.data.csv.rows'"):
        MatchFilter(ref, eq=["files.data.csv.rows"])


def test_every_registered_filter_is_covered():
    # A new filter must be added to FILTER above (and so to COVERED).
    assert set(FILTERS) == COVERED


def test_sql_filters_push_down_wherever_they_stand(demo_project):
    view = RecordStoreView(project=demo_project.path)
    late = view.filter(PREDICATES["long"]).filter.label("202011").filter.tags("killed")
    assert not late.pushed_down
    assert "SQL: label('202011'), tags('killed')" in late.explain()
    assert "Python: generic_filter" in late.explain()
    early = view.filter.label("202011").filter.tags("killed")
    assert early.pushed_down


def test_fig_is_not_figure1(demo_project, oracle):
    view = RecordStoreView(project=demo_project.path)
    fig = set(view.filter.tags("fig").labels())
    assert fig == {r.label for r in oracle if "fig" in r.tags}
    substring = {r.label for r in oracle if any("fig" in t for t in r.tags)}
    assert fig < substring  # Sumatra's tags__contains would have returned these
    assert set(view.filter.tags("fig*").labels()) == substring


def test_status_word_matches_status_tag(demo_project, oracle):
    view = RecordStoreView(project=demo_project.path)
    finished = {r.label for r in oracle if "_finished_" in r.tags}
    assert finished and set(view.filter.tags("finished").labels()) == finished
    assert set(view.filter.status("finished").labels()) == finished


def test_on_is_the_utc_day_of_the_labels(demo_project, oracle):
    view = RecordStoreView(project=demo_project.path)
    labels = view.filter.on(20200915).labels()
    assert labels and all(lbl.startswith("20200915-") for lbl in labels)
    assert set(labels) == {r.label for r in oracle if r.label.startswith("20200915-")}
    assert view.filter.after(20200915).filter.before(20200916).labels() == labels


@pytest.mark.parametrize("make, message", [
    (lambda v: v.filter.after(2020133), "bad date 2020133"),
    (lambda v: v.filter.tags(), "needs at least one tag"),
    (lambda v: v.filter.status("done"), "unknown status 'done'"),
    (lambda v: v.filter.duration(min="2 hourz"), "bad duration"),
    (lambda v: v.filter.params(eq=3), "needs a dict"),
    (lambda v: v.filter.label(3), "needs a string"),
    (lambda v: v.filter.nope(), "unknown filter 'nope'"),
    (lambda v: v.filter(3), "needs a function"),
])
def test_bad_filter_arguments_fail_where_written(demo_project, make, message):
    with pytest.raises(QueryError, match=message):
        make(RecordStoreView(project=demo_project.path))


@pytest.mark.parametrize("pattern, text, expected", [
    ("fig*", "figure1", True), ("fig*", "afig", False), ("fig?", "fig", False),
    ("[Ff]ig", "Fig", True), ("[!F]ig", "Fig", False), ("a.b", "axb", False),
    ("*", "multi\nline", True), ("x$", "x$", True), ("[", "[", True), ("a^b", "a^b", True),
    ("fig", "fig\n", False), ("(", "(", True), ("[a-c]x", "bx", True),
])
def test_glob_regex_matches_fnmatch(pattern, text, expected):
    import fnmatch
    import re
    assert fnmatch.fnmatchcase(text, pattern) == expected
    assert bool(re.search(glob_regex(pattern), text)) == expected
