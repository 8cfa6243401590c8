"""Progress bars (smt_query.progress): when they show, and that they go to stderr only."""
import os
import subprocess
import sys

import pytest

from smt_query.progress import ENV, wanted

SMT = os.path.join(os.path.dirname(sys.executable), "smt")

#: 34 parameter conditions: more than SQL takes in one query, so Python finishes the filter.
PYTHON_WHERE = " or ".join(f"nsteps < {-n}" for n in range(33)) + " or nsteps == 25000"


def run(args, cwd, progress, **kwargs):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if progress is not None:
        env[ENV] = progress
    kwargs.setdefault("capture_output", True)
    return subprocess.run(args, cwd=cwd, text=True, env=env, **kwargs)


def test_the_rule(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert wanted(True, total=1) and not wanted(False, total=10**6)
    assert not wanted(total=10**6)            # pytest's stderr is no terminal, no notebook
    monkeypatch.setenv(ENV, "1")
    assert wanted(total=1) and not wanted(False, total=1)
    monkeypatch.setenv(ENV, "0")
    assert not wanted(total=10**6) and wanted(True)


PROBE = ("from smt_query.progress import bar, wanted\n"
         "print(wanted(total=5000), wanted(total=10), wanted(total=10, min_items=0))\n"
         "for _ in bar(range(3000), desc='Probing'): pass\n")


def test_a_terminal_gets_bars_a_pipe_does_not(tmp_path):
    import fcntl
    import pty
    import struct
    import termios
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # 24 x 100
    env = {k: v for k, v in os.environ.items() if k != ENV}
    proc = subprocess.Popen([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, stderr=child,
                            stdout=subprocess.PIPE)
    os.close(child)
    shown = b""
    try:
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:     # the terminal closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    with proc:
        stdout = proc.stdout.read().decode()
    assert proc.returncode == 0
    assert stdout == "True False True\n"          # stdout stays clean
    assert b"Probing:" in shown and b"/3000" in shown
    piped = run([sys.executable, "-c", PROBE], tmp_path, None)
    assert piped.stdout == "False False False\n" and piped.stderr == ""


def test_a_notebook_gets_bars(tmp_path):
    from test_notebook import run_kernel
    out, = run_kernel([PROBE], tmp_path)
    assert out["error"] is None, out["error"]
    assert out["stdout"] == "True False True\n"
    assert "Probing:" in out["stderr"] and "/3000" in out["stderr"]


def test_python_filters_show_a_bar_on_request(demo_project, capsys, monkeypatch):
    from smt_query import RecordStoreView
    monkeypatch.delenv(ENV, raising=False)
    view = RecordStoreView(project=demo_project.path).filter(lambda r: (r.duration or 0) > 3600)
    quiet = view.labels()
    assert capsys.readouterr().err == ""                 # default: no terminal, no bar
    shown = RecordStoreView(project=demo_project.path, progress=True).filter(
        lambda r: (r.duration or 0) > 3600).labels()
    err = capsys.readouterr().err
    assert "Filtering:" in err and f"/{demo_project.n_records}" in err
    assert shown == quiet and len(quiet) > 10
    monkeypatch.setenv(ENV, "1")
    assert view.copy().labels() == quiet and "Filtering" in capsys.readouterr().err
    assert RecordStoreView(project=demo_project.path, progress=False).filter(
        lambda r: (r.duration or 0) > 3600).labels() == quiet
    assert capsys.readouterr().err == ""


def test_smt_query_bar_on_stderr_stdout_unchanged(demo_project):
    from smt_query import RecordStoreView
    assert RecordStoreView(project=demo_project.path).filter.where(PYTHON_WHERE).explain() \
        .startswith("SQL: -\nPython: where(")
    args = [SMT, "query", "--where", PYTHON_WHERE, "--format", "csv"]
    plain = run(args, demo_project.path, "0")
    barred = run(args, demo_project.path, "1")
    assert plain.returncode == barred.returncode == 0, barred.stderr
    assert plain.stderr == "" and "Filtering" in barred.stderr
    assert barred.stdout == plain.stdout and plain.stdout.count("\n") > 50
    assert "\r" not in barred.stdout
    default = run(args, demo_project.path, None)      # a pipe: no bar
    assert default.stdout == plain.stdout and default.stderr == ""


def test_smt_compare_bar_on_stderr_stdout_unchanged(demo_project):
    args = [SMT, "compare", "--on", "20201110", "--format", "csv"]
    plain = run(args, demo_project.path, "0")
    barred = run(args, demo_project.path, "1")
    assert plain.returncode == barred.returncode == 0, barred.stderr
    assert "Comparing" in barred.stderr and "Comparing" not in plain.stderr
    assert barred.stdout == plain.stdout and plain.stdout.count("\n") > 5


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)   # a shelve store: no database
def test_bulk_tagging_on_a_store_sumatra_saves_record_by_record(make_project):
    from click.testing import CliRunner

    from smt_query.cli.query import query
    project = make_project(runs=[{}, {}, {}], store="shelve")
    added = run([SMT, "query", "--add-tag", "checked"], project.path, "1")
    assert added.returncode == 0, added.stderr
    assert added.stdout == "" and "Tagging:" in added.stderr and "/3 " in added.stderr
    assert "Added tag 'checked' to 3 records." in added.stderr
    listed = run([SMT, "list", "checked"], project.path, None)
    assert sorted(listed.stdout.split()) == sorted(project.labels)
    cwd = os.getcwd()
    os.chdir(project.path)
    try:
        removed = CliRunner().invoke(query, ["--remove-tag", "checked"], env={ENV: "1"})
    finally:
        os.chdir(cwd)
    assert removed.exit_code == 0, removed.stderr
    assert removed.stdout == "" and "Tagging" in removed.stderr
    assert run([SMT, "list", "checked"], project.path, None).stdout.split() == []


def test_demo_builder_shows_its_steps(tmp_path):
    built = run([sys.executable, "-m", "smt_query.demo", str(tmp_path / "demo"), "--records", "40",
                 "--runs", "1"], tmp_path, "1")
    assert built.returncode == 0, built.stderr
    for step in ("smt run 1/1", "smt tag fig", "Inserting", "39/39"):
        assert step in built.stderr, step
    assert built.stdout.startswith("Demo project: ") and "\r" not in built.stdout
