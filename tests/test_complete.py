"""Shell completion of tags, parameter keys, labels and saved queries: through
click's completion API and a real ``smt`` with the completion variables; what
it offers agrees with the view, follows every change of the store, and loads
neither Django nor pandas."""
import json
import os
import subprocess
import sys
import textwrap

from click.shell_completion import ShellComplete

from smt_query import RecordStoreView, completion
from smt_query._hook import declared_commands
from smt_query.cli import lightcommands
from smt_query.cli.commands_table import COMMANDS
from smt_query.cli.compare import compare
from smt_query.cli.query import query
from smt_query.demo import smt_run
from smt_query.filters import literal_tag, spec_options

SMT = os.path.join(os.path.dirname(sys.executable), "smt")

# Sumatra's real `smt` entry point with the completion variables set, reporting
# the heavy modules imported (as in tests/test_hook.py) and which of ours.
PROBE = textwrap.dedent("""
    import atexit, sys
    def report():
        heavy = sorted({m.split('.')[0] for m in sys.modules} & {'django', 'pandas'})
        print('IMPORTED:' + ','.join(heavy), file=sys.stderr)
        print('OURS:' + ','.join(sorted(m for m in sys.modules if m.startswith(
            ('smt_query.', 'importlib.metadata', 'sqlite3', 'psycopg2')))), file=sys.stderr)
    atexit.register(report)
    sys.argv = ['smt']
    from sumatra.cli import smt
    sys.exit(smt())
""")


def offered(command, args, incomplete, name="smt query"):
    """What click's completion offers for ``args`` and the word ``incomplete``."""
    comp = ShellComplete(command, {}, name, "_SMT_COMPLETE")
    return [c.value for c in comp.get_completions(list(args), incomplete)]


def smt_complete(line, cwd, probe=False):
    """The words a real ``smt`` offers for the command ``line`` (bash protocol)."""
    words = line.split(" ")
    env = dict(os.environ, _SMT_COMPLETE="bash_complete", COMP_WORDS=line,
               COMP_CWORD=str(len(words) - 1))
    cmd = [sys.executable, "-c", PROBE] if probe else [SMT]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    values = [ln.split(",", 1)[1] for ln in done.stdout.splitlines() if "," in ln]
    return (values, done.stderr) if probe else values


def cache_file(path):
    return os.path.join(path, ".smt", completion.CACHE_FILE)


