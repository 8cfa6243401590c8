"""The admin (``smt admin``) through Django's test client, on real demo projects.

The admin's settings join the ones Sumatra builds for Django before Django is
configured, i.e. when pytest imports this module (collection comes before any
test runs). The project shown is chosen per test with ``override_settings``.
Oracles: the library's pure-Python path (records as Sumatra loads them).
"""
import atexit
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import pytest

from smt_query.admin.settings import prepare
from support import sumatra_records

_ACCOUNTS_DIR = tempfile.mkdtemp(prefix="smtq-admin-test-")
atexit.register(shutil.rmtree, _ACCOUNTS_DIR, ignore_errors=True)
prepare(accounts=os.path.join(_ACCOUNTS_DIR, "accounts.sqlite3"),
        allowed_hosts=["testserver", "127.0.0.1"])

PASSWORD = "a long enough test password"
SMT = os.path.join(os.path.dirname(sys.executable), "smt")
LIST = "/django_store/record/"


# -- fixtures -------------------------------------------------------------------

@pytest.fixture(scope="session")
def admin_user(demo_project, test_environment):
    """An account in the accounts database (after Django is configured)."""
    from django.contrib.auth import get_user_model
    from smt_query.admin import accounts
    from smt_query.admin.routers import accounts_alias
    users = get_user_model().objects.db_manager(accounts_alias())
    return users.filter(username="tester").first() or accounts.create_user("tester", PASSWORD)


def showing(path):
    """``override_settings`` making the admin show the project at ``path``."""
    from django.conf import settings
    from django.test import override_settings
    return override_settings(SMT_QUERY_ADMIN={**settings.SMT_QUERY_ADMIN, "PROJECT": str(path)})


@pytest.fixture
def client(admin_user):
    from django.test import Client
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def demo(demo_project):
    with showing(demo_project.path):
        yield demo_project


@pytest.fixture
def demo_rw(demo_project_rw):
    with showing(demo_project_rw.path):
        yield demo_project_rw


@pytest.fixture(scope="session")
def oracle_records(demo_project):
    """Every record of the demo as Sumatra itself loads it (``to_sumatra()``), in a
    fresh process: in this one, other tests' stores may make Sumatra read wrong tags."""
    return sumatra_records(demo_project.path)


def oracle(records):
    from smt_query import RecordStoreView
    return RecordStoreView(records=records)


def listed(client, query="", follow=False):
    """Labels the changelist shows for ``query`` (all pages), and the response."""
    sep = "&" if query else ""
    response = client.get(f"{LIST}?{query}{sep}all=", follow=follow)
    assert response.status_code == 200, response.content[:2000]
    return [r.label for r in response.context["cl"].result_list], response


def page_messages(response):
    return [str(m) for m in response.context["messages"]]


def ids_of(project_path, labels):
    """Database ids of the records ``labels``, in that order."""
    from smt_query.admin.source import get_source
    with showing(project_path):
        by_label = dict(get_source().queryset().filter(label__in=labels)
                        .values_list("label", "db_id"))
    return [by_label[label] for label in labels]


def run_action(client, action, ids, tag="", query="", select_across=False):
    data = {"action": action, "_selected_action": [str(i) for i in ids], "tag": tag,
            "index": 0, "select_across": "1" if select_across else "0"}
    return client.post(f"{LIST}?{query}", data)


def action_messages(client, *args, **kwargs):
    """Run an action that answers with a redirect; the messages of the next page."""
    response = run_action(client, *args, **kwargs)
    assert response.status_code == 302, response.content[:2000]
    return page_messages(client.get(response["Location"]))


# -- login, CSRF, sessions ---------------------------------------------------------

