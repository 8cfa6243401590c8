"""QueryDjangoRecordStore: bulk loading, constant queries, atomic tags, switching."""
import json
import os
import subprocess
import sys

import pytest
from sumatra.parameters import (ConfigParserParameterSet, JSONParameterSet, NTParameterSet,
                                SimpleParameterSet, YAMLParameterSet)

from smt_query import RecordStoreView
from smt_query.errors import QueryError
from smt_query.recordstore import QUERY_STORE, SUMATRA_STORE, QueryDjangoRecordStore, use_query_store
from hostile import labels_on, plant_parameters
from support import count_queries, sumatra_records

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
PLAIN = ("label", "timestamp", "reason", "outcome", "duration", "main_file", "version", "user",
         "tags", "script_arguments", "stdout_stderr", "repeats", "diff")


def same(a, b):
    """Sumatra objects compare by identity; compare their state instead."""
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return type(a) is type(b) and vars(a) == vars(b)
    return a == b


def assert_records_equal(ours, theirs):
    for field in PLAIN:
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.parameters.as_dict() == theirs.parameters.as_dict()
    assert type(ours.parameters) is type(theirs.parameters)
    assert str(ours.parameters) == str(theirs.parameters)
    if isinstance(ours.parameters, (JSONParameterSet, YAMLParameterSet, SimpleParameterSet)):
        assert vars(ours.parameters) == vars(theirs.parameters)
    for field in ("executable", "launch_mode", "datastore", "input_datastore",
                  "input_data", "output_data", "dependencies", "platforms"):
        assert same(getattr(ours, field), getattr(theirs, field)), field
    # the repository's data; Sumatra's also holds the git.Repo it opened to look for an
    # upstream, which ours opens only when asked (GitRepository opens it lazily)
    assert type(ours.repository) is type(theirs.repository)
    assert ours.repository.__getstate__() == theirs.repository.__getstate__()
    assert set(vars(ours.repository)) == set(vars(theirs.repository))
    assert set(vars(ours)) == set(vars(theirs))   # the attributes Record() sets
    assert ours == theirs  # Sumatra's own difference() finds nothing


def test_bulk_loaded_records_equal_to_sumatra(demo_project):
    theirs = sumatra_records(demo_project.path)   # record-at-a-time, Sumatra's way
    ours = RecordStoreView(project=demo_project.path).aslist()
    assert [r.label for r in ours] == [r.label for r in theirs]
    for a, b in zip(ours, theirs):
        assert_records_equal(a, b)


def test_every_parameter_set_type_loads_as_sumatra_loads_it(demo_project_rw):
    """Sets of each type as Sumatra stores them (``str()`` of its object), written
    with SQL: the same objects as Sumatra's loading, though built from the text
    alone (Sumatra's classes may open it as a path, or eval it)."""
    sets = [YAMLParameterSet("model:\n  lr: 0.1\n  layers: [3, 4]\nseed: 1\n"),
            ConfigParserParameterSet("[model]\nlr = 0.1\nname = %(lr)s-x\n"),
            SimpleParameterSet('lr = 0.1\nname = "mlp" # the model\nsizes = [1, 2]\n'),
            NTParameterSet({"model": {"lr": 0.1, "sizes": [1, 2]}, "seed": 1})]
    labels = labels_on(demo_project_rw, 20201110)[:len(sets)]
    for label, ps in zip(labels, sets):
        plant_parameters(demo_project_rw, label, type(ps).__name__, str(ps))
    theirs = {r.label: r for r in sumatra_records(demo_project_rw.path)}
    for ours in RecordStoreView(project=demo_project_rw.path).get(labels):
        assert_records_equal(ours, theirs[ours.label])


def test_query_count_is_constant_as_records_grow(demo_project):
    store = RecordStoreView(project=demo_project.path)._store
    qs = store.queryset("demo")
    counts = []
    for n in (10, 100, demo_project.n_records):
        with count_queries(store) as queries:
            records = store.load(qs[:n])
        assert len(records) == n
        counts.append(len(queries))
    assert 3 <= counts[0] == counts[1] == counts[2] <= 7


def test_values_read_only_columns(demo_project):
    view = RecordStoreView(project=demo_project.path).filter.tags("finished")
    with count_queries(view) as queries:
        rows = view.rows(["label", "duration"])
    assert len(queries) == 1   # tags come from the record's own tags column
    assert not any("parameterset" in q["sql"].lower() for q in queries.captured_queries)  # no joins it doesn't need
    assert [r["label"] for r in rows] == view.labels()


def test_stores_open_after_django_is_configured(tmp_path, demo_project):
    RecordStoreView(project=demo_project.path).labels()  # Django is configured now
    store = QueryDjangoRecordStore(str(tmp_path / "other" / "records"))
    assert store.models.Record.objects.using(store.db_alias).count() == 0
    again = QueryDjangoRecordStore(str(tmp_path / "other" / "records"))
    assert again.db_alias == store.db_alias


