"""Saved queries: ``@name`` wherever a query goes (``smt query``, ``smt compare``,
tagging, Python), replacing one asks or needs ``--force``, ``--delete-saved``,
``--saved`` in every format, unknown names with did-you-mean."""
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from smt_query import RecordStoreView
from smt_query.cli.compare import compare
from smt_query.cli.query import query
from smt_query.errors import QueryError
from smt_query.query import (SavedQueryExists, apply_saved, delete_query, load_query,
                             save_query, saved_queries)

SMT = os.path.join(os.path.dirname(sys.executable), "smt")


def invoke(command, *args):
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


def saved_file(path):
    return os.path.join(path, ".smt", "smt_query.json")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


@pytest.fixture
def project(demo_project_rw, chdir):
    """A writable demo project with the saved query ``figs`` (--tag fig --after 202010)."""
    chdir(demo_project_rw.path)
    done = invoke(query, "--tag", "fig", "--after", "202010", "--save", "figs", "--count")
    assert done.exit_code == 0, done.stderr
    return demo_project_rw


def test_at_name_wherever_a_query_goes(project):
    view = RecordStoreView(project=project.path)
    expected = view.filter.tags("fig").filter.after(202010)
    assert len(expected) > 2
    # smt query @name, narrowed by more filters
    assert invoke(query, "@figs", "--format", "labels").stdout.split() == expected.labels()
    narrower = invoke(query, "@figs", "--status", "finished", "--format", "labels")
    assert narrower.stdout.split() == expected.filter.status("finished").labels()
    # a saved query and labels: both apply
    some = expected.labels()[:2] + [view.filter.before(202010).labels()[0]]
    assert invoke(query, "@figs", *some, "--format", "labels").stdout.split() == some[:2]
    # Python: apply_saved, with or without the @
    assert apply_saved(view, "figs").labels() == expected.labels()
    assert apply_saved(view.filter.status("crashed"), "@figs").labels() == \
        expected.filter.status("crashed").labels()
    # smt compare @name
    compared = invoke(compare, "@figs", "--status", "finished", "--format", "json")
    assert compared.exit_code == 0, compared.stderr
    assert sorted(json.loads(compared.stdout)["records"]) == \
        sorted(expected.filter.status("finished").labels())
    # smt query @name --add-tag
    tagged = invoke(query, "@figs", "--status", "crashed", "--add-tag", "look-again")
    assert tagged.exit_code == 0, tagged.stderr
    assert view.filter.tags("look-again").labels() == expected.filter.status("crashed").labels()


def test_a_saved_setting_cannot_be_overridden_silently(project):
    done = invoke(query, "@figs", "--after", "202011")
    assert done.exit_code == 1
    assert done.stderr.startswith("Error: the saved query already sets --after")
    done = invoke(compare, "@figs", "--after", "202011")
    assert done.exit_code == 1 and "already sets --after" in done.stderr


def test_unknown_name_says_what_exists(project):
    for command in (query, compare):
        done = invoke(command, "@fgis")
        assert done.exit_code == 1 and done.stdout == ""
        assert done.stderr == "Error: no saved query 'fgis' (did you mean 'figs'?)\n"
    far = invoke(query, "@zzz")
    assert far.stderr == "Error: no saved query 'zzz'; saved: 'figs'\n"
    with pytest.raises(QueryError, match=r"did you mean 'figs'"):
        load_query("figz", project.path)
    with pytest.raises(QueryError, match=r"did you mean 'figs'"):
        apply_saved(RecordStoreView(project=project.path), "@figz")


def test_saving_over_a_name_needs_force_without_a_terminal(project):
    path = saved_file(project.path)
    before = read(path)
    same = invoke(query, "--tag", "fig", "--after", "202010", "--save", "figs", "--count")
    assert same.exit_code == 0        # the same query again: nothing to ask
    other = invoke(query, "--tag", "figure1", "--save", "figs")
    assert other.exit_code == 1 and other.stdout == ""
    assert other.stderr == ("Error: a saved query 'figs' exists (--tag fig --after 202010); "
                            "use --force to replace it\n")
    assert read(path) == before
    forced = invoke(query, "--tag", "figure1", "--save", "figs", "--force", "--count")
    assert forced.exit_code == 0 and "Saved query 'figs': --tag figure1" in forced.stderr
    assert saved_queries(project.path)["figs"] == {"tag": ["figure1"]}
    lonely = invoke(query, "--force")
    assert lonely.exit_code == 2 and lonely.stderr.startswith("Error: --force goes with --save")
    # Python: replace=True
    with pytest.raises(SavedQueryExists, match="replace=True"):
        save_query("figs", {"tag": ["fig"]}, start=project.path)
    save_query("figs", {"tag": ["fig"]}, start=project.path, replace=True)
    assert load_query("figs", project.path) == {"tag": ["fig"]}


