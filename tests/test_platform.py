"""The platform filter: the machine a run used, from the platforms Sumatra
records with each run (host name, system, machine type, processor).

Real runs (``smt run``); a second machine is recorded in the same tables
Sumatra writes (``PlatformInformation`` and the record's ``platforms``).
"""
import platform as host

import pytest
from click.testing import CliRunner

from smt_query import RecordStoreView
from smt_query.cli.query import query
from smt_query.errors import QueryError
from smt_query.query import apply_spec
from support import sumatra_records

PATTERNS = [host.node(), host.system(), host.machine(), "node07", "node*", "node0?", "Darwin",
            "arm64", "*", "[!n]*", "Lin*", "no-such-host", "ode0", "NODE07", host.node()[1:]]


@pytest.fixture
def runs(make_project):
    """Three runs: the first on this machine, the second on node07, the third
    on both (an MPI run records one platform per node)."""
    project = make_project(runs=[{}, {}, {}])
    store = RecordStoreView(project=project.path)._store
    models, alias = store.models, store.db_alias
    node07 = models.PlatformInformation.objects.using(alias).create(
        architecture_bits="64bit", architecture_linkage="", machine="arm64",
        network_name="node07", ip_addr="10.0.0.7", processor="arm", release="23.1.0",
        system_name="Darwin", version="Darwin Kernel Version 23.1.0")
    records = models.Record.objects.using(alias)
    records.get(label=project.labels[1]).platforms.set([node07])
    records.get(label=project.labels[2]).platforms.add(node07)
    return project


def test_platform_in_sql_equals_python(runs):
    first, second, third = runs.labels
    here = {first, third}
    view = RecordStoreView(project=runs.path)
    oracle = RecordStoreView(records=sumatra_records(runs.path))   # Sumatra's own records
    assert all(len(r.platforms) == (2 if r.label == third else 1) for r in oracle)
    for pattern in PATTERNS:
        sql = view.filter.platform(pattern)
        assert sql.pushed_down, pattern
        assert set(sql.labels()) == set(oracle.filter.platform(pattern).labels()), pattern
    expected = {host.node(): here, "node07": {second, third}, "node*": {second, third},
                "Darwin": {second, third}, "arm64": {second, third}, "*": set(runs.labels),
                "no-such-host": set(), "ode0": set(), "NODE07": set()}
    for pattern, labels in expected.items():
        assert set(view.filter.platform(pattern).labels()) == labels, pattern
    both = view.filter.platform("node07").filter.platform(host.node())
    assert both.labels() == [third]


def test_platform_from_the_command_line_and_specs(runs, chdir):
    chdir(runs.path)
    result = CliRunner().invoke(query, ["--platform", "node0?", "--format", "labels"])
    assert result.exit_code == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(runs.labels[1:])
    view = apply_spec(RecordStoreView(project=runs.path), {"platform": ["node07", "Darwin"]})
    assert sorted(view.labels()) == sorted(runs.labels[1:])


def test_platform_needs_a_pattern():
    with pytest.raises(QueryError, match="platform needs a non-empty string"):
        RecordStoreView(records=()).filter.platform("")
