"""Bad input: a clear one-line error (or the right answer), never a traceback,
the store unchanged (issue 12, §5, §6, §9).

Dates at the edge of the calendar, deeply nested and very long ``--where``
expressions, long label lists, damaged ``.smt/project`` and saved-query files,
saved queries that are not valid, ``smt admin --host`` that does not resolve.
Through real ``smt`` processes, click's CliRunner and the Python API, on
SQLite and PostgreSQL; the oracle for answers is the view that runs every
filter in Python over the records as Sumatra loads them.
"""
import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from smt_query import RecordStoreView
from smt_query.cli.query import query as query_command
from smt_query.errors import QueryError
from smt_query.where import (MAX_DEPTH, MAX_LIST_DEPTH, And, Compare, Field, Key, Not, Or,
                             WhereSyntaxError, parse)

from support import store_digest

SMT = os.path.join(os.path.dirname(sys.executable), "smt")


def smt(path, *args, input=None):
    """Run a real ``smt`` in ``path``; a failure must be one ``Error:`` line."""
    done = subprocess.run([SMT, *args], cwd=path, capture_output=True, text=True, input=input,
                          timeout=600)
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode:
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return done


def error_of(done, status=1):
    assert done.returncode == status, (done.returncode, done.stdout, done.stderr)
    return done.stderr.strip()


@pytest.fixture(scope="module")
def oracle(demo_project):
    """The demo's records as Sumatra loads them, filtered in Python only."""
    records = RecordStoreView(project=demo_project.path, pushdown=False).aslist()
    return lambda: RecordStoreView(records=records)


@pytest.fixture
def view(demo_project):
    return RecordStoreView(project=demo_project.path)


@pytest.fixture
def unchanged(demo_project):
    """Asserts at the end of the test that the demo store is as it was."""
    before = store_digest(demo_project.store_uri)
    yield
    assert store_digest(demo_project.store_uri) == before


# -- dates at the edge of the calendar -------------------------------------------------

EDGE_DATES = [
    (["--on", "9999"], lambda v: v.filter.on(9999), 0),
    (["--before", "9999-12-31"], lambda v: v.filter.before("9999-12-31"), "all"),
    (["--after", "9999-12-31T23:59:59"], lambda v: v.filter.after("9999-12-31T23:59:59"), 0),
    (["--on", "9999-12-31T23:59:59.999999"],
     lambda v: v.filter.on("9999-12-31T23:59:59.999999"), 0),
    (["--where", "timestamp < 9999"], lambda v: v.filter.where("timestamp < 9999"), "all"),
    (["--where", "timestamp <= 9999 and timestamp > 00010101"],
     lambda v: v.filter.where("timestamp <= 9999").filter.where("timestamp > 00010101"), "all"),
    (["--where", "timestamp > 99991231 or timestamp == 9999"],
     lambda v: v.filter.where("timestamp > 99991231 or timestamp == 9999"), 0),
]


@pytest.mark.parametrize("args, build, expected", EDGE_DATES)
def test_dates_at_the_end_of_the_calendar(demo_project, oracle, view, unchanged, args, build,
                                          expected):
    """Year 9999 is a year like another: its span is open at the end."""
    done = smt(demo_project.path, "query", *args, "--format", "labels")
    assert done.returncode == 0
    want = build(oracle()).labels()
    assert len(want) == (demo_project.n_records if expected == "all" else expected)
    assert done.stdout.split() == want
    assert build(view).labels() == want and build(view).pushed_down


def test_year_one_and_dates_out_of_range(demo_project, oracle, view, unchanged):
    everything = oracle().labels()
    for date in ("0001", "00010101", "0001-01-01", "0001-01-01T00:00-01:00"):
        assert view.filter.after(date).labels() == everything
        assert view.filter.before(date).labels() == []
        assert len(view.filter.on(date)) == 0
    assert view.filter.on(dt.datetime.max).labels() == []
    assert view.filter.before(dt.datetime.max).labels() == everything
    # a time zone moving a date out of years 1..9999: a clear error, in Python and the CLI
    for make in (lambda: view.filter.after("0001-01-01T00:00+01:00"),
                 lambda: view.filter.on("9999-12-31T23:30-01:00"),
                 lambda: view.filter.before(dt.datetime(1, 1, 1, tzinfo=dt.timezone(
                     dt.timedelta(hours=2)))),
                 lambda: view.filter.where("timestamp >= '0001-01-01T00:00+01:00'")):
        with pytest.raises(QueryError, match="out of range"):
            make()
    done = smt(demo_project.path, "query", "--before", "0001-01-01T00:00+01:00")
    assert "out of range" in error_of(done, 2)
    runner = CliRunner().invoke(query_command, ["--on", "9999-12-31T23:30-01:00"])
    assert runner.exit_code == 2 and "out of range" in runner.output


