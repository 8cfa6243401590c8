"""Sumatra's own ``smt sync`` (a real process) between two stores of one
project, the project using our store class: the records each store lacks come
across with their tags -- the ``tags`` column and the Tag/TaggedItem rows --
both ways, on SQLite and PostgreSQL."""
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
PROJECT = "demo"


def smt(project, *args):
    result = subprocess.run([SMT, *args], cwd=project.path, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result


def second_store(project, backend, tmp_path):
    """A copy of the project's store, as a store URI."""
    if backend.name == "sqlite":
        path = str(tmp_path / "other.sqlite3")
        shutil.copyfile(project.store_uri, path)
        return path
    database = urlsplit(project.store_uri).path.lstrip("/")
    backend.release(database)
    return backend.new_store(template=database)


def test_smt_sync_carries_tags_both_ways(demo_project_rw, backend, tmp_path):
    from smt_query.recordstore import QueryDjangoRecordStore, check_tag_rows
    project = demo_project_rw
    smt(project, "querystore", "enable")
    other_uri = second_store(project, backend, tmp_path)
    labels = QueryDjangoRecordStore(project.store_uri).labels(PROJECT)
    only_here, only_there = labels[3], labels[4]
    smt(project, "tag", "from-here", only_here)        # then gone from the other store
    other = QueryDjangoRecordStore(other_uri)
    [there_id] = other.queryset(PROJECT).filter(label=only_there).values_list("db_id", flat=True)
    assert other.add_tag([there_id], "from-there") == 1
    other.delete(PROJECT, only_here)
    smt(project, "delete", only_there)

    smt(project, "sync", other_uri)

    here = QueryDjangoRecordStore(project.store_uri)
    for store in (here, other):
        assert sorted(store.labels(PROJECT)) == sorted(labels), store
        assert store.labels(PROJECT, ["from-here"]) == [only_here], store
        assert store.labels(PROJECT, ["from-there"]) == [only_there], store
        [record] = store.list(PROJECT, ["from-there"])
        assert "from-there" in record.tags
        report = check_tag_rows(store)
        assert (report.drifted, report.missing, report.extra) == ([], 0, 0), store
