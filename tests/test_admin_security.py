"""The admin's security: private files, the hosts it answers, tag edits that
never undo someone else's, and hostile or damaged stores shown without a 500.

Files and hosts are checked on real ``smt admin`` processes (``os.stat``, raw
HTTP requests with forged ``Host`` headers); pages through Django's test
client, with two sessions where two people edit at once, over stores whose
rows were written by hand with SQL (SQLite and PostgreSQL).
"""
import atexit
import contextlib
import fnmatch
import html.parser
import http.client
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from urllib.parse import quote_plus

import pytest

from smt_query.admin.settings import prepare
from hostile import run_sql
from support import sumatra_records

_ACCOUNTS_DIR = tempfile.mkdtemp(prefix="smtq-admin-sec-")
atexit.register(shutil.rmtree, _ACCOUNTS_DIR, ignore_errors=True)
# The first admin test module imported configures Django; the others reuse it.
prepare(accounts=os.path.join(_ACCOUNTS_DIR, "accounts.sqlite3"),
        allowed_hosts=["testserver", "127.0.0.1"])

PASSWORD = "a long enough test password"
SMT = os.path.join(os.path.dirname(sys.executable), "smt")
LIST = "/django_store/record/"


# -- fixtures and helpers -----------------------------------------------------------

@pytest.fixture(scope="session")
def admin_users(demo_project, test_environment):
    """Two accounts: two people at two browsers."""
    from django.contrib.auth import get_user_model
    from smt_query.admin import accounts
    from smt_query.admin.routers import accounts_alias
    users = get_user_model().objects.db_manager(accounts_alias())
    return [users.filter(username=name).first() or accounts.create_user(name, PASSWORD)
            for name in ("alice-sec", "bob-sec")]


def _client(user):
    from django.test import Client
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice(admin_users):
    return _client(admin_users[0])


@pytest.fixture
def bob(admin_users):
    return _client(admin_users[1])


def showing(path):
    from django.conf import settings
    from django.test import override_settings
    return override_settings(SMT_QUERY_ADMIN={**settings.SMT_QUERY_ADMIN, "PROJECT": str(path)})


@pytest.fixture
def rw(demo_project_rw):
    """A private copy of the demo, shown by the admin."""
    with showing(demo_project_rw.path):
        yield demo_project_rw


@pytest.fixture(scope="session")
def oracle_records(demo_project):
    return sumatra_records(demo_project.path)


def oracle(records):
    from smt_query import RecordStoreView
    return RecordStoreView(records=records)


def record_id(project, label):
    return run_sql(project, "SELECT db_id FROM django_store_record WHERE label = %s", (label,))[0][0]


def stored_tags(project, label):
    """The record's tags as the store holds them: ``(tag rows, tags column)``."""
    rows = run_sql(project, "SELECT t.name FROM django_store_tag t JOIN django_store_taggeditem i "
                            "ON i.tag_id = t.id JOIN django_store_record r ON r.db_id = i.object_id "
                            "JOIN django_content_type c ON c.id = i.content_type_id "
                            "WHERE r.label = %s AND c.model = 'record'", (label,))
    column = run_sql(project, "SELECT tags FROM django_store_record WHERE label = %s", (label,))
    return {r[0] for r in rows}, {t for t in column[0][0].split(",") if t}


def page_messages(response):
    return [str(m) for m in response.context["messages"]]


def listed(client, query):
    """``(labels, messages, response)`` of the list for ``query`` (all on one page)."""
    response = client.get(f"{LIST}?{query}&all=")
    assert response.status_code == 200, response.content[:3000]
    assert b"Traceback" not in response.content
    return ([r.label for r in response.context["cl"].result_list], page_messages(response),
            response)