# -- deeply nested and long expressions ------------------------------------------------

def nested(depth, leaf):
    """``leaf(depth) and (leaf(depth - 1) or (... leaf(0)))``: ``depth`` levels."""
    text = leaf(0)
    for i in range(1, depth + 1):
        text = f"{leaf(i)} {'and' if i % 2 else 'or'} ({text})"
    return text


LEAVES = {
    "parameters": lambda i: f"optimizer.model.seed != {i}",
    "fields": lambda i: f"duration != {i}",
    "mixed": lambda i: (f"optimizer.lr > 0.00{i % 9 + 1}" if i % 3 == 0 else
                        f"label ~ '{i % 10}'" if i % 3 == 1 else f"not nsteps == {i}"),
    "long keys": lambda i: f"optimizer.model.params.μtilde.x.y.z != {i}" if i % 2
    else f"reason ~ '{i}'",
}


def test_parser_takes_any_number_of_parentheses_and_flattens():
    leaf = Compare(Key(["a"]), "==", 1)
    assert parse("(" * 300 + "a == 1" + ")" * 300) == leaf
    assert parse("not (" * 50 + "a == 1" + ")" * 50) == parse("not " * 50 + "a == 1")
    chain = parse(" or ".join(f"a == {i}" for i in range(1000)))
    assert isinstance(chain, Or) and len(chain.children) == 1000
    right = parse(" and (".join(f"a == {i}" for i in range(500)) + ")" * 499)
    assert isinstance(right, And) and len(right.children) == 500
    deep = parse(nested(MAX_DEPTH - 1, LEAVES["mixed"]))
    assert str(parse(str(deep))) == str(deep)


@pytest.mark.parametrize("text, position, message", [
    ("not " * 1000 + "a == 1", 4 * (1000 - MAX_DEPTH - 1) + 1, "nested too deeply"),
    (nested(MAX_DEPTH + 5, LEAVES["fields"]), None, "nested too deeply"),
    ("a == " + "[" * 1000 + "]" * 1000, 5 + MAX_LIST_DEPTH + 1, "lists nested too deeply"),
    ("(" * 300 + "a == 1" + ")" * 299, 606, "expected ')' to close the '(' at position 1"),
])
def test_too_deep_is_a_syntax_error_at_a_position(text, position, message):
    with pytest.raises(WhereSyntaxError) as info:
        parse(text)
    first = str(info.value).splitlines()[0]
    assert message in first
    if position is not None:
        assert first.startswith(f"bad --where expression at position {position}:")


def test_trees_built_in_python_are_checked(view):
    tree = Compare(Field("duration"), ">", 1)
    for _ in range(MAX_DEPTH + 1):
        tree = Not(tree)
    with pytest.raises(QueryError, match="nested too deeply"):
        view.filter.where(tree)
    value = 1
    for _ in range(1000):
        value = [value]
    with pytest.raises(QueryError, match="nested too deeply"):
        Compare(Key(["a"]), "==", value)
    with pytest.raises(QueryError, match="nested too deeply"):
        view.filter.params(eq={"a": value})


def _with_frames(n, fn):
    """``fn()`` called ``n`` frames deeper than here (as in a notebook's kernel)."""
    return fn() if n == 0 else _with_frames(n - 1, fn)


