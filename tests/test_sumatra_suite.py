"""Sumatra's own record-store test suite, run against ``QueryDjangoRecordStore``.

``test/unittests/test_recordstore.py`` of the installed Sumatra's source
distribution (fetched with ``pip download`` at test time into pytest's cache;
nothing of it is kept in this repository) runs whole, in a pytest subprocess,
with a plugin (the ``conftest.py`` below, written next to it) that puts our
class in place of ``sumatra.recordstore.django_store.DjangoRecordStore``, the
name the suite creates its Django stores by. The suite's Django stores are
SQLite files (``test.db``, ``test2.db``); it takes no URI, so it runs on SQLite
only. Without the network the test skips, saying why -- or fails when ``CI``
is set.
"""
import glob
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET

import pytest

#: What the suite needs from the source distribution, under ``test/unittests/``.
SUITE_FILES = ("test_recordstore.py", "example_0.3.json", "example_0.4.json",
               "example_0.5.json", "example_0.6.json", "example_0.7.json")

PLUGIN = '''
import importlib.util

import pytest
import sumatra.recordstore.django_store as django_store

from smt_query.recordstore import QueryDjangoRecordStore

django_store.DjangoRecordStore = QueryDjangoRecordStore   # the suite's stores are ours

#: Tests needing an optional dependency of Sumatra itself, not of its record stores.
NEEDS = {"test_round_trip": "hgapi", "test_get_record_store_http": "httplib2"}


def pytest_collection_modifyitems(items):
    for item in items:
        module = NEEDS.get(item.name)
        if module and importlib.util.find_spec(module) is None:
            item.add_marker(pytest.mark.skip(reason="needs %s (optional for Sumatra)" % module))


def pytest_sessionfinish(session):
    store = getattr(session.items[0].module, "django_store1", None) if session.items else None
    with open("store-class.txt", "w") as f:
        f.write("%s.%s" % (type(store).__module__, type(store).__qualname__))
'''

#: Tests the plugin may skip, when Sumatra's optional module is not installed.
MAY_SKIP = {"test_round_trip", "test_get_record_store_http"}


def _unavailable(message):
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set: this test never skips)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def sumatra_suite(request, tmp_path_factory):
    """A directory holding Sumatra's ``test_recordstore.py`` and what it reads."""
    version = importlib.metadata.version("sumatra")
    cache = getattr(request.config, "cache", None)
    cache_dir = (cache.mkdir("sumatra-sdist") if cache is not None
                 else tmp_path_factory.mktemp("sumatra-sdist"))
    pattern = os.path.join(str(cache_dir), "[Ss]umatra-%s.tar.gz" % version)
    if not glob.glob(pattern):
        try:
            result = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                 "--disable-pip-version-check", "-d", str(cache_dir), "sumatra==%s" % version],
                capture_output=True, text=True, timeout=600)
            why = None if result.returncode == 0 else (result.stderr.strip().splitlines()
                                                        or ["pip failed"])[-1]
        except subprocess.TimeoutExpired:
            why = "pip download timed out"
        if why or not glob.glob(pattern):
            _unavailable("cannot fetch Sumatra %s's source distribution: %s"
                         % (version, why or "pip saved no sumatra-%s.tar.gz" % version))
    suite = tmp_path_factory.mktemp("sumatra-suite")
    with tarfile.open(glob.glob(pattern)[0]) as tar:
        prefix = tar.getmembers()[0].name.split("/")[0] + "/test/unittests/"
        for name in SUITE_FILES:
            member = tar.extractfile(prefix + name)   # by exact name: no path from the archive
            (suite / name).write_bytes(member.read())
    (suite / "conftest.py").write_text(PLUGIN)
    (suite / "pytest.ini").write_text("[pytest]\n")
    return suite


def test_sumatra_record_store_suite_passes_with_our_class(sumatra_suite):
    report = sumatra_suite / "report.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-c", "pytest.ini",
         "--rootdir", str(sumatra_suite), "--junitxml", str(report), "test_recordstore.py"],
        cwd=sumatra_suite, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert (sumatra_suite / "store-class.txt").read_text() == \
        "smt_query.recordstore.QueryDjangoRecordStore"
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        status = next((child.tag for child in case
                       if child.tag in ("failure", "error", "skipped")), "passed")
        outcomes[(case.get("classname").rsplit(".", 1)[-1], case.get("name"))] = status
    django = {name: status for (cls, name), status in outcomes.items()
              if cls == "TestDjangoRecordStore"}
    assert len(django) >= 18 and set(django.values()) == {"passed"}, django
    assert {name for (_, name), status in outcomes.items() if status != "passed"} <= MAY_SKIP