def test_what_is_offered_agrees_with_the_view(demo_project, chdir):
    chdir(demo_project.path)
    view = RecordStoreView(project=demo_project.path)
    tags = sorted(literal_tag(t) for t in view.tag_names())
    assert offered(query, ["--tag"], "") == tags
    assert offered(query, ["--not-tag"], "fig") == ["fig", "figure1", "figure2"]
    assert offered(compare, ["--any-tag"], "_f", "smt compare") == ["_finished_"]
    # keys: every key of every record, when asked for all of them
    everything = completion.parameter_keys(sample=10 ** 6)
    assert everything == view.parameter_keys(sample=10 ** 6)
    keys = offered(query, ["--param"], "optimizer.")
    assert "optimizer.model.params.μtilde" in keys and set(keys) <= set(everything)
    assert offered(query, ["--where"], "optimizer.model.act") == ["optimizer.model.activation"]
    # labels by prefix, as many as fit, in both commands
    labels = view.labels()
    prefix = labels[len(labels) // 2][:11]
    expected = sorted(lbl for lbl in labels if lbl.startswith(prefix))
    assert 1 <= len(expected) < completion.LABEL_LIMIT
    assert sorted(offered(query, [], prefix)) == expected
    assert sorted(offered(compare, ["--depth", "2"], prefix, "smt compare")) == expected
    assert len(offered(query, [], "")) == completion.LABEL_LIMIT
    assert offered(query, [], "1999") == [] and offered(query, [], "@") == []


def test_saved_names_and_changes_of_the_store(demo_project_rw, chdir, backend):
    path = demo_project_rw.path
    chdir(path)
    db = os.path.join(path, ".smt", "records")
    if backend.name == "sqlite":   # a store last written a minute ago: the cache is kept
        os.utime(db, (os.stat(db).st_atime, os.stat(db).st_mtime - 60))
    before = offered(query, ["--tag"], "")
    assert "brand-new" not in before
    assert offered(query, ["--tag"], "") == before
    assert os.path.exists(cache_file(path))     # both stores keep one
    label = RecordStoreView(project=path).labels()[0]
    subprocess.run([SMT, "tag", "brand-new", label], cwd=path, check=True, capture_output=True)
    assert offered(query, ["--tag"], "") == sorted(before + ["brand-new"])
    subprocess.run([SMT, "tag", "--remove", "brand-new", label], cwd=path, check=True,
                   capture_output=True)
    assert offered(query, ["--tag"], "") == before
    # saved queries: as @NAME arguments, and as names for --delete-saved
    subprocess.run([SMT, "query", "--tag", "fig", "--save", "figs", "--count"], cwd=path,
                   check=True, capture_output=True)
    assert offered(query, [], "@") == ["@figs"]
    assert offered(compare, [], "@f", "smt compare") == ["@figs"]
    assert "@figs" in offered(query, [], "")
    assert offered(query, ["--delete-saved"], "") == ["figs"]
    subprocess.run([SMT, "query", "--delete-saved", "figs"], cwd=path, check=True,
                   capture_output=True)
    assert offered(query, [], "@") == []


def test_a_cache_that_is_not_ours_is_ignored(demo_project_sqlite, copy_sqlite_project,
                                            tmp_path, chdir):
    """(Only an SQLite store has a cache.)"""
    demo_project_rw = copy_sqlite_project(demo_project_sqlite, tmp_path / "demo")
    chdir(demo_project_rw.path)
    db = os.path.join(demo_project_rw.path, ".smt", "records")
    os.utime(db, (os.stat(db).st_atime, os.stat(db).st_mtime - 60))
    tags = offered(query, ["--tag"], "")
    with open(cache_file(demo_project_rw.path), encoding="utf-8") as f:
        cache = json.load(f)
    assert cache["tags"] == sorted(RecordStoreView().tag_names())
    for text in ("not json", "[]", json.dumps({"key": cache["key"], "tags": [1, {"a": 2}]}),
                 json.dumps({"key": cache["key"], "tags": "abc"}), '{"key": 3}'):
        with open(cache_file(demo_project_rw.path), "w", encoding="utf-8") as f:
            f.write(text)
        assert offered(query, ["--tag"], "") == tags


def test_a_shelve_store_completes_through_the_view(make_project, chdir):
    project = make_project({"a": 1, "b": {"c": 2}}, [{"tags": ["x*"]}, {}], store="shelve")
    chdir(project.path)
    assert offered(query, ["--tag"], "") == ["_finished_", "x[*]"]
    assert offered(query, ["--param"], "") == ["a", "b.c"]
    assert sorted(offered(query, [], project.labels[0][:4])) == sorted(project.labels)


def test_real_smt_completes_without_django_or_pandas(demo_project_rw, backend):
    path = demo_project_rw.path
    view = RecordStoreView(project=path)
    subprocess.run([SMT, "query", "--tag", "fig", "--save", "figs", "--count"], cwd=path,
                   check=True, capture_output=True)
    for line, check in [
            ("smt query --tag fig", lambda v: v == ["fig", "figure1", "figure2"]),
            ("smt query --param optimizer.model.params.",
             lambda v: "optimizer.model.params.μtilde" in v),
            ("smt query " + view.labels()[0], lambda v: v == [view.labels()[0]]),
            ("smt compare @", lambda v: v == ["@figs"]),
            ("smt query --delete-saved f", lambda v: v == ["figs"])]:
        values, stderr = smt_complete(line, path, probe=True)
        assert check(values), (line, values)
        assert "IMPORTED:\n" in stderr, (line, stderr)     # neither Django nor pandas
        assert smt_complete(line, path) == values


def test_the_commands_table_is_the_commands():
    """The table a TAB reads instead of importing the commands equals what
    the real commands (their filter options generated from the registry)
    give; a command built from it is described by it; the commands it holds
    are the ones this package declares."""
    assert lightcommands.current() == COMMANDS, \
        "regenerate it: python -m smt_query.cli.lightcommands"
    for name in COMMANDS:
        assert lightcommands.describe(lightcommands.build(name)) == COMMANDS[name]
        assert declared_commands()[name] == lightcommands.TARGETS[name]
    assert set(COMMANDS) == set(lightcommands.TARGETS)
    flags = {(p["opts"][0], p["metavar"]) for p in COMMANDS["query"]["params"] if p["option"]}
    for opt in spec_options().values():
        if not opt.positional:
            assert (opt.flag, opt.metavar) in flags, opt.flag


def test_a_command_from_the_table_completes_as_the_real_one(demo_project, chdir):
    chdir(demo_project.path)
    label = RecordStoreView().labels()[0]
    for name, real in (("query", query), ("compare", compare)):
        light = lightcommands.build(name)
        for args, incomplete in [([], "--"), ([], "--f"), (["--tag"], "fi"), ([], label[:8]),
                                 (["--param"], "optimizer.m"), (["--format"], ""),
                                 (["--status"], ""), ([label, "--depth"], ""), ([], "@"),
                                 (["--fold", "--no-fold"], "--no"), (["--after"], "2"),
                                 (["--delete-saved"], ""), (["--"], "--ta")]:
            def items(command):
                comp = ShellComplete(command, {}, "smt " + name, "_SMT_COMPLETE")
                return [(c.value, c.type, c.help) for c in comp.get_completions(args, incomplete)]
            assert items(light) == items(real), (name, args, incomplete)


def test_a_tab_after_the_first_imports_no_filters_or_parameter_parser(demo_project_rw, backend):
    """A TAB reads the commands' table, not the commands; the tags' terms
    come from the cache (after a write too), and the keys on a store not
    written since (on PostgreSQL the snapshot of a server that other tests
    write to need not repeat, so only SQLite is asked that)."""
    path = demo_project_rw.path
    db = os.path.join(path, ".smt", "records")
    if backend.name == "sqlite":   # a store last written a minute ago: the cache is kept
        os.utime(db, (os.stat(db).st_atime, os.stat(db).st_mtime - 60))
    heavy = {"smt_query.filters", "smt_query.where", "smt_query.cli.query",
             "smt_query.cli.options", "importlib.metadata"}
    for line in ("smt query --tag fi", "smt compare --where optimizer.model.params."):
        first, stderr = smt_complete(line, path, probe=True)
        assert first, stderr
        values, stderr = smt_complete(line, path, probe=True)
        assert values == first
        ours = set(stderr.split("OURS:")[1].split()[0].split(","))
        assert "smt_query.cli.lightcommands" in ours and not heavy & ours, (line, ours)
        if backend.name == "sqlite":
            assert "smt_query.params" not in ours and "sqlite3" not in ours
    label = RecordStoreView(project=path).labels()[0]
    subprocess.run([SMT, "tag", "fiddled", label], cwd=path, check=True, capture_output=True)
    subprocess.run([SMT, "tag", "--remove", "fiddled", label], cwd=path, check=True,
                   capture_output=True)
    values, stderr = smt_complete("smt query --tag fi", path, probe=True)
    assert values == ["fig", "figure1", "figure2"] and "smt_query.filters" not in stderr


def test_every_change_of_the_store_is_seen_at_the_next_tab(make_project, backend):
    """Tags added and removed, records added and deleted, a parameter set
    edited in place by another connection: each is offered (or no longer)
    at the next TAB, while the cache answers the TABs in between."""
    project = make_project({"a": 1, "b": {"c": 2}}, [{"tags": ["first"]}, {}])
    path, label = project.path, project.labels[0]

    def tab(line):
        """What the next TAB offers, once the cache holds it."""
        if backend.name == "sqlite":   # a cache is written for a store settled for a while
            db = os.path.join(path, ".smt", "records")
            os.utime(db, (os.stat(db).st_atime, os.stat(db).st_mtime - 60))
        values = smt_complete(line, path)
        with open(cache_file(path), encoding="utf-8") as f:
            cache = json.load(f)
        assert any(cache.get(what) == [v for v in values if v.startswith(line[-1:])]
                   or cache.get(what) for what in ("tag terms", "keys"))
        assert smt_complete(line, path) == values      # now from the cache
        return values

    def edit(sql, *args):
        """``sql`` through a connection of this test's own, committed."""
        if backend.name == "sqlite":
            import sqlite3
            conn = sqlite3.connect(project.store_uri)
            sql = sql.replace("%s", "?")
        else:
            import psycopg2
            conn = psycopg2.connect(project.store_uri)
        try:
            conn.cursor().execute(sql, args)
            conn.commit()
        finally:
            conn.close()

    tags, keys = "smt query --tag ", "smt query --param "
    assert tab(tags) == ["_finished_", "first"] and tab(keys) == ["a", "b.c"]
    subprocess.run([SMT, "tag", "second", label], cwd=path, check=True, capture_output=True)
    assert tab(tags) == ["_finished_", "first", "second"]
    subprocess.run([SMT, "tag", "--remove", "first", label], cwd=path, check=True,
                   capture_output=True)
    assert tab(tags) == ["_finished_", "second"]
    with open(os.path.join(path, "new.json"), "w", encoding="utf-8") as f:
        json.dump({"a": 1, "d": {"e": 3}}, f)
    added = smt_run(path, "new.json")
    subprocess.run([SMT, "tag", "added", added], cwd=path, check=True, capture_output=True)
    assert tab(tags) == ["_finished_", "added", "second"]
    assert tab(keys) == ["a", "b.c", "d.e"]
    subprocess.run([SMT, "delete", added], cwd=path, check=True, capture_output=True)
    assert tab(tags) == ["_finished_", "second"] and tab(keys) == ["a", "b.c"]
    edit("UPDATE django_store_parameterset SET content = replace(content, %s, %s)",
         '"c"', '"renamed"')
    assert tab(keys) == ["a", "b.renamed"]
