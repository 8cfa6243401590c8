"""Timestamps a store holds that are no date: read as none, never a traceback.

SQLite keeps Sumatra's timestamps as text, so a hand-edited store can hold
``2020-13-45`` or ``not a date`` (Django's global SQLite converter raises on
them); PostgreSQL can hold ``infinity``. Such a record reads as having no
timestamp, named once in an ``UnreadableTimestamp`` warning, matches no date
condition and sorts last -- alike in SQL, in Python and in the admin. Stores
are damaged by hand with SQL (tests/hostile.py) in copies of the demo.
"""
import datetime as dt
import json
import os
import subprocess
import sys
import warnings

import pytest

from hostile import labels_on, run_sql
from smt_query import RecordStoreView
from smt_query.dates import read_stored_timestamp
from smt_query.errors import UnreadableTimestamp

SMT = os.path.join(os.path.dirname(sys.executable), "smt")

#: Damage each backend allows: stored value -> readable?
SQLITE_DAMAGE = {"2020-13-45": False, "not a date": False, "": False,
                 "2020-02-30 25:61:00": False, "99999-01-01 00:00:00": False,
                 "2020-11-10T12:00:00": False, "2020-11-10 12:00:00.000000": False,
                 "0001-01-01 00:00:00": True, "9999-12-31 23:59:59.999999": True}
POSTGRES_DAMAGE = {"infinity": False, "-infinity": False,
                   "0001-01-01 00:00:00+00": True, "9999-12-31 23:59:59.999999+00": True}

#: Date conditions: filters (name, args) and where expressions, each run both ways.
FILTERS = [("after", (2020,)), ("after", (20201110,)), ("before", (20201110,)),
           ("before", (2021,)), ("on", (20201110,)), ("on", ("0001",)), ("on", (9999,)),
           ("after", ("0001-01-01",)), ("before", ("9999-12-31",))]
WHERES = ["timestamp exists", "timestamp missing", "timestamp < '2020-11-10'",
          "timestamp >= '2020-11-10'", "timestamp != '2020-11-10'", "timestamp == '2020-11-10'",
          "timestamp <= '9999'", "timestamp > '0001'", "timestamp in ['2020-09-15', '0001']",
          "not timestamp == '2020-11-10'"]


def damage(project):
    """Give records of 2020-11-10 the backend's damaged timestamps; return
    ``{label: stored value}``."""
    postgres = project.store_uri.startswith("postgres")
    values = POSTGRES_DAMAGE if postgres else SQLITE_DAMAGE
    labels = labels_on(project, 20201110)
    assert len(labels) >= len(values)
    done = {}
    for label, value in zip(labels, values):
        cast = "::timestamptz" if postgres else ""
        run_sql(project, f"UPDATE django_store_record SET timestamp = %s{cast} WHERE label = %s",
                (value, label))
        done[label] = value
    return done


def unreadable(damaged):
    rules = {**SQLITE_DAMAGE, **POSTGRES_DAMAGE}
    return {label for label, value in damaged.items() if not rules[value]}


@pytest.fixture
def damaged(demo_project_rw):
    return demo_project_rw, damage(demo_project_rw)


def smt(project, *args):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([SMT, *args], cwd=project.path, capture_output=True, text=True,
                          env=env, timeout=600)


def ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_the_rule_of_readable_text():
    assert read_stored_timestamp("2020-11-10 12:00:00") == dt.datetime(2020, 11, 10, 12)
    assert read_stored_timestamp("2020-11-10 12:00:00.000001") == dt.datetime(
        2020, 11, 10, 12, 0, 0, 1)
    for value, readable in SQLITE_DAMAGE.items():
        assert (read_stored_timestamp(value) is not None) == readable, value
    for value in (None, 5, b"2020-11-10 12:00:00", "２０２０-11-10 12:00:00"):
        assert read_stored_timestamp(value) is None


def _texts():
    """Texts near the stored form: every character of valid timestamps
    replaced, cut or extended, and every month, day, hour, minute and second
    around its bounds."""
    bases = ["2020-11-10 12:34:56", "2020-11-10 12:34:56.123456", "2020-02-29 00:00:00",
             "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", "2021-12-31 23:59:59.000001"]
    out = set(SQLITE_DAMAGE)
    for base in bases:
        for i in range(len(base)):
            for c in "0123569a -:.T\u0663\x00":
                out.add(base[:i] + c + base[i + 1:])
            out.add(base[:i])
            out.add(base[:i] + base[i + 1:])
        out.update({base + "0", base + "Z", base + "+00:00", " " + base, base + " "})
    for year in ("0000", "1900", "2000", "2020", "2021"):
        for month in range(0, 14):
            for day in (0, 1, 28, 29, 30, 31, 32):
                out.add(f"{year}-{month:02d}-{day:02d} 00:00:00")
    for hms in ("23:59:59", "24:00:00", "23:60:00", "23:59:60", "00:00:00", "99:99:99"):
        out.add("2020-11-10 " + hms)
    for frac in (".000000", ".5", ".12345", ".1234567", ".000001", ".999999", "."):
        out.add("2020-11-10 12:00:00" + frac)
    return sorted(out)


