"""The RecordStoreView API of the smttask guide, on real projects."""
import json

import pytest

from smt_query import RecordStoreView, register_filter
from smt_query.errors import QueryError, UnknownLabel
from smt_query.filters import FILTERS
from support import count_queries, sumatra_records


@pytest.fixture
def view(demo_project):
    return RecordStoreView(project=demo_project.path)


def test_cwd_project_and_chaining(demo_project, monkeypatch):
    monkeypatch.chdir(demo_project.path)
    rsview = RecordStoreView().filter.tags("finished")
    dated = rsview.filter.after(20200912).filter.before(20200916)
    assert 0 < len(dated) < len(rsview) < demo_project.n_records
    assert rsview.filters != dated.filters  # each call returns a new view
    assert dated.list is dated              # .list caches in place and returns the view
    assert [r.label for r in dated] == dated.labels()


def test_selection(view):
    labels = view.labels()
    assert labels == sorted(labels, key=lambda lbl: (view.get(lbl).timestamp, lbl), reverse=True)
    assert view.latest.label == labels[0] == view.most_recent() == view[0].label
    assert view.earliest.label == labels[-1] == view[-1].label
    assert view.get(labels[3]).label == labels[3] == view[labels[3]].label
    assert [r.label for r in view.get([labels[5], labels[1]])] == [labels[5], labels[1]]
    assert len(view.aslist()) == len(view) == len(labels)
    assert labels[2] in view and "nope" not in view
    assert [r.label for r in view[1:3]] == labels[1:3]


def test_unknown_labels_name_themselves(view):
    with pytest.raises(UnknownLabel, match="no record labelled 'nope'"):
        view.get("nope")
    with pytest.raises(KeyError):
        view["nope"]
    crashed = view.filter.status("crashed")
    finished = view.filter.status("finished").labels()[0]
    with pytest.raises(UnknownLabel, match="exists but is not in this view"):
        crashed.get(finished)
    with pytest.raises(QueryError, match="no record in this view"):
        view.filter.tags("no-such-tag").latest


def test_outside_a_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(QueryError, match="No Sumatra project"):
        RecordStoreView()


def test_registered_filters_and_user_filters(view):
    registered = view.filter.registered_filters
    assert {"tags", "after", "before", "on", "label", "params", "match", "output",
            "generic_filter"} <= set(registered)
    assert "Date is inclusive" in registered["after"].__doc__

    @register_filter
    def long_runs(hours=10):
        """Keep records that ran longer than `hours`."""
        return lambda record: (record.duration or 0) > hours * 3600
    try:
        long = view.filter.long_runs(hours=5)
        assert not long.pushed_down
        expected = [r.label for r in view if (r.duration or 0) > 5 * 3600]
        assert expected and long.labels() == expected
        assert view.filter.generic_filter(lambda r: (r.duration or 0) > 5 * 3600).labels() == expected
    finally:
        del FILTERS["long_runs"]


def test_export(view):
    few = view.filter.on(20200915)
    data = json.loads(few.export(indent=2))
    assert [d["label"] for d in data] == few.labels()
    assert {"label", "timestamp", "parameters", "tags", "reason"} <= set(data[0])
    assert json.loads(view.export_records(few.aslist()[:1]))[0]["label"] == few.labels()[0]


def test_add_and_remove_tag_change_exactly_the_view(demo_project_rw):
    view = RecordStoreView(project=demo_project_rw.path)
    chosen = view.filter.on(20201110)
    chosen_labels = set(chosen.labels())
    assert chosen.add_tag("panel-a") == len(chosen_labels)
    assert set(view.filter.tags("panel-a").labels()) == chosen_labels
    assert chosen.add_tag("panel-a") == 0  # idempotent
    # Sumatra's own reading agrees
    by_label = {r.label: r for r in sumatra_records(demo_project_rw.path)}
    assert {lbl for lbl, r in by_label.items() if "panel-a" in r.tags} == chosen_labels
    # a view with a Python filter tags exactly its records too
    long = view.filter.tags("panel-a").filter(lambda r: (r.duration or 0) > 3600)
    expected = set(long.labels())
    assert long.remove_tag("panel-a") == len(expected)
    assert set(view.filter.tags("panel-a").labels()) == chosen_labels - expected
    with pytest.raises(QueryError, match="bad tag"):
        view.add_tag("a,b")


@pytest.mark.parametrize("kind, content", [
    ("YAMLParameterSet", "nsteps: 25000\n"),                    # matches, read in Python
    ("JSONParameterSet", json.dumps({"nsteps": float("nan")})),  # json.dumps writes NaN
])
def test_where_on_sets_the_database_refuses_runs_in_python(demo_project_rw, kind, content):
    """One stored set the database cannot read: the same answers as Sumatra's
    record-by-record reading, for reading, counting and tagging, also inside
    the caller's transaction; later plans read parameters in Python."""
    from django.db import transaction
    view = RecordStoreView(project=demo_project_rw.path)
    store, label = view._store, view.filter.on(20201110).labels()[0]
    m, alias = store.models, store.db_alias
    odd = m.ParameterSet.objects.using(alias).create(type=kind, content=content)
    m.Record.objects.using(alias).filter(label=label).update(parameters=odd)
    expected = RecordStoreView(project=demo_project_rw.path, pushdown=False) \
        .filter.where("nsteps == 25000").filter.on(20201110).labels()
    assert (label in expected) == (kind == "YAMLParameterSet")
    chosen = view.filter.where("nsteps == 25000").filter.on(20201110)
    assert chosen.pushed_down
    with transaction.atomic(using=alias):
        assert chosen.labels() == expected
        assert m.Record.objects.using(alias).filter(label=label).exists()  # still usable
    assert not store.params_in_sql and not chosen.pushed_down
    fresh = RecordStoreView(project=demo_project_rw.path).filter.where("nsteps == 25000")
    assert fresh.filter.on(20201110).add_tag("n25k") == len(expected)
    assert set(view.filter.tags("n25k").labels()) == set(expected)
    assert len(fresh.filter.on(20201110)) == len(expected)