def test_every_page_requires_login(demo, admin_user):
    from django.test import Client
    from smt_query.admin.sites import site
    anonymous = Client()
    some_id = ids_of(demo.path, [_any_label(demo)])[0]
    urls = {"index": "/", "app_list": "/django_store/", "django_store_record_changelist": LIST,
            "django_store_record_change": f"{LIST}{some_id}/change/",
            "django_store_record_history": f"{LIST}{some_id}/history/",
            "django_store_record_compare": f"{LIST}compare/?ids={some_id}",
            "django_store_record_chart": f"{LIST}chart/?y=optimizer.lr",
            "django_store_record_add": f"{LIST}add/",
            "django_store_record_delete": f"{LIST}{some_id}/delete/",
            "jsi18n": "/jsi18n/", "password_change": "/password_change/",
            "password_change_done": "/password_change/done/", "autocomplete": "/autocomplete/",
            "view_on_site": "/r/1/1/"}
    public = {"login", "logout"}
    names = {p.name for p in _patterns(site.get_urls()) if p.name}
    assert names - public <= set(urls), "a page of the site is not checked"
    for name, url in urls.items():
        response = anonymous.get(url)
        assert response.status_code == 302, (name, url, response.status_code)
        assert response["Location"].startswith("/login/?next="), (name, response["Location"])
    # an action posted without a login changes nothing
    before = oracle_tags(demo.path)
    response = anonymous.post(LIST, {"action": "add_tag", "_selected_action": [some_id],
                                     "tag": "anon", "index": 0})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert oracle_tags(demo.path) == before


def _patterns(patterns):
    from django.urls import URLResolver
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p.url_patterns)
        else:
            yield p


def _any_label(project):
    from smt_query import RecordStoreView
    return RecordStoreView(project=project.path).labels()[0]


def oracle_tags(path):
    from smt_query import RecordStoreView
    return {row["label"]: row["tags"] for row in
            RecordStoreView(project=path).rows(["label"], tags=True)}


def test_login_with_csrf_and_session_cookie(demo, admin_user):
    from django.conf import settings
    from django.test import Client
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    assert client.post("/login/", {"username": "tester", "password": PASSWORD}).status_code == 403
    token = page.cookies[settings.CSRF_COOKIE_NAME].value
    bad = client.post("/login/", {"username": "tester", "password": "wrong",
                                  "csrfmiddlewaretoken": token})
    assert bad.status_code == 200 and b"Please enter the correct username" in bad.content
    good = client.post("/login/?next=/", {"username": "tester", "password": PASSWORD,
                                          "csrfmiddlewaretoken": token, "next": "/"})
    assert good.status_code == 302
    cookie = good.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert settings.SESSION_COOKIE_NAME.startswith("smt_admin_")
    assert client.get("/").status_code == 302          # home: the record list
    assert client.get(LIST).status_code == 200
    assert not settings.DEBUG


# -- the list: same records as the library ------------------------------------------

CASES = [
    # (query string, how the library says it)
    ("", lambda v: v),
    ("tag=fig", lambda v: v.filter.tags("fig")),
    ("tag=fig,figure1", lambda v: v.filter.tags("fig", "figure1")),
    ("tag=OU&status=finished", lambda v: v.filter.tags("OU").filter.status("finished")),
    ("status=crashed", lambda v: v.filter.status("crashed")),
    ("main_file=IndEEG/tasks.py", lambda v: v.filter(lambda r: r.main_file == "IndEEG/tasks.py")),
    ("q=NaN", lambda v: v.filter(lambda r: any("NaN" in (getattr(r, f) or "")
                                               for f in ("label", "reason", "outcome")))),
    ("q=Test+batch", lambda v: v.filter(lambda r: all(
        any(w in (getattr(r, f) or "") for f in ("label", "reason", "outcome"))
        for w in ("Test", "batch")))),
    ("where=optimizer.lr+>%3D+0.005+and+status+%3D%3D+%27finished%27",
     lambda v: v.filter.where("optimizer.lr >= 0.005 and status == 'finished'")),
    ("where=optimizer.model.activation+%3D%3D+%27relu%27&tag=sweep",
     lambda v: v.filter.where("optimizer.model.activation == 'relu'").filter.tags("sweep")),
    ("timestamp__year=2020&timestamp__month=9&timestamp__day=15",
     lambda v: v.filter.on(20200915)),
    ("timestamp__year=2020&timestamp__month=11&tag=baseline&q=Test",
     lambda v: v.filter.on(202011).filter.tags("baseline").filter.reason("Test")),
]


@pytest.mark.parametrize("query, library", CASES, ids=[c[0] or "all" for c in CASES])
def test_list_shows_exactly_what_the_library_returns(demo, client, oracle_records, query,
                                                    library):
    labels, response = listed(client, query)
    expected = library(oracle(oracle_records)).labels()
    assert labels == expected          # the same records, newest first
    assert response.context["cl"].result_count == len(expected)
    assert not page_messages(response)