class _FormInputs(html.parser.HTMLParser):
    """The fields a browser posts for one form of a page: name -> value."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.fields, self._textarea = form_id, False, {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        elif self.inside and tag == "input" and attrs.get("name"):
            if attrs.get("type") != "submit" or attrs["name"] == "_save":
                self.fields[attrs["name"]] = attrs.get("value", "")
        elif self.inside and tag == "textarea":
            self._textarea = attrs["name"]
            self.fields[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            if self._textarea:   # as a browser: one leading newline is dropped
                value = self.fields[self._textarea]
                self.fields[self._textarea] = value[1:] if value.startswith("\n") else value
            self._textarea = None
        elif tag == "form":
            self.inside = False


def load_form(client, url):
    """The record form as a browser has it after loading ``url``."""
    response = client.get(url)
    assert response.status_code == 200, response.content[:3000]
    parser = _FormInputs("record_form")
    parser.feed(response.content.decode())
    assert "tag_list" in parser.fields and "outcome" in parser.fields, parser.fields
    return parser.fields


# -- §10: files holding secrets are readable by their owner only ---------------------

def _smt_admin(path, *args, stdin="", umask=-1):
    return subprocess.run([SMT, "admin", *args], cwd=path, input=stdin, capture_output=True,
                          text=True, timeout=300, umask=umask)


def _read(path):
    with open(path, encoding="ascii") as f:
        return f.read()


def _mode(path):
    return os.stat(path).st_mode & 0o777


def test_secret_files_are_created_private(make_project):
    """Even with umask 000 (every new file world-writable), the accounts
    database and the secret key are 0600 from the moment they exist, and the
    side files SQLite creates while writing the accounts get the same mode."""
    project = make_project(runs=[{}])
    made = _smt_admin(project.path, "--create-user", "ada", stdin=PASSWORD + "\n", umask=0)
    assert made.returncode == 0, made.stderr
    assert "readable by other users" not in made.stderr     # nothing had to be fixed
    smt = os.path.join(project.path, ".smt")
    accounts, key = os.path.join(smt, "admin.sqlite3"), os.path.join(smt, "admin_secret_key")
    assert _mode(accounts) == 0o600 and _mode(key) == 0o600
    old_umask = os.umask(0)
    try:
        conn = sqlite3.connect(accounts, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM django_session")
        assert _mode(accounts + "-journal") == 0o600       # a rollback journal
        conn.execute("ROLLBACK")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("DELETE FROM django_session")
        assert _mode(accounts + "-wal") == 0o600 and _mode(accounts + "-shm") == 0o600
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
    finally:
        os.umask(old_umask)


def test_existing_secret_files_are_tightened_on_start(make_project):
    project = make_project(runs=[{}])
    assert _smt_admin(project.path, "--create-user", "ada", stdin=PASSWORD + "\n").returncode == 0
    smt = os.path.join(project.path, ".smt")
    files = [os.path.join(smt, name) for name in
             ("admin.sqlite3", "admin_secret_key", "admin.sqlite3-wal", "admin.sqlite3-shm")]
    for name in files[2:]:      # left over by an older version, world-readable
        with open(name, "wb"):
            pass
    for name in files:
        os.chmod(name, 0o644)
    key = _read(files[1])
    again = _smt_admin(project.path, "--create-user", "bob", stdin=PASSWORD + "\n")
    assert again.returncode == 0, again.stderr
    assert [_mode(f) for f in files if os.path.exists(f)] == [0o600] * sum(map(os.path.exists, files))
    assert _mode(files[0]) == _mode(files[1]) == 0o600
    notes = [line for line in again.stderr.splitlines() if "readable by other users" in line]
    assert len(notes) == 2 and all(line.startswith("Note: ") for line in notes), again.stderr
    assert "admin_secret_key" in notes[0] and "admin.sqlite3" in notes[1]
    assert _read(files[1]) == key              # the same key: sessions stay valid
    third = _smt_admin(project.path, "--create-user", "carol", stdin=PASSWORD + "\n")
    assert third.returncode == 0 and "readable by other users" not in third.stderr   # told once


def test_private_file_refuses_to_follow_a_planted_link(tmp_path):
    """A name that exists (even as a dangling symlink) is never created through."""
    from smt_query.admin.settings import private_file
    target = tmp_path / "elsewhere"
    os.symlink(target, tmp_path / "admin.sqlite3")
    assert private_file(str(tmp_path / "admin.sqlite3")) is False
    assert not target.exists()
    assert private_file(str(tmp_path / "new")) is True and _mode(tmp_path / "new") == 0o600


# -- §12: only the host names the server was started for ----------------------------

def test_allowed_hosts_for_each_address():
    from smt_query.admin.settings import allowed_host, served_hosts
    from smt_query.errors import QueryError
    wildcard = served_hosts("0.0.0.0")
    assert "*" not in wildcard and "localhost" in wildcard and "127.0.0.1" in wildcard
    assert socket.gethostname().lower() in wildcard
    assert "*" not in served_hosts("::")
    assert served_hosts("192.0.2.7") == ["127.0.0.1", "localhost", "::1", "[::1]", "192.0.2.7"]
    assert served_hosts("2001:db8::1")[-1] == "[2001:db8::1]"
    assert served_hosts("127.0.0.1", ["Lab.Example.org", ".example.net", "[2001:DB8::2]",
                                      "198.51.100.3"])[-4:] == [
        "lab.example.org", ".example.net", "[2001:db8::2]", "198.51.100.3"]
    for bad, why in (("*", "any Host"), ("*.example.org", "any Host"), ("lab:8000", "port"),
                     ("http://lab/", "host name"), ("", "host name"), ("a b", "host name")):
        with pytest.raises(QueryError, match=why):
            allowed_host(bad)


def _serve(path, *args):
    """``smt admin --port 0 *args`` in ``path``: ``(process, port, stderr lines)``."""
    proc = subprocess.Popen([SMT, "admin", "--port", "0", *args], cwd=path, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        match = re.search(r"at http://\S+:(\d+)/", line)
        if match:
            return proc, int(match.group(1)), lines
    proc.wait(timeout=30)
    raise AssertionError("smt admin did not start:\n" + "".join(lines))


def _status(port, host_header):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("GET", "/login/", skip_host=True)
        conn.putheader("Host", host_header)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _stop(proc):
    proc.terminate()
    proc.wait(timeout=30)
    proc.stderr.close()


def test_foreign_host_header_gets_400(make_project):
    """``--host 0.0.0.0`` answers its own names (and ``--allowed-host`` ones); a
    page of another site whose name points at this machine gets 400."""
    project = make_project(runs=[{}])
    assert _smt_admin(project.path, "--create-user", "ada", stdin=PASSWORD + "\n").returncode == 0
    proc, port, lines = _serve(project.path, "--host", "0.0.0.0")
    try:
        assert _status(port, f"localhost:{port}") == 200
        assert _status(port, f"127.0.0.1:{port}") == 200
        assert _status(port, f"{socket.gethostname()}:{port}") == 200
        assert _status(port, f"attacker.example.com:{port}") == 400
        assert _status(port, "lab.example.org") == 400
    finally:
        _stop(proc)
    assert any(line.startswith("Answering requests for ") and "localhost" in line
               and "*" not in line for line in lines), lines
    proc, port, lines = _serve(project.path, "--host", "0.0.0.0",
                               "--allowed-host", "lab.example.org")
    try:
        assert _status(port, "lab.example.org") == 200
        assert _status(port, f"localhost:{port}") == 200
        assert _status(port, "lab.example.org.attacker.example.com") == 400
    finally:
        _stop(proc)
    assert any("lab.example.org" in line for line in lines if line.startswith("Answering"))
    proc, port, _ = _serve(project.path)       # the default: loopback names only
    try:
        assert _status(port, f"localhost:{port}") == 200
        assert _status(port, f"lab.example.org:{port}") == 400
    finally:
        _stop(proc)


def test_allowed_host_option_is_documented_and_checked(make_project):
    helped = subprocess.run([SMT, "admin", "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--allowed-host NAME" in helped.stdout
    project = make_project(runs=[{}])
    bad = _smt_admin(project.path, "--allowed-host", "*", "--create-user", "x",
                     stdin=PASSWORD + "\n")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("Error: bad allowed host '*': it would accept any Host header")


# -- §11: tag edits are additions and removals, never a stale list -------------------

def test_saving_the_outcome_keeps_tags_added_meanwhile(rw, alice, bob):
    from smt_query import RecordStoreView
    label = RecordStoreView(project=rw.path).filter.tags("fig").latest.label
    url = f"{LIST}{record_id(rw, label)}/change/"
    before, _ = stored_tags(rw, label)
    page_a = load_form(alice, url)                         # Alice opens the record
    page_b = load_form(bob, url)                           # so does Bob, who tags it
    page_b["tag_list"] += ", checked by bob"
    assert bob.post(url, page_b).status_code == 302
    page_a["outcome"] = "Looked at it (Alice)"             # Alice changes only the outcome
    saved = alice.post(url, page_a, follow=True)
    assert saved.status_code == 200
    assert page_messages(saved) == [f"{label}: changed the outcome."]
    rows, column = stored_tags(rw, label)
    assert rows == column == before | {"checked by bob"}
    assert RecordStoreView(project=rw.path).get(label).outcome == "Looked at it (Alice)"


def test_concurrent_tag_edits_both_apply(rw, alice, bob):
    from smt_query import RecordStoreView
    label = RecordStoreView(project=rw.path).filter.tags("fig").latest.label
    url = f"{LIST}{record_id(rw, label)}/change/"
    before, _ = stored_tags(rw, label)
    outcome = RecordStoreView(project=rw.path).get(label).outcome
    page_a = load_form(alice, url)
    # Bob adds a tag with the list's action, and changes the outcome
    listed_page = bob.post(LIST, {"action": "add_tag", "_selected_action": [record_id(rw, label)],
                                  "tag": "bob's", "index": 0, "select_across": "0"})
    assert listed_page.status_code == 302
    page_b = load_form(bob, url)
    page_b["outcome"] = "Bob's outcome"
    assert bob.post(url, page_b).status_code == 302
    # Alice, from her stale page, removes "fig" and adds "alice's"
    page_a["tag_list"] = ", ".join([t for t in page_a["tag_list"].split(", ") if t != "fig"]
                                   + ["alice's"])
    saved = alice.post(url, page_a, follow=True)
    assert page_messages(saved) == [f"{label}: added tag \"alice's\", removed tag 'fig'."]
    rows, column = stored_tags(rw, label)
    assert rows == column == (before - {"fig"}) | {"bob's", "alice's"}
    after = RecordStoreView(project=rw.path).get(label)
    assert after.outcome == "Bob's outcome" != outcome     # Alice left the outcome as shown
    # saving the page unchanged changes nothing
    again = alice.post(url, load_form(alice, url), follow=True)
    assert page_messages(again) == [f"{label}: nothing changed."]
    assert stored_tags(rw, label)[0] == rows


def test_a_form_without_the_shown_tags_compares_with_the_record(rw, alice):
    """A client posting only ``tag_list`` (no page loaded) sets exactly those
    user tags; one posting only ``outcome`` changes no tag."""
    from smt_query import RecordStoreView
    label = RecordStoreView(project=rw.path).filter.tags("fig").latest.label
    url = f"{LIST}{record_id(rw, label)}/change/"
    before, _ = stored_tags(rw, label)
    status = {t for t in before if t.startswith("_")}
    assert alice.post(url, {"outcome": "only this"}).status_code == 302
    assert stored_tags(rw, label)[0] == before
    assert alice.post(url, {"tag_list": "one, two", "outcome": "only this"}).status_code == 302
    assert stored_tags(rw, label)[0] == status | {"one", "two"}


# -- §4, §5, §7: hostile and damaged stores, bad input: a message, never a 500 ---------

UNREADABLE = (("YAMLParameterSet", "- a"), ("JSONParameterSet", '{"optimizer": '))


def _plant_parameters(project, label, type_name, content):
    [(new_id,)] = run_sql(project, "INSERT INTO django_store_parameterset (type, content) "
                                   "VALUES (%s, %s) RETURNING id", (type_name, content))
    run_sql(project, "UPDATE django_store_record SET parameters_id = %s WHERE label = %s",
            (new_id, label))


@pytest.fixture
def unreadable(rw, oracle_records):
    """Two records of 2020-11-10 whose parameters cannot be read."""
    labels = oracle(oracle_records).filter.on(20201110).labels()[:2]
    for label, (type_name, content) in zip(labels, UNREADABLE):
        _plant_parameters(rw, label, type_name, content)
    return labels


def test_record_page_with_unreadable_parameters(rw, alice, unreadable, oracle_records):
    """Needs the library's safe loading (unreadable parameters load as text)."""
    for label, (_, content) in zip(unreadable, UNREADABLE):
        response = alice.get(f"{LIST}{record_id(rw, label)}/change/")
        assert response.status_code == 200, response.content[:3000]
        shown = page_messages(response)
        assert len(shown) == 1 and shown[0].startswith(f"record {label}: cannot read its "
                                                       "parameters"), shown
        text = response.content.decode()
        assert "Cannot read these parameters" in text
        assert content.replace('"', "&quot;") in text
        record = next(r for r in oracle_records if r.label == label)
        assert record.main_file in text and record.version in text


