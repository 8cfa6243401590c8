"""Tests of smt_query.params on real Sumatra parameter sets and records."""
import itertools
import json
import math
import os
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import parameters
import pytest
from hypothesis import given, settings, strategies as st
from sumatra.datastore import FileSystemDataStore
from sumatra.launch import SerialLaunchMode
from sumatra.parameters import (ConfigParserParameterSet, JSONParameterSet, NTParameterSet,
                                SimpleParameterSet, YAMLParameterSet)
from sumatra.programs import PythonExecutable
from sumatra.records import Record

from smt_query import errors
from smt_query.params import (FOLDED, MISSING, NO_VALUE, ParameterComparison,
                              ParameterParseError, apply_overrides, as_params, dfdiff,
                              fold_task_inputs, get_task_param, is_task_desc,
                              parse_parameters, split_key, values_equal)


def make_record(label, params, reason="", **attributes):
    """A real in-memory Sumatra record."""
    record = Record(PythonExecutable(sys.executable), None, "main.py", "abc123",
                    SerialLaunchMode(), FileSystemDataStore("/nonexistent/Data"),
                    parameters=params, label=label, reason=reason)
    for name, value in attributes.items():
        setattr(record, name, value)
    return record


def desc(taskname, **inputs):
    """A task description, as smttask serialises a task."""
    return {"taskname": taskname, "module": "project.tasks", "inputs": inputs}


def fit_task(μtilde, cache="process-2", digest="7b84e7ecbb", lr=0.01):
    """Guide-shaped parameters: three task descriptions nested under the root one."""
    params = {"μtilde": μtilde, "τtilde": [2.5, 2.2]}
    model = desc("Model", params=params, nlatents=2)
    optimizer = desc("Optimizer", model=model, latent_cache_path=f".cache/latents_{cache}", lr=lr)
    return desc("FitTask", optimizer=optimizer, digest=f"{digest}__nsteps_25000",
                hashed_digest=digest, recorders=[{"name": "log L", "interval": 1}])


# --------------------------------------------------------------------------
# parse_parameters

def roundtrip(ps):
    """What smt-query reads back from the text Sumatra stores for `ps`."""
    return parse_parameters(type(ps).__name__, str(ps))


NESTED = {"model": {"lr": 0.1, "layers": [64, 32], "name": "mlp", "act": None},
          "seed": 42, "flag": True, "μ": -1.5e-3, "text": "it's \"quoted\""}


@pytest.mark.parametrize("cls, initialiser", [
    (JSONParameterSet, json.dumps(NESTED)),
    (YAMLParameterSet, json.dumps(NESTED)),  # JSON is YAML
    (NTParameterSet, NESTED),
])
def test_parse_hierarchical_types(cls, initialiser):
    ps = cls(initialiser)
    assert roundtrip(ps) == ps.as_dict() == NESTED


def test_parse_nt_with_tuples_complex_and_special_floats():
    ps = NTParameterSet({"t": (1, -2.5), "z": 1 - 2j, "nan": math.nan, "inf": [-math.inf, math.inf]})
    assert "nan" in str(ps)  # str() of the dict writes bare nan/inf, which literal_eval rejects
    parsed = roundtrip(ps)
    assert parsed["t"] == (1, -2.5) and type(parsed["t"]) is tuple
    assert parsed["z"] == 1 - 2j
    assert math.isnan(parsed["nan"])
    assert parsed["inf"] == [-math.inf, math.inf]


def test_parse_nt_pretty_format_with_json_words():
    # older records / hand-written files: the `parameters` pretty() syntax with JSON words
    text = '{\n  "a": {\n    "b": true,\n  },\n  "c": false,\n  "d": pi,\n}'
    assert parse_parameters("NTParameterSet", text) == {"a": {"b": True}, "c": False, "d": math.pi}


def test_parse_json_and_yaml_nan():
    for ps in (JSONParameterSet('{"a": NaN, "b": [1, NaN]}'), YAMLParameterSet("a: .nan\nb: [1, .nan]")):
        parsed = roundtrip(ps)
        assert values_equal(parsed, {"a": math.nan, "b": [1, math.nan]})


def test_parse_simple():
    ps = SimpleParameterSet(textwrap.dedent("""\
        # a comment line
        a = 1 # trailing comment
        b = "hello"
        c = [1, 2.5]
        d = bare
        e = 2.5
        f = True
        g = None
        h = "x # y"
        i = (1, 'two')

        j = 'single'
        """))
    expected = {"a": 1, "b": "hello", "c": [1, 2.5], "d": " bare", "e": 2.5,
                "f": True, "g": None, "h": "x # y", "i": (1, "two"), "j": "single"}
    assert ps.as_dict() == expected
    assert roundtrip(ps) == expected


