"""The admin over a store with unreadable timestamps (tests/test_damaged_dates.py):
the list, its date links and the record page answer without a 500, over HTTP
through Django's test client, and list what views list."""
import atexit
import os
import shutil
import tempfile
import warnings

import pytest

from smt_query.admin.settings import prepare
from smt_query.errors import UnreadableTimestamp
from hostile import run_sql
from test_damaged_dates import damage, unreadable

_ACCOUNTS_DIR = tempfile.mkdtemp(prefix="smtq-admin-dates-")
atexit.register(shutil.rmtree, _ACCOUNTS_DIR, ignore_errors=True)
prepare(accounts=os.path.join(_ACCOUNTS_DIR, "accounts.sqlite3"),
        allowed_hosts=["testserver", "127.0.0.1"])

LIST = "/django_store/record/"


@pytest.fixture
def client(demo_project, test_environment):
    from django.contrib.auth import get_user_model
    from django.test import Client
    from smt_query.admin import accounts
    from smt_query.admin.routers import accounts_alias
    users = get_user_model().objects.db_manager(accounts_alias())
    user = users.filter(username="dana-dates").first() or accounts.create_user(
        "dana-dates", "a long enough test password")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def damaged(demo_project_rw):
    from django.conf import settings
    from django.test import override_settings
    planted = damage(demo_project_rw)
    with override_settings(SMT_QUERY_ADMIN={**settings.SMT_QUERY_ADMIN,
                                            "PROJECT": str(demo_project_rw.path)}):
        yield demo_project_rw, planted


def listed(client, query):
    response = client.get(f"{LIST}?{query}&all=")
    assert response.status_code == 200, response.content[:3000]
    return [r.label for r in response.context["cl"].result_list], response


def test_admin_over_unreadable_timestamps(damaged, client):
    from smt_query import RecordStoreView
    project, planted = damaged
    bad = unreadable(planted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableTimestamp)
        view = RecordStoreView(project=project.path)
        labels, response = listed(client, "")
        assert labels == view.labels() and set(labels[-len(bad):]) == bad
        assert "(unreadable)" in response.content.decode()
        for query, kept in (("timestamp__year=2020", view.filter.on(2020)),
                            ("timestamp__year=2020&timestamp__month=11",
                             view.filter.on(202011)),
                            ("timestamp__year=2020&timestamp__month=11&timestamp__day=10",
                             view.filter.on(20201110))):
            labels, _ = listed(client, query)
            assert labels == kept.labels() and not set(labels) & bad, query
        labels, _ = listed(client, "o=2")          # by timestamp, ascending
        assert set(labels[-len(bad):]) == bad
        for label in bad:
            [(db_id,)] = run_sql(project, "SELECT db_id FROM django_store_record "
                                          "WHERE label = %s", (label,))
            page = client.get(f"{LIST}{db_id}/change/")
            assert page.status_code == 200 and label in page.content.decode()
