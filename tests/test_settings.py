"""Importing or using smt_query changes no global setting of Sumatra or Django.

Each check runs in a fresh Python process: pytest's own process has Django
configured by whichever test came first (tests/test_admin.py adds the admin's
settings at collection).
"""
import json
import pkgutil
import subprocess
import sys

import pytest

import smt_query

#: Modules importable only inside a configured Django that has the admin's apps
#: (``smt admin``, or one's own Django project): they import Django's admin site.
NEED_ADMIN_APPS = {"smt_query.admin.sites", "smt_query.admin.urls"}
MODULES = sorted(m.name for m in pkgutil.walk_packages(smt_query.__path__, "smt_query.")
                 if m.name not in NEED_ADMIN_APPS)

UNCHANGED = '''
import importlib, json, sys
from sumatra.recordstore import django_store
from sumatra.recordstore.django_store import DjangoConfiguration

def plain(settings):
    return {k: v for k, v in settings.items() if k != "DATABASES"}

sumatra = plain(DjangoConfiguration()._settings)        # what Sumatra sets
path, uri, modules = sys.argv[1], sys.argv[2], sys.argv[3:]
for name in modules:
    importlib.import_module(name)
after_import = plain(django_store.db_config._settings)
from smt_query import RecordStoreView
from smt_query.recordstore import QueryDjangoRecordStore
view = RecordStoreView(project=path)
labels = view.labels()
store = QueryDjangoRecordStore(uri)
n = store.models.Record.objects.using(store.db_alias).count()
from django.conf import settings
print(json.dumps({"sumatra": sumatra, "after_import": after_import,
                  "after_use": plain(django_store.db_config._settings),
                  "django": {k: getattr(settings, k) for k in sumatra},
                  "labels": labels, "n": n}))
'''


def run_python(script, *args, cwd=None):
    result = subprocess.run([sys.executable, "-W", "error", "-c", script, *map(str, args)],
                            capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_importing_and_opening_stores_leaves_settings_as_sumatra_set_them(make_project):
    project = make_project(runs=[{}, {}])
    out = json.loads(run_python(UNCHANGED, project.path, project.store_uri, *MODULES))
    assert out["labels"] == project.labels[::-1] and out["n"] == 2
    assert out["sumatra"]["DEBUG"] is True
    assert out["after_import"] == out["sumatra"]
    assert out["after_use"] == out["sumatra"]
    assert out["django"] == out["sumatra"]          # DEBUG stays on, as Sumatra has it


OWN_COMMAND = '''
from smt_query.cli.query import query
try:
    query.main(["--count"], prog_name="smt query")
except SystemExit as exit:
    code = exit.code
from django.conf import settings
print(code, settings.DEBUG)
'''


def test_our_commands_run_with_debug_off(make_project):
    project = make_project(runs=[{}])
    assert run_python(OWN_COMMAND, cwd=project.path).split() == ["1", "0", "False"]


JIT = '''
import sys
from sumatra.recordstore.django_store import DjangoRecordStore
plain = DjangoRecordStore(sys.argv[2])           # Sumatra's own store, another database
from smt_query import RecordStoreView
view = RecordStoreView(project=sys.argv[1])
view.labels()
plain.list("nothing")
from django.db import connections

def jit(alias):
    with connections[alias].cursor() as cur:
        cur.execute("SELECT setting, reset_val FROM pg_settings WHERE name = 'jit'")
        return cur.fetchone()

print(*jit(view._store.db_alias), *jit(plain._db_label))
'''


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgresql)],
                         indirect=True)
def test_jit_off_only_on_our_postgresql_connections(backend, make_project):
    project = make_project(runs=[{}])
    ours, _, theirs, default = run_python(JIT, project.path, backend.new_store()).split()
    assert ours == "off"
    assert theirs == default     # Sumatra's own connections keep the server's setting