def test_sql_rule_of_readable_text_equals_python():
    """SQLite's form of the rule (no Python per row) agrees with Python's on every text."""
    import sqlite3
    from smt_query.where.sqlite import SQLite
    values = [*_texts(), None, 5, 3.5, b"2020-11-10 12:00:00", 20201110]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (n INTEGER, ts datetime)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    sql = SQLite().timestamp_ok("ts", None)
    got = dict(conn.execute(f"SELECT n, coalesce({sql}, 0) FROM t"))
    conn.close()
    assert len(values) > 2000
    wrong = [v for n, v in enumerate(values) if bool(got[n]) != (read_stored_timestamp(v) is not None)]
    assert wrong == []


def test_sql_and_python_agree(damaged):
    """Every date condition, and the order, the same pushed down and in Python."""
    project, planted = damaged
    bad = unreadable(planted)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        sql = RecordStoreView(project=project.path)
        python = RecordStoreView(project=project.path, pushdown=False)
        everything = sql.labels()
        assert everything == python.labels()
        assert set(everything[-len(bad):]) == bad           # unreadable last
        assert sql.earliest.label == python.earliest.label not in bad
        assert sql.latest.label == python.latest.label
        for name, args in FILTERS:
            kept = getattr(sql.filter, name)(*args).labels()
            assert kept == getattr(python.filter, name)(*args).labels(), (name, args)
            assert not set(kept) & bad, (name, args)
        for where in WHERES:
            kept = sql.filter.where(where).labels()
            assert kept == python.filter.where(where).labels(), where
            if "missing" in where or where.startswith("not"):
                assert bad <= set(kept), where
            else:
                assert not set(kept) & bad, where
        rows = {r["label"]: r["timestamp"] for r in sql.rows(["label", "timestamp"])}
    assert {label for label, ts in rows.items() if ts is None} == bad
    named = [str(w.message) for w in got if issubclass(w.category, UnreadableTimestamp)]
    assert all(issubclass(w.category, UnreadableTimestamp) for w in got), [
        str(w.message) for w in got]
    for label in bad:     # each value named (the CLI and the admin show each text once)
        assert any(repr(planted[label]) in m for m in named), (planted[label], named)


def test_readable_extremes_kept(damaged):
    project, planted = damaged
    fine = set(planted) - unreadable(planted)
    view = RecordStoreView(project=project.path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableTimestamp)
        assert fine <= set(view.filter.on("0001").labels()) | set(view.filter.on(9999).labels())


def test_smt_query_over_a_damaged_store(damaged):
    project, planted = damaged
    bad = unreadable(planted)
    table = ok(smt(project, "query"))
    for value in {planted[label] for label in bad}:
        assert table.stderr.count(f"unreadable timestamp {value!r}") == 1, table.stderr
    rows = json.loads(ok(smt(project, "query", "--format", "json")).stdout)
    assert {r["label"] for r in rows if r["timestamp"] is None} == bad
    assert [r["label"] for r in rows][-len(bad):] and {r["label"] for r in rows[-len(bad):]} == bad
    assert ok(smt(project, "query", "--count")).stdout.strip() == str(len(rows))
    after = ok(smt(project, "query", "--after", "2020", "--format", "labels")).stdout.split()
    before = ok(smt(project, "query", "--before", "2021", "--format", "labels")).stdout.split()
    assert not (set(after) | set(before)) & bad
    view = RecordStoreView(project=project.path, pushdown=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableTimestamp)
        assert after == view.filter.after(2020).labels()
        assert before == view.filter.before(2021).labels()
    ordered = json.loads(ok(smt(project, "query", "--sort", "timestamp", "--format",
                                "json")).stdout)
    assert {r["label"] for r in ordered[-len(bad):]} == bad
    stamps = [r["timestamp"] for r in ordered[:-len(bad)]]
    assert stamps == sorted(stamps)
    groups = ok(smt(project, "query", "--group-by", "day", "--format", "json"))
    assert sum(g["count"] for g in json.loads(groups.stdout)) == len(rows)


def test_smt_list_through_the_query_store(damaged):
    """Sumatra's own ``smt list`` reads through our store class."""
    project, planted = damaged
    ok(smt(project, "querystore", "enable"))
    listed = ok(smt(project, "list")).stdout.split()
    assert set(planted) <= set(listed)
    long = ok(smt(project, "list", "-l")).stdout
    assert all(label in long for label in planted)
    ok(smt(project, "list", "-f", "html"))