def _on_terminal(path, args, answer):
    """Run a real ``smt`` with a terminal for stdin and stderr; type ``answer``."""
    import pty
    leader, follower = pty.openpty()
    proc = subprocess.Popen([SMT, *args], cwd=path, stdin=follower, stderr=follower,
                            stdout=subprocess.PIPE, text=True)
    os.close(follower)
    seen = b""
    while b"[y/N]" not in seen:
        chunk = os.read(leader, 1024)
        assert chunk, seen
        seen += chunk
    os.write(leader, answer.encode() + b"\n")
    out, _ = proc.communicate(timeout=120)
    try:
        while True:
            seen += os.read(leader, 1024)
    except OSError:       # the terminal is gone with the process
        pass
    os.close(leader)
    return proc.returncode, seen.decode(errors="replace")


def test_saving_over_a_name_asks_on_a_terminal(project):
    code, shown = _on_terminal(project.path, ["query", "--tag", "figure1", "--save", "figs",
                                              "--count"], "n")
    assert "Replace saved query 'figs' (--tag fig --after 202010)? [y/N]" in shown
    assert code == 1 and "Aborted." in shown
    assert load_query("figs", project.path) == {"tag": ["fig"], "after": "202010"}
    code, shown = _on_terminal(project.path, ["query", "--tag", "figure1", "--save", "figs",
                                              "--count"], "y")
    assert code == 0 and "Saved query 'figs': --tag figure1" in shown
    assert load_query("figs", project.path) == {"tag": ["figure1"]}


def test_delete_saved(project):
    invoke(query, "--status", "crashed", "--save", "broken", "--count")
    done = invoke(query, "--delete-saved", "figs")
    assert done.exit_code == 0 and done.stdout == ""
    assert done.stderr == "Deleted saved query 'figs': --tag fig --after 202010\n"
    assert sorted(saved_queries(project.path)) == ["broken"]
    again = invoke(query, "--delete-saved", "figs")
    assert again.exit_code == 1 and again.stderr == "Error: no saved query 'figs'; saved: 'broken'\n"
    with pytest.raises(QueryError, match="did you mean 'broken'"):
        delete_query("brokn", project.path)
    assert delete_query("broken", project.path) == {"status": ["crashed"]}
    assert saved_queries(project.path) == {}


def test_saved_listing_in_every_format(project):
    invoke(query, "--where", "optimizer.lr >= 0.01", "--status", "crashed", "--save", "steep",
           "--count")
    table = invoke(query, "--saved")
    assert table.stdout.splitlines()[:4] == [        # (a footer may follow)
        "name   query",
        "-----  " + "-" * len('--status crashed --where "optimizer.lr >= 0.01"'),
        "figs   --tag fig --after 202010",
        'steep  --status crashed --where "optimizer.lr >= 0.01"']
    as_json = json.loads(invoke(query, "--saved", "--format", "json").stdout)
    assert as_json == [
        {"name": "figs", "query": "--tag fig --after 202010",
         "spec": {"tag": ["fig"], "after": "202010"}},
        {"name": "steep", "query": '--status crashed --where "optimizer.lr >= 0.01"',
         "spec": {"status": ["crashed"], "where": ["optimizer.lr >= 0.01"]}}]
    assert invoke(query, "--saved", "--format", "labels").stdout == "figs\nsteep\n"
    assert invoke(query, "--saved", "--format", "csv").stdout.splitlines()[0] == "name,query"
    for name in ("figs", "steep"):
        delete_query(name, project.path)
    empty = invoke(query, "--saved")
    assert empty.exit_code == 0 and empty.stdout == ""
    assert empty.stderr == "No saved queries yet: save one with --save NAME.\n"


@pytest.mark.parametrize("name", ["bad name", "a/b", "", "@figs", "x;y"])
def test_names_are_checked(project, name):
    before = read(saved_file(project.path))
    done = invoke(query, "--tag", "fig", "--save", name)
    assert done.exit_code == 1 and done.stderr.startswith("Error: bad query name")
    assert read(saved_file(project.path)) == before


def test_real_smt_commands(project):
    def smt(*args):
        done = subprocess.run([SMT, *args], cwd=project.path, capture_output=True, text=True,
                              timeout=600)
        assert "Traceback" not in done.stderr, done.stderr
        return done
    view = RecordStoreView(project=project.path)
    expected = view.filter.tags("fig").filter.after(202010)
    assert smt("query", "@figs", "--format", "labels").stdout.split() == expected.labels()
    compared = smt("compare", "@figs", "--format", "json")
    assert compared.returncode == 0, compared.stderr
    assert sorted(json.loads(compared.stdout)["records"]) == \
        sorted(expected.labels())
    other = smt("query", "--tag", "figure1", "--save", "figs")
    assert other.returncode == 1 and "use --force" in other.stderr
    assert smt("query", "--tag", "figure1", "--save", "figs", "--force").returncode == 0
    assert smt("query", "--saved", "--format", "labels").stdout == "figs\n"
    unknown = smt("compare", "@fig")
    assert unknown.returncode == 1
    assert unknown.stderr == "Error: no saved query 'fig' (did you mean 'figs'?)\n"
    assert smt("query", "--delete-saved", "figs").returncode == 0
    assert smt("query", "--saved", "--format", "labels").stdout == ""
