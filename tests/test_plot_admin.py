"""The admin's charts over HTTP (Django's test client, logged in): parallel
coordinates on the compare page, the list's selection against time; both
server-drawn SVG, parsed as XML, one mark per record; under the login.
"""
import atexit
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET

import pytest

from smt_query.admin.settings import prepare

_ACCOUNTS_DIR = tempfile.mkdtemp(prefix="smtq-admin-plot-")
atexit.register(shutil.rmtree, _ACCOUNTS_DIR, ignore_errors=True)
# The first admin test module imported configures Django; the others reuse it.
prepare(accounts=os.path.join(_ACCOUNTS_DIR, "accounts.sqlite3"),
        allowed_hosts=["testserver", "127.0.0.1"])

PASSWORD = "a long enough test password"
LIST = "/django_store/record/"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def client(demo_project):
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings
    from smt_query.admin import accounts
    from smt_query.admin.routers import accounts_alias
    with override_settings(SMT_QUERY_ADMIN={**settings.SMT_QUERY_ADMIN,
                                            "PROJECT": str(demo_project.path)}):
        users = get_user_model().objects.db_manager(accounts_alias())
        user = users.filter(username="plotter").first() or accounts.create_user("plotter", PASSWORD)
        client = Client()
        client.force_login(user)
        yield client


def chart_of(page, figure_id):
    text = page.content.decode()
    start = text.index(f'id="{figure_id}"')
    svg = text[text.index("<svg", start):text.index("</svg>", start) + 6]
    return ET.fromstring(svg)


def test_compare_page_draws_parallel_coordinates(client, demo_project):
    from smt_query import RecordStoreView
    from smt_query.compare import compare_view
    view = RecordStoreView(project=demo_project.path).filter.on(20201110)
    labels = view.labels()[:4]
    from smt_query.admin.source import get_source
    ids = dict(get_source().queryset().filter(label__in=labels).values_list("label", "db_id"))
    page = client.get(f"{LIST}compare/?ids={','.join(str(ids[lbl]) for lbl in labels)}")
    assert page.status_code == 200
    root = chart_of(page, "smt-compare-chart")
    paths = root.findall(f".//{SVG}g[@class='smt-marks']/{SVG}path")
    expected = compare_view(view.filter.labels(*labels)).comparison.parallel_data()
    assert sorted(p.find(f"{SVG}title").text for p in paths) == sorted(labels)
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "smt-key"] == \
        [k[:27] + "…" if len(k) > 28 else k for k in expected["keys"]]


def test_list_chart_shows_the_selection(client, demo_project):
    from smt_query.params import get_task_param
    from support import sumatra_records
    expected = [r.label for r in sumatra_records(demo_project.path) if "_finished_" in r.tags
                and isinstance(get_task_param(r.parameters.as_dict() if r.parameters else {}, "optimizer.lr", None), float)]
    listed = client.get(f"{LIST}?status=finished")
    assert 'id="smt-chart-form"' in listed.content.decode()
    page = client.get(f"{LIST}chart/?status=finished&y=optimizer.lr")
    assert page.status_code == 200
    root = chart_of(page, "smt-list-chart")
    marks = root.findall(f".//{SVG}g[@class='smt-marks']/{SVG}circle")
    assert sorted(m.find(f"{SVG}title").text for m in marks) == sorted(expected)
    assert len(root.findall(f".//{SVG}polyline")) == 1
    assert f'<a href="{LIST}?status=finished">Back to the list</a>' in page.content.decode()
    # without a key: the form alone; a key no record has: no marks, not a 500
    assert "Choose a parameter key" in client.get(f"{LIST}chart/?status=finished").content.decode()
    empty = client.get(f"{LIST}chart/?y=%3Cscript%3Ex")
    assert empty.status_code == 200 and "<script>x" not in empty.content.decode()
    assert not chart_of(empty, "smt-list-chart").findall(f".//{SVG}circle")


def test_charts_need_a_login(client, demo_project):
    from django.test import Client
    anonymous = Client()
    for url in (f"{LIST}chart/?y=optimizer.lr", f"{LIST}compare/?ids=1,2"):
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