def test_tagging_is_atomic_on_failure(demo_project_rw):
    """A database error in the middle of add_tag leaves every record as it was."""
    view = RecordStoreView(project=demo_project_rw.path)
    store = view._store
    target = view.filter.on(20201110)
    ids = list(target._plan()[0].values_list("db_id", flat=True))
    table = "django_store_taggeditem"
    if store.vendor == "sqlite":
        create = [f"CREATE TRIGGER boom BEFORE INSERT ON {table} WHEN NEW.object_id = {ids[-1]} "
                  "BEGIN SELECT RAISE(ABORT, 'boom'); END"]
        drop = ["DROP TRIGGER boom"]
    else:
        create = [f"CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.object_id = "
                  f"{ids[-1]} THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ "
                  "LANGUAGE plpgsql",
                  f"CREATE TRIGGER boom BEFORE INSERT ON {table} FOR EACH ROW "
                  "EXECUTE FUNCTION boom()"]
        drop = [f"DROP TRIGGER boom ON {table}", "DROP FUNCTION boom()"]
    from django.db import connections
    with connections[store.db_alias].cursor() as cur:
        for sql in create:
            cur.execute(sql)
    try:
        with pytest.raises(Exception, match="boom"):
            target.add_tag("half")
    finally:
        with connections[store.db_alias].cursor() as cur:
            for sql in drop:
                cur.execute(sql)
    assert len(view.filter.tags("half")) == 0
    assert not store.models.Tag.objects.using(store.db_alias).filter(name="half").exists()
    assert target.add_tag("half") == len(ids)


def test_tag_column_follows_tag_table(demo_project_rw):
    """Sumatra's ``tags`` column (names joined by commas; we write them sorted)
    is rewritten for exactly the tagged records."""
    view = RecordStoreView(project=demo_project_rw.path)
    one = view.filter.on(20200915)
    Record = view._store.models.Record.objects.using(view._store.db_alias)

    def columns():
        return dict(Record.values_list("label", "tags"))

    def check(column_of, extra):
        for label, column in column_of.items():
            if label in targets:
                tags = set(before[label].split(",")) - {""}
                assert column == ",".join(sorted(tags | extra)), label
            else:
                assert column == before[label], label

    before = columns()
    targets = set(one.labels())
    assert targets and len(targets) < len(before)
    one.add_tag("col")
    check(columns(), {"col"})
    one.remove_tag("col")
    check(columns(), set())


def test_switching_store_class_and_exact_smt_list(make_project):
    project = make_project(runs=[{"tags": ["fig"]}, {"tags": ["figure1"]}, {"tags": ["figure2"]}])
    path = project.path

    def smt_list(*args):
        out = subprocess.run([SMT, "list", *args], cwd=path, capture_output=True, text=True,
                             check=True).stdout
        return set(out.split())

    fig_label = RecordStoreView(project=path).filter.tags("fig").latest.label
    assert len(smt_list("fig")) == 3               # Sumatra: substring match
    assert use_query_store(True, path) == SUMATRA_STORE
    with open(os.path.join(path, ".smt", "project")) as f:
        assert json.load(f)["record_store"]["type"] == QUERY_STORE
    assert smt_list("fig") == {fig_label}          # exact with the query store
    assert len(smt_list()) == 3
    assert RecordStoreView(project=path).filter.tags("fig").labels() == [fig_label]
    assert use_query_store(False, path) == QUERY_STORE
    assert len(smt_list("fig")) == 3


def test_switching_refuses_other_stores(make_project):
    project = make_project(store="shelve", runs=[{}])
    with pytest.raises(QueryError, match="only a Django record store"):
        use_query_store(True, project.path)


def test_sumatra_commands_work_on_the_query_store(make_project):
    """`smt run`, `tag`, `comment`, `delete` keep working after `querystore enable`."""
    from smt_query.demo import smt, smt_run
    project = make_project(runs=[{"reason": "before"}])
    use_query_store(True, project.path)
    label = smt_run(project.path, "default.json", "a=2", reason="after")
    smt(project.path, "tag", "fig", label)
    smt(project.path, "comment", label, "looks good")
    view = RecordStoreView(project=project.path)
    assert type(view.record_store) is QueryDjangoRecordStore
    record = view.get(label)
    assert record.reason == "after" and record.outcome == "looks good"
    assert record.tags == {"_finished_", "fig"}
    assert record.parameters.as_dict()["a"] == 2
    assert view.filter.tags("fig").labels() == [label]
    smt(project.path, "delete", "--tag", "fig")
    assert RecordStoreView(project=project.path).labels() == project.labels
