"""The docs build clean, and their examples run on a real demo project: the tutorial
notebook's cells in plain Python here (in a Jupyter kernel: ``tests/test_notebook.py``).

``pytest -m docs`` runs only the docs build (it needs the docs extra)."""
import os
import pathlib
import re
import subprocess
import sys

import pytest


DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs")


def notebook_cells(name):
    """The sources of the code cells of the notebook ``docs/name``."""
    import nbformat
    nb = nbformat.read(os.path.join(DOCS, name), as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def test_tutorial_runs(demo_project_rw, tmp_path, monkeypatch):
    from smt_query.filters import FILTERS
    (tmp_path / "nb").mkdir()
    os.symlink(demo_project_rw.path, tmp_path / "nb" / "smt-demo")   # its first cell uses it
    monkeypatch.chdir(tmp_path / "nb")
    namespace = {}
    cells = notebook_cells("tutorial.ipynb")
    assert len(cells) > 20
    try:
        for source in cells:
            exec(compile(source, "<tutorial>", "exec"), namespace)
    finally:
        FILTERS.pop("long_runs", None)
    assert os.getcwd() == os.path.realpath(demo_project_rw.path)


@pytest.mark.docs
def test_docs_build_clean(tmp_path):
    """``sphinx-build -W -n`` (into ``$SMTQ_ARTIFACTS/html`` when set, as ``.ci/run`` sets it): no warning, every reference resolved, the
    tutorial executed (it builds its demo project), the API and CLI references generated."""
    if not os.environ.get("CI"):        # CI installs it: there, a missing Sphinx fails
        pytest.importorskip("sphinx", reason="the docs extra is not installed: pip install -e '.[docs]'")
    import shutil
    import smt_query
    out = tmp_path / "html"
    if os.environ.get("SMTQ_ARTIFACTS"):    # .ci/run keeps the HTML
        out = pathlib.Path(os.environ["SMTQ_ARTIFACTS"]) / "html"
        shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-n", "-E", "-q", "-b", "html",
                           DOCS, str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    api = (out / "api.html").read_text()
    for name in smt_query.__all__ + ["QueryDjangoRecordStore"]:
        assert f'id="smt_query.{name}"' in api or f'.{name}"' in api, name
    cli = re.sub(r"<[^>]+>", "", (out / "cli.html").read_text())
    for command in ("smt query", "smt compare", "smt querystore", "smt admin"):
        assert f"{command} [OPTIONS]" in cli, command
    tutorial = (out / "tutorial.html").read_text()
    assert "Record #20201118-212254_c2c6ab" in tutorial       # outputs of the executed cells
    assert re.search(r'<img [^>]*src="_images/[^"]+\.png"', tutorial)  # the plot