def test_version_filter_is_exact(demo, client, oracle_records):
    version = oracle_records[0].version
    labels, _ = listed(client, f"version={version}")
    assert labels == [r.label for r in oracle_records if r.version == version]
    labels, _ = listed(client, f"version={version[:5]}")   # not a prefix match
    assert labels == []


def test_platform_filter_comes_from_the_registry(demo_rw, client):
    """No admin code names the platform filter: its sidebar entry (the host names
    the runs used) and its query-string key come from its registry entry
    (``filters.Sidebar``); a chosen host name is matched literally."""
    from smt_query import RecordStoreView
    from smt_query.admin.source import get_source
    store = get_source().store
    models, alias = store.models, store.db_alias
    node = models.PlatformInformation.objects.using(alias).create(
        architecture_bits="64bit", architecture_linkage="", machine="arm64",
        network_name="node[7]*", ip_addr="10.0.0.7", processor="arm", release="23.1.0",
        system_name="Darwin", version="Darwin Kernel Version 23.1.0")
    chosen = RecordStoreView(project=demo_rw.path).filter.tags("fig").labels()
    for record in models.Record.objects.using(alias).filter(label__in=chosen):
        record.platforms.add(node)
    _, response = listed(client)
    specs = {spec.parameter_name: spec for spec in response.context["cl"].filter_specs}
    assert specs["platform"].title == "platform"
    assert "node[7]*" in [value for value, _ in specs["platform"].lookup_choices]
    labels, response = listed(client, "platform=" + _quote("node[7]*"))
    assert labels == chosen and not page_messages(response)
    library = RecordStoreView(project=demo_rw.path).filter.platform("node[[]7][*]")
    assert labels == library.labels()


def test_where_without_sql_form_runs_in_python(demo, client, oracle_records):
    from smt_query.filters import get_filter
    from smt_query.recordstore import QueryDjangoRecordStore
    from sumatra.projects import load_project
    text = "optimizer.lr == 0.01 and nsteps < 100000000000000000000"
    store = QueryDjangoRecordStore.from_store(load_project(demo.path).record_store)
    assert get_filter("where")(text).to_q(store.context()) is None   # really the Python path
    labels, _ = listed(client, "where=" + _quote(text) + "&tag=OU")
    assert labels == oracle(oracle_records).filter.where(text).filter.tags("OU").labels()
    assert labels


def _quote(text):
    from urllib.parse import quote_plus
    return quote_plus(text)


@pytest.mark.parametrize("text, message", [
    ("optimizer.lr >", "bad --where expression at position"),
    ("status > 3", "status"),
    ("optimizer.lr in 3", "needs a list"),
])
def test_bad_parameter_search_is_a_message_not_a_500(demo, client, text, message):
    labels, response = listed(client, "where=" + _quote(text))
    assert labels == []
    shown = page_messages(response)
    assert len(shown) == 1 and shown[0].startswith("parameters: ") and message in shown[0]
    assert "\n" not in shown[0]
    assert text.encode() in response.content.replace(b"&gt;", b">")   # kept in the box


def test_where_box_takes_relative_dates(demo, client, oracle_records):
    import datetime as dt
    utc = dt.timezone.utc
    for _ in range(2):       # again if the UTC day changes meanwhile
        midnight = dt.datetime.combine(dt.datetime.now(utc).date(), dt.time(), utc)
        labels, _ = listed(client, "where=" + _quote("timestamp < 'today'"))
        if dt.datetime.combine(dt.datetime.now(utc).date(), dt.time(), utc) == midnight:
            break
    stamp = {r.label: (r.timestamp if r.timestamp.tzinfo else r.timestamp.replace(tzinfo=utc))
             for r in oracle_records}
    assert sorted(labels) == sorted(lbl for lbl, ts in stamp.items() if ts < midnight)
    assert len(labels) > 300
    labels, response = listed(client, "where=" + _quote("timestamp >= today"))
    shown = page_messages(response)
    assert labels == [] and len(shown) == 1
    assert "a date goes in quotes: timestamp >= 'today'" in shown[0]