@pytest.mark.parametrize("leaves", sorted(LEAVES))
def test_deepest_expressions_run_in_sql_or_python_alike(demo_project, oracle, view, unchanged,
                                                        leaves):
    """The deepest expression the parser takes gives the Python answer on
    both databases, SQL or not, even with a few hundred frames already used."""
    text = nested(MAX_DEPTH, LEAVES[leaves])
    expected = _with_frames(300, lambda: oracle().filter.where(text).labels())
    assert _with_frames(300, lambda: view.filter.where(text).labels()) == expected
    assert _with_frames(300, lambda: len(view.filter.where(text))) == len(expected)
    shallow = nested(8, LEAVES[leaves])
    assert view.filter.where(shallow).labels() == oracle().filter.where(shallow).labels()


@pytest.mark.parametrize("text, message", [
    ("(" * 300 + "optimizer.model.seed == 1" + ")" * 300, None),
    (" or ".join(f"optimizer.model.seed == {i}" for i in range(1000)), None),
    (" and ".join(f"label != 'x{i}'" for i in range(1000)), None),
    (nested(MAX_DEPTH, LEAVES["long keys"]), None),
    ("not " * 1000 + "optimizer.model.seed == 1", "nested too deeply"),
])
def test_cli_deep_and_long_where(demo_project, oracle, unchanged, text, message):
    done = smt(demo_project.path, "query", "--where", text, "--format", "labels")
    if message:
        assert message in error_of(done)
        assert done.stdout == ""
    else:
        assert done.returncode == 0
        assert done.stdout.split() == oracle().filter.where(text).labels()


# -- long lists and disjunctions (§6) ---------------------------------------------------

def _sql_params(view):
    """The number of parameters of the view's SQL query."""
    qs = view._sql()
    assert qs is not None, view.explain()
    return len(qs.query.get_compiler(qs.db).as_sql()[1])


@pytest.mark.parametrize("text", [
    "optimizer.model.seed in [" + ", ".join(map(str, range(600))) + "]",
    " or ".join(f"optimizer.model.seed == {i}" for i in range(0, 2000, 2)),
    " and ".join(f"optimizer.model.seed != {i}" for i in range(1, 2001, 2)),
    "optimizer.model.activation in [" + ", ".join(f"'a{i}'" for i in range(3000)) + ", 'relu']",
    " or ".join(f"optimizer.lr == {i / 1000}" for i in range(1000)) + " or nsteps == 5000",
    "duration in [" + ", ".join(str(i) for i in range(2000)) + "]",
    " or ".join(f"label == 'x{i}'" for i in range(1000)) + " or label ~ '0915'",
    "not not (" + " or ".join(f"optimizer.model.seed == {i}" for i in range(1000)) + ")",
])
def test_long_lists_and_disjunctions_run_in_sql(demo_project, oracle, view, unchanged, text):
    """A long list is one set lookup, sent as one parameter: no limit on the
    depth of the SQL nor on the number of its parameters."""
    chosen = view.filter.where(text)
    assert chosen.pushed_down
    assert _sql_params(chosen) < 1000    # whatever the length of the list
    expected = oracle().filter.where(text).labels()
    assert chosen.labels() == expected and len(chosen) == len(expected)
    done = smt(demo_project.path, "query", "--where", text, "--count")
    assert done.returncode == 0 and int(done.stdout) == len(expected)


def test_many_labels(demo_project, oracle, view, unchanged):
    real = oracle().labels()
    wanted = real[::3] + [f"20200101-000000_{i:06x}" for i in range(6000)]
    chosen = view.filter.labels(wanted)
    assert chosen.pushed_down and _sql_params(chosen) < 10
    assert chosen.labels() == real[::3]
    assert view.filter.labels(*wanted).filter.on(2020).labels() == \
        oracle().filter.labels(*wanted).filter.on(2020).labels()
    done = smt(demo_project.path, "query", *wanted[:5000], "--format", "labels")
    assert done.returncode == 0 and done.stdout.split() == real[::3]


def test_many_filters_beyond_what_sql_takes(demo_project, oracle, view, unchanged):
    """A query the database refuses as too large runs in Python: never a
    store error for what is a limit of the query."""
    options = [a for i in range(1200) for a in ("--where", f"label != 'x{i}'")]
    done = smt(demo_project.path, "query", *options, "--label", "2020", "--count")
    assert done.returncode == 0 and int(done.stdout) == len(oracle().filter.label("2020"))
    chosen = view
    for i in range(1200):
        chosen = chosen.filter.label(f"{i % 7}")
    assert chosen.labels() == [r.label for r in oracle() if all(
        str(d) in r.label for d in range(7))]