@pytest.mark.parametrize("where", ["optimizer.lr >= 0.005",
                                   "nsteps == 25000 or optimizer.model.seed < 3"])
def test_where_box_with_unreadable_parameters(rw, alice, unreadable, oracle_records, where):
    """The records that can be read are answered; the others are named.
    Needs the library's safe loading (unreadable parameters: no parameters)."""
    labels, shown, _ = listed(alice, "where=" + quote_plus(where))
    others = [r for r in oracle_records if r.label not in unreadable]
    assert labels == oracle(others).filter.where(where).labels()
    assert labels
    for label in unreadable:
        assert [m for m in shown if label in m and "cannot read its parameters" in m], shown


def _set_timestamp(project, label, value):
    if project.store_uri.startswith("postgres"):
        run_sql(project, "UPDATE django_store_record SET timestamp = %s::timestamptz "
                         "WHERE label = %s", (value + "+00", label))
    else:
        run_sql(project, "UPDATE django_store_record SET timestamp = %s WHERE label = %s",
                (value, label))


def test_records_at_the_ends_of_time(rw, alice, oracle_records):
    """Records dated 0001-01-01 and 9999-12-31 23:59:59.999999, written with SQL:
    listed, drilled down to by the date links, and shown."""
    first, last = oracle(oracle_records).labels()[-2:]
    _set_timestamp(rw, first, "0001-01-01 00:00:00")
    _set_timestamp(rw, last, "9999-12-31 23:59:59.999999")
    labels, shown, response = listed(alice, "o=2")
    assert (labels[0], labels[-1], shown) == (first, last, [])
    assert "0001-01-01 00:00:00" in response.content.decode()
    for query, expected in (("timestamp__year=9999&timestamp__month=12&timestamp__day=31", [last]),
                            ("timestamp__year=9999&timestamp__month=12", [last]),
                            ("timestamp__year=9999", [last]),
                            ("timestamp__year=1&timestamp__month=1&timestamp__day=1", [first]),
                            ("timestamp__year=1", [first])):
        labels, shown, response = listed(alice, query)
        assert (labels, shown) == (expected, []), query
    page = alice.get(f"{LIST}{record_id(rw, last)}/change/")
    assert page.status_code == 200 and "9999-12-31 23:59:59" in page.content.decode()