def test_parse_simple_unescaped_quotes_are_kept_verbatim():
    ps = SimpleParameterSet({"s": 'say "hi"', "n": math.nan})
    # pretty() writes s = "say "hi"" (Sumatra itself cannot reload it) and n = nan
    assert roundtrip(ps) == {"s": 'say "hi"', "n": " nan"}  # Sumatra reads bare nan as ' nan'
    assert SimpleParameterSet("n = nan").as_dict() == {"n": " nan"}
    assert parse_parameters("SimpleParameterSet", "w = two words") == {"w": " two words"}


def test_parse_configparser():
    ps = ConfigParserParameterSet("[DEFAULT]\nshared = s\n[sim]\ndt = 0.1\nn = 3\n[out]\npath = x/y\n")
    ps.update({"sim.dt": 0.2, "extra": 1})  # how `smt run ... sim.dt=0.2` updates it
    expected = {"sim": {"shared": "s", "dt": "0.2", "n": "3"},
                "out": {"shared": "s", "path": "x/y"}, "sumatra": {"shared": "s", "extra": "1"}}
    assert ps.as_dict() == expected
    assert roundtrip(ps) == expected


def test_parse_command_line_tuple_in_yaml():
    ps = YAMLParameterSet("a: 1\n")
    ps.update(ps.parse_command_line_parameter("a=(1, 2)"))
    assert "!!python/tuple" in str(ps)  # yaml.dump; Sumatra's safe_load cannot read it back
    assert roundtrip(ps) == {"a": (1, 2)}


def test_parse_special_contents():
    assert parse_parameters("NoneType", "None") is None
    assert parse_parameters("dict", "{}") == {}
    assert parse_parameters("JSONParameterSet", "") == {}
    assert parse_parameters("YAMLParameterSet", "{}") == {}


@pytest.mark.parametrize("type_name, content, reason", [
    ("PickleParameterSet", "x", "unknown parameter set type"),
    ("JSONParameterSet", '{"a": ', "Expecting value"),
    ("JSONParameterSet", "[1, 2]", "not a mapping"),
    ("YAMLParameterSet", "a: [1,", "while parsing"),
    ("YAMLParameterSet", "!!python/object/apply:os.system ['true']", "could not determine a constructor"),
    ("YAMLParameterSet", "just text", "not a mapping"),
    ("NTParameterSet", "{'a': __import__('os').system('true')}", "not a literal"),
    ("NTParameterSet", "{'a': url('http://example.com')}", "not a literal"),
    ("NTParameterSet", "{'a': ", "invalid syntax"),
    ("SimpleParameterSet", "a = 1\nno equals sign", "line without '='"),
    ("ConfigParserParameterSet", "a = 1", "no section headers"),
])
def test_parse_errors(type_name, content, reason):
    with pytest.raises(ParameterParseError) as info:
        parse_parameters(type_name, content)
    assert type_name in str(info.value) and reason in str(info.value)
    assert isinstance(info.value, errors.QueryError)


keys = st.text(st.sampled_from("abcxyzμτ_0123"), min_size=1, max_size=6).filter(
    lambda k: k not in ("names", "parameters", "nan", "inf", "pi", "true", "false"))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8))
trees = st.recursive(scalars | st.lists(scalars, max_size=3),
                     lambda children: st.dictionaries(keys, children, max_size=4), max_leaves=12)
param_dicts = st.dictionaries(keys, trees, max_size=5)


@settings(max_examples=60, deadline=None)
@given(param_dicts.filter(bool))  # NTParameterSet('{}') fails: urlopen('{}'); '{}' is tested above
def test_parse_roundtrips_random_sets(values):
    for ps in (JSONParameterSet(json.dumps(values)), YAMLParameterSet(json.dumps(values)),
               NTParameterSet(json.loads(json.dumps(values)))):
        # the oracle: what Sumatra's own loading (ParameterSet.to_sumatra) gives, with eval()
        assert roundtrip(ps) == type(ps)(str(ps)).as_dict()
        if not isinstance(ps, YAMLParameterSet):  # yaml.dump turns astral characters into surrogates
            assert roundtrip(ps) == values


# --------------------------------------------------------------------------
# bounds: what a stored set may expand to

