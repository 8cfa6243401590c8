"""A hostile or damaged record store cannot run code, read files or stop the tools.

Stores are written by hand with SQL (tests/hostile.py) in copies of the demo
project, on SQLite and PostgreSQL. Every entry point runs over them: the CLI
as real subprocesses (their address space capped at 1 GiB, so an expansion
bomb fails fast instead of taking the machine) and the Python API.
"""
import ast
import contextlib
import json
import os
import resource
import subprocess
import sys
import warnings

import pytest

from hostile import (UNREADABLE, hostile_bomb, hostile_commands, hostile_secrets,  # noqa: F401
                     labels_on, plant_parameters)
from smt_query import RecordStoreView
from smt_query.errors import StoredDataWarning, UnknownStoredType, UnreadableParameters
from smt_query.loader import StoredComponent
from smt_query.params import ParameterComparison, UnreadableText, as_params, get_task_param

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
MEMORY = 1 << 30
DAY = ("--on", "20201110")


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run(project, *args, program=SMT):
    """``smt ARGS`` (or ``program ARGS``) in the project, as a real process, its
    output a pipe without ``COLUMNS`` (tables at full width: the data is checked)."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([program, *args], cwd=project.path, capture_output=True, text=True,
                          preexec_fn=_cap_memory, timeout=900, env=env)


def ok(result):
    """Exit 0, no traceback, no error; returns the result."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert not any(line.startswith("Error") for line in result.stderr.splitlines()), result.stderr
    return result


@contextlib.contextmanager
def caught():
    """Every warning raised in the block (the suite turns warnings into errors)."""
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        yield got


def messages(got, category=StoredDataWarning):
    assert all(issubclass(w.category, StoredDataWarning) for w in got), [
        str(w.message) for w in got]
    return [str(w.message) for w in got if issubclass(w.category, category)]


# -- 1. nothing a row names runs, is called, opened or created ------------------------

def test_nothing_a_row_names_runs_or_is_created(hostile_commands):
    project, planted = hostile_commands
    first, second = planted.labels
    executable = stored(project, first, "executable", "path")
    loading = [ok(run(project, "compare", first, second)),
               ok(run(project, "compare", "--env", first, second)),
               ok(run(project, "query", "--where", "nsteps == 25000", *DAY, "--format", "labels"))]
    rows = ok(run(project, "query", *DAY, "--format", "json", "--with-parameters"))
    ok(run(project, "compare", *DAY))
    for result in loading:     # each unknown stored type is named, once
        for name in planted.names:
            assert result.stderr.count(repr(name)) == 1, (name, result.stderr)
    env = loading[1].stdout
    assert executable in env and "Executable" in env      # shown as the data it is
    expected = [r["label"] for r in json.loads(rows.stdout)
                if get_task_param(r["parameters"], "nsteps", None) == 25000]
    assert loading[2].stdout.split() == expected and expected    # the YAML set made it Python

    with caught() as got:
        view = RecordStoreView(project=project.path)
        one, two = view.get([first, second])
        day = view.filter.on(20201110)
        everything = list(day)
        assert day.filter.where("nsteps == 25000").labels() == expected
        assert RecordStoreView(project=project.path, pushdown=False).filter.on(20201110) \
            .filter.where("nsteps == 25000").labels() == expected
        assert set(ParameterComparison(day).labels) == {r.label for r in everything}
        assert len(day.summary.dataframe()) == len(everything)
        exported = json.loads(day.export())
    assert {name for name in planted.names if any(repr(name) in m for m in messages(got))} \
        == set(planted.names)
    assert not messages(got, UnreadableParameters)
    assert (one.executable.path, one.executable.version) == (executable, "")
    assert isinstance(two.launch_mode, StoredComponent)
    assert two.launch_mode.type_name == "Executable"
    assert two.launch_mode.path == ast.literal_eval(
        stored(project, second, "launchmode", "parameters"))["path"]
    assert isinstance(two.repository, StoredComponent) and two.repository.url == "file:///"
    assert [d.name for d in one.dependencies if isinstance(d, StoredComponent)] == ["evil"]
    assert one.datastore.root == planted.markers[2]
    assert {r["label"] for r in exported} == {r.label for r in everything}
    for marker in planted.markers:
        assert not os.path.exists(marker), marker


