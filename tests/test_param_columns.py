"""Parameter columns read fast equal the reference path, on both backends.

The row pipeline (``smt query --param/--sort/--group-by/--plot``,
``summary.plot``) keeps of each stored parameter set only the values of the
asked-for keys (:class:`smt_query.params.KeyValues`), and JSON sets skip the
depth walk when their brackets bound the depth (``parse._DEPTH_BOUNDS``).
Reference: every set parsed whole with the depth always walked, each row's
values read by ``get_task_param`` from the whole set, as before. Values are
compared with their Python types (``1`` is not ``1.0`` nor ``True``; NaN is
NaN), unreadable sets by the records and reasons named.
"""
import json
import math
import os
import warnings
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hostile import UNREADABLE, plant_parameters
from smt_query import RecordStoreView
from smt_query.errors import UnreadableParameters
from smt_query.params import MAX_DEPTH, ParameterParseError, get_task_param, parse
from smt_query.plot import plot_data
from smt_query.rows import group_view, read_rows, select_rows, sort_rows


def same(a, b):
    """Equal values of the same Python types, all the way down (NaN is NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b


def reference():
    """The reference path's parsing: the depth of every set walked."""
    return mock.patch.dict(parse._DEPTH_BOUNDS, clear=True)


def chain(depth, leaf=1, key="a"):
    """``{"a": {"a": ... leaf}}``: ``depth`` levels as ``_depth`` counts them."""
    value = leaf
    for _ in range(depth - 1):
        value = {key: value}
    return value


def task(name, inputs):
    return {"taskname": name, "module": "m", "inputs": inputs}


#: (type, content) of parameter sets of every format Sumatra stores, including
#: damaged and hostile ones (``hostile.UNREADABLE``) and JSON at the depth bound.
SETS = [
    ("JSONParameterSet", json.dumps(task("Fit", {"optimizer": task("SGD", {"lr": 0.1}),
                                                 "nsteps": 10}), indent=2)),
    ("JSONParameterSet", json.dumps({**task("Fit", {"optimizer": task("SGD", {"lr": 0.1})}),
                                     "optimizer.lr": 0.25})),            # an override
    ("JSONParameterSet", '{"lr": 1, "lr": 2.5, "x": {"y": 1}, "x": [true, null]}'),  # duplicates
    ("JSONParameterSet", '{"lr": NaN, "a": Infinity, "b": {"c": -Infinity}, "x": -0.0}'),
    ("JSONParameterSet", '{"lr": 1e400, "a": 100000000000000000000000000001, "x": 1E2}'),
    ("JSONParameterSet", '{"lr": true, "a": false, "x": null, "optimizer": {"lr": "0.1"}}'),
    ("JSONParameterSet", '{"\\u006cr": "escaped", "\\u03bctilde": [1, 2], "a": "\\ud800"}'),
    ("JSONParameterSet", json.dumps(chain(MAX_DEPTH))),          # deepest readable
    ("JSONParameterSet", json.dumps(chain(MAX_DEPTH + 1))),      # one level too deep
    ("JSONParameterSet", json.dumps(chain(MAX_DEPTH, leaf=[]))),
    ("JSONParameterSet", json.dumps({"a.a": chain(MAX_DEPTH - 1)})),   # override adds levels
    ("JSONParameterSet", json.dumps({"a.a": chain(MAX_DEPTH - 2)})),
    ("JSONParameterSet", json.dumps({"lr": "{[" * 80, "x": {"y": "]}" * 80}})),  # brackets in text
    ("JSONParameterSet", json.dumps({"a": [[[[{"a": 3}]]]], "x": {"y": {"z": []}}})),
    ("JSONParameterSet", "[1, 2]"),
    ("JSONParameterSet", '"text"'),
    ("JSONParameterSet", "None"),
    ("JSONParameterSet", "{}"),
    ("JSONParameterSet", "   "),
    ("JSONParameterSet", '{"lr": 1}\n{"lr": 2}'),
    ("JSONParameterSet", '{"lr": "tab\there"}'),
    ("YAMLParameterSet", "lr: 0.5\noptimizer: {lr: !!python/tuple [1, 2]}\nx: &x {y: 1}\n"
                         "a: *x\n"),
    ("YAMLParameterSet", "lr: .nan\na: 2020-01-01\nx: yes\n"),
    ("NTParameterSet", "{'lr': nan, 'a': (1, 2), 'x': {'y': true}, 'optimizer': {'lr': 1+2j}}"),
    ("SimpleParameterSet", "lr = 0.5\na = 'text'\nx = [1, 2]\noptimizer.lr = hello # c"),
    ("ConfigParserParameterSet", "[optimizer]\nlr = 0.1\n[x]\ny = %(lr)s\n"),
    ("UnknownParameterSet", '{"lr": 1}'),
    *UNREADABLE.values(),
]

