"""The layer rules ([importlinter] in setup.cfg) hold, and they catch a broken rule."""
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINT = os.path.join(os.path.dirname(sys.executable), "lint-imports")


def lint(env=None):
    # no cache: the tests' copies with a breach would poison the checkout's cache
    return subprocess.run([LINT, "--no-cache", os.path.join(ROOT, "setup.cfg")], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=300)


def test_contracts_are_kept():
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("view.py", "from .cli import output", "never imports smt_query.cli or smt_query.admin"),
    ("admin/sites.py", "from ..cli import query", "admin never imports the command line"),
    ("params/__init__.py", "from .. import fields", "params imports nothing of smt_query"),
    ("_hook.py", "import django", "start-up hook imports neither Django nor pandas"),
    ("fields.py", "from . import filters", "The core's layers"),
    ("where/nodes.py", "from .. import view", "The core's layers"),
])
def test_a_broken_rule_is_reported(tmp_path, module, line, contract):
    """A copy of the package with one forbidden import breaks its contract."""
    shutil.copytree(os.path.join(ROOT, "smt_query"), tmp_path / "smt_query",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    with open(tmp_path / "smt_query" / module, "a", encoding="utf-8") as f:
        f.write(f"\n{line}  # added by the test\n")
    result = lint(dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert result.returncode == 1, result.stdout + result.stderr
    assert contract in result.stdout.split("Broken contracts")[1]


#: A vendor or engine name compared: ``vendor == "sqlite"``, ``"sqlite" in engine``...
VENDOR_COMPARED = re.compile(
    r"""\b(vendor|engine)\b\s*(==|!=|not\s+in\b|in\b)"""
    r"""|["'][\w.]*(sqlite|postgres|mysql)[\w.]*["']\s*(==|!=|not\s+in\b|in\b)"""
    r"""|(==|!=)\s*["'][\w.]*(sqlite|postgres|mysql)""", re.IGNORECASE)
#: The dialect modules: the only places that compare them (issue 13).
DIALECT_MODULES = {"where/dialect.py", "where/sqlite.py", "where/postgresql.py"}


def test_only_the_dialect_modules_compare_vendor_names():
    package = os.path.join(ROOT, "smt_query")
    found = []
    for folder, _, files in os.walk(package):
        for name in files:
            path = os.path.join(folder, name)
            module = os.path.relpath(path, package).replace(os.sep, "/")
            if not name.endswith(".py") or module in DIALECT_MODULES:
                continue
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    code = line.split("#")[0]
                    if VENDOR_COMPARED.search(code):
                        found.append(f"{module}:{n}: {line.strip()}")
    assert found == []


def test_the_vendor_check_sees_a_comparison():
    for line in ('if self.vendor == "sqlite":', "if conn.vendor != 'postgresql':",
                 'if "sqlite" in db["ENGINE"]:', 'store.vendor not in ("sqlite", "postgresql")',
                 'scheme = "postgres" if "postgresql" in engine else None'):
        assert VENDOR_COMPARED.search(line), line
    assert not VENDOR_COMPARED.search('"ENGINE": "django.db.backends.sqlite3",')
