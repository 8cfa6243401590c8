"""The light read path: a read-only query reads ``.smt/project`` itself, never
imports Sumatra's project module or pandas, and answers as the full path does."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
from sumatra.projects import load_project

from smt_query import RecordStoreView
from smt_query.errors import QueryError
from smt_query.project import QUERY_STORE

SMT = os.path.join(os.path.dirname(sys.executable), "smt")

# Runs Sumatra's real `smt` entry point; reports which of the heavy modules got imported.
PROBE = textwrap.dedent("""
    import atexit, sys
    def report():
        heavy = sorted({'sumatra.projects', 'pandas'} & set(sys.modules))
        print('IMPORTED:' + ','.join(heavy), file=sys.stderr)
    atexit.register(report)
    sys.argv = ['smt'] + sys.argv[1:]
    from sumatra.cli import smt
    sys.exit(smt())
""")

READS = [["query", "--after", "20200912", "--before", "20200916", "--count"],
         ["query", "--tag", "fig", "--format", "labels"],
         ["query", "--on", "202011"],
         ["query", "--where", "nsteps == 25000", "--format", "csv"]]


def probe(path, *args):
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=path,
                            capture_output=True, text=True, timeout=300)
    out, _, imported = result.stderr.rpartition("IMPORTED:")
    return result.returncode, result.stdout, out, imported.strip()


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[1:3]))
def test_read_only_query_imports_neither_project_module_nor_pandas(demo_project, args):
    status, out, err, imported = probe(demo_project.path, *args)
    assert status == 0, err
    assert imported == "", imported
    full = subprocess.run([SMT, *args], cwd=demo_project.path, capture_output=True, text=True)
    assert out == full.stdout and out.strip()


def test_tagging_loads_what_it_needs(demo_project_rw):
    """Writing still works from the light start (nothing is asked that is not there)."""
    status, out, err, _ = probe(demo_project_rw.path, "query", "--tag", "fig",
                                "--add-tag", "seen")
    assert status == 0, err
    fig = RecordStoreView(project=demo_project_rw.path).filter.tags("fig").labels()
    assert RecordStoreView(project=demo_project_rw.path).filter.tags("seen").labels() == fig


PYTHON = textwrap.dedent("""
    import sys
    from smt_query import RecordStoreView
    view = RecordStoreView(project=sys.argv[1])
    print(len(view.filter.on(202011)), 'sumatra.projects' in sys.modules)
    print(view.project.name, 'sumatra.projects' in sys.modules)
""")


def test_python_view_loads_sumatras_project_only_when_asked(demo_project):
    result = subprocess.run([sys.executable, "-c", PYTHON, demo_project.path],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    count = len(RecordStoreView(project=demo_project.path).filter.on(202011))
    assert result.stdout.splitlines() == [f"{count} False", "demo True"]


def _answers(view):
    dated = view.filter.after(20200912).filter.before(20201110)
    return (len(view), view.labels(), len(dated), dated.labels()[:50],
            view.filter.tags("fig").rows(["label", "timestamp", "duration", "reason"]),
            view.filter.where("nsteps == 25000").labels(), view.latest.label,
            [r.label for r in view.filter.tags("figure1")], view.tag_names())


def test_same_answers_as_the_full_path(demo_project):
    light = RecordStoreView(project=demo_project.path)
    assert light._project is None           # Sumatra has not loaded the project
    full = RecordStoreView(project=load_project(demo_project.path))
    assert _answers(light) == _answers(full)
    assert repr(light) == repr(full)
    assert light.project.name == full.project.name == "demo"
    assert type(light.record_store) is type(full.record_store)


def _store_entry(path, change):
    project_file = os.path.join(path, ".smt", "project")
    with open(project_file, encoding="utf-8") as f:
        state = json.load(f)
    change(state["record_store"])
    with open(project_file, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)


def test_switched_store_reads_alike(make_project):
    project = make_project(runs=[{"tags": ["a"]}, {}])
    before = RecordStoreView(project=project.path).rows(["label", "reason"])
    _store_entry(project.path, lambda e: e.update(type=QUERY_STORE))
    light = RecordStoreView(project=project.path)
    assert light._project is None and light.rows(["label", "reason"]) == before
    assert type(light.record_store).__name__ == "QueryDjangoRecordStore"


def test_store_entry_only_sumatra_can_build_goes_to_sumatra(make_project):
    """An entry with more than the class and db_file is Sumatra's to build, and
    fails as it always did."""
    project = make_project(runs=[{}])
    _store_entry(project.path, lambda e: e.update(no_such_argument=1))
    with pytest.raises(QueryError, match="cannot load the Sumatra project.*no_such_argument"):
        RecordStoreView(project=project.path)
    done = subprocess.run([SMT, "query", "--count"], cwd=project.path, capture_output=True,
                          text=True)
    assert done.returncode == 1 and done.stderr.startswith("Error: cannot load the Sumatra")
    assert len(done.stderr.splitlines()) == 1