def _laughs(levels, width, leaf='"lol"'):
    lines = [f"l0: &l0 [{', '.join([leaf] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines)


def _interpolation(levels, width, base):
    lines = ["[s]", f"v0 = {base}"]
    lines += [f"v{i} = " + "".join([f"%(v{i - 1})s"] * width) for i in range(1, levels + 1)]
    return "\n".join(lines)


@pytest.mark.parametrize("type_name, content, bound", [
    ("YAMLParameterSet", _laughs(10, 10), "MAX_VALUES"),                 # 610 bytes, 10**10
    ("YAMLParameterSet", "m0: &m0 {k: v}\n" + "".join(                   # merge keys copy
        f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: v}}\n" for i in range(1, 22)),
     "MAX_VALUES"),
    ("YAMLParameterSet", _laughs(3, 100, '"' + "x" * 2000 + '"'), "MAX_TEXT"),   # 2e9 chars
    ("YAMLParameterSet", "a: " + "[" * 150 + "]" * 150, "MAX_DEPTH"),
    ("JSONParameterSet", '{"a": ' + "[" * 150 + "]" * 150 + "}", "MAX_DEPTH"),
    ("JSONParameterSet", json.dumps({".".join("k" * 150): 1}), "MAX_DEPTH"),  # override key
    ("NTParameterSet", "{'a': " + "[" * 150 + "]" * 150 + "}", "MAX_DEPTH"),
    ("ConfigParserParameterSet", _interpolation(5, 10, "x" * 200), "MAX_TEXT"),
    ("ConfigParserParameterSet", "[DEFAULT]\n" + "".join(f"d{i} = 1\n" for i in range(1000))
     + "".join(f"[s{i}]\n" for i in range(1100)), "MAX_VALUES"),   # DEFAULT goes into each
    ("JSONParameterSet", json.dumps({"a": "x" * 10_000_001}), "MAX_TEXT"),
    ("JSONParameterSet", json.dumps({"a": [0] * 1_000_000}), "MAX_VALUES"),
])
def test_sets_past_a_bound_are_unreadable_and_name_it(type_name, content, bound):
    with pytest.raises(ParameterParseError, match=f"smt_query.params.{bound} "):
        parse_parameters(type_name, content)


def test_a_set_that_contains_itself_is_unreadable():
    with pytest.raises(ParameterParseError, match="contains itself"):
        parse_parameters("YAMLParameterSet", "a: &a [1, *a]")


def test_large_honest_sets_are_within_the_bounds():
    values = {"trace": [0.5] * 200_000, "deep": json.loads("[" * 90 + "1" + "]" * 90),
              "text": "x" * 5_000_000}
    assert parse_parameters("JSONParameterSet", json.dumps(values)) == values
    anchors = "base: &base {lr: 0.1, depth: 3}\nrun1: {<<: *base, seed: 1}\nrun2: *base\n"
    assert parse_parameters("YAMLParameterSet", anchors) == {
        "base": {"lr": 0.1, "depth": 3}, "run1": {"lr": 0.1, "depth": 3, "seed": 1},
        "run2": {"lr": 0.1, "depth": 3}}
    assert parse_parameters("ConfigParserParameterSet", _interpolation(3, 4, "ab")) == {
        "s": {"v0": "ab", "v1": "ab" * 4, "v2": "ab" * 16, "v3": "ab" * 64}}


# --------------------------------------------------------------------------
# overrides and as_params

def test_overrides_win_and_create_levels():
    stored = {"model": {"lr": 0.1, "depth": 3}, "model.lr": 0.2, "a.b.c": 1, "seed": 5, "seed.x": 1}
    before = json.dumps(stored)
    assert apply_overrides(stored) == {"model": {"lr": 0.2, "depth": 3}, "a": {"b": {"c": 1}},
                                       "seed": {"x": 1}}
    assert json.dumps(stored) == before  # input untouched


def test_overrides_without_dotted_keys_is_identity():
    params = {"model": {"lr": 0.1}}
    assert apply_overrides(params) is params
    assert as_params(params) is params


@given(st.dictionaries(st.sampled_from(["a", "b", "a.b", "a.c", "b.a.x", "c"]), trees, max_size=5))
def test_overrides_idempotent(params):
    once = apply_overrides(params)
    assert apply_overrides(once) == once
    assert not any("." in k for k in once)


def test_overrides_follow_task_descriptions():
    """An override sets the value `get_task_param` finds for its key."""
    model = desc("Model", params={"μtilde": [1.0, 2.0]}, seed=3)
    stored = desc("FitModel", nsteps=1, optimizer=desc("SGD", lr=0.001, model=model))
    stored["optimizer.lr"] = 0.01
    before = json.dumps(stored)
    expected = json.loads(before)
    del expected["optimizer.lr"]
    expected["inputs"]["optimizer"]["inputs"]["lr"] = 0.01
    assert apply_overrides(stored) == expected      # inputs.optimizer.inputs.lr, nothing else
    assert json.dumps(stored) == before
    assert get_task_param(stored, "optimizer.model.params.μtilde") == [1.0, 2.0]
    assert get_task_param(stored, "optimizer.lr") == 0.01

    # a prefix through two task descriptions; a whole subtree
    over = apply_overrides({**stored, "optimizer.model.seed": 7, "optimizer.model.params": {"a": 1}})
    assert over["inputs"]["optimizer"]["inputs"]["model"]["inputs"] == {"params": {"a": 1}, "seed": 7}
    # a key that exists nowhere yet is created where it is named
    assert apply_overrides(desc("T", a=1) | {"opt.lr": 2}) == desc("T", a=1) | {"opt": {"lr": 2}}
    assert apply_overrides(desc("T", opt=desc("U")) | {"opt.lr": 2})["inputs"]["opt"] == \
        desc("U") | {"lr": 2}
    # a direct key wins over inputs, as in get_task_param
    assert apply_overrides(desc("T", x=1) | {"x": {}, "x.y": 2}) == desc("T", x=1) | {"x": {"y": 2}}