def test_infinite_timestamp_on_postgresql(rw, alice, oracle_records):
    """PostgreSQL stores ``infinity`` as a timestamp: such a record does not
    stop the list or its date links."""
    if rw.backend != "postgresql":
        pytest.skip("only PostgreSQL has an infinite timestamp")
    label = oracle(oracle_records).labels()[-1]
    run_sql(rw, "UPDATE django_store_record SET timestamp = 'infinity' WHERE label = %s",
            (label,))
    labels, shown, _ = listed(alice, "")       # read as no timestamp, named once, listed last
    assert set(labels) == {r.label for r in oracle_records} and labels[-1] == label
    assert len(shown) == 1 and "unreadable timestamp 'infinity'" in shown[0]
    labels, shown, _ = listed(alice, "timestamp__year=2020")
    assert label not in labels and shown == []
    assert alice.get(f"{LIST}{record_id(rw, label)}/change/").status_code == 200


@pytest.mark.parametrize("query", ["tag=%00", "where=label+%3D%3D+%27%00%27", "q=a%00b",
                                   "main_file=%00"])
def test_null_characters_are_a_message(rw, alice, query):
    """(In the search box Django itself says so, and searches nothing.)"""
    labels, shown, _ = listed(alice, query)
    assert len(shown) == 1 and "null characters" in shown[0].lower()
    assert labels == [] or query.startswith("q=")


