"""The --where language: parser, semantics, and SQL = Python on real stores.

The pure-Python evaluation is the oracle: every expression compiled to SQL must
select exactly the records it accepts, on SQLite and on PostgreSQL.
"""
import datetime as dt
import json
import math
import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from smt_query.errors import QueryError
from smt_query.params import split_key
from smt_query.where import (And, Compare, Exists, Field, Key, Missing, Not, Or,
                             WhereSyntaxError, equal, parse)
from support import drift_tag_rows


# -- parser -------------------------------------------------------------------

def C(key, op, value):
    return Compare(key, op, value)


@pytest.mark.parametrize("text, expected", [
    ("a == 1 or b == 2 and c == 3", Or([C("a", "==", 1), And([C("b", "==", 2), C("c", "==", 3)])])),
    ("(a == 1 or b == 2) and c == 3", And([Or([C("a", "==", 1), C("b", "==", 2)]), C("c", "==", 3)])),
    ("not a == 1 and b == 2", And([Not(C("a", "==", 1)), C("b", "==", 2)])),
    ("not (a == 1 and b == 2)", Not(And([C("a", "==", 1), C("b", "==", 2)]))),
    ("not not a exists", Not(Not(Exists(Key(["a"]))))),
    ("a == 1 and b == 2 and c == 3", And([C("a", "==", 1), C("b", "==", 2), C("c", "==", 3)])),
    ("x missing or y exists", Or([Missing(Key(["x"])), Exists(Key(["y"]))])),
])
def test_precedence(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("literal, value", [
    ("1", 1), ("-3", -3), ("1e-3", 1e-3), ("-2.5", -2.5), (".5", 0.5), ("1E3", 1000.0),
    ("2.", 2.0), ("'it\\'s'", "it's"), ('"say \\"hi\\""', 'say "hi"'),
    ("'a\\\\b'", "a\\b"), ("'tab\\there'", "tab\there"), ("'\\u03bc'", "μ"),
    ("'\\U0001F600'", "😀"), ("'μ😀'", "μ😀"), ("true", True), ("True", True), ("false", False),
    ("False", False), ("null", None), ("None", None), ("[]", []), ("[1, 'a', [null]]", [1, "a", [None]]),
    ("[1, 2,]", [1, 2]),
])
def test_literals(literal, value):
    node = parse("k == " + literal)
    assert node.value == value and type(node.value) is type(value)


def test_keys_backticks_unicode_and_fields():
    assert parse("optimizer.model.params.μtilde exists").key == Key(
        ("optimizer", "model", "params", "μtilde"))
    assert parse("a.`b.c`.`sp ace` == 1").key.parts == ("a", "b.c", "sp ace")
    assert parse("`a``b` == 1").key.parts == ("a`b",)
    assert parse("a.0.x-y == 1").key.parts == ("a", "0", "x-y")
    assert parse("`and`.`in` == 1").key.parts == ("and", "in")
    assert parse("status == 'crashed'").key == Field("status")
    assert parse("`status` == 'crashed'").key == Key(("status",))
    assert parse("model.status == 1").key == Key(("model", "status"))
    assert parse("label ~ '2020'").key == Field("label")


def test_value_first_forms_flip():
    assert parse("3 < x") == C("x", ">", 3)
    assert parse("'a' >= x.y") == C("x.y", "<=", "a")
    assert parse("'fig' in tags") == Compare(Field("tags"), "contains", "fig")
    assert parse("'fig' not in tags") == Compare(Field("tags"), "not contains", "fig")
    assert parse("3 in seeds") == C("seeds", "contains", 3)
    assert parse("[1] not in q") == C("q", "not contains", [1])


def test_key_parse_matches_get_task_param_without_backticks():
    for text in ("a", "a.b.c", "a..b", "sp ace.k", "μ.x", ""):
        assert Key.parse(text).parts == split_key(text)
    assert Key.parse("a.`b.c`.d").parts == ("a", "b.c", "d")
    assert Key.parse("`a``b`").parts == ("a`b",)
    with pytest.raises(QueryError):
        Key.parse("a.`b")
    with pytest.raises(QueryError):
        Key.parse("`a`b")


@pytest.mark.parametrize("text, position, message", [
    ("optimizer.lr >", 15, "expected a value after '>'"),
    ("optimizer.lr >= ", 17, "expected a value after '>='"),
    ("a = 1", 3, "'=' is not an operator"),
    ("(a == 1", 8, "expected ')'"),
    ("a == 1)", 7, "unbalanced ')'"),
    ("a == 'x", 6, "unterminated string"),
    ("", 1, "empty expression"),
    ("   ", 4, "empty expression"),
    ("a == 1 b == 2", 8, "unexpected 'b'"),
    ("a 1", 3, "expected an operator"),
    ("a not 1", 7, "expected 'in' after 'not'"),
    ("and == 1", 1, "'and' is a keyword"),
    ("a == 1abc", 6, "bad number"),
    ("a == abc", 6, "quote strings"),
    ("a == [1, 2", 11, "expected ',' or ']'"),
    ("a == '\\q'", 7, "unknown escape"),
    ("a == '\\ud800'", 7, "is not a character"),
    ("a.`b", 3, "unclosed backtick"),
    ("a.`` == 1", 3, "empty key segment"),
    ("a. == 1", 3, "expected a key segment"),
    ("a in 3", 6, "needs a list"),
    ("a ~ 3", 5, "needs a string"),
    ("a matches '('", 11, "bad regular expression"),
    ("a < [1]", 5, "compares numbers or strings"),
    ("a < true", 5, "compares numbers or strings"),
    ("1 ~ a", 3, "put the key before"),
    ("1 == 2", 6, "expected a key"),
    ("tags == 'fig'", 1, "does not apply to tags"),
    ("status < 'x'", 1, "does not apply to status"),
    ("status == 'finshed'", 11, "unknown status"),
    ("label == 3", 10, "label is text"),
    ("timestamp > 'someday'", 13, "bad date"),
    ("timestamp > 1.5", 13, "compares with dates"),
    ("duration < '2 fortnights'", 12, "bad duration"),
    ("a == 1 and", 11, "expected a key, a value or '('"),
    ("not", 4, "expected a key, a value or '('"),
    ("a == 1 or (b == 2", 18, "expected ')' to close the '(' at position 11"),
])
def test_syntax_errors_name_a_position(text, position, message):
    with pytest.raises(WhereSyntaxError) as info:
        parse(text)
    err = info.value
    first, shown, caret = str(err).split("\n")
    assert first.startswith(f"bad --where expression at position {position}: ")
    assert message in first
    assert err.position == position - 1 and shown == "  " + text
    assert caret == "  " + " " * (position - 1) + "^"
    assert isinstance(err, QueryError)


def test_compare_validates_api_values():
    assert C("a", "==", (1, 2)).value == [1, 2]
    assert C("a", "==", {"b": (1,)}).value == {"b": [1]}
    for op, value in [("in", 1), ("<", None), ("~", 1), ("<", {"a": 1}), ("contains", {}),
                      ("bogus", 1)]:
        with pytest.raises(QueryError):
            C("a", op, value)
    with pytest.raises(QueryError):
        C("a", "==", object())


def test_import_is_cheap():
    code = ("import sys, smt_query.where as w; w.parse('a.b == 1 and status == \"failed\"');"
            "assert 'django' not in sys.modules and 'pandas' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- semantics ----------------------------------------------------------------

def td(inputs, name="Task"):
    """A task description."""
    return {"taskname": name, "module": "tasks", "inputs": inputs}


@pytest.mark.parametrize("params, text, expected", [
    # a missing key makes every comparison false; only `missing` holds
    ({}, "a == 1", False), ({}, "a != 1", False), ({}, "a < 1", False), ({}, "a in [1]", False),
    ({}, "a not in [1]", False), ({}, "1 in a", False), ({}, "1 not in a", False),
    ({}, "a ~ ''", False), ({}, "a exists", False), ({}, "a missing", True),
    ({}, "not (a == 1)", True), ({}, "not a != 1", True),
    # numbers as numbers, bools apart, strings apart
    ({"a": 1}, "a == 1.0", True), ({"a": 1.0}, "a == 1", True), ({"a": True}, "a == 1", False),
    ({"a": 1}, "a == true", False), ({"a": True}, "a == true", True), ({"a": "1"}, "a == 1", False),
    ({"a": "1"}, "a != 1", True), ({"a": "1"}, "a < 2", False), ({"a": "1"}, "a >= 2", False),
    ({"a": 1}, "a < '2'", False), ({"a": "abc"}, "a < 'abd'", True), ({"a": "B"}, "a < 'a'", True),
    ({"a": None}, "a == null", True), ({"a": None}, "a != null", False),
    ({"a": 0}, "a == null", False), ({"a": None}, "a exists", True),
    ({"a": math.nan}, "a == 1", False), ({"a": math.nan}, "a != 1", True),
    ({"a": math.nan}, "a < 1", False), ({"a": -0.0}, "a == 0", True),
    # lists: whole-list equality, membership, containment
    ({"a": [1, 2]}, "a == [1, 2.0]", True), ({"a": [1, 2]}, "a == [2, 1]", False),
    ({"a": [1, [2]]}, "a == [1, [2]]", True), ({"a": [True]}, "a == [1]", False),
    ({"a": 2}, "a in [1, 2]", True), ({"a": 2}, "a not in [1, 3]", True),
    ({"a": [1, 2]}, "a in [[1, 2], 3]", True), ({"a": [1, 2]}, "2 in a", True),
    ({"a": [1, 2]}, "3 not in a", True), ({"a": "123"}, "2 in a", False),
    ({"a": "123"}, "2 not in a", False), ({"a": [[1], 2]}, "[1] in a", True),
    # text
    ({"a": "NaN at step 3"}, "a ~ 'NaN'", True), ({"a": "nan"}, "a ~ 'NaN'", False),
    ({"a": 5}, "a ~ '5'", False), ({"a": "relu6"}, "a matches '^relu[0-9]$'", True),
    # dicts are values too (never equal to a literal)
    ({"a": {"b": 1}}, "a exists", True), ({"a": {"b": 1}}, "a == 1", False),
    ({"a": {"b": 1}}, "a != 1", True),
    # task descriptions: inputs levels may be omitted; direct keys win
    (td({"optimizer": td({"lr": 0.1})}), "optimizer.lr == 0.1", True),
    (td({"optimizer": td({"lr": 0.1})}), "inputs.optimizer.inputs.lr == 0.1", True),
    (td({"optimizer": td({"lr": 0.1})}), "inputs.optimizer.lr == 0.1", True),
    ({**td({"lr": 1}), "lr": 2}, "lr == 2", True),
    ({"taskname": "T", "module": "m", "inputs": None, "x": 1}, "x == 1", True),
    ({"taskname": "T", "inputs": {"x": 1}}, "x exists", False),
    ({"inputs": {"x": 1}}, "x exists", False),
    # command-line overrides: a literal dotted key is the nested path it names
    ({"model": {"lr": 0.1}, "model.lr": 0.2}, "model.lr == 0.2", True),
    ({"model": {"lr": 0.1, "n": 3}, "model.lr": 0.2}, "model.n == 3", True),
    ({"model.lr": 0.2}, "model exists", True), ({"model": 5, "model.lr": 1}, "model == 5", False),
    ({"a.b": 1}, "`a.b` exists", False),
    (td({"lr": 1}) | {"optimizer.lr": 2}, "optimizer.lr == 2", True),
    (td({"seed": 1}) | {"inputs.seed": 2}, "seed == 2", True),
    # ... where get_task_param finds it: through task descriptions, in stored order
    (td({"optimizer": td({"lr": 1, "model": {"k": 2}})}) | {"optimizer.lr": 3},
     "optimizer.model.k == 2", True),
    (td({"optimizer": td({"lr": 1})}) | {"optimizer.lr": 3}, "inputs.optimizer.inputs.lr == 3", True),
    (td({"optimizer": td({"lr": 1})}) | {"optimizer.lr": 3}, "optimizer exists", True),
    (td({"x": td({"b": 0})}) | {"x.inputs": 5, "x.b": 1}, "x.b == 1", True),
    (td({"x": td({"b": 0})}) | {"x.b": 1, "x.inputs": 5}, "x.b exists", False),
    (td({"s": {"x": 1}}) | {"s.x": 2}, "inputs.s.x == 2", True),
])
def test_semantics(params, text, expected):
    assert parse(text).evaluate(params, {}) is expected


def test_equal_is_symmetric_on_json_values():
    values = [0, 1, 1.0, -0.0, True, False, None, "1", "", [1], [1.0], [True], [], {"a": 1}]
    for a in values:
        for b in values:
            assert equal(a, b) == equal(b, a)


T0 = dt.datetime(2020, 9, 12, 13, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("label == '20200912-133000'", True), ("label ~ '0912'", True), ("label < '3'", True),
    ("label in ['x', '20200912-133000']", True), ("label matches '^2020'", True),
    ("reason ~ 'fit'", False), ("reason == ''", True), ("reason exists", True),
    ("outcome ~ 'NaN'", True), ("user != 'me'", False), ("version ~ 'abc'", True),
    ("main_file == 'main.py'", True), ("script_arguments ~ 'param'", True),
    ("duration > 3600", True), ("duration < '2h'", True), ("duration in [5400, 1]", True),
    ("duration == '1h30m'", True), ("duration != 5400", False),
    ("timestamp == 20200912", True), ("timestamp == '2020-09-12T14:00'", False),
    ("timestamp >= '2020-09-12T13:30'", True), ("timestamp > '2020-09-12T13:30'", False),
    ("timestamp <= '2020-09-12T13:30'", True), ("timestamp < 20200912", False),
    ("timestamp > 2019", True), ("timestamp in [2019, 2020]", True), ("timestamp != 2020", False),
    ("timestamp exists", True),
    ("status == 'finished'", True), ("status != 'crashed'", True), ("status in ['killed']", False),
    ("status not in ['killed']", True), ("status ~ 'fin'", True), ("status matches 'ed$'", True),
    ("status exists", True),
    ("'fig' in tags", True), ("'figure' in tags", False), ("'fig' not in tags", False),
    ("tags ~ 'figure'", True), ("tags matches '^fig$'", True), ("tags exists", True),
    ("`status` == 1", True), ("`tags` missing", True),
])
def test_fields(text, expected):
    fields = {"label": "20200912-133000", "reason": "", "outcome": "NaN at step 3",
              "user": "me", "version": "abc123", "main_file": "main.py",
              "script_arguments": "<parameters>", "duration": 5400.0, "timestamp": T0,
              "tags": {"fig", "figure2", "_finished_"}}
    assert parse(text).evaluate({"status": 1}, fields) is expected


def test_fields_missing_and_status_without_tag():
    fields = {"tags": set(), "duration": None}
    for text in ("status == 'finished'", "status != 'finished'", "status not in ['crashed']",
                 "status exists", "duration == 1", "duration != 1", "tags exists", "label == ''"):
        assert parse(text).evaluate({}, fields) is False, text
    for text in ("status missing", "duration missing", "tags missing", "label missing"):
        assert parse(text).evaluate({}, fields) is True, text


def test_str_round_trips_and_is_readable():
    text = ("not (optimizer.lr >= 0.001 and model.activation == 'relu') or seed in [1, 2, 3] "
            "or 'fig' in tags or `status` ~ 'it\\'s' or a.`b.c` missing")
    expr = parse(text)
    assert parse(str(expr)) == expr
    assert str(parse("a == 1 and (b == 2 or c == 3)")) == "a == 1 and (b == 2 or c == 3)"
    assert str(parse("3 < x")) == "x > 3"


# -- SQL = Python on real record stores -----------------------------------------------

MU = "μtilde"


def _corpus():
    """Parameter sets: nested task descriptions, overrides, JSON edge values."""
    model = td({"params": {MU: [1.5, -0.25], "lr": 0.005}, "activation": "relu", "seed": 3})
    docs = [
        {"a": 1, "b": "x", "c": None, "d": True, "e": [1, 2.0, "z"], MU: 0.5},
        {"a": 1.0, "b": "y", "c": 0, "d": 1, "e": [1, 2], "model": {"lr": 0.1}, "model.lr": 0.2},
        td({"optimizer": td({"model": model, "lr": 0.01}), "seed": 3, "nsteps": 25000}),
        td({"optimizer": td({"model": td({"params": {MU: [1, 2], "lr": 0.02}}), "lr": 0.001}),
            "seed": 4, "nsteps": 5000}),
        td({"optimizer": {"model": {"params": {MU: [1.5, -0.25]}}, "lr": 0.01}, "seed": 5}),
        {"a": "1", "seeds": [1, 2, 3], "model": 5, "model.lr": 7, "x.y.z": {"w": 1}},
        td({"a": 2, "seed": 4}) | {"a": 9},
        td({"lr": 1, "seed": 1}) | {"optimizer.lr": 0.5, "inputs.seed": 2},
        {"sp ace": {"k.d": 4}, "q": [[1, 2], [3]], "big": 2 ** 70, "tiny": 1.5e-320, "g": 1e22},
        {"a.b": 1, "a.b.c": 2}, {"a.b.c": 2, "a.b": {"d": 1}}, {"a.b": [7], "a.b.c": 1},
        {"a": {"b": {"c": 3}}, "a.b.d": 4},
        {"taskname": "T", "inputs": {"seed": 8}, "module.x": 1},
        {"taskname": "T", "module": "m", "inputs": None, "seed": 6},
        {"inputs": {"seed": 9}, "model": {"activation": "tanh", "lr": 0.1}},
        {"a": True, "b": "", "c": [None], "d": [True, 1], "e": [], "seeds": [1.0, "2"]},
        {"a": -0.0, "b": "Abc", "c": "μ😀", "d": "a\\b", "e": {"f": 1}, "model": {"lr": "0.1"}},
        {"a": 0.1, "b": "NaN at step 3", "c": 1e-5, "d": "1", "e": [[1, 2], [3]],
         "seeds": [[1, 2], 3]},
        {"a": 2.5, "b": "abc", "c": 12345678901234567890, "d": 0.30000000000000004},
        {"a\\b": 1, 'q"t': 2, "x": {"y": None}}, {}, {"x": [1, 2, 3], "y": {"0": 1}},
        td({"optimizer": td({"model": model, "lr": 0.001}), "seed": 3}) | {"optimizer.model.seed": 7},
        {"k1": {"k2": {"k3": {"k4": td({"k5": {"k6": td({"k7": {"k8": {"k9": [1, {"k10": 10}]}}})}})}}}},
        # overrides on task descriptions: through inputs, of keys that do not exist yet,
        # below task descriptions, several in order, of a whole subtree
        td({"nsteps": 25000, "optimizer": td({"model": model, "lr": 0.001})}) | {"optimizer.lr": 0.01},
        td({"optimizer": td({"model": model})}) | {"optimizer.lr": 0.05, "optimizer.new.x": 1,
                                                   "optimizer.model.params.lr": 0.5},
        td({"optimizer": td({"model": model, "lr": 0.02})}) | {"optimizer.model": {"seed": 9}},
        td({"x": td({"b": 0})}) | {"x.inputs": 5, "x.b": 1},
        td({"x": td({"b": 0})}) | {"x.b": 1, "x.inputs": 5},
        {"x": td({})} | {"x.inputs.b": 1, "x.b": 2}, {"x": td({})} | {"x.b": 2, "x.inputs.b": 1},
        td({"s": {"x": 1}, "seed": 2}) | {"s.x": 2, "seed.y": 3},
        td({"m": td({"p": 1})}) | {"m.taskname": {"z": 1}, "m.p": 2, "m.q.r": 3},
        td({"lr": 1}) | {"optimizer": {}, "optimizer.lr": 3, "taskname.x": 4, "lr.y": 5},
    ]
    return docs


#: Record fields, cycled over the records. LIKE's wildcards (``_``, ``%``) and case
#: must not matter; ``_draft_`` is no status.
TAGS = [set(), {"fig"}, {"figure1", "_finished_"}, {"fig", "_crashed_"}, {"Fig", "_killed_"},
        {"_finished_", "figure2", "fig"}, {"_running_", "_finished_"}, {"a_b", "50%"},
        {"aXb", "_draft_", "_finished_"}, {"_draft_"}]
DURATIONS = [None, 0.5, 12.0, 3600.0, 5400.5, math.nan]   # NaN: NULL on SQLite
OUTCOMES = ["", "NaN at step 3", "converged", "nan"]


@pytest.fixture(scope="module")
def store(backend, tmp_path_factory):
    """A real record store with the corpus twice: JSON written with escaped and
    with raw non-ASCII characters (how a key is spelled matters on SQLite)."""
    from smt_query.recordstore import QueryDjangoRecordStore
    uri = backend.new_store() or str(tmp_path_factory.mktemp("where") / "records")
    store = QueryDjangoRecordStore(uri)
    _fill(store, [json.dumps(d, indent=4, ensure_ascii=a) for a in (True, False)
                  for d in _corpus()])
    drift_tag_rows(store)
    return store


def _fill(store, contents, project="where"):
    m, db = store.models, store.db_alias

    def objects(model):
        return model.objects.using(db)
    proj = objects(m.Project).create(id=project, name=project)
    launch = objects(m.LaunchMode).create(type="SerialLaunchMode", parameters="{}")
    out = objects(m.Datastore).create(type="FileSystemDataStore", parameters="{'root': 'Data'}")
    inp = objects(m.Datastore).create(type="FileSystemDataStore", parameters="{'root': '.'}")
    exe = objects(m.Executable).create(path=sys.executable, name="Python",
                                       version="%d.%d" % sys.version_info[:2], options="")
    repo = objects(m.Repository).create(type="GitRepository", url="file:///tmp/repo")
    psets = objects(m.ParameterSet).bulk_create(
        [m.ParameterSet(type="JSONParameterSet", content=c) for c in contents])
    t0 = dt.datetime(2020, 9, 12, 10, tzinfo=dt.timezone.utc)
    records = objects(m.Record).bulk_create([m.Record(
        label=f"r{i:03d}", reason=["", "fit", "scan μ"][i % 3], duration=DURATIONS[i % 6],
        main_file=["main.py", "tasks.py"][i % 2], version=f"{i % 4:x}abc", parameters=p,
        launch_mode=launch, datastore=out, input_datastore=inp, outcome=OUTCOMES[i % 4],
        timestamp=t0 + dt.timedelta(hours=7 * i), user=["me", "you"][i % 2], project=proj,
        executable=exe, repository=repo, script_arguments=["<parameters>", ""][i % 2],
        diff="", stdout_stderr="") for i, p in enumerate(psets)])
    for i, rec in enumerate(records):
        for tag in TAGS[i % len(TAGS)]:
            store.add_tag([rec.pk], tag)


def _rows(store):
    """{label: (parameters, fields)} read back from the database: the oracle's input."""
    qs = store.models.Record.objects.using(store.db_alias)
    out = {}
    for row in qs.values("label", "reason", "outcome", "user", "version", "main_file",
                         "script_arguments", "duration", "timestamp", "parameters__content",
                         "tags"):    # the column, as Sumatra writes it: tags joined by commas
        fields = dict(row, tags={t for t in row["tags"].split(",") if t})
        out[row["label"]] = (json.loads(fields.pop("parameters__content")), fields)
    return out


@pytest.fixture(scope="module")
def rows(store):
    return _rows(store)


def _selected(store, q):
    qs = store.models.Record.objects.using(store.db_alias)
    return set(qs.filter(q).values_list("label", flat=True))


def _expected(expr, rows):
    return {label for label, (params, fields) in rows.items() if expr.evaluate(params, fields)}


#: Expressions that must push down and match Python (both backends).
EXPRESSIONS = [
    "a == 1", "a != 1", "a < 2", "a >= '1'", "a > 0", "a <= 0", "a == 0", "a == -1", "b ~ 'x'",
    "b ~ ''", "b < 'abc'", "b >= 'B'", "c == null", "c != null", "d == true", "d == false",
    "d == 1", "a == true", "e == [1, 2, 'z']", "e == [1, 2]", "e == []", "e == [[1, 2], [3]]",
    f"{MU} == 0.5", f"{MU} exists", "model.lr == 0.2", "model.lr == '0.1'", "model.lr exists",
    "model missing", "model == 5", "model exists", "optimizer.lr == 0.01", "optimizer.lr > 0.002",
    "optimizer.lr == 0.5", "optimizer.model.params.lr <= 0.005", f"optimizer.model.params.{MU} == [1, 2]",
    f"optimizer.model.params.{MU} == [1.5, -0.25]", f"optimizer.model.params.{MU} exists",
    "optimizer.model.activation == 'relu'", "optimizer.model.seed == 7", "optimizer.model.seed in [3, 7]",
    "seed in [3, 4]", "seed not in [3]", "seed == 2", "seed == 9", "seed == 6", "seed == 8",
    "seed missing", "2 in seeds", "'2' in seeds", "3 not in seeds", "[1, 2] in seeds",
    "1 in seeds and 3 in seeds", "x.y.z.w == 1", "x.y exists", "x.y == null", "x exists",
    "a missing", "`sp ace`.`k.d` == 4", "q == [[1, 2], [3]]", "[3] in q", "big > 1",
    "tiny > 0", "tiny == 0", "c > 1", "c >= 1e-5",
    "d == 0.30000000000000004", "d > 0.3", "inputs.seed == 3", "inputs.optimizer.inputs.lr == 0.01",
    "inputs.optimizer.lr == 0.001", "taskname == 'Task'", "taskname exists", "module.x == 1",
    "a.b == 1", "a.b.c == 2", "a.b.c == 1", "a.b.d == 1", "a.b.d == 4", "a.b.c == 3", "a.b exists",
    "a.b == [7]", "a.b.0 exists", "x.0 exists", "y.0 == 1", "e.f == 1", "`a\\b` == 1",
    "c == 'μ😀'", "c ~ '😀'", "d == 'a\\\\b'", "b ~ 'A'",
    "not (a == 1) or b ~ 'y'", "not (status == 'crashed') or outcome ~ 'NaN'",
    "optimizer.lr >= 1e-3 and optimizer.model.activation == 'relu'",
    "status == 'finished'", "status != 'finished'", "status in ['crashed', 'killed']",
    "status not in ['finished']", "status ~ 'ing'", "status exists", "status missing",
    "'fig' in tags", "'fig' not in tags", "tags ~ 'fig'", "tags exists", "tags missing",
    "'a_b' in tags", "'a%' not in tags", "'50%' in tags", "'Fig' in tags", "'gone' in tags",
    "'' in tags", "'fig,figure2' in tags", "'' not in tags",
    "tags ~ '_'", "tags ~ '%'", "tags matches 'b$'", "status == 'finished' and 'a_b' not in tags",
    "label ~ 'r01'", "label < 'r010'", "label in ['r001', 'r030']", "reason == ''",
    "reason ~ 'μ'", "reason > 'f'", "outcome ~ 'NaN'", "outcome != ''", "user == 'me'",
    "version ~ 'abc'", "version >= '2'", "main_file != 'main.py'", "script_arguments ~ 'param'",
    "duration > 10", "duration <= 12", "duration == 0.5", "duration != 0.5", "duration in [12, 3600]",
    "duration not in [12]", "duration missing", "duration exists", "duration < '1h30m1s'",
    "timestamp == 20200913", "timestamp != 20200913", "timestamp >= '2020-09-13T00:00'",
    "timestamp < '2020-09-13T05:00'", "timestamp > '2020-09-13'", "timestamp <= 202009",
    "timestamp in [20200912, 20200920]", "timestamp not in [202009]", "timestamp exists",
    "`status` missing", "`tags` missing",
    "inputs.optimizer.inputs.model.inputs.params.lr <= 0.005",     # 7 parts
    "k1.k2.k3.k4.k5.k6.k7.k8.k9 exists", "k1.k2.k3.k4.k5.k6.k7.k8 == null",
    "k1.k2.k3.k4.inputs.k5.k6.inputs.k7.k8.k9 exists", "k1.k2.k3.k4.k5.k6.k7.k8.k9.k10 missing",
    "k1.k2.k3.k4.k5.k6.k7.k8 missing",
    # overrides on task descriptions
    "optimizer.lr == 0.05", "optimizer.model.params.lr == 0.5", "optimizer.new.x == 1",
    "inputs.optimizer.inputs.new.x exists", "optimizer.model.seed == 9", "optimizer.model missing",
    "optimizer.model.activation missing", "nsteps == 25000",
    "x.b == 1", "x.b == 2", "x.inputs == 5", "x.inputs.b == 1", "x.b exists", "inputs.x.b == 1",
    "inputs.s.x == 2", "s.x == 2", "s.x exists", "seed.y == 3", "inputs.seed.y == 3", "m.p == 2",
    "m.taskname.z == 1", "m.q.r == 3", "inputs.m.inputs.q exists", "lr.y == 5", "taskname.x == 4",
    "optimizer.lr == 3",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_sql_equals_python(store, rows, text):
    expr = parse(text)
    q = expr.to_q(store.context())
    assert q is not None, f"{text} did not push down"
    assert _selected(store, q) == _expected(expr, rows)


def test_many_tag_names_make_one_set_condition(store, rows, monkeypatch):
    """Above a few names, a tag condition is one set test (json_each / array
    overlap) instead of one test per name: the same records."""
    import smt_query.where.qfields as qfields
    monkeypatch.setattr(qfields, "_TAG_TESTS_MAX", 0)
    for text in [t for t in EXPRESSIONS if "tags" in t or "status" in t]:
        expr = parse(text)
        assert _selected(store, expr.to_q(store.context())) == _expected(expr, rows), text


def test_record_test_agrees_with_evaluate(store, rows):
    """Expr.test on records loaded from the store is Expr.evaluate on their rows."""
    records = store.load(store.models.Record.objects.using(store.db_alias))
    for text in EXPRESSIONS:
        expr = parse(text)
        assert {r.label for r in records if expr.test(r)} == _expected(expr, rows), text


@pytest.mark.parametrize("text, vendors", [
    ("b matches '^[A-Z]'", {"postgresql"}),         # POSIX regular expressions differ
    ("label matches '^r0'", {"postgresql"}),
    ("c == 12345678901234567890", {"sqlite", "postgresql"}),   # beyond 2**53
    ("g == 1e22", {"sqlite", "postgresql"}),
    ("a < 1e-310", {"sqlite", "postgresql"}),
    ("a == 1e999", {"sqlite", "postgresql"}),
    ("b == 'nul\\0'", {"sqlite", "postgresql"}),
    ("`q\"t` == 2", {"sqlite"}),                     # no way to write '"' in a SQLite path
    ("duration > 9007199254740993", {"sqlite", "postgresql"}),
])
def test_what_falls_back_to_python(store, rows, text, vendors):
    expr = parse(text)
    q = expr.to_q(store.context())
    if store.vendor in vendors:
        assert q is None
        assert expr.to_q(store.context()) is None and Not(expr).to_q(store.context()) is None
    else:
        assert _selected(store, q) == _expected(expr, rows)


def test_params_filter_terms_push_down(store, rows):
    expr = And([Compare(Key.parse("optimizer.lr"), ">=", 0.005),
                Compare(Key.parse("optimizer.model.params.μtilde"), "==", (1.5, -0.25)),
                Compare(Key.parse("inputs.nsteps"), "<", 30000)])
    q = expr.to_q(store.context())
    assert q is not None and _selected(store, q) == _expected(expr, rows) != set()
    assert _selected(store, And([]).to_q(store.context())) == set(rows)
    assert _selected(store, Or([]).to_q(store.context())) == set()


def test_dict_values_fall_back(store):
    assert Compare(Key.parse("e"), "==", {"f": 1}).to_q(store.context()) is None


#: Parameter sets a database cannot read as Python does, and which refuse them.
UNREADABLE = [
    ("YAMLParameterSet", "a: 1\n", {"sqlite", "postgresql"}),
    ("JSONParameterSet", json.dumps({"a": math.nan}), {"sqlite", "postgresql"}),
    ("JSONParameterSet", json.dumps({"a": -math.inf}), {"sqlite", "postgresql"}),
    ("JSONParameterSet", '{"a": "x\\u0000y"}', {"postgresql"}),
    ("JSONParameterSet", '{"a": "\\ud800"}', {"postgresql"}),
    ("JSONParameterSet", json.dumps({"a": 1, 'a.b"c': 2}), {"sqlite"}),   # no JSON path for it
]


@pytest.mark.parametrize("kind, content, refused_by", UNREADABLE)
def test_sets_the_database_cannot_read(backend, tmp_path, kind, content, refused_by):
    """Such a set makes the query fail with an error unreadable_params()
    recognizes (callers then read parameters in Python) -- never a wrong answer."""
    from django.db import DatabaseError
    from smt_query.recordstore import QueryDjangoRecordStore
    from smt_query.where import unreadable_params
    store = QueryDjangoRecordStore(backend.new_store() or str(tmp_path / "records"))
    _fill(store, ['{"a": 1}', '{"a": 2}', '{"a": 3}'])
    records = store.models.Record.objects.using(store.db_alias)
    store.models.ParameterSet.objects.using(store.db_alias).filter(
        pk=records.get(label="r002").parameters_id).update(type=kind, content=content)
    loaded = store.load(records)
    for text in ("a == 1", "a exists and label ~ 'r'", "not a == 2"):
        expr = parse(text)
        q = expr.to_q(store.context())
        assert q is not None
        if backend.name in refused_by:
            with pytest.raises(DatabaseError) as info:
                _selected(store, q)
            assert unreadable_params(info.value), text
        else:
            assert _selected(store, q) == {r.label for r in loaded if expr.test(r)}, text
    store.params_in_sql = False
    assert parse("a == 1").to_q(store.context()) is None
    assert parse("label ~ 'r' and status missing").to_q(store.context()) is not None


def test_other_database_errors_are_not_taken_for_unreadable_sets(backend, tmp_path):
    from django.db import DatabaseError, connections
    from smt_query.recordstore import QueryDjangoRecordStore
    from smt_query.where import unreadable_params
    store = QueryDjangoRecordStore(backend.new_store() or str(tmp_path / "records"))
    with pytest.raises(DatabaseError) as info:
        with connections[store.db_alias].cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM django_store_record")
    assert not unreadable_params(info.value)


# -- random expressions ------------------------------------------------------------------

KEYS = ["a", "b", "c", "d", "e", "a.b", "a.b.c", "a.b.d", "model", "model.lr", "optimizer.lr",
        "optimizer.model.params.μtilde", "optimizer.model.params.lr", "optimizer.model.seed",
        "seed", "seeds", "inputs.seed", "x.y", "x.y.z.w", "q", MU, "`sp ace`.`k.d`", "taskname",
        "module.x", "inputs.optimizer.inputs.lr", "big", "y.0", "e.f", "no.such.key", "x.b",
        "x.inputs", "x.inputs.b", "inputs.s.x", "s.x", "seed.y", "optimizer.new.x", "m.p", "m.q.r",
        "optimizer.model.lr", "nsteps", "lr.y"]
SCALARS = [0, 1, 1.0, -1, 2, 3, 7, 0.1, 0.2, 0.5, 0.005, 0.01, 1.5, 2.5, 1e-5, 25000, "1", "x",
           "abc", "Abc", "relu", "", "μ😀", "0.1", True, False, None]
LISTS = [[], [1, 2], [1, 2.0, "z"], [[1, 2], [3]], [1.5, -0.25], [None], [True, 1], [3, 4]]
FIELD_LEAVES = ["status == 'finished'", "status != 'crashed'", "'fig' in tags", "tags ~ 'fig'",
                "label ~ 'r00'", "duration > 10", "duration <= 12", "duration != 0.5",
                "duration in [0.5, 3600]", "duration missing", "timestamp >= 20200915",
                "timestamp != 20200913", "outcome ~ 'NaN'", "user == 'me'", "status missing",
                "version < '2'", "reason > 'f'", "label not in ['r001']", "'fig' not in tags",
                "'a_b' in tags", "tags ~ 'b'", "status in ['finished', 'crashed']"]

values = st.sampled_from(SCALARS) | st.sampled_from(LISTS)
keys = st.sampled_from(KEYS).map(lambda k: parse(f"{k} exists").key)
leaves = st.one_of(
    st.builds(Compare, keys, st.sampled_from(["==", "!="]), values),
    st.builds(Compare, keys, st.sampled_from(["<", "<=", ">", ">="]),
              st.sampled_from([s for s in SCALARS if isinstance(s, (int, float, str))
                               and not isinstance(s, bool)])),
    st.builds(Compare, keys, st.sampled_from(["in", "not in"]), st.lists(values, max_size=3)),
    st.builds(Compare, keys, st.sampled_from(["contains", "not contains"]), values),
    st.builds(Compare, keys, st.just("~"), st.sampled_from(["", "x", "b", "NaN", "μ"])),
    st.builds(Exists, keys), st.builds(Missing, keys),
    st.sampled_from(FIELD_LEAVES).map(parse),
)
expressions = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, min_size=2, max_size=3).map(And),
    st.lists(inner, min_size=2, max_size=3).map(Or),
    inner.map(Not)), max_leaves=6)