def test_page_shows_the_columns(demo, client, oracle_records):
    from smt_query.dates import format_duration
    response = client.get(f"{LIST}?tag=fig")
    assert response.status_code == 200
    text = response.content.decode()
    record = next(r for r in oracle_records if "fig" in r.tags and r.duration)
    assert record.label in text
    assert format_duration(record.duration) in text
    assert re.search(r"\d+h \d\dm \d\ds", text)
    for heading in ("Label", "Timestamp", "Tags", "Status", "Reason", "Outcome", "Duration",
                    "Main file", "Version"):
        assert f">{heading}<" in text or f">{heading}</a>" in text, heading
    assert 'id="smt-where-input"' in text and 'id="searchbar"' in text
    assert 'class="smt-tag">fig<' in text


@pytest.mark.parametrize("order", ["o=2", "o=-7", "o=1"])
def test_sorting(demo, client, oracle_records, order):
    labels, response = listed(client, order)
    assert sorted(labels) == sorted(r.label for r in oracle_records)
    by_label = {r.label: r for r in oracle_records}
    column, desc = {"2": "timestamp", "7": "duration", "1": "label"}[order[2:].lstrip("-")], \
        order.startswith("o=-")
    keys = [getattr(by_label[lbl], column) for lbl in labels if getattr(by_label[lbl], column)
            is not None]
    assert keys == sorted(keys, reverse=desc)


# -- no per-row queries --------------------------------------------------------------

@pytest.fixture(scope="module")
def sized_projects(tmp_path_factory, backend, admin_user):
    from smt_query.demo import build_demo
    return {n: build_demo(tmp_path_factory.mktemp(f"size{n}") / "p", n, runs=1, progress=False,
                          store=backend.new_store())
            for n in (50, 500)}


def _count_queries(client, path, url):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    from smt_query.admin.routers import accounts_alias
    from smt_query.admin.source import get_source
    with showing(path):
        get_source()            # opening the project is not part of a page
        client.get(url)         # first visit: content types and the like are cached
        store = connections[get_source().store.db_alias]
        accounts = connections[accounts_alias()]
        with CaptureQueriesContext(store) as on_store, CaptureQueriesContext(accounts) as on_accounts:
            response = client.get(url)
        assert response.status_code == 200
    sql = [q["sql"] for q in on_store.captured_queries]
    # the metrics' check before the list: how many statements it takes depends on
    # whether anything was written meanwhile, not on the number of records; counted apart
    refresh = [q for q in sql if "smtq_metric" in q or "SAVEPOINT" in q]
    return len(sql) - len(refresh), len(on_accounts), len(refresh), sql


@pytest.mark.parametrize("query", ["", "tag=sweep", "status=finished&q=Test&o=-7",
                                   "where=optimizer.lr+%3E%3D+0.005", "timestamp__year=2020"])
def test_constant_number_of_queries_per_page(sized_projects, client, query):
    small = _count_queries(client, sized_projects[50], f"{LIST}?{query}")
    large = _count_queries(client, sized_projects[500], f"{LIST}?{query}")
    assert small[:2] == large[:2], (small[3], large[3])
    assert small[0] <= 15
    assert small[2] <= 12 and large[2] <= 12, (small[3], large[3])


# -- record page ------------------------------------------------------------------

def test_record_page_shows_all_fields_read_only(demo, client, oracle_records):
    record = next(r for r in oracle_records if r.output_data and r.dependencies)
    record_id = ids_of(demo.path, [record.label])[0]
    response = client.get(f"{LIST}{record_id}/change/")
    assert response.status_code == 200
    text = response.content.decode()
    form = response.context["adminform"].form
    assert set(form.fields) == {"tag_list", "outcome"}
    from smt_query.admin.records import user_tags
    assert form["tag_list"].value() == ", ".join(user_tags(record.tags))
    for value in (record.label, record.main_file, record.version, record.user.split(" <")[0],
                  record.output_data[0].path, record.dependencies[0].name,
                  record.platforms[0].machine, "μtilde", "optimizer", "FitModel",
                  record.executable.path):
        assert value.replace("<", "&lt;") in text or value in text, value
    assert "smt-tree" in text and "History" not in text and "Delete" not in text