@pytest.mark.parametrize("query", ["timestamp__year=abc", "timestamp__year=10000",
                                   "timestamp__year=0", "timestamp__year=2020&timestamp__month=13",
                                   "timestamp__year=2021&timestamp__month=2&timestamp__day=29"])
def test_impossible_dates_are_a_message(rw, alice, query):
    labels, shown, _ = listed(alice, query)
    assert labels == [] and len(shown) == 1 and shown[0].startswith("dates: there is no date")


def _deep(text, depth):
    return "(" * depth + text + ")" * depth


WHERE_LIMITS = [
    ("300 parentheses", _deep("optimizer.lr >= 0.005", 300), "optimizer.lr >= 0.005"),
    ("1000 nots", "not " * 1000 + "optimizer.lr >= 0.005", "optimizer.lr >= 0.005"),
    ("1001 nots", "not " * 1001 + "optimizer.lr >= 0.005", "not optimizer.lr >= 0.005"),
    ("in 2000 values", "optimizer.lr in [%s]" % ", ".join(
        ["0.005"] + [str(1000 + i) for i in range(1999)]), "optimizer.lr == 0.005"),
    ("or of 1000 terms", " or ".join(["optimizer.lr == 0.005"] + [f"nsteps == {i}" for i in
                                                                   range(999)]),
     "optimizer.lr == 0.005"),
]


