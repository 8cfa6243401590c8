"""One status rule for every path, and the limits of what a tag can be.

A status is one of Sumatra's words carried as ``_word_`` (``_finished_``);
``_draft_`` is an ordinary tag. ``--fields status``, ``--where "status ..."``,
``--status`` and ``view.filter.status`` agree on every record.

Sumatra's ``Tag.name`` holds 50 characters and a record's ``tags`` column 255
(PostgreSQL enforces both, SQLite neither): adding a tag that would not fit is
refused with one clear error before anything is written, on both backends
alike; so is a tag with a comma (the column's separator) or a line break.
"""
import json
import os
import subprocess
import sys

import pytest

from smt_query import RecordStoreView
from smt_query.errors import QueryError
from smt_query.fields import TAG_COLUMN_MAX, TAG_MAX, status_of, status_words

SMT = os.path.join(os.path.dirname(sys.executable), "smt")


def run(path, *args):
    return subprocess.run([SMT, *args], cwd=path, capture_output=True, text=True)


def query(path, *args):
    proc = run(path, "query", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_status_words():
    assert status_words({"_draft_", "_finished_", "fig"}) == {"finished"}
    assert status_of(["_draft_", "_finished_"]) == status_of(["_finished_", "_draft_"]) == "finished"
    assert status_of(["_draft_"]) == status_of(["_finished..._"]) == ""
    assert status_of(["_running_", "_finished_"]) == "running, finished"


def test_fields_status_and_where_status_agree(demo_project_rw):
    path = demo_project_rw.path
    view = RecordStoreView(project=path)
    finished = view.filter.status("finished").labels()
    both, draft_only = finished[0], finished[1]
    view.filter.labels(both, draft_only).add_tag("_draft_")
    view.filter.labels(draft_only).remove_tag("_finished_")

    rows = json.loads(query(path, "--fields", "label,status,tags", "--format", "json"))
    status = {r["label"]: r["status"] for r in rows}
    assert status[both] == "finished" and status[draft_only] == ""
    for word in ("finished", "crashed", "killed", "running", "initialized"):
        where = set(query(path, "--where", f"status == '{word}'", "--format", "labels").split())
        assert where == {label for label, s in status.items() if s == word}, word
        assert set(query(path, "--status", word, "--format", "labels").split()) == where
        sql = RecordStoreView(project=path)
        python = RecordStoreView(records=sql.aslist())    # the Python path, same records
        for v in (sql, python):
            assert set(v.filter.status(word).labels()) == where
            assert set(v.filter.where(f"status == '{word}'").labels()) == where
    missing = set(query(path, "--where", "status missing", "--format", "labels").split())
    assert missing == {label for label, s in status.items() if not s} >= {draft_only}


@pytest.mark.parametrize("tag, message", [
    ("x" * (TAG_MAX + 1), "tag too long (51 characters): Sumatra's tag names hold at most 50"),
    ("a,b", "a tag cannot contain a comma"),
    ("a\nb", "a tag cannot contain line breaks"),
    ("a\x1b[31m", "a tag cannot contain line breaks or other control characters"),
    (" a", "a tag cannot begin or end with a space"),
])
def test_bad_tags_are_refused_before_anything_is_written(demo_project_rw, tag, message):
    path = demo_project_rw.path
    view = RecordStoreView(project=path)
    store = view._store
    columns = dict(store.queryset("demo").values_list("label", "tags"))
    tags = set(store.models.Tag.objects.using(store.db_alias).values_list("name", flat=True))
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        view.filter.on(20200915).add_tag(tag)
    for args in (["--add-tag", tag], ["--add-tag", tag, "--dry-run"]):
        proc = run(path, "query", "--on", "20200915", *args)
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1, proc.stderr
        assert message in proc.stderr
    assert dict(store.queryset("demo").values_list("label", "tags")) == columns
    assert set(store.models.Tag.objects.using(store.db_alias)
               .values_list("name", flat=True)) == tags


def test_a_tag_of_the_longest_length_is_written(demo_project_rw):
    view = RecordStoreView(project=demo_project_rw.path).filter.on(20200915)
    longest = "é" * TAG_MAX                      # characters, not bytes
    assert view.add_tag(longest) == len(view)
    assert view.filter.tags(longest).labels() == view.labels()
    assert view.remove_tag(longest) == len(view)


def test_a_tag_list_too_long_for_the_column_is_refused(demo_project_rw):
    view = RecordStoreView(project=demo_project_rw.path)
    store = view._store
    crowded, other = view.filter.on(20200915).labels()[:2]
    pair = view.filter.labels(crowded, other)
    # fill `crowded` up to 248-250 of the column's 255 characters
    column, i = store.queryset("demo").get(label=crowded).tags, 0
    while (room := TAG_COLUMN_MAX - 5 - len(column) - 1) >= 3:
        view.filter.labels(crowded).add_tag(f"{i:02d}" + "t" * (min(room, 45) - 2))
        column, i = store.queryset("demo").get(label=crowded).tags, i + 1
    assert len(column) + 9 > TAG_COLUMN_MAX
    before = dict(store.queryset("demo").values_list("label", "tags"))
    with pytest.raises(QueryError, match=f"cannot add tag 'one-more' to {crowded}: its tags "
                                         f"would take {len(column) + 9} characters, more than "
                                         "the 255"):
        pair.add_tag("one-more")
    assert dict(store.queryset("demo").values_list("label", "tags")) == before
    assert not store.models.Tag.objects.using(store.db_alias).filter(name="one-more").exists()
    proc = run(demo_project_rw.path, "query", "--label", crowded, "--add-tag", "one-more")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"Error: cannot add tag 'one-more' to {crowded}")
    assert view.filter.labels(other).add_tag("one-more") == 1       # the other one fits