@settings(max_examples=int(os.environ.get("SMTQ_WHERE_EXAMPLES", 120)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expr=expressions)
def test_random_expressions_sql_equals_python(store, rows, expr):
    assert str(parse(str(expr))) == str(expr)
    q = expr.to_q(store.context())
    assert q is not None, str(expr)
    assert _selected(store, q) == _expected(expr, rows), str(expr)


# -- overrides replayed on random task descriptions -----------------------------------------

PARTS = ["a", "b", "inputs", "taskname", "module"]
LEAVES = [0, 7, None, "x", [7]]


def _override_docs(n, seed):
    """Random dicts and task descriptions over PARTS, with 1-3 overrides each."""
    rng = random.Random(seed)

    def tree(depth):
        out = {}
        for _ in range(rng.randint(0, 3)):
            out[rng.choice(PARTS)] = (tree(depth - 1) if depth and rng.random() < 0.6
                                      else rng.choice(LEAVES))
        if depth and rng.random() < 0.5:
            out |= td(tree(depth - 1))
        return out
    docs = []
    for _ in range(n):
        doc = tree(3)
        for _ in range(rng.randint(1, 3)):
            key = ".".join(rng.choices(PARTS, k=rng.randint(2, 4)))
            doc[key] = rng.choice(LEAVES + [{"b": 7}, {}])
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def override_store(backend, tmp_path_factory):
    from smt_query.recordstore import QueryDjangoRecordStore
    uri = backend.new_store() or str(tmp_path_factory.mktemp("overrides") / "records")
    store = QueryDjangoRecordStore(uri)
    _fill(store, [json.dumps(d) for d in _override_docs(200, seed=1)], project="overrides")
    return store, _rows(store)


override_keys = st.lists(st.sampled_from(PARTS), min_size=1, max_size=4).map(Key)
override_leaves = st.one_of(
    st.builds(Exists, override_keys), st.builds(Missing, override_keys),
    st.builds(Compare, override_keys, st.sampled_from(["==", "!="]), st.sampled_from(LEAVES)),
    st.builds(Compare, override_keys, st.just("contains"), st.just(7)))


@settings(max_examples=int(os.environ.get("SMTQ_WHERE_EXAMPLES", 120)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expr=override_leaves)
def test_overrides_on_task_descriptions_sql_equals_python(override_store, expr):
    store, rows = override_store
    q = expr.to_q(store.context())
    assert q is not None, str(expr)
    assert _selected(store, q) == _expected(expr, rows), str(expr)


def test_override_with_a_quote_falls_back_on_sqlite(backend, tmp_path):
    """SQLite's JSON paths cannot name a key with '"': replaying such an
    override (its path could even name another key) refuses the set."""
    from django.db import DatabaseError
    from smt_query.recordstore import QueryDjangoRecordStore
    from smt_query.where import unreadable_params
    store = QueryDjangoRecordStore(backend.new_store() or str(tmp_path / "records"))
    _fill(store, [json.dumps({"a": {"b": 1}, 'a.b"c': 2}), json.dumps({"a": {"b": 1}})])
    expr = parse("a.b == 1")
    q = expr.to_q(store.context())
    if store.vendor == "sqlite":
        with pytest.raises(DatabaseError) as info:
            _selected(store, q)
        assert unreadable_params(info.value)
    else:
        assert _selected(store, q) == _expected(expr, _rows(store)) == {"r000", "r001"}


# -- numbers as written by hand -----------------------------------------------------------

#: JSON number texts: shortest reprs, but also texts json.dumps never writes.
NUMBER_TEXTS = ["0", "-0", "-0.0", "1", "1.0", "1e0", "1.0e2", "100", "0.1", "0.10000000000000001",
                "0.30000000000000004", "-2.5", "1e-5", "1e-300", "1e-310", "5e-324",
                "2.4703282292062327e-324", "2.4703282292062328e-324", "1e-400", "-1e-400",
                "9007199254740992", "9007199254740993", "9007199254740993.0", "1.1e30",
                "123456789012345678901234567890", "1.7976931348623157e308",
                "1.7976931348623158e308", "1e400", "-1e400", "3", "2.9999999999999996",
                "2.99999999999999999999", "3.0000000000000001", "1e22", "1e23"]


@pytest.fixture(scope="module")
def number_store(backend, tmp_path_factory):
    from smt_query.recordstore import QueryDjangoRecordStore
    uri = backend.new_store() or str(tmp_path_factory.mktemp("numbers") / "records")
    store = QueryDjangoRecordStore(uri)
    _fill(store, ['{"n": %s, "l": [%s]}' % (t, t) for t in NUMBER_TEXTS], project="numbers")
    return store, _rows(store)


literals = st.one_of(
    st.sampled_from([0, 1, 3, 100, -1, 0.1, 0.30000000000000004, 2.5, -2.5, 1e-5, 1e-300,
                     3.0000000000000004, 2.9999999999999996, 9007199254740991, 1e15 + 0.5]),
    st.integers(-2 ** 53 + 1, 2 ** 53 - 1),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
    .filter(lambda x: x == 0 or abs(x) >= 1e-300))


@settings(max_examples=int(os.environ.get("SMTQ_WHERE_EXAMPLES", 120)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), x=literals,
       key=st.sampled_from(["n", "l"]))
def test_numbers_compare_as_python_reads_them(number_store, op, x, key):
    store, rows = number_store
    expr = Compare(Key.parse(key), op, [x] if key == "l" and op in ("==", "!=") else x)
    q = expr.to_q(store.context())
    assert q is not None
    assert _selected(store, q) == _expected(expr, rows), str(expr)