def test_overrides_apply_in_stored_order():
    x = desc("X", b=0)
    # x.inputs first: x is no task description any more, so x.b is created directly
    assert apply_overrides({"x": x, "x.inputs": 5, "x.b": 1})["x"] == x | {"inputs": 5, "b": 1}
    assert apply_overrides({"x": x, "x.b": 1, "x.inputs": 5})["x"] == x | {"inputs": 5}
    # an earlier override makes the key exist in inputs
    assert apply_overrides({"x": desc("X"), "x.inputs.b": 1, "x.b": 2})["x"] == desc("X", b=2)
    assert apply_overrides({"x": desc("X"), "x.b": 2, "x.inputs.b": 1})["x"] == \
        desc("X", b=1) | {"b": 2}


PARTS = ("a", "b", "inputs", "taskname", "module")
ALL_KEYS = [k for n in range(1, 5) for k in itertools.product(PARTS, repeat=n)]


def containers(children):
    """Dicts over PARTS, and task descriptions (with extra keys) whose inputs are such dicts."""
    dicts = st.dictionaries(st.sampled_from(PARTS), children, max_size=3)
    return dicts | st.builds(lambda inputs, extra: extra | desc("T") | {"inputs": inputs},
                             dicts, dicts)


task_trees = containers(st.recursive(st.sampled_from([0, 1, None, "x", [1, 2]]), containers,
                                     max_leaves=10))


def resolved(node, parts):
    """The concrete path `get_task_param` follows for `parts`, or None."""
    path = ()
    for part in parts:
        if not isinstance(node, dict):
            return None
        if part in node:
            node, path = node[part], path + (part,)
        elif is_task_desc(node) and part in node["inputs"]:
            node, path = node["inputs"][part], path + ("inputs", part)
        else:
            return None
    return path


@settings(max_examples=300, deadline=None)
@given(task_trees, st.lists(st.sampled_from(PARTS), min_size=2, max_size=4).map(".".join),
       st.sampled_from([7, None, {"b": 7}, {}, [7]]))
def test_override_is_found_where_get_task_param_looks(tree, key, value):
    """The override is what its key resolves to afterwards; every other key
    keeps its value unless one of their resolved paths is a prefix of the other."""
    stored = tree | {key: value}
    before = json.dumps(stored)
    after = apply_overrides(stored)
    assert json.dumps(stored) == before
    assert get_task_param(after, key) == value == get_task_param(stored, key)
    written = resolved(after, split_key(key))
    for parts in ALL_KEYS:
        path = resolved(tree, parts)
        if path is not None and path[:len(written)] != written and written[:len(path)] != path:
            assert get_task_param(after, parts) == get_task_param(tree, parts), parts


def test_as_params_sources():
    yaml_ps = YAMLParameterSet("model:\n  lr: 0.1\n  depth: 3\n")
    yaml_ps.update({"model.lr": 0.2})  # what `smt run default.yaml model.lr=0.2` stores
    expected = {"model": {"lr": 0.2, "depth": 3}}
    assert as_params(yaml_ps) == expected
    assert as_params(make_record("r1", yaml_ps)) == expected
    nt = as_params(NTParameterSet({"model": {"lr": 0.2, "depth": 3}}))
    assert nt == expected and type(nt) is dict and type(nt["model"]) is dict
    assert as_params(parameters.ParameterSet({"a": {"b": 1}})) == {"a": {"b": 1}}
    assert as_params(SimpleParameterSet("a = 1\nb.c = 2")) == {"a": 1, "b": {"c": 2}}
    assert as_params(None) == {} and as_params(make_record("r2", None)) == {}
    with pytest.raises(TypeError, match="str"):
        as_params("a = 1")


