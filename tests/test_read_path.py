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


# The same, for what a read-only query must not import at all (the mirror models
# stand in for Sumatra's: smt_query.mirror).
HEAVY = ("sumatra.recordstore.django_store.models", "sumatra.recordstore", "numpy", "pandas",
         "sumatra.projects")
LIGHT_PROBE = PROBE.replace("{'sumatra.projects', 'pandas'}", repr(set(HEAVY)))


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[1:3]))
def test_read_only_query_imports_no_sumatra_models_nor_numpy(demo_project, args):
    result = subprocess.run([sys.executable, "-c", LIGHT_PROBE, *args], cwd=demo_project.path,
                            capture_output=True, text=True, timeout=300)
    err, _, imported = result.stderr.rpartition("IMPORTED:")
    assert result.returncode == 0, err
    assert imported.strip() == "", imported
    full = subprocess.run([SMT, *args], cwd=demo_project.path, capture_output=True, text=True)
    assert result.stdout == full.stdout and result.stdout.strip()


READ_THEN_TAG = textwrap.dedent("""
    import sys
    from smt_query import RecordStoreView
    view = RecordStoreView(project=sys.argv[1]).filter.tags("fig")
    n = len(view)
    print(n, "sumatra.recordstore.django_store.models" in sys.modules, "numpy" in sys.modules)
    print(view.add_tag("read-then-tagged"), view.latest.label == view.labels()[0],
          "sumatra.recordstore.django_store.models" in sys.modules)
    print(len(RecordStoreView(project=sys.argv[1]).filter.tags("read-then-tagged")))
""")


def test_a_read_then_a_tag_in_one_process(demo_project_rw):
    """The mirror models answer first; tagging (and full records) load Sumatra's
    models next to them, in the same process, over the same database."""
    result = subprocess.run([sys.executable, "-c", READ_THEN_TAG, demo_project_rw.path],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    fig = len(RecordStoreView(project=demo_project_rw.path).filter.tags("fig"))
    assert result.stdout.splitlines() == [f"{fig} False False", f"{fig} True True", str(fig)]


def test_light_settings_are_sumatras_without_its_apps():
    from sumatra.recordstore.django_store import DjangoConfiguration
    from smt_query.storesetup import LIGHT_SETTINGS
    expected = {k: v for k, v in DjangoConfiguration()._settings.items() if k != "DATABASES"}
    assert LIGHT_SETTINGS == {**expected, "INSTALLED_APPS": []}


def test_mirror_models_name_sumatras_tables_and_fields(demo_project):
    """Every Q of the filters means the same on both model sets: the mirror
    models' tables, columns and relations are Sumatra's."""
    from django.db.models import ManyToManyField
    from smt_query.mirror import mirror_models
    sumatra = RecordStoreView(project=demo_project.path)._store.models
    mirror = mirror_models()
    for name in ("Record", "ParameterSet", "PlatformInformation", "DataKey", "Project"):
        ours, theirs = getattr(mirror, name)._meta, getattr(sumatra, name)._meta
        assert ours.db_table == theirs.db_table
        for field in ours.get_fields():
            other = theirs.get_field(field.name)
            assert getattr(field, "column", None) == getattr(other, "column", None), field
            if isinstance(field, ManyToManyField):
                assert (field.m2m_db_table(), field.m2m_column_name(), field.m2m_reverse_name()) \
                    == (other.m2m_db_table(), other.m2m_column_name(), other.m2m_reverse_name())
    # the relations the filters follow, both ways (Exists subqueries, joins)
    for model, name in (("Record", "parameters"), ("Record", "platforms"), ("Record", "project"),
                        ("Record", "output_data"), ("PlatformInformation", "record"),
                        ("DataKey", "output_from_record"), ("ParameterSet", "record")):
        ours = getattr(mirror, model)._meta.get_field(name)
        theirs = getattr(sumatra, model)._meta.get_field(name)
        assert ours.related_model.__name__ == theirs.related_model.__name__, (model, name)


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