def test_store_narrows_a_queryset_as_the_view_runs_its_filters(demo_project_rw):
    """The store's one SQL-or-Python rule (what the admin's lists use): a
    condition on a set the database refuses, and a filter without an SQL
    form, keep the records the view keeps."""
    from smt_query.filters import get_filter
    view = RecordStoreView(project=demo_project_rw.path)
    store, label = view._store, view.filter.on(20201110).labels()[0]
    m, alias = store.models, store.db_alias
    odd = m.ParameterSet.objects.using(alias).create(type="YAMLParameterSet",
                                                      content="nsteps: 25000\n")
    m.Record.objects.using(alias).filter(label=label).update(parameters=odd)
    day = store.queryset(view.project.name).filter(
        label__in=view.filter.on(20201110).labels())
    python = RecordStoreView(project=demo_project_rw.path, pushdown=False).filter.on(20201110)
    for fltr in (get_filter("where")("nsteps == 25000"),
                 get_filter("generic_filter")(lambda rec: rec.label < label)):
        expected = python.filter(fltr.test).labels()
        narrowed = store.narrow(day, fltr, lambda f: view.filter(f.test).labels())
        assert sorted(narrowed.values_list("label", flat=True)) == sorted(expected)
        assert 0 < len(expected) < len(day)
    assert not store.params_in_sql   # the database refused the set: parameters in Python


def test_summary_shows_the_status(view):
    from smt_query.fields import status_of
    frame = view.summary.dataframe(fields=("status",))
    assert list(frame["status"]) == [status_of(r.tags) for r in view]
    assert "finished" in set(frame["status"])


def test_summary(view):
    summary = view.filter.tags("finished").summary
    frame = summary.dataframe()
    assert list(frame.columns) == ["reason", "outcome", "tags", "main_file", "duration"]
    assert list(frame.index) == view.filter.tags("finished").labels()
    assert len(summary.head(3).dataframe()) == 3
    assert list(summary.tail(2).dataframe().index) == list(frame.index[-2:])
    merged = summary.merged.dataframe()
    assert merged.columns[0] == "# records"
    assert merged["# records"].sum() == len(frame)
    assert (merged["# records"] > 1).any()  # the demo has records sharing a second
    assert summary.merged.unmerged.dataframe().equals(frame)
    shown = repr(summary)
    assert "h " in shown and "m " in shown  # durations as 3h 52m 39s
    assert "<table" in summary._repr_html_()
    cut = summary.dataframe(fields=("reason", "main_file"), max_chars=10, max_lines=1)
    assert all(len(v) <= 10 and "\n" not in v for v in cut["reason"])
    params = summary.dataframe(fields=("reason",), parameters=("optimizer.lr", "nsteps"))
    assert set(params["nsteps"]) <= {5000, 10000, 25000}


def test_summary_reads_columns_not_records(view):
    summary = view.filter.tags("finished").summary
    with count_queries(view) as queries:
        summary.dataframe(parameters=("optimizer.lr",))
    assert len(queries) <= 2  # rows + tags, whatever the number of records


def test_shelve_project(make_project):
    project = make_project(store="shelve", runs=[{"reason": "one"}, {"reason": "two",
                                                                      "tags": ["fig"]}])
    view = RecordStoreView(project=project.path)
    assert view.record_store.__class__.__name__ == "ShelveRecordStore"
    assert len(view) == 2
    assert view.filter.tags("fig").labels() == [view.filter.reason("two").latest.label]
    assert not view.filter.tags("fig").pushed_down
    assert view.filter.reason("one").add_tag("x") == 1
    assert len(view.filter.tags("x")) == 1
    assert len(view.summary.dataframe()) == 2


def test_plain_django_store_is_pushed_down(demo_project):
    from sumatra.projects import load_project
    project = load_project(demo_project.path)
    assert type(project.record_store).__name__ == "DjangoRecordStore"
    view = RecordStoreView(project=project)
    assert view.filter.tags("fig").filter.on(202010).pushed_down


def test_view_of_records(view):
    records = view.filter.on(20200915).aslist()
    subset = RecordStoreView(records=iter(records))
    assert subset.labels() == [r.label for r in records]
    assert subset.filter.tags("finished").labels() == [r.label for r in records
                                                        if "_finished_" in r.tags]
    with pytest.raises(QueryError, match="no record store"):
        subset.add_tag("x")