def test_record_page_changes_only_tags_and_outcome(demo_rw, client):
    from smt_query import RecordStoreView
    view = RecordStoreView(project=demo_rw.path)
    record = view.filter.tags("fig").latest
    record_id = ids_of(demo_rw.path, [record.label])[0]
    url = f"{LIST}{record_id}/change/"
    form = client.get(url).context["adminform"].form
    status = [t for t in record.tags if t.startswith("_")]
    response = client.post(url, {"tag_list": "fig, brand new, OU", "outcome": "Looked at it",
                                 "reason": "HACKED", "label": "HACKED"})
    assert response.status_code == 302, response.content[:3000]
    after = RecordStoreView(project=demo_rw.path).get(record.label)
    assert after.tags == {"fig", "brand new", "OU", *status}
    assert after.outcome == "Looked at it"
    assert after.reason == record.reason and after.label == record.label
    assert form["outcome"].value() == record.outcome
    # other records untouched; the denormalised tags column follows
    assert RecordStoreView(project=demo_rw.path).filter.tags("brand new").labels() == [record.label]
    column = _tags_column(demo_rw, record.label)
    assert set(column.split(",")) == after.tags
    # removing a tag, outcome left as it is
    response = client.post(url, {"tag_list": "OU", "outcome": "Looked at it"})
    assert response.status_code == 302
    again = RecordStoreView(project=demo_rw.path).get(record.label)
    assert again.tags == {"OU", *status} and again.outcome == "Looked at it"


def _tags_column(project, label):
    from smt_query.admin.source import get_source
    with showing(project.path):
        return get_source().queryset().get(label=label).tags


# -- actions -----------------------------------------------------------------------

def test_tag_actions_change_exactly_the_selected_records(demo_rw, client):
    before = oracle_tags(demo_rw.path)
    labels = sorted(before)[10:17]
    ids = ids_of(demo_rw.path, labels)
    shown = action_messages(client, "add_tag", ids, tag="chosen one")
    assert shown == ["Added tag 'chosen one' to 7 records."]
    after = oracle_tags(demo_rw.path)
    assert {lbl for lbl, tags in after.items() if "chosen one" in tags} == set(labels)
    assert {lbl: [t for t in tags if t != "chosen one"] for lbl, tags in after.items()} == before
    shown = action_messages(client, "remove_tag", ids[:3], tag="chosen one")
    assert shown == ["Removed tag 'chosen one' from 3 records."]
    after = oracle_tags(demo_rw.path)
    assert {lbl for lbl, tags in after.items() if "chosen one" in tags} == set(labels[3:])
    # the whole filtered list ("select all N"), through the library's exact tags
    action_messages(client, "add_tag", ids[:1], tag="on-fig", query="tag=fig", select_across=True)
    after = oracle_tags(demo_rw.path)
    assert ({lbl for lbl, tags in after.items() if "on-fig" in tags}
            == {lbl for lbl, tags in before.items() if "fig" in tags})
    # no tag typed: a warning, nothing changes
    shown = action_messages(client, "add_tag", ids, tag="  ")
    assert oracle_tags(demo_rw.path) == after
    assert len(shown) == 1 and "Type the tag" in shown[0]


def test_a_failure_midway_changes_nothing(demo_rw, client):
    """A real database error on the 4th of 6 records: no record gets the tag."""
    before = oracle_tags(demo_rw.path)
    labels = sorted(before)[:6]
    ids = ids_of(demo_rw.path, labels)
    with _failing_insert(demo_rw, ids[3]):
        shown = action_messages(client, "add_tag", ids, tag="half-done")
    assert len(shown) == 1 and shown[0].startswith("Nothing changed: ")
    assert "refused by test trigger" in shown[0]
    assert oracle_tags(demo_rw.path) == before
    from smt_query.admin.source import get_source
    with showing(demo_rw.path):
        store = get_source().store
        assert not store.models.Tag.objects.using(store.db_alias).filter(name="half-done").exists()


class _failing_insert:
    """A trigger making the database refuse tagging record ``db_id`` (not a mock)."""

    def __init__(self, project, db_id):
        from smt_query.admin.source import get_source
        from django.db import connections
        with showing(project.path):
            self.conn = connections[get_source().store.db_alias]
        self.db_id = db_id

    def __enter__(self):
        with self.conn.cursor() as cur:
            if self.conn.vendor == "sqlite":
                cur.execute(f"CREATE TRIGGER smtq_fail BEFORE INSERT ON django_store_taggeditem "
                            f"WHEN NEW.object_id = {int(self.db_id)} "
                            f"BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END")
            else:
                cur.execute(f"CREATE FUNCTION smtq_fail() RETURNS trigger AS $$ BEGIN "
                            f"IF NEW.object_id = {int(self.db_id)} THEN "
                            f"RAISE EXCEPTION 'refused by test trigger'; END IF; "
                            f"RETURN NEW; END $$ LANGUAGE plpgsql")
                cur.execute("CREATE TRIGGER smtq_fail BEFORE INSERT ON django_store_taggeditem "
                            "FOR EACH ROW EXECUTE FUNCTION smtq_fail()")
        return self

    def __exit__(self, *exc):
        with self.conn.cursor() as cur:
            if self.conn.vendor == "sqlite":
                cur.execute("DROP TRIGGER smtq_fail")
            else:
                cur.execute("DROP TRIGGER smtq_fail ON django_store_taggeditem")
                cur.execute("DROP FUNCTION smtq_fail()")