@pytest.mark.parametrize("name, where, same_as", WHERE_LIMITS, ids=[w[0] for w in WHERE_LIMITS])
def test_where_box_past_the_limits(rw, alice, oracle_records, name, where, same_as):
    """Either the answer (the records of the equivalent short expression) or one
    line naming the limit above an empty list; never a 500 or a traceback. The
    deep cases need the library's parser limits."""
    labels, shown, response = listed(alice, "where=" + quote_plus(where))
    if shown:
        assert labels == [] and len(shown) == 1 and "\n" not in shown[0], shown
        assert len(shown[0]) < 400
    else:
        assert labels == oracle(oracle_records).filter.where(same_as).labels()
    assert where.encode()[:1000] in response.content.replace(b"&gt;", b">")  # kept in the box


@pytest.mark.parametrize("pattern", ["[z-a]", "[", "x[!]y", "[[:alpha:]"])
def test_odd_globs_in_search(rw, alice, oracle_records, pattern):
    """Odd globs in the search box: the library's answer (a glob matching as
    ``fnmatch`` does) or one line saying what is wrong; never a 500. The
    pattern stays in the box and combines with the other conditions."""
    expected = [r.label for r in oracle_records
                if any(fnmatch.fnmatchcase(t or "", pattern) for t in (r.label, r.reason, r.outcome))]
    for extra in ("", "&tag=fig&timestamp__year=2020"):
        labels, shown, response = listed(alice, "q=" + quote_plus(pattern) + extra)
        if shown:
            assert labels == [] and len(shown) == 1 and pattern in shown[0], shown
        elif not extra:
            assert labels == expected
        assert f'value="{pattern}"'.encode() in response.content


def test_backtracking_search_pattern(rw, alice, oracle_records):
    """``*?*?*?*?*?*?*?*?*!`` over long texts answers like fnmatch (needs the
    library's linear glob matching: before it, this request runs for hours)."""
    pattern = "*?*?*?*?*?*?*?*?*!"
    outcomes = dict(zip(oracle(oracle_records).labels()[5:7], ("a" * 3000, "b" * 20 + "!")))
    for label, outcome in outcomes.items():
        run_sql(rw, "UPDATE django_store_record SET outcome = %s WHERE label = %s",
                (outcome, label))
    labels, shown, _ = listed(alice, "q=" + quote_plus(pattern))
    texts = {r.label: (r.label, r.reason or "", outcomes.get(r.label, r.outcome or ""))
             for r in oracle_records}
    expected = [r.label for r in oracle_records
                if any(fnmatch.fnmatchcase(t, pattern) for t in texts[r.label])]
    assert list(outcomes)[1] in expected
    assert (sorted(labels), shown) == (sorted(expected), [])


