"""The docs' examples run on a real demo project: the tutorial notebook's cells in plain
Python here (in a Jupyter kernel: ``tests/test_notebook.py``)."""
import os


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