def stored(project, label, table, column):
    """``column`` of the ``table`` row the record ``label`` points at."""
    from hostile import run_sql
    key = {"launchmode": "launch_mode"}.get(table, table)
    [(value,)] = run_sql(project, f"SELECT t.{column} FROM django_store_record r JOIN "
                                  f"django_store_{table} t ON t.id = r.{key}_id "
                                  "WHERE r.label = %s", (label,))
    return value


# -- 2. stored parameter text is never opened as a file --------------------------------

def test_parameter_text_is_never_opened(hostile_secrets):
    project, planted = hostile_secrets
    results = [ok(run(project, "query", *DAY, "--format", "json", "--with-parameters")),
               ok(run(project, "query", *DAY, "--param", "token")),
               ok(run(project, "compare", *DAY, "--format", "json")),
               ok(run(project, "compare", "--env", *planted.labels[:2]))]
    named = run(project, "compare", *planted.labels[:2])
    for result in results + [named]:
        for secret in planted.texts:
            assert secret not in result.stdout + result.stderr
    for result in results[:3]:           # every such record named once
        for label in planted.labels:
            assert result.stderr.count(label) == 1, (label, result.stderr)
    rows = {r["label"]: r["parameters"] for r in json.loads(results[0].stdout)}
    assert all(rows[label] == {} for label in planted.labels)
    assert set(json.loads(results[2].stdout)["records"]) == set(rows) - set(planted.labels)
    assert named.returncode == 1 and named.stdout == ""
    assert named.stderr.startswith(f"Error: cannot compare record {planted.labels[0]}: ")
    assert len(named.stderr.splitlines()) == 1

    with caught() as got:
        view = RecordStoreView(project=project.path)
        records = view.get(list(planted.labels))
        assert all(as_params(r) == {} for r in records)
        compared = ParameterComparison(view.filter.on(20201110))
        exported = view.filter.on(20201110).export()
    for record in records:
        assert isinstance(record.parameters, UnreadableText)
        assert os.path.isfile(record.parameters)            # the path, kept as text
    assert not set(planted.labels) & set(compared.labels)
    for secret in planted.texts:
        assert secret not in exported
        assert not any(secret in repr(vars(r)) for r in records)
    said = messages(got, UnreadableParameters)
    assert {label for label in planted.labels if any(label in m for m in said)} == \
        set(planted.labels)


# -- 3. expansion bombs are named and skipped -----------------------------------------

BOMB_API = """
import json, sys, warnings
from smt_query import RecordStoreView
from smt_query.params import ParameterComparison, UnreadableText, fold_task_inputs, flatten
with warnings.catch_warnings(record=True) as got:
    warnings.simplefilter("always")
    view = RecordStoreView()
    day = view.filter.on(20201110)
    bombs = view.get(sys.argv[1:])
    compared = ParameterComparison(day, fold=True).labels
    rows = day.rows(["label"], parameters=True)
    sizes = [len(flatten(fold_task_inputs(r["parameters"]))) for r in rows]
    where = day.filter.where("k1 == 'v'").labels()
print(json.dumps({"types": [type(r.parameters).__name__ for r in bombs], "compared": compared,
                  "rows": [r["label"] for r in rows], "where": where,
                  "warnings": [str(w.message) for w in got]}))
"""


