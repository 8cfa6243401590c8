"""Sumatra's own commands on a project switched to the query store take tags literally.

Sumatra's ``smt list TAGS``, ``smt delete -t TAG`` and ``smt tag`` pass tags as
literal text; the store methods they call (``list``, ``labels``,
``delete_by_tag``, ``get``, ``save``, ...) keep that contract with exact
instead of substring matching: no globs and no status words there. Patterns
exist only in smt-query's own API and CLI, where ``[*]`` (or
:func:`~smt_query.filters.literal_tag`) matches a ``*`` literally.

Every command runs as a real ``smt`` subprocess; plain Sumatra's answers come
from the same store after ``smt querystore disable``.
"""
import json
import os
import subprocess
import sys

from smt_query import RecordStoreView
from smt_query.filters import literal_tag

SMT = os.path.join(os.path.dirname(sys.executable), "smt")


def smt(path, *args):
    """Run ``smt ARGS`` in ``path``; its stdout (fails the test on a non-zero exit)."""
    proc = subprocess.run([SMT, *args], cwd=path, capture_output=True, text=True)
    assert proc.returncode == 0, f"smt {' '.join(args)}: {proc.stderr[-2000:]}"
    return proc.stdout


def smt_list(path, *tags):
    return set(smt(path, "list", *tags).split())


def column_tags(path):
    """``{label: set of tags}`` from the ``tags`` column, read with the ORM."""
    store = RecordStoreView(project=path)._store
    return {label: set(filter(None, column.split(",")))
            for label, column in store.models.Record.objects.using(store.db_alias)
            .values_list("label", "tags")}


#: What ``smt list TAG`` does (Project.format_records), for every tag of the store,
#: plus Sumatra's quirk of a string passed as ``tags`` (``delete -t -d`` does that).
_COUNTS = """
import json, sys
from sumatra.projects import load_project
project = load_project(sys.argv[1])
store = project.record_store
out = {"class": type(store).__name__, "list": {}, "string": {}}
for tag in json.loads(sys.argv[2]):
    out["list"][tag] = len([l for l in project.format_records(tags=[tag]).split("\\n") if l])
    out["string"][tag] = sorted(r.label for r in store.list(project.name, tag))
print(json.dumps(out))
"""


def sumatra_answers(path, tags):
    out = subprocess.run([sys.executable, "-c", _COUNTS, path, json.dumps(sorted(tags))],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_smt_list_and_delete_take_tags_literally(demo_project_rw):
    path = demo_project_rw.path
    tags = column_tags(path)

    def having(*names):
        return {label for label, ts in tags.items() if set(names) <= ts}

    asked = ("fig", "fig*", "fi*", "_finished_", "finished", "OU")
    plain = {tag: smt_list(path, tag) for tag in asked}
    assert plain["fig"] > having("fig")                      # Sumatra: substring
    assert plain["finished"] == having("_finished_")
    smt(path, "querystore", "enable")
    ours = {tag: smt_list(path, tag) for tag in asked}
    assert ours["fig"] == having("fig") and having("figure1") - having("fig")
    assert ours["fig*"] == ours["fi*"] == plain["fig*"] == set()
    assert ours["_finished_"] == plain["_finished_"] == having("_finished_")
    assert ours["OU"] == plain["OU"] == having("OU")
    assert ours["finished"] == set()                         # no status words here
    assert smt_list(path, "fig", "OU") == having("fig", "OU")
    listed = json.loads(smt(path, "list", "-f", "json", "fig"))
    assert {r["label"]: set(r["tags"]) for r in listed} == {
        label: tags[label] for label in having("fig")}

    # The defect of issue 11: `smt delete -t 'fi*'` deleted every fig*/figure* record.
    assert smt(path, "delete", "-t", "fi*").split() == ["0", "records", "deleted."]
    assert smt(path, "delete", "-t", "").split() == ["0", "records", "deleted."]
    assert smt_list(path) == set(tags)
    n_fig = len(having("fig"))
    assert smt(path, "delete", "-t", "fig").split() == [str(n_fig), "records", "deleted."]
    assert smt_list(path) == set(tags) - having("fig")
    store = RecordStoreView(project=path)._store
    items = store.models.TaggedItem.objects.using(store.db_alias)
    assert not items.exclude(object_id__in=store.models.Record.objects.using(
        store.db_alias).values("db_id")).exists()           # their tag rows went too


def test_tag_counts_agree_with_plain_sumatra_where_substrings_are_exact(demo_project_rw):
    path = demo_project_rw.path
    tags = column_tags(path)
    names = set().union(*tags.values())
    exact = {n: sorted(label for label, ts in tags.items() if n in ts) for n in names}
    plain = sumatra_answers(path, names)
    smt(path, "querystore", "enable")
    ours = sumatra_answers(path, names)
    assert (plain["class"], ours["class"]) == ("DjangoRecordStore", "QueryDjangoRecordStore")
    for name in names:
        assert ours["list"][name] == len(exact[name]), name
        if not any(name in other for other in names - {name}):
            assert plain["list"][name] == ours["list"][name], name
        else:
            assert plain["list"][name] > ours["list"][name], name
        # Sumatra's base class takes a string as a list of one-letter tags
        # ("fig": records whose column holds f, i and g); ours: the tag itself.
        assert ours["string"][name] == exact[name], name
    assert set(plain["string"]["fig"]) > set(exact["fig"])


def test_smt_tag_and_our_literal_patterns(demo_project_rw):
    path = demo_project_rw.path
    smt(path, "querystore", "enable")
    view = RecordStoreView(project=path)
    a, b, c = view.filter.not_tag("fig*").labels()[:3]
    before = view.get(a).tags
    smt(path, "tag", "fig*", a)
    smt(path, "tag", "finished", b)          # a literal tag, not the status _finished_
    smt(path, "tag", "x[1]?", c)
    assert smt_list(path, "fig*") == {a}
    assert smt_list(path, "finished") == {b}
    assert smt_list(path, "x[1]?") == {c}
    assert smt_list(path, "x") == set()
    assert RecordStoreView(project=path).get(a).tags == before | {"fig*"}

    # Our API and CLI: patterns, with brackets (or literal_tag) for a literal match.
    for pushdown in (True, False):
        v = RecordStoreView(project=path, pushdown=pushdown)
        assert v.filter.tags("fig[*]").labels() == [a]
        assert v.filter.tags(literal_tag("fig*")).labels() == [a]
        assert v.filter.tags(literal_tag("finished")).labels() == [b]
        assert v.filter.tags("x[[]1][?]").labels() == [c]
        assert v.filter.tags(literal_tag("x[1]?")).labels() == [c]
        assert a in v.filter.tags("fig*").labels() and len(v.filter.tags("fig*")) > 1
        assert b in v.filter.tags("finished").labels() and len(v.filter.tags("finished")) > 1
        assert v.filter.where("'fig*' in tags").labels() == [a]
        assert v.filter.not_tag("fig[*]", "x*").filter.labels([a, b, c]).labels() == [b]
    assert RecordStoreView(project=path).filter.tags("fig[*]").pushed_down

    def query(*args):
        return smt(path, "query", *args, "--format", "labels").split()
    assert query("--tag", "fig[*]") == [a]
    assert query("--tag", "[f]inished") == [b]
    assert query("--where", "'x[1]?' in tags") == [c]
    assert len(query("--tag", "fig*")) > 1

    smt(path, "tag", "-r", "fig*", a)
    assert smt_list(path, "fig*") == set()
    assert "fig*" not in RecordStoreView(project=path).get(a).tags
