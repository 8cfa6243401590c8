"""A PostgreSQL store's password is never shown: one rule (``project.masked_uri``)
for stores' ``str()``/``repr()``, ``smt querystore status`` and ``smt info``."""
import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from smt_query.project import masked_uri

SMT = os.path.join(os.path.dirname(sys.executable), "smt")


@pytest.mark.parametrize("uri, shown", [
    ("postgres://smt:s3cret@127.0.0.1:5432/db", "postgres://smt:***@127.0.0.1:5432/db"),
    ("postgresql://u:p%40ss@host/db", "postgresql://u:***@host/db"),
    ("postgres://u:a@b:c@host/db", "postgres://u:***@host/db"),     # '@' in the password
    ("postgres://user@host/db", "postgres://user@host/db"),
    ("postgres://host/db", "postgres://host/db"),
    ("/home/me/proj/.smt/records", "/home/me/proj/.smt/records"),
    (".smt/records", ".smt/records"),
])
def test_masked_uri(uri, shown):
    assert masked_uri(uri) == shown


def _password(project):
    return urlsplit(project.store_uri).password


def test_stores_show_no_password(demo_project_rw):
    from smt_query.readstore import ReadStore
    from smt_query.recordstore import QueryDjangoRecordStore
    project = demo_project_rw
    secret = _password(project)
    result = subprocess.run([SMT, "querystore", "enable"], cwd=project.path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for args in (["querystore", "status"], ["info"]):
        result = subprocess.run([SMT, *args], cwd=project.path, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert masked_uri(project.store_uri) in result.stdout, (args, result.stdout)
        if secret:
            assert f":{secret}@" not in result.stdout + result.stderr, args
    for store in (QueryDjangoRecordStore(project.store_uri), ReadStore(project.store_uri)):
        assert masked_uri(project.store_uri) in str(store) and str(store) in repr(store)
        if secret:
            assert f":{secret}@" not in str(store) + repr(store)