def test_expansion_bombs_are_named_and_skipped(hostile_bomb):
    project, planted = hostile_bomb
    day = labels_on(project, 20201110)
    others = [label for label in day if label not in planted.labels]
    compared = ok(run(project, "compare", *DAY, "--format", "json"))
    shown = ok(run(project, "query", *DAY, "--param", "l9", "--format", "json",
                   "--with-parameters"))
    where = ok(run(project, "query", *DAY, "--where", "k1 == 'v'", "--format", "labels"))
    for result in (compared, shown, where):
        for label in planted.labels:
            [line] = [line for line in result.stderr.splitlines() if label in line]
            assert "smt_query.params.MAX_VALUES" in line
    assert json.loads(compared.stdout)["records"] == others
    assert [r["label"] for r in json.loads(shown.stdout)] == day
    assert where.stdout == ""
    api = json.loads(ok(run(project, "-c", BOMB_API, *planted.labels,
                            program=sys.executable)).stdout)
    assert api["types"] == ["UnreadableText"] * 2
    assert api["compared"] == others and api["rows"] == day and api["where"] == []
    for label in planted.labels:
        assert any(label in m and "MAX_VALUES" in m for m in api["warnings"])


# -- 4. one record that cannot be read never stops the others --------------------------

@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_an_unreadable_record_is_named_once_and_the_rest_answered(demo_project_rw, kind):
    project = demo_project_rw
    damaged, other = labels_on(project, 20201110)[:2]
    plant_parameters(project, damaged, *UNREADABLE[kind])

    everything = ok(run(project, "query", "--format", "json", "--with-parameters"))
    rows = json.loads(everything.stdout)
    assert [r["parameters"] for r in rows if r["label"] == damaged] == [{}]
    expected = [r["label"] for r in rows
                if get_task_param(r["parameters"], "nsteps", None) == 25000]
    results = {
        "all": everything,
        "where": ok(run(project, "query", "--where", "nsteps == 25000", "--format", "labels")),
        "param": ok(run(project, "query", "--param", "nsteps", "--limit", "3")),
        "compare": ok(run(project, "compare", *DAY, "--format", "json")),
    }
    for name, result in results.items():
        assert result.stderr.count(damaged) == 1, (name, result.stderr)
    assert results["where"].stdout.split() == expected
    assert damaged not in results["param"].stdout and len(results["param"].stdout.splitlines()) == 5
    assert json.loads(results["compare"].stdout)["records"] == [
        label for label in labels_on(project, 20201110) if label != damaged]
    named = run(project, "compare", damaged, other)
    assert named.returncode == 1 and named.stdout == ""
    assert named.stderr.startswith(f"Error: cannot compare record {damaged}: ")
    assert len(named.stderr.splitlines()) == 1
    ok(run(project, "compare", "--env", damaged, other))     # parameters are not read there

    with caught() as got:
        view = RecordStoreView(project=project.path)
        assert view.filter.where("nsteps == 25000").labels() == expected
        record = view.get(damaged)
        assert as_params(record) == {} and get_task_param(record, "nsteps", None) is None
        day = view.filter.on(20201110)
        assert damaged not in ParameterComparison(day).labels
        shown = {r["label"]: r["parameters"] for r in day.rows(["label"], parameters=True)}
        assert shown[damaged] == {}
        errors = {}
        day.rows(["label"], parameters=True, errors=errors)
        assert list(errors) == [damaged]
        assert len(day.summary.dataframe()) == len(day)
    said = messages(got)
    assert said and all(damaged in m for m in said)
    assert {type(w.message) for w in got} == {UnreadableParameters}
    assert isinstance(record.parameters, UnreadableText)
    assert record.parameters == UNREADABLE[kind][1]


def test_unknown_stored_types_warn_with_their_category(demo_project_rw):
    """A launch mode of a type outside Sumatra's is a plain value and a warning."""
    from hostile import new_row, point
    label = labels_on(demo_project_rw, 20201110)[0]
    point(demo_project_rw, label, "launch_mode",
          new_row(demo_project_rw, "launchmode", type="check_files_exist", parameters="{}"))
    with pytest.warns(UnknownStoredType, match="'check_files_exist'"):
        record = RecordStoreView(project=demo_project_rw.path).get(label)
    assert record.launch_mode == StoredComponent("launch mode", "check_files_exist", {})