def test_compare_selected(demo, client):
    from smt_query import RecordStoreView
    from smt_query.compare import compare_view
    view = RecordStoreView(project=demo.path).filter.on(20201110)
    labels = view.labels()[:4]
    ids = ids_of(demo.path, labels)
    response = run_action(client, "compare_selected", ids)
    assert response.status_code == 302 and "/compare/?ids=" in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    expected = compare_view(view.filter.labels(*labels), fold=True).comparison
    for depth in (1, 2, None):
        frame = expected.dataframe(depth=depth, max_chars=60)
        page = client.get(response["Location"] + f"&depth={depth or 'all'}")
        assert page.context["columns"] == list(frame.columns)
        assert [row["label"] for row in page.context["table"]] == list(frame.index)
        cells = [[c["text"] for c in row["cells"]] for row in page.context["table"]]
        assert cells == [[str(v) for v in row] for row in frame.itertuples(index=False)]
        folded = "&lt;+&gt;</a>" in page.content.decode()
        assert folded == (frame == "<+>").any().any()
    assert (page.context["depth"], page.context["fold"]) == ("all", True)
    unfolded = client.get(response["Location"] + "&fold=0&depth=all")
    assert any(c.startswith("inputs.") for c in unfolded.context["columns"])
    with_fields = client.get(response["Location"] + "&field=reason&field=outcome")
    assert {"reason", "outcome"} & set(with_fields.context["columns"])
    # one record, or bad input: a message on the list, never a 500
    assert "at least two" in action_messages(client, "compare_selected", ids[:1])[0]
    bad = client.get(f"{LIST}compare/?ids=1,x&depth=0", follow=True)
    assert bad.status_code == 200 and "Bad comparison address" in page_messages(bad)[0]


def test_export_selected_as_json_and_csv(demo, client):
    from smt_query import RecordStoreView
    from smt_query.query import json_fields, query_rows
    view = RecordStoreView(project=demo.path).filter.tags("OU")
    labels = view.labels()[:5]
    ids = ids_of(demo.path, labels)
    response = run_action(client, "export_json", ids)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert [row["label"] for row in data] == labels
    expected = query_rows(view.filter.labels(*labels), json_fields(["status"]),
                          with_parameters=True)
    assert [row["parameters"] for row in data] == [row["parameters"] for row in expected]
    assert all({"label", "timestamp", "tags", "reason", "outcome", "duration", "main_file",
                "version", "user", "status", "parameters"} <= set(row) for row in data)
    response = run_action(client, "export_csv", ids)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["label"] for row in rows] == labels
    from smt_query.fields import is_status_tag   # beside the status column: not repeated
    assert [row["tags"] for row in rows] == [
        ", ".join(t for t in r["tags"] if not is_status_tag(t)) for r in expected]
    assert [row["status"] for row in rows] == [r["status"] for r in expected]


# -- the record store stays Sumatra's ------------------------------------------------

def test_store_schema_untouched_accounts_apart(demo, client):
    from django.conf import settings
    from django.db import connections
    from smt_query.admin.source import get_source
    assert client.get(f"{LIST}?tag=fig").status_code == 200
    store = connections[get_source().store.db_alias]
    tables = set(store.introspection.table_names())
    # Sumatra's tables, and smt-query's own metric tables (the demo declares a
    # metric: the list shows its column), never the admin's
    assert tables and all(t.startswith(("django_store_", "django_content_type",
                                        "django_migrations", "smtq_metric")) for t in tables), tables
    with store.cursor() as cur:
        cur.execute("SELECT DISTINCT app_label FROM django_content_type")
        assert {row[0] for row in cur.fetchall()} <= {"django_store", "contenttypes"}
    accounts = connections[settings.SMT_QUERY_ADMIN["ACCOUNTS_DATABASE"]]
    assert {"auth_user", "django_session"} <= set(accounts.introspection.table_names())