def test_stored_record_with_command_line_override(tmp_path):
    """`smt run default.yaml model.lr=0.2` in a real project: the override wins."""
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    smt = os.path.join(os.path.dirname(sys.executable), "smt")

    def run(*args):
        subprocess.run(args, cwd=tmp_path, env=env, check=True, capture_output=True)

    (tmp_path / "main.py").write_text("import sys\nprint(open(sys.argv[1]).read())\n")
    (tmp_path / "default.yaml").write_text("model:\n  lr: 0.1\n  layers: 3\nseed: 1\n")
    run("git", "init", "-q")
    run("git", "add", ".")
    run("git", "commit", "-qm", "init")
    run(smt, "init", "proj")
    run(smt, "configure", f"--executable={sys.executable}", "--main=main.py")
    run(smt, "run", "--label=rec1", "default.yaml", "model.lr=0.2")

    with sqlite3.connect(tmp_path / ".smt" / "records") as db:
        [(type_name, content)] = db.execute("SELECT type, content FROM django_store_parameterset")
    stored = parse_parameters(type_name, content)
    assert stored == {"model": {"lr": 0.1, "layers": 3}, "model.lr": 0.2, "seed": 1}
    assert apply_overrides(stored) == {"model": {"lr": 0.2, "layers": 3}, "seed": 1}

    # The same through Sumatra's own record loading (Django; kept out of this process)
    script = ("import json; from sumatra.projects import load_project; "
              "from smt_query.params import as_params, get_task_param; "
              "rec = load_project().get_record('rec1'); "
              "print(json.dumps([as_params(rec), get_task_param(rec, 'model.lr')]))")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == [{"model": {"lr": 0.2, "layers": 3}, "seed": 1}, 0.2]


# --------------------------------------------------------------------------
# get_task_param and fold_task_inputs

GUIDE_KEY = "optimizer.model.params.μtilde"
GUIDE_FULL_KEY = "inputs.optimizer.inputs.model.inputs.params.μtilde"


def test_get_task_param_through_task_descriptions():
    params = fit_task([-3.47, -0.14])
    assert get_task_param(params, GUIDE_KEY) == [-3.47, -0.14]
    assert get_task_param(params, GUIDE_FULL_KEY) == [-3.47, -0.14]
    assert get_task_param(params, "optimizer.model.inputs.params.μtilde") == [-3.47, -0.14]
    assert get_task_param(params, "optimizer.taskname") == "Optimizer"
    assert parameters.ParameterSet(params)[GUIDE_FULL_KEY] == [-3.47, -0.14]  # as in the guide


def test_get_task_param_on_every_kind_of_object():
    params = fit_task([3.38, -0.11])
    for obj in (params, NTParameterSet(params), JSONParameterSet(json.dumps(params)),
                parameters.ParameterSet(params), make_record("r", JSONParameterSet(json.dumps(params)))):
        assert get_task_param(obj, GUIDE_KEY) == [3.38, -0.11]


def test_get_task_param_key_present_wins_over_inputs():
    params = desc("T", lr=0.1)
    params["lr"] = 0.5
    assert get_task_param(params, "lr") == 0.5
    assert get_task_param(params, "inputs.lr") == 0.1


def test_get_task_param_overrides_win():
    stored = YAMLParameterSet(json.dumps(fit_task([1.0, 2.0])))
    stored.update({"inputs.optimizer.inputs.model.inputs.params.μtilde": [9.0]})
    assert get_task_param(stored, GUIDE_KEY) == [9.0]
    assert get_task_param(make_record("r", stored), GUIDE_KEY) == [9.0]


def test_get_task_param_alternatives_default_and_missing():
    params = fit_task([1.0, 2.0])
    assert get_task_param(params, ["optimizer.learning_rate", "optimizer.lr"]) == 0.01
    assert get_task_param(params, ["nope", "also.nope"], default=None) is None
    assert get_task_param(params, "optimizer.model.params.nope", default=7) == 7
    assert get_task_param(params, "optimizer.lr.deeper", default=7) == 7  # lr is a leaf
    with pytest.raises(KeyError, match="optimizer.model.params.nope"):
        get_task_param(params, "optimizer.model.params.nope")
    with pytest.raises(KeyError, match=r"a\.b \| c"):
        get_task_param(params, ["a.b", "c"])
    assert get_task_param(params, "optimizer.nope", NO_VALUE) is NO_VALUE
    assert get_task_param({"a": None}, "a", NO_VALUE) is None
    assert repr(NO_VALUE) == "NO_VALUE"


def test_get_task_param_tuple_of_parts():
    params = {"files": {"data.csv": {"rows": 10}}}
    assert split_key("files.data.csv") == ("files", "data", "csv")
    assert split_key(("files", "data.csv")) == ("files", "data.csv")
    assert get_task_param(params, ("files", "data.csv", "rows")) == 10
    assert get_task_param(params, [("nope",), ("files", "data.csv", "rows")]) == 10
    with pytest.raises(KeyError, match="files.'data.csv'.cols"):
        get_task_param(params, ("files", "data.csv", "cols"))
    with pytest.raises(TypeError):
        split_key(3)


names = st.text(st.sampled_from("abcdefμ"), min_size=1, max_size=4)


@st.composite
def nested_task_descs(draw):
    """(object, short key, full key, value): random levels wrapped in task descriptions."""
    path = draw(st.lists(names, min_size=1, max_size=6))
    value = draw(scalars | st.lists(scalars, max_size=2))
    node, full = value, []
    for name in reversed(path):
        node = {name: node, **draw(st.dictionaries(names.filter(lambda n: n != name), scalars, max_size=2))}
        full.insert(0, name)
        if draw(st.booleans()):
            node = {"taskname": draw(names), "module": "m", "inputs": node}
            full.insert(0, "inputs")
    return node, ".".join(path), ".".join(full), value