# -- globs that are not valid ranges ---------------------------------------------------

@pytest.mark.parametrize("pattern, everything", [("[z-a]", False), ("[z-a]*", False),
                                                 ("[!z-a]*", True), ("*[9-0]?", False)])
def test_reversed_ranges_in_globs(demo_project, oracle, view, unchanged, pattern, everything):
    done = smt(demo_project.path, "query", "--label", pattern, "--format", "labels")
    assert done.returncode == 0
    expected = oracle().filter.label(pattern).labels()
    assert len(expected) == (demo_project.n_records if everything else 0)
    assert done.stdout.split() == expected == view.filter.label(pattern).labels()
    assert view.filter.reason(pattern).labels() == oracle().filter.reason(pattern).labels()


# -- a damaged .smt/project -------------------------------------------------------------

BAD_PROJECT_FILES = {
    "empty": "", "blank": " \n", "truncated": '{"name": "demo", "record_store": {',
    "a list": "[1, 2]", "a string": '"demo"', "null": "null", "not UTF-8": b"\xff\xfe{",
    "no store": '{"name": "demo"}', "store is text": '{"name": "demo", "record_store": "x"}',
    "no name": '{"record_store": {"type": "a.B"}}',
    "bad class": '{"name": "demo", "record_store": {"type": 3}}',
    "unknown class": '{"name": "demo", "record_store": {"type": "no_such_module.Store"}}',
}
COMMANDS = [("query", "--count"), ("query", "--saved"), ("compare", "--on", "2020"),
            ("querystore", "status"), ("querystore", "enable"), ("querystore", "disable"),
            ("querystore", "indexes", "status"), ("querystore", "indexes", "add"),
            ("admin", "--port", "0"), ("admin", "--create-user", "ada")]


@pytest.fixture(params=sorted(BAD_PROJECT_FILES))
def bad_project(request, tmp_path):
    content = BAD_PROJECT_FILES[request.param]
    os.makedirs(tmp_path / ".smt")
    path = tmp_path / ".smt" / "project"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return tmp_path


def test_damaged_project_file_every_command(bad_project):
    """Every command that reads the project says in one line what is wrong
    with its file (``--saved`` needs only the saved queries; ``status`` of a
    class that cannot be imported shows it)."""
    before = (bad_project / ".smt" / "project").read_bytes()
    for command in COMMANDS:
        done = smt(bad_project, *command, input="secret-password\n")
        if command == ("query", "--saved") or (
                command == ("querystore", "status") and b"no_such_module" in before):
            assert done.returncode == 0
            continue
        message = error_of(done)
        assert any(s in message for s in (".smt/project", "Sumatra project", "record store is")), \
            (command, message)
    assert (bad_project / ".smt" / "project").read_bytes() == before
    assert sorted(os.listdir(bad_project / ".smt")) == ["project"]   # nothing created


def test_damaged_project_file_python_and_clirunner(bad_project, chdir):
    chdir(bad_project)
    for make in (lambda: RecordStoreView(), lambda: RecordStoreView(project=str(bad_project))):
        with pytest.raises(QueryError, match="project"):
            make()
    result = CliRunner().invoke(query_command, ["--count"])
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    from smt_query.recordstore import use_query_store
    with pytest.raises(QueryError):
        use_query_store(True, str(bad_project))


# -- saved queries ---------------------------------------------------------------------

BAD_SAVED_FILES = {
    "a list": ("[]", "cannot read saved queries"),
    "queries a list": ('{"queries": []}', "cannot read saved queries"),
    "query a number": ('{"queries": {"q": 5}}', "not valid"),
    "bad where": ('{"queries": {"q": {"where": ["a =="]}}}', "not valid"),
    "unknown option": ('{"queries": {"q": {"bogus": 1}}}', "not valid"),
    "bad date": ('{"queries": {"q": {"after": "someday"}}}', "not valid"),
    "tag a number": ('{"queries": {"q": {"tag": 5}}}', "not valid"),
    "flag not a flag": ('{"queries": {"q": {"has_output": "yes"}}}', "not valid"),
}