KEYS = ["lr", "optimizer.lr", "inputs.optimizer.inputs.lr", "optimizer", "a", "a.a.a", "x",
        "x.y", "nsteps", "inputs", "missing", "b.c", "\u03bctilde", "a." * 98 + "a"]


def planted(project):
    """Plant :data:`SETS` on the newest records of ``project``; return their labels."""
    labels = RecordStoreView(project=project.path).labels()[:len(SETS)]
    for label, (type_name, content) in zip(labels, SETS):
        plant_parameters(project, label, type_name, content)
    return labels


def named(call):
    """``(result, sorted (label, reason) of the UnreadableParameters warned)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, sorted({(w.message.label, w.message.reason) for w in caught
                           if isinstance(w.message, UnreadableParameters)})


def reference_rows(view, fields, keys):
    """Rows as before: whole sets attached to the rows, each key read from them."""
    with reference():
        rows = view.rows(["label", *fields], tags=False, parameters=True)
    for row in rows:
        params = row.pop("parameters")
        for key in keys:
            row[key] = get_task_param(params, key, None)
    return rows


def assert_same_rows(ours, theirs, keys):
    assert [r["label"] for r in ours] == [r["label"] for r in theirs]
    for mine, ref in zip(ours, theirs):
        for key in keys:
            assert same(mine[key], ref[key]), (mine["label"], key, mine[key], ref[key])


@pytest.fixture
def store(demo_project_rw):
    return demo_project_rw, planted(demo_project_rw)


@pytest.mark.parametrize("pushdown", [True, False])
def test_parameter_columns_equal_reference(store, pushdown):
    """Every key of every format, damaged and hostile sets included, in SQL
    and in the Python view: same values and types, same records named."""
    project, labels = store
    view = RecordStoreView(project=project.path, pushdown=pushdown)
    ours, our_named = named(lambda: read_rows(view, ["timestamp"], KEYS))
    theirs, their_named = named(lambda: reference_rows(view, ["timestamp"], KEYS))
    assert_same_rows(ours, theirs, KEYS)
    assert our_named == their_named
    unreadable = {label for label, _ in our_named}
    # the planted sets are there: values read, and the bad ones named
    values = {r["label"]: r for r in ours}
    assert same(values[labels[1]]["optimizer.lr"], 0.25)
    assert same(values[labels[2]]["lr"], 2.5)
    assert same(values[labels[4]]["lr"], math.inf)
    assert same(values[labels[5]]["lr"], True)
    assert same(values[labels[6]]["lr"], "escaped")
    assert same(values[labels[7]]["a." * 98 + "a"], 1)
    assert {labels[8], labels[10], labels[14], labels[20]} <= unreadable
    assert labels[7] not in unreadable and labels[11] not in unreadable


def test_whole_sets_still_attached(store):
    """``--format json --parameters`` keeps the whole set, as before."""
    project, labels = store
    view = RecordStoreView(project=project.path)
    ours, our_named = named(lambda: read_rows(view, ["timestamp"], ["lr"], with_parameters=True))
    with reference():
        theirs, their_named = named(lambda: view.rows(["label", "timestamp"], tags=False,
                                                      parameters=True))
    assert our_named == their_named
    for mine, ref in zip(ours, theirs):
        assert same(mine["parameters"], ref["parameters"])
        assert same(mine["lr"], get_task_param(ref["parameters"], "lr", None))


def test_sort_group_and_plot_equal_reference(store):
    """``--sort``, ``--group-by`` and ``--plot`` on parameter keys see the reference values."""
    project, labels = store
    view = RecordStoreView(project=project.path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableParameters)
        theirs = {r["label"]: r for r in reference_rows(view, ["timestamp"], ["lr", "nsteps"])}
        rows, _ = select_rows(view, ["label"], ["lr"], sort="-nsteps")
        groups, _ = group_view(view, ["nsteps"], ["lr"])
        data = plot_data(view, "timestamp", "nsteps", color="optimizer.lr")
    assert [r["label"] for r in rows] == [
        r["label"] for r in sort_rows(list(theirs.values()), "-nsteps")]
    for row in rows:
        assert same(row["lr"], theirs[row["label"]]["lr"])
    counts = {}
    for row in theirs.values():
        counts[json.dumps(row["nsteps"])] = counts.get(json.dumps(row["nsteps"]), 0) + 1
    assert {json.dumps(g["nsteps"]): g["count"] for g in groups} == counts
    expected = [label for label, r in theirs.items()
                if isinstance(r["nsteps"], (int, float)) and not isinstance(r["nsteps"], bool)]
    assert sorted(data.labels) == sorted(expected)


# -- properties ------------------------------------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                     st.text(alphabet="a{[]}.\"\\ ", max_size=4))
_names = st.sampled_from(["a", "b", "a.b", "a.a", "inputs", "taskname", "module", "{", "["])
_trees = st.recursive(_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(_names, kids, max_size=3)), max_leaves=12)


@st.composite
def json_texts(draw):
    """JSON texts around the depth bound: chains near MAX_DEPTH under
    ordinary trees, dotted keys above them, brackets in strings, damage."""
    depth = draw(st.integers(MAX_DEPTH - 6, MAX_DEPTH + 2))
    leaf = draw(_trees)
    tree = chain(depth - draw(st.integers(0, 4)), leaf, key=draw(_names))
    top = draw(st.dictionaries(_names, _trees, max_size=3))
    top[draw(_names)] = tree
    text = json.dumps(top, indent=draw(st.sampled_from([None, 1])))
    cut = draw(st.integers(0, 3))
    if cut == 1:    # damaged: cut short
        text = text[:draw(st.integers(0, len(text)))]
    elif cut == 2:  # a list at the top
        text = "[" + text + "]"
    return text


def outcome(content):
    try:
        return "ok", parse.parse_parameters("JSONParameterSet", content)
    except ParameterParseError as exc:
        return "error", str(exc)


@settings(max_examples=int(os.environ.get("SMTQ_PARAM_EXAMPLES", 300)), deadline=None)
@given(json_texts())
def test_json_depth_bound_property(content):
    """A JSON set parses to the same dict, or the same error, with the depth
    read from its brackets as with the depth walked."""
    ours = outcome(content)
    with reference():
        theirs = outcome(content)
    assert ours[0] == theirs[0] and (same(ours[1], theirs[1]) if ours[0] == "ok"
                                     else ours[1] == theirs[1])


@settings(max_examples=int(os.environ.get("SMTQ_PARAM_EXAMPLES", 12)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sets=st.lists(st.one_of(json_texts().map(lambda t: ("JSONParameterSet", t)),
                               _trees.map(lambda t: ("JSONParameterSet", json.dumps(t)))),
                     min_size=1, max_size=6),
       keys=st.lists(st.lists(_names, min_size=1, max_size=3).map(".".join),
                     min_size=1, max_size=3, unique=True))
def test_planted_sets_property(demo_project_rw, sets, keys):
    """Random JSON sets planted in the store read as the reference reads them."""
    labels = RecordStoreView(project=demo_project_rw.path).labels()[:len(sets)]
    for label, (type_name, content) in zip(labels, sets):
        plant_parameters(demo_project_rw, label, type_name, content)
    view = RecordStoreView(project=demo_project_rw.path).filter.labels(*labels)
    ours, our_named = named(lambda: read_rows(view, [], keys))
    theirs, their_named = named(lambda: reference_rows(view, [], keys))
    assert_same_rows(ours, theirs, keys)
    assert our_named == their_named