@given(nested_task_descs())
def test_get_task_param_short_key_agrees_with_full_key(case):
    obj, short, full, value = case
    assert get_task_param(obj, short) == get_task_param(obj, full) == value
    folded = fold_task_inputs(obj)
    assert get_task_param(folded, short) == value
    node = folded
    for part in short.split("."):  # folded: plain nesting, no task descriptions left
        assert not is_task_desc(node)
        node = node[part]
    assert node == value


def test_fold_task_inputs():
    params = fit_task([1.0, 2.0])
    params["inputs"]["recorders"] = [desc("Recorder", name="log L"), {"plain": desc("X", y=1)}]
    before = json.dumps(params)
    assert fold_task_inputs(params) == {
        "optimizer": {"model": {"params": {"μtilde": [1.0, 2.0], "τtilde": [2.5, 2.2]}, "nlatents": 2},
                      "latent_cache_path": ".cache/latents_process-2", "lr": 0.01},
        "digest": "7b84e7ecbb__nsteps_25000", "hashed_digest": "7b84e7ecbb",
        "recorders": [{"name": "log L"}, {"plain": {"y": 1}}]}
    assert json.dumps(params) == before
    assert fold_task_inputs(make_record("r", NTParameterSet(params))) == fold_task_inputs(params)
    not_a_desc = {"taskname": "T", "inputs": {"a": 1}}  # no module
    assert fold_task_inputs(not_a_desc) == not_a_desc


# --------------------------------------------------------------------------
# values_equal

@pytest.mark.parametrize("a, b, equal", [
    (1, 1, True), (1, 1.0, False), (1, "1", False), (1.0, "1", False), (True, 1, False),
    (False, 0, False), (None, None, True), (None, 0, False), ("a", "a", True),
    (math.nan, math.nan, True), (math.nan, float("nan"), True), (np.nan, math.nan, True),
    (np.float64("nan"), np.float32("nan"), True), (math.nan, None, False), (math.nan, 1.0, False),
    ([1, 2], [1, 2], True), ([1, 2], (1, 2), True), ([1, 2], [1.0, 2.0], False),
    ([1, [2, math.nan]], (1, (2, math.nan)), True), ([1, 2], [1, 2, 3], False),
    ({"a": [1, math.nan]}, {"a": (1, math.nan)}, True), ({"a": 1}, {"a": 1.0}, False),
    ({"a": 1}, {"a": 1, "b": 2}, False),
    (np.int64(3), 3, True), (np.int64(3), 3.0, False), (np.bool_(True), True, True),
    (np.bool_(True), 1, False), (np.float64(0.5), 0.5, True),
    (np.array([1, 2]), np.array([1, 2]), True), (np.array([1, 2]), [1, 2], True),
    (np.array([1, 2]), np.array([1.0, 2.0]), False), (np.array([[1.0, np.nan]]), [[1.0, math.nan]], True),
    (np.array([1, 2]), np.array([[1, 2]]), False), (np.array([1, 2]), [1, 2, 3], False),
    ({1, 2}, {2, 1}, True), ({1}, [1], False), (1 + 2j, 1 + 2j, True),
])
def test_values_equal(a, b, equal):
    assert values_equal(a, b) is equal
    assert values_equal(b, a) is equal


@given(trees)
def test_values_equal_reflexive(value):
    assert values_equal(value, json.loads(json.dumps(value)))


# --------------------------------------------------------------------------
# dfdiff

def guide_psets():
    """Parameter sets shaped like the guide's dfdiff example."""
    p1 = {"inputs": {"digest": "7b84e7ecbb__nsteps_25000", "hashed_digest": "7b84e7ecbb",
                     "optimizer": {"latent_cache_path": ".cache/latents_process-2", "lr": 0.01,
                                   "model": {"params": {"μtilde": [-0.26, -0.62], "Wtilde": [[1.0, -0.6]]},
                                             "nlatents": 2}}},
          "reason": "Test fit OUInput"}
    p2 = json.loads(json.dumps(p1))
    p2["inputs"].update(digest="e177c4e9ca__nsteps_25000", hashed_digest="e177c4e9ca")
    p2["inputs"]["optimizer"]["latent_cache_path"] = ".cache/latents_process-4"
    p2["inputs"]["optimizer"]["model"]["params"]["μtilde"] = [-2.26, -0.11]
    p2["inputs"]["optimizer"]["model"]["params"]["Wtilde"] = [[1.0, -0.6]]  # equal list
    return parameters.ParameterSet(p1), parameters.ParameterSet(p2)