@pytest.fixture(scope="module")
def small_project(backend, tmp_path_factory):
    from smt_query.demo import init_project, smt_run
    path = str(tmp_path_factory.mktemp("saved") / "proj")
    init_project(path, {"a": 1}, store=backend.new_store())
    smt_run(path, "default.json", reason="one")
    from smt_query.demo import store_uri
    return path, store_uri(path)


@pytest.mark.parametrize("case", sorted(BAD_SAVED_FILES))
def test_malformed_saved_queries_file(small_project, case):
    path, uri = small_project
    content, message = BAD_SAVED_FILES[case]
    saved = os.path.join(path, ".smt", "smt_query.json")
    with open(saved, "w", encoding="utf-8") as f:
        f.write(content)
    before = store_digest(uri)
    try:
        assert message in error_of(smt(path, "query", "@q"))
        listing = smt(path, "query", "--saved")
        if message == "not valid":      # the file is fine, one query is not: listed as such
            assert listing.returncode == 0 and "\nq     (not valid: " in listing.stdout
            assert smt(path, "query", "--save", "other", "--tag", "x").returncode == 0
            with open(saved, encoding="utf-8") as f:
                assert json.load(f)["queries"]["q"] == json.loads(content)["queries"]["q"]
        else:                           # a file it cannot read is never overwritten
            assert message in error_of(listing)
            assert message in error_of(smt(path, "query", "--save", "other", "--tag", "x"))
            with open(saved, encoding="utf-8") as f:
                assert f.read() == content
    finally:
        os.remove(saved)
    assert store_digest(uri) == before


@pytest.mark.parametrize("args, status, message", [
    (["--where", "a =="], 1, "bad --where expression"),
    (["--where", "(" * 300 + "a == 1"], 1, "expected ')'"),
    (["--label", "x", "--add-tag", "a", "--remove-tag", "b"], 2, "not both"),
    (["--dry-run"], 2, "--dry-run goes with"),
])
def test_saved_query_checked_before_it_is_written(small_project, chdir, args, status, message):
    path, uri = small_project
    chdir(path)
    saved = os.path.join(path, ".smt", "smt_query.json")
    assert smt(path, "query", "--save", "good", "--tag", "t").returncode == 0
    with open(saved, "rb") as f:
        before_file, before_store = f.read(), store_digest(uri)
    try:
        assert message in error_of(smt(path, "query", "--save", "bad", *args), status)
        result = CliRunner().invoke(query_command, ["--save", "bad2", *args])
        assert result.exit_code == status
    finally:
        with open(saved, "rb") as f:
            after = f.read()
        os.remove(saved)
    assert after == before_file and store_digest(uri) == before_store


@pytest.mark.parametrize("spec, message", [
    ({"bogus": 1}, "unknown query option"), ({"after": "someday"}, "bad date"),
    ({"where": "a =="}, "bad --where"), ({"tag": 5}, "takes text"),
    ({"label": ["[z-a", 3]}, "needs a string"), ({"min_duration": "2 fortnights"}, "bad duration"),
    ("tag=x", "dict of options"),
])
def test_save_query_in_python_refuses_specs_that_are_not_valid(small_project, spec, message):
    from smt_query.query import save_query, saved_queries
    path, _ = small_project
    with pytest.raises(QueryError, match=message):
        save_query("q", spec, start=path)
    assert not os.path.exists(os.path.join(path, ".smt", "smt_query.json"))
    assert saved_queries(path) == {}


# -- smt admin --host --------------------------------------------------------------------

@pytest.mark.parametrize("host", ["nonexistent.invalid", "a..b", "x" * 70])
def test_admin_host_that_does_not_resolve(small_project, host):
    path, uri = small_project
    smt(path, "admin", "--create-user", "ada", input="a-long-password\n")
    before = store_digest(uri)
    done = smt(path, "admin", "--host", host, "--port", "0")
    assert "cannot listen on" in error_of(done) and host[:20] in done.stderr
    assert store_digest(uri) == before
