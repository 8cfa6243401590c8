"""The start-up hook: `smt` learns declared commands, cheaply, after a plain install."""
import os
import subprocess
import sys
import textwrap

SMT = os.path.join(os.path.dirname(sys.executable), "smt")

# Runs Sumatra's real console-script entry point and reports what got imported.
PROBE = textwrap.dedent("""
    import atexit, sys
    def report():
        heavy = sorted({m.split('.')[0] for m in sys.modules}
                       & {'django', 'pandas', 'numpy', 'tqdm', 'dateutil', 'dateparser'})
        print('IMPORTED:' + ','.join(heavy), file=sys.stderr)
    atexit.register(report)
    sys.argv = ['smt'] + sys.argv[1:]
    from sumatra.cli import smt
    sys.exit(smt())
""")


def run_smt(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True,
                          text=True, env=env)


def test_pth_file_is_installed():
    import site
    dirs = site.getsitepackages() + [site.getusersitepackages()]
    assert any(os.path.exists(os.path.join(d, "smt_query.pth")) for d in dirs)


def test_query_help_imports_neither_django_nor_pandas(tmp_path):
    # nor tqdm (progress bars import it when one shows) nor a date parser
    result = run_smt("query", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage: smt query" in result.stdout and "--where EXPR" in result.stdout
    assert "IMPORTED:\n" in result.stderr  # nothing heavy


def test_smt_help_lists_our_commands(tmp_path):
    result = subprocess.run([SMT, "help"], cwd=tmp_path, capture_output=True, text=True)
    listed = result.stdout + result.stderr
    for name in ("query", "compare", "querystore", "admin", "run", "list"):
        assert f"\n  {name}" in listed
    helped = subprocess.run([SMT, "help", "query"], cwd=tmp_path, capture_output=True, text=True)
    assert "Usage: smt query" in helped.stdout


def test_sumatra_commands_still_work(demo_project):
    result = subprocess.run([SMT, "info"], cwd=demo_project.path, capture_output=True, text=True)
    assert result.returncode == 0 and "Project name        : demo" in result.stdout


def test_real_smt_query_filters(demo_project):
    from smt_query import RecordStoreView
    expected = RecordStoreView(project=demo_project.path).filter.tags("fig").labels()
    result = subprocess.run([SMT, "query", "--tag", "fig", "--format", "labels"],
                            cwd=demo_project.path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected


def test_third_party_packages_register_commands(tmp_path):
    """Any distribution declaring a `sumatra.commands` entry point gets `smt <name>`."""
    site = tmp_path / "site"
    (site / "hello_smt-1.0.dist-info").mkdir(parents=True)
    (site / "hello_smt-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: hello-smt\nVersion: 1.0\n")
    (site / "hello_smt-1.0.dist-info" / "entry_points.txt").write_text(
        "[sumatra.commands]\nhello = hello_smt:main\nlist = hello_smt:main\n")
    (site / "hello_smt.py").write_text(
        "def main(argv):\n    print('hello', *argv)\n    return 0\n")
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([SMT, "hello", "a", "b"], cwd=tmp_path, capture_output=True,
                            text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello a b\n"
    # Sumatra's own commands are never replaced
    listed = subprocess.run([SMT, "list", "--help"], cwd=tmp_path, capture_output=True,
                            text=True, env=env)
    assert "hello" not in listed.stdout and "usage:" in listed.stdout


def test_errors_are_one_line(tmp_path):
    result = run_smt("query", "--after", "2020133", cwd=tmp_path)
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if not ln.startswith("IMPORTED:")]
    assert lines == ["Error: Invalid value for '--after': bad date 2020133: month must be "
                     "in 1..12 (see 'smt query --help')"]
    outside = run_smt("query", cwd=tmp_path)
    assert outside.returncode == 1
    assert [ln for ln in outside.stderr.splitlines() if not ln.startswith("IMPORTED:")] == [
        "Error: No Sumatra project exists in the current directory or above it."]


def complete(words, cwd):
    env = dict(os.environ, _SMT_COMPLETE="bash_complete", COMP_WORDS=words,
               COMP_CWORD=str(len(words.split(" ")) - 1))
    out = subprocess.run([SMT], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [line.split(",", 1)[1] for line in out.stdout.splitlines()]


def test_shell_completion(demo_project, tmp_path):
    script = subprocess.run([SMT], env=dict(os.environ, _SMT_COMPLETE="bash_source"),
                            capture_output=True, text=True, cwd=tmp_path).stdout
    assert "complete -o nosort -F _smt_completion smt" in script
    assert complete("smt qu", tmp_path) == ["query", "querystore"]
    assert "run" in complete("smt ", tmp_path)
    assert complete("smt query --tag fig", demo_project.path) == ["fig", "figure1", "figure2"]
    assert complete("smt query --sta", tmp_path) == ["--status"]
    keys = complete("smt query --param optimizer.model.params.", demo_project.path)
    assert "optimizer.model.params.μtilde" in keys
    assert complete("smt querystore ", tmp_path) == ["check", "disable", "enable", "indexes", "metric", "status"]


def test_regular_wheel_carries_the_start_up_file(tmp_path):
    """A non-editable install puts smt_query.pth at the top of site-packages."""
    import zipfile
    root = os.path.join(os.path.dirname(__file__), os.pardir)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), root], check=True)
    wheel, = tmp_path.glob("smt_query-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "smt_query.pth" in names and "smt_query/_hook.py" in names
    assert "smt_query.pth" in zipfile.ZipFile(wheel).read(
        [n for n in names if n.endswith("RECORD")][0]).decode()


THREAD_PROBE = """
import sys, threading
sys.argv = ['smt', 'querystore', 'status']
import smt_query.cli.store as store
status = store.status.callback
def callback(*args, **kwargs):
    # A server started by a command imports from its own threads.
    worker = threading.Thread(target=lambda: __import__('xml.dom.minidom'))
    worker.start()
    worker.join(timeout=20)
    print('thread imported' if not worker.is_alive() else 'thread blocked', file=sys.stderr)
    return status(*args, **kwargs)
store.status.callback = callback
from sumatra.cli import smt
sys.exit(smt())
"""


def test_commands_run_outside_the_import_lock(demo_project):
    result = subprocess.run([sys.executable, "-c", THREAD_PROBE], cwd=demo_project.path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "thread imported" in result.stderr