def test_dfdiff_guide_example():
    params1, params2 = guide_psets()
    diff = dfdiff(params1, params2)
    assert list(diff.columns) == ["pset 1", "pset 2"]
    assert diff.index.nlevels == 5
    assert list(diff.index) == [
        ("inputs", "digest", "–", "–", "–"), ("inputs", "hashed_digest", "–", "–", "–"),
        ("inputs", "optimizer", "latent_cache_path", "–", "–"),
        ("inputs", "optimizer", "model", "params", "μtilde")]
    sub = diff.sort_index().loc[("inputs", "optimizer", "model")]
    assert list(sub.index) == [("params", "μtilde")]
    assert sub.iloc[0].tolist() == [[-0.26, -0.62], [-2.26, -0.11]]


def test_dfdiff_missing_keys_types_and_records():
    a = {"x": 1, "only_a": {"deep": True}, "list": [1, 2], "nan": math.nan, "same": "s"}
    b = {"x": 1.0, "only_b": None, "list": (1, 2), "nan": math.nan, "same": "s"}
    diff = dfdiff(a, b)
    assert diff.to_dict("index") == {
        ("x", "–"): {"pset 1": 1, "pset 2": 1.0},
        ("only_a", "deep"): {"pset 1": True, "pset 2": MISSING},
        ("only_b", "–"): {"pset 1": MISSING, "pset 2": None}}
    records = make_record("rec_a", NTParameterSet(a)), make_record("rec_b", NTParameterSet(b))
    assert list(dfdiff(*records).columns) == ["rec_a", "rec_b"]
    assert list(dfdiff(*records, labels=("old", "new")).columns) == ["old", "new"]
    assert list(dfdiff(records[0], b).columns) == ["pset 1", "pset 2"]


def test_dfdiff_identical_and_overrides():
    stored = YAMLParameterSet("model:\n  lr: 0.1\n")
    stored.update({"model.lr": 0.2})
    empty = dfdiff(stored, {"model": {"lr": 0.2}})
    assert empty.empty and list(empty.columns) == ["pset 1", "pset 2"]
    assert dfdiff(stored, {"model": {"lr": 0.1}}).loc[("model", "lr")].tolist() == [0.2, 0.1]


# --------------------------------------------------------------------------
# ParameterComparison

def guide_records():
    return [make_record(f"20201110-2131{i:02d}_{i:06x}",
                        NTParameterSet(fit_task([i * 0.5, 1.0], cache=f"process-{i % 2}",
                                                digest=f"{i:010x}")),
                        reason="Test fit OUInput") for i in range(4)]


def test_comparison_guide_example():
    records = guide_records()
    cmp = ParameterComparison(records)
    assert cmp.labels == [r.label for r in records]
    df = cmp.dataframe()
    assert list(df.index) == cmp.labels
    assert list(df.columns) == ["inputs"]  # equal reasons are not shown
    assert (df["inputs"] == FOLDED).all()

    df2 = cmp.dataframe(depth=2).drop(columns=["inputs.digest"])
    assert list(df2.columns) == ["inputs.optimizer", "inputs.hashed_digest"]
    assert df2["inputs.hashed_digest"].tolist() == [f"{i:010x}" for i in range(4)]

    full = cmp.dataframe(depth=None)
    assert list(full.columns) == [
        "inputs.optimizer.inputs.model.inputs.params.μtilde",
        "inputs.optimizer.inputs.latent_cache_path", "inputs.digest", "inputs.hashed_digest"]
    assert full.iloc[1, 0] == [0.5, 1.0]


def test_comparison_fields_and_reason_column():
    records = guide_records()
    records[2].reason = "Another reason"
    records[3].outcome = "diverged"
    cmp = ParameterComparison(records, fields=("reason", "outcome", "main_file"))
    df = cmp.dataframe(depth=2).drop(columns=["reason"])
    assert "inputs.optimizer" in df.columns and "main_file" not in df.columns
    assert df["outcome"].tolist() == ["", "", "", "diverged"]
    assert cmp.dataframe()["reason"].tolist()[1:3] == ["Test fit OUInput", "Another reason"]
    assert "reason" not in ParameterComparison(records, fields=()).dataframe().columns


def test_comparison_depth_folding_and_missing():
    params = [
        {"a": {"b": 1, "c": {"d": 1}}, "e": 5, "s": "same"},
        {"a": {"b": 1, "c": {"d": 2}}, "e": 5, "s": "same"},
        {"a": {"b": 1}, "s": "same"},          # lacks a.c.d and e
        {"a": 3, "e": 5.0, "s": "same"},       # leaf where the others have a subtree
    ]
    cmp = ParameterComparison(params=params, labels=["p", "q", "r", "s"])
    df1 = cmp.dataframe(depth=1)
    assert list(df1.columns) == ["a", "e"]
    assert df1["a"].tolist() == [FOLDED, FOLDED, FOLDED, 3]
    assert df1["e"].tolist() == [5, 5, MISSING, 5.0]
    df2 = cmp.dataframe(depth=2)
    # p, q, r have a subtree at 'a' where s has a leaf: folded, though a.b/a.c show its details
    assert df2.to_dict("list") == {"a.b": [1, 1, 1, MISSING], "a.c": [FOLDED, FOLDED, MISSING, MISSING],
                                   "e": [5, 5, MISSING, 5.0], "a": [FOLDED, FOLDED, FOLDED, 3]}
    assert list(df2.columns) == ["a.b", "a.c", "e", "a"]
    assert cmp.differences == {
        "a.b": {"p": 1, "q": 1, "r": 1}, "a.c.d": {"p": 1, "q": 2},
        "e": {"p": 5, "q": 5, "s": 5.0}, "a": {"s": 3}}
    assert cmp.dataframe(depth=None)["a.c.d"].tolist() == [1, 2, MISSING, MISSING]