@contextlib.contextmanager
def _record_table_locked(project):
    """Another connection holds Sumatra's record table locked, so the admin's
    reads of it fail: on SQLite after its 5 s busy timeout, on PostgreSQL
    after a ``lock_timeout`` set on the (private copy of the) database."""
    from django.db import connections
    from smt_query.admin.source import get_source
    uri = project.store_uri
    if uri.startswith("postgres"):
        import psycopg2
        from urllib.parse import urlsplit
        conn = psycopg2.connect(uri)
        conn.autocommit = True
        conn.cursor().execute('ALTER DATABASE "%s" SET lock_timeout = \'2s\''
                              % urlsplit(uri).path.lstrip("/"))
        connections[get_source().store.db_alias].close()    # new sessions take it
        conn.autocommit = False
        conn.cursor().execute("LOCK TABLE django_store_record IN ACCESS EXCLUSIVE MODE")
    else:
        conn = sqlite3.connect(uri, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


def test_database_refusal_in_an_action_is_a_message(rw, alice):
    """An action on a list the database cannot read (locked by another
    connection) ends in a redirect and a message; the action is not run."""
    label = oracle_label(rw)
    some_id = record_id(rw, label)
    with _record_table_locked(rw):
        response = alice.post(LIST, {"action": "add_tag", "_selected_action": [some_id],
                                     "tag": "never-added", "index": 0, "select_across": "0"})
    assert response.status_code == 302 and response["Location"] == LIST
    shown = page_messages(alice.get(response["Location"]))
    assert len(shown) == 1 and shown[0].startswith("The database could not run this list: ")
    assert "\n" not in shown[0]
    assert "never-added" not in stored_tags(rw, label)[0]


def oracle_label(project):
    from smt_query import RecordStoreView
    return RecordStoreView(project=project.path).labels()[0]


def test_stored_data_warnings_go_to_their_own_page(test_environment):
    """Two requests served at once by two threads (as waitress does): each
    page gets the warnings about stored data raised while serving it, once
    each, and no other. Needs the library's ``StoredDataWarning``."""
    import threading
    import warnings
    from django.contrib.messages import get_messages
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import RequestFactory
    from smt_query.admin.notes import page_notes
    from smt_query.errors import StoredDataWarning
    requests = {}
    barrier = threading.Barrier(2)

    def serve(name):
        request = requests[name] = RequestFactory().get(LIST)
        request._messages = CookieStorage(request)
        with page_notes(request):
            barrier.wait(timeout=60)       # both inside at once
            for _ in range(2):
                warnings.warn(StoredDataWarning(f"record {name}: cannot read its parameters"))
            barrier.wait(timeout=60)
    threads = [threading.Thread(target=serve, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for name in ("one", "two"):
        assert [str(m) for m in get_messages(requests[name])] == [
            f"record {name}: cannot read its parameters"]
    with pytest.warns(StoredDataWarning):      # outside a page: a warning as usual
        warnings.warn(StoredDataWarning("record three: cannot read its parameters"))


@pytest.mark.parametrize("action", ["add_tag", "remove_tag"])
def test_null_character_in_an_action_tag_is_a_message(rw, alice, action):
    """A tag typed with a null character changes nothing and says why (the
    page said "No action selected.")."""
    label = oracle_label(rw)
    before = stored_tags(rw, label)
    response = alice.post(LIST, {"action": action, "_selected_action": [record_id(rw, label)],
                                 "tag": "a\x00b", "index": 0, "select_across": "0"})
    assert response.status_code in (200, 302)
    page = alice.get(LIST) if response.status_code == 302 else response
    shown = page_messages(page)
    assert len(shown) == 1 and "null characters" in shown[0].lower(), shown
    assert stored_tags(rw, label) == before