# -- the command -------------------------------------------------------------------

def _smt_admin(path, *args, stdin=""):
    return subprocess.run([SMT, "admin", *args], cwd=path, input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_create_user_and_refusals(make_project):
    project = make_project(runs=[{}])
    path = project.path
    refused = _smt_admin(path)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("Error: no account can log in yet; create one first: "
                                      "smt admin --create-user NAME")
    made = _smt_admin(path, "--create-user", "ada", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    assert "Created account 'ada'" in made.stderr
    again = _smt_admin(path, "--create-user", "ada", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "already exists" in again.stderr
    weak = _smt_admin(path, "--create-user", "bob", stdin="123\n")
    assert weak.returncode == 1 and weak.stderr.startswith("Error: ") and "short" in weak.stderr
    empty = _smt_admin(path, "--create-user", "bob", stdin="")
    assert empty.returncode == 1 and "no password" in empty.stderr
    # accounts and the secret key live under .smt, owner-only key; the store has no auth table
    smt_dir = os.path.join(path, ".smt")
    assert os.stat(os.path.join(smt_dir, "admin_secret_key")).st_mode & 0o077 == 0
    with sqlite3.connect(os.path.join(smt_dir, "admin.sqlite3")) as conn:
        assert conn.execute("SELECT username, is_staff FROM auth_user").fetchall() == [("ada", 1)]
    if project.store_uri.startswith("/"):
        with sqlite3.connect(project.store_uri) as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert not any(n.startswith(("auth_", "django_session", "django_admin")) for n in names)


def test_errors_are_one_line(tmp_path, make_project):
    outside = _smt_admin(str(tmp_path))
    assert outside.returncode == 1
    assert outside.stderr == "Error: No Sumatra project exists in the current directory or above it.\n"
    shelf = make_project(store="shelve", runs=[{}])
    result = _smt_admin(shelf.path, "--create-user", "x", stdin=PASSWORD + "\n")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "needs a Django record store" in result.stderr
    bad_port = _smt_admin(str(tmp_path), "--port", "70000")
    assert bad_port.returncode == 2 and bad_port.stderr.count("\n") == 1


def test_non_loopback_address_warns(demo_project_rw):
    """``--host 0.0.0.0`` prints a warning before serving (no request is made to it)."""
    path = demo_project_rw.path
    assert _smt_admin(path, "--create-user", "ada", stdin=PASSWORD + "\n").returncode == 0
    lines = []
    with subprocess.Popen([SMT, "admin", "--host", "0.0.0.0", "--port", "0"], cwd=path,
                          stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as proc:
        try:
            for line in proc.stderr:
                lines.append(line)
                if line.startswith("Serving"):
                    break
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert lines[0].startswith("Warning: listening on 0.0.0.0, reachable from other machines")
    assert re.match(r"Serving the admin of project 'demo' at http://0\.0\.0\.0:\d+/", lines[-1])


def test_is_loopback():
    from smt_query.cli.admin import is_loopback
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("[::1]")
    assert is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    assert not is_loopback("") and not is_loopback("no-such-host.invalid")


# -- reuse from a Django project of one's own -------------------------------------------

USER_PROJECT = '''
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
os.environ["DJANGO_SETTINGS_MODULE"] = "mysite_settings"
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
User.objects.create_superuser("me", "", "pw-for-the-test")
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
c = Client()
assert c.get("/sumatra/django_store/record/").status_code == 302
c.login(username="me", password="pw-for-the-test")
r = c.get("/sumatra/django_store/record/?tag=fig&all=")
assert r.status_code == 200, r.content[:2000]
import json
print(json.dumps([x.label for x in r.context["cl"].result_list]))
from urllib.parse import quote_plus
r = c.get("/sumatra/django_store/record/?all=&where=" + quote_plus(sys.argv[2]))
assert r.status_code == 200, r.content[:2000]
print(json.dumps([x.label for x in r.context["cl"].result_list]))
from django.db import connections
print(sorted(t for t in connections["sumatra"].introspection.table_names()
             if not t.startswith(("django_store", "smtq_metric"))))   # Sumatra's, smt-query's metrics
'''

SETTINGS = '''
from smt_query.admin.settings import store_database
PROJECT = {project!r}
SECRET_KEY = "test"
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
                  "sumatra.recordstore.django_store", "smt_query.admin"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
TEMPLATES = [{{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {{"context_processors": ["django.template.context_processors.request",
                  "django.contrib.auth.context_processors.auth",
                  "django.contrib.messages.context_processors.messages"]}}}}]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {accounts!r}}},
             "sumatra": store_database(PROJECT)}}
DATABASE_ROUTERS = ["smt_query.admin.routers.SumatraRouter"]
SMT_QUERY_ADMIN = {{"PROJECT": PROJECT, "DATABASE": "sumatra"}}
ROOT_URLCONF = "mysite_urls"
STATIC_URL = "/static/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
'''

URLS = '''
from django.contrib import admin
from django.urls import path
from smt_query.admin.sites import site
urlpatterns = [path("admin/", admin.site.urls), path("sumatra/", site.urls)]
'''


def test_reusable_from_your_own_django_project(demo_project, tmp_path):
    """Mounted in one's own Django project, the admin's list filters by tag and
    by a parameter ``where``, as the library does."""
    (tmp_path / "mysite_settings.py").write_text(SETTINGS.format(
        project=str(demo_project.path), accounts=str(tmp_path / "site.sqlite3")))
    (tmp_path / "mysite_urls.py").write_text(URLS)
    (tmp_path / "run.py").write_text(USER_PROJECT)
    where = "optimizer.lr >= 0.01 and optimizer.model.activation == 'tanh'"
    result = subprocess.run([sys.executable, "-W", "error", str(tmp_path / "run.py"),
                             str(demo_project.path), where], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    labels, where_labels, extra_tables = result.stdout.splitlines()
    from smt_query import RecordStoreView
    view = RecordStoreView(project=demo_project.path)
    assert json.loads(labels) == view.filter.tags("fig").labels()
    expected = view.filter.where(where).labels()
    assert expected and len(expected) < demo_project.n_records
    assert json.loads(where_labels) == expected
    assert extra_tables in ("['django_content_type', 'django_migrations']",
                            "['django_content_type', 'django_migrations', 'sqlite_sequence']")


def test_store_database_for_postgresql_uris():
    from smt_query.admin.settings import _parse_store_uri
    entry = _parse_store_uri("postgres://u%40x:p%2Fw@db.example:5433/records", "/p")
    assert entry == {"ENGINE": "django.db.backends.postgresql", "NAME": "records",
                     "HOST": "db.example", "PORT": 5433, "USER": "u@x", "PASSWORD": "p/w"}


@pytest.mark.parametrize("word", ["*?*?*?*?*?*?*?*?*!", "2020091?-*", "[z-a]*", "*[!0-9a-z]*"])
def test_search_globs_are_the_library_filters(demo, client, oracle_records, word):
    """A search word is the library's label/reason/outcome filter: a glob
    means what fnmatch says and runs in linear time (never SQLite's REGEXP,
    which backtracks: this pattern took 67 s per request over 2,000 records)."""
    import fnmatch
    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    from smt_query.admin.source import get_source
    with CaptureQueriesContext(connections[get_source().store.db_alias]) as queries:
        labels, _ = listed(client, "q=" + _quote(word))
    expected = oracle(oracle_records).filter(lambda r: any(
        fnmatch.fnmatchcase(getattr(r, f) or "", word) for f in ("label", "reason", "outcome")))
    assert labels == expected.labels()
    assert "REGEXP" not in " ".join(q["sql"] for q in queries.captured_queries).upper()


@pytest.mark.parametrize("word", ["diverged", "DIVERGED", "Diverged", "nan"])
def test_search_is_smart_case_as_the_library(demo, client, oracle_records, word):
    """The search box's reason and outcome words are the library's filters, smart
    case (issue 14): case is ignored unless the word has an upper-case letter;
    labels stay exact."""
    labels, response = listed(client, "q=" + _quote(word))
    folded = word if any(c.isupper() for c in word) else None
    expected = oracle(oracle_records).filter(lambda r: word in r.label or any(
        (word in (getattr(r, f) or "")) if folded else (word in (getattr(r, f) or "").lower())
        for f in ("reason", "outcome")))
    assert labels == expected.labels() and (labels != []) == (word != "DIVERGED")
    assert "smart case" in response.content.decode()