def test_comparison_subtree_present_but_only_differs_by_absence():
    cmp = ParameterComparison(params=[{"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}, {"x": 0}])
    assert cmp.dataframe()["a"].tolist() == [FOLDED, FOLDED, MISSING]


def test_comparison_json_contract_and_types():
    cmp = ParameterComparison(params=[{"v": 1, "n": math.nan, "l": [1, 2]},
                                      {"v": 1.0, "n": math.nan, "l": (1, 2)},
                                      {"v": "1", "n": math.nan, "l": [1, 2]}])
    assert cmp.labels == [0, 1, 2]
    assert cmp.differences == {"v": {0: 1, 1: 1.0, 2: "1"}}
    json.dumps({"differences": {k: {str(l): v for l, v in d.items()} for k, d in cmp.differences.items()}})


def test_comparison_fold_ignore_and_overrides():
    as_values = {"model": {"lr": 0.1, "digest": "aaa"}, "seed": 1}
    as_task = desc("Fit", model=desc("Model", lr=0.1, digest="bbb"), seed=1)
    overridden = YAMLParameterSet(json.dumps(as_values))
    overridden.update({"model.lr": 0.3})
    sets = [as_values, as_task, overridden]

    unfolded = ParameterComparison(params=sets)
    assert "inputs.model.inputs.lr" in unfolded.differences
    folded = ParameterComparison(params=sets, fold=True)
    assert folded.differences == {"model.lr": {0: 0.1, 1: 0.1, 2: 0.3},
                                  "model.digest": {0: "aaa", 1: "bbb", 2: "aaa"}}
    assert list(ParameterComparison(params=sets, fold=True, ignore="*digest").differences) == ["model.lr"]
    assert ParameterComparison(params=sets, fold=True, ignore=["model"]).differences == {}
    assert ParameterComparison(params=sets, fold=True, ignore=["model.lr", "model.d*"]).differences == {}


def test_comparison_inputs_and_errors(capsys):
    records = guide_records()
    cmp = ParameterComparison(iter(records), progress=False)  # a one-shot iterator is fine
    assert cmp.labels == [r.label for r in records]
    assert capsys.readouterr().err == ""
    ParameterComparison(records, progress=True)
    assert "Comparing" in capsys.readouterr().err

    assert ParameterComparison(records[:1]).differences == {}
    assert ParameterComparison(params=[]).dataframe().empty
    assert ParameterComparison(records, labels="abcd").labels == list("abcd")
    with pytest.raises(ValueError, match="unique"):
        ParameterComparison(params=[{}, {}], labels=["x", "x"])
    with pytest.raises(ValueError, match="3 labels for 2"):
        ParameterComparison(params=[{}, {}], labels=["x", "y", "z"])
    with pytest.raises(TypeError):
        ParameterComparison()


def test_comparison_max_chars():
    cmp = ParameterComparison(params=[{"r": "x" * 50, "a": {"b": 1}}, {"r": "short", "a": {"b": 2}}])
    df = cmp.dataframe(max_chars=10)
    assert df["r"].tolist() == ["x" * 9 + "…", "short"]
    assert df["a"].tolist() == [FOLDED, FOLDED]


@settings(max_examples=50, deadline=None)
@given(st.lists(param_dicts, min_size=1, max_size=5))
def test_comparison_agrees_with_pairwise_dfdiff(sets):
    """A key differs across the sets iff some pair of sets differs at it (the naive definition)."""
    cmp = ParameterComparison(params=sets)
    pairwise = set()
    for s in sets[1:]:
        for key in dfdiff(sets[0], s).index:
            pairwise.add(".".join(str(p) for p in key if p != "–"))
    assert set(cmp.differences) == pairwise
    if len(sets) > 1:
        assert all(cmp.dataframe(depth=None)[k].tolist().count(MISSING) == len(sets) - len(d)
                   for k, d in cmp.differences.items())


def test_import_is_cheap():
    code = ("import sys, smt_query.params; "
            "print(sorted(m for m in ('django', 'pandas', 'yaml', 'tqdm', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
