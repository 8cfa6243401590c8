"""Plots: ``smt query --plot`` (real ``smt`` processes: files, terminal, pipe),
``summary.plot`` and ``ParameterComparison.plot``, on the demo project, both
backends. Images are checked by opening them: PNGs read back with matplotlib
(size, not blank), SVGs parsed as XML with one mark per record.

Oracle: the records as Sumatra loads them, their parameters read with
:func:`smt_query.params.get_task_param`.
"""
import os
import pty
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from smt_query import RecordStoreView
from smt_query.params import get_task_param
from support import sumatra_records

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
SVG = "{http://www.w3.org/2000/svg}"


def smt_query(path, *args, tty=False):
    """``smt query ARGS`` in ``path``: (returncode, stdout, stderr); stdout a terminal with ``tty``."""
    if not tty:
        result = subprocess.run([SMT, "query", *args], cwd=path, capture_output=True, text=True,
                                timeout=300)
        return result.returncode, result.stdout, result.stderr
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="100", LINES="40")
    proc = subprocess.Popen([SMT, "query", *args], cwd=path, stdout=slave, stderr=subprocess.PIPE,
                            text=True, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:   # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    err = proc.stderr.read()
    proc.stderr.close()
    proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode().replace("\r\n", "\n"), err


@pytest.fixture(scope="module")
def oracle(demo_project):
    """``{label: record}`` as Sumatra loads them."""
    return {r.label: r for r in sumatra_records(demo_project.path)}


def expected_points(oracle, key, labels=None):
    """Labels of the records (of ``labels``) that have a finite number under ``key``."""
    out = set()
    for label, rec in oracle.items():
        if labels is not None and label not in labels:
            continue
        value = get_task_param(rec.parameters.as_dict() if rec.parameters else {}, key, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            out.add(label)
    return out


def png_pixels(path):
    import matplotlib.image
    pixels = matplotlib.image.imread(path)
    rgb = pixels[..., :3]
    return pixels.shape, (rgb < 0.9).any(axis=-1).sum()


def svg_marks(text):
    root = ET.fromstring(text)
    return root, root.findall(f".//{SVG}g[@class='smt-marks']/{SVG}circle")


def test_plot_to_png_svg_and_html(demo_project, oracle, tmp_path):
    view = RecordStoreView(project=demo_project.path).filter.status("finished")
    labels = set(view.labels())
    expected = expected_points(oracle, "optimizer.lr", labels)
    assert 10 < len(expected) <= len(labels)
    png = tmp_path / "lr.png"
    code, out, err = smt_query(demo_project.path, "--status", "finished", "--plot",
                               "timestamp:optimizer.lr", "--color", "optimizer.model.activation",
                               "--out", str(png))
    assert code == 0, err
    assert out == "" and f"Plotted {len(expected)} records to {png}" in err
    shape, inked = png_pixels(png)
    assert shape[:2] == (500, 800) and inked > 2000
    # the same points as SVG (matplotlib) and as HTML (our own SVG, no scripts, no CDN)
    svg = tmp_path / "lr.svg"
    assert smt_query(demo_project.path, "--status", "finished", "--plot",
                     "timestamp:optimizer.lr", "--out", str(svg))[0] == 0
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg"
    page = tmp_path / "lr.html"
    assert smt_query(demo_project.path, "--status", "finished", "--plot", "timestamp:optimizer.lr",
                     "--color", "status", "--out", str(page))[0] == 0
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    root, marks = svg_marks(html[html.index("<svg"):html.index("</svg>") + 6])
    assert len(marks) == len(expected)
    assert {m.find(f"{SVG}title").text for m in marks} == expected
    assert len(root.findall(f".//{SVG}polyline")) == 1     # x is the timestamp: a line


def test_plot_in_a_terminal_and_in_a_pipe(demo_project, oracle):
    code, out, err = smt_query(demo_project.path, "--plot", "nsteps:optimizer.lr", "--color",
                               "status", tty=True)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "optimizer.lr" and "nsteps" in lines[-2]
    assert lines[-1].startswith("status: ● ")
    assert max(map(len, lines[:-1])) <= 100
    assert sum(line.count("●") + line.count("○") + line.count("▲") + line.count("△")
               + line.count("■") for line in lines[1:-3]) > 3
    code, out, err = smt_query(demo_project.path, "--plot", "nsteps:optimizer.lr")
    assert (code, out) == (1, "")
    assert err == "Error: --plot draws in a terminal; in a pipe give --out FILE.png, .svg or .html\n"


@pytest.mark.parametrize("args, message", [
    (["--plot", "timestamp:no.such.key", "--out", "x.png"],
     "Error: none of the {n} records has both 'timestamp' and 'no.such.key' ('no.such.key': "
     "not a field, nor a parameter key of these records)\n"),
    (["--plot", "timestamp:optimizer.lr", "--out", "x.pdf"],
     "Error: cannot write a plot to 'x.pdf': give a file ending in .png, .svg, .html\n"),
    (["--plot", "timestamp", "--out", "x.png"],
     "Error: --plot takes X:Y (two keys), not 'timestamp' (see 'smt query --help')\n"),
    (["--plot", "timestamp:optimizer.lr", "--add-tag", "x"],
     "Error: --plot goes without --add-tag, --remove-tag and --count (see 'smt query --help')\n"),
    (["--color", "status"], "Error: --color and --out go with --plot X:Y (see 'smt query --help')\n"),
])
def test_plot_errors_are_one_line(demo_project, tmp_path, args, message):
    code, out, err = smt_query(demo_project.path, *args)
    assert code in (1, 2) and out == ""
    assert err.splitlines()[-1] == message.format(n=demo_project.n_records).rstrip("\n")
    assert not os.path.exists(os.path.join(demo_project.path, "x.png"))


def test_nothing_matches_is_not_an_error(demo_project, tmp_path):
    out_file = tmp_path / "none.png"
    code, out, err = smt_query(demo_project.path, "--tag", "no-such-tag", "--plot",
                               "timestamp:optimizer.lr", "--out", str(out_file))
    assert (code, out, err) == (0, "", "Warning: no record has the tag 'no-such-tag'\n"
                                       "No records match.\n")
    assert not out_file.exists()


NO_MATPLOTLIB = """
import sys
sys.modules["matplotlib"] = None   # as if not installed
sys.argv = ["smt", "query", "--plot", "timestamp:optimizer.lr", "--out", sys.argv[1]]
from sumatra.cli import smt
sys.exit(smt())
"""


def test_without_matplotlib(demo_project, tmp_path):
    result = subprocess.run([sys.executable, "-c", NO_MATPLOTLIB, str(tmp_path / "x.png")],
                            cwd=demo_project.path, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == "Error: plots to files need matplotlib: pip install 'smt-query[plot]'\n"
    # an HTML page needs no plotting library
    result = subprocess.run([sys.executable, "-c", NO_MATPLOTLIB, str(tmp_path / "x.html")],
                            cwd=demo_project.path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "<svg" in (tmp_path / "x.html").read_text(encoding="utf-8")


def test_summary_plot_returns_axes(demo_project, oracle, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    view = RecordStoreView(project=demo_project.path)
    ax = view.summary.plot("timestamp", "optimizer.lr", color="nsteps")
    try:
        offsets = sum(len(c.get_offsets()) for c in ax.collections)
        assert offsets == len(expected_points(oracle, "optimizer.lr"))
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("timestamp", "optimizer.lr")
        assert len(ax.lines) == 1 and len(ax.figure.axes) == 2   # the line, the colour bar
        ax.figure.savefig(tmp_path / "s.png")
        assert png_pixels(tmp_path / "s.png")[1] > 2000
    finally:
        plt.close(ax.figure)


def test_parameter_comparison_plot(demo_project, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from smt_query.compare import compare_view
    from smt_query.svg import parallel
    view = RecordStoreView(project=demo_project.path).filter.on(20201110)
    labels = view.labels()[:5]
    comparison = compare_view(view.filter.labels(*labels)).comparison
    numeric = {k for k, by_label in comparison.differences.items()
               if all(isinstance(v, (int, float)) and not isinstance(v, bool)
                      for v in by_label.values())}
    assert numeric
    data = comparison.parallel_data()
    assert set(data["keys"]) == numeric and data["labels"] == labels
    ax = comparison.plot()
    try:
        assert [t.get_text() for t in ax.get_xticklabels()] == data["keys"]
        assert [line.get_label() for line in ax.lines if not line.get_label().startswith("_")] == labels
        ax.figure.savefig(tmp_path / "pc.png")
        assert png_pixels(tmp_path / "pc.png")[1] > 1000
    finally:
        plt.close(ax.figure)
    root = ET.fromstring(parallel(data))
    assert len(root.findall(f".//{SVG}g[@class='smt-marks']/{SVG}path")) == len(labels)


def test_svg_escapes_stored_text():
    from smt_query.plot import PlotData
    from smt_query.svg import scatter
    hostile = '<script>alert(1)</script>"&\x00\x1b'
    rows = [{"label": hostile, "k<": 1.0, hostile: "a\x07<b>"}, {"label": "b", "k<": 2.0, hostile: "c"},
            {"label": "huge", "k<": 10 ** 400, hostile: "d"}]
    text = scatter(PlotData("k<", hostile, None, rows))
    root, marks = svg_marks(text)    # well-formed XML despite control characters
    assert len(marks) == 2 and "<script" not in text     # 10**400 is no float: left out
    assert marks[0].find(f"{SVG}title").text == '<script>alert(1)</script>"&'


def test_parallel_data_keeps_finite_numbers_only():
    from smt_query.params import ParameterComparison
    sets = [{"a": 10 ** 400, "b": 1, "c": float("nan"), "d": True, "e": "x", "f": 2.5},
            {"a": 1, "b": 3, "c": 1.0, "d": False, "e": "y"}]
    data = ParameterComparison(params=sets, labels=["one", "two"]).parallel_data()
    assert data == {"keys": ["b", "f"], "ranges": [(1.0, 3.0), (2.5, 2.5)],
                    "labels": ["one", "two"], "lines": [[0.0, 0.5], [1.0, None]]}
