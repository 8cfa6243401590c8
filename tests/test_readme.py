"""Every example of README.rst and of ``smt ... --help`` (the EXAMPLES of
``smt_query/cli/*.py``) runs on the demo project and finds something: the
commands through a shell, as a user types them, the Python example as written.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.join(os.path.dirname(__file__), os.pardir)
README = os.path.join(ROOT, "README.rst")
BIN = os.path.dirname(sys.executable)


def readme_blocks():
    """The literal blocks of README.rst (the text after ``::``, dedented)."""
    with open(README, encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.rstrip().endswith("::"):
            block = []
            for text in lines[i + 1:]:
                if text.strip() and not text.startswith(" "):
                    break
                block.append(text)
            blocks.append(textwrap.dedent("\n".join(block)).strip("\n"))
    return blocks


def readme_commands():
    """``smt ...`` commands of README.rst, also those at the end of an ``&&`` chain."""
    return [part.strip() for block in readme_blocks() for line in block.splitlines()
            for part in line.split(" && ") if part.strip().startswith("smt ")]


def help_examples():
    """The example lines of every command's ``--help``."""
    from smt_query.cli import admin, compare, query
    return [line.strip() for module in (query, compare, admin)
            for line in module.EXAMPLES.splitlines() if line.strip().startswith(("smt ", "echo "))]


def readme_python():
    [block] = [b for b in readme_blocks() if "from smt_query import" in b]
    return block


def test_examples_are_found():
    commands, examples = readme_commands(), help_examples()
    assert "smt query --tag finished --on 20200915" in commands      # the "Try it" line's end
    assert any("--where" in c for c in commands) and any(c.startswith("smt compare") for c in commands)
    assert sum(c.startswith("smt query") for c in examples) >= 7
    assert any("smt admin --create-user" in c for c in examples)


def run(command, cwd, **kwargs):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"],
               PASSWORD="Correct-horse-battery-staple-4")
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, **kwargs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_server(command, cwd):
    """Start ``smt admin`` (on a free port: other tests may hold 8000 or 8123), wait until it
    answers with its login redirect, stop it."""
    port = free_port()
    command = command.split("#")[0].strip()
    command = (re.sub(r"--port \d+", f"--port {port}", command) if "--port" in command
               else f"{command} --port {port}")
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.Popen(command.split(), cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                    return response.status, response.url
            except urllib.error.URLError as err:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"{command}: no answer ({err}):\n{proc.stdout.read()}")
                time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_every_example_runs_on_the_demo(demo_project_rw):
    """Each example exits 0, prints something and no error; a query selects a real subset
    (at least one record, not all of them)."""
    path, total = demo_project_rw.path, demo_project_rw.n_records
    failures = []
    commands = readme_commands() + help_examples()
    for command in commands:
        if command.startswith("smt admin") and "--create-user" not in command:
            status, url = check_server(command, path)
            if status != 200 or "/login/" not in url:
                failures.append(f"{command}: answered {status} at {url}")
            continue
        command = command.replace("# then:", "&&")          # `--save fig1 # then: smt query @fig1`
        proc = run(command, path, stdin=subprocess.DEVNULL if "echo" in command else None,
                   input=None if "echo" in command else "Correct-horse-battery-staple-4\n")
        shown = proc.stdout if command.startswith(("smt query", "smt compare")) else proc.stdout + proc.stderr
        if proc.returncode or not shown.strip() or "Error" in proc.stderr:
            failures.append(f"{command}: exit {proc.returncode}\n{proc.stdout[-500:]}{proc.stderr[-500:]}")
            continue
        if command.startswith("smt query") and not re.search(r"--(group-by|save|count|add-tag)", command):
            labels = run(command + " --format labels", path).stdout.split()
            if not 0 < len(labels) < total:
                failures.append(f"{command}: selects {len(labels)} of {total} records")
    assert not failures, "\n\n".join(failures)


def test_readme_python_example_runs(demo_project, monkeypatch):
    monkeypatch.chdir(demo_project.path)
    *body, last = readme_python().splitlines()
    namespace = {}
    exec("\n".join(body), namespace)
    summary = eval(last.strip(), namespace)
    n = len(summary)
    assert 0 < n < demo_project.n_records
    assert summary.dataframe().index.str.startswith("202009").all()


@pytest.mark.parametrize("command", [
    "query", "compare", "admin", "querystore", "querystore enable", "querystore disable",
    "querystore status", "querystore check", "querystore indexes", "querystore indexes add"])
def test_help_is_plain_text(command, tmp_path):
    """``--help`` is read in a terminal: no reStructuredText markup in it."""
    proc = run(f"smt {command} --help", tmp_path)
    assert proc.returncode == 0 and "Usage:" in proc.stdout, proc.stdout + proc.stderr
    assert not re.search(r"``|:(class|func|mod|meth|data|exc|doc):`|`_\b", proc.stdout), proc.stdout
