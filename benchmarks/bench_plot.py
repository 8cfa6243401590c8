"""Time ``smt query --plot timestamp:optimizer.lr --out FILE.png`` over the demo
store of N records (default 100,000; SQLite; built once in the suite's cache),
against a baseline in the same process: the same points read with raw SQL
(``sqlite3``, ``json_extract``) and drawn by matplotlib directly, with the
same figure. Target: the command under 3 s at 100k.

Usage: python benchmarks/bench_plot.py [N] [--repeat R]
"""
import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run_suite import CACHE, SMT, best, ensure_store  # noqa: E402

X, Y = "timestamp", "optimizer.lr"
TARGET = 3.0


def baseline(store, out):
    """The least a plot costs: raw SQL for the points, matplotlib for the PNG."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    with sqlite3.connect(store) as conn:
        rows = conn.execute(
            "SELECT r.timestamp, json_extract(p.content, '$.inputs.optimizer.inputs.lr') "
            "FROM django_store_record r JOIN django_store_parameterset p "
            "ON p.id = r.parameters_id ORDER BY r.timestamp").fetchall()
    conn.close()
    rows = [r for r in rows if r[1] is not None]
    xs = np.array([r[0].replace(" ", "T") for r in rows], dtype="datetime64[us]")
    ys = np.array([r[1] for r in rows], dtype=float)
    fig = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(xs, ys, "-", color="#bbbbbb", linewidth=0.8)
    ax.scatter(xs, ys, s=3)
    fig.savefig(out)
    return len(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    path = ensure_store(CACHE, "sqlite", args.n)
    store = os.path.join(path, ".smt", "records")
    with tempfile.TemporaryDirectory() as tmp:
        ours_png, base_png = os.path.join(tmp, "ours.png"), os.path.join(tmp, "base.png")

        def command():
            subprocess.run([SMT, "query", "--plot", f"{X}:{Y}", "--out", ours_png], cwd=path,
                           check=True, capture_output=True)

        def read():
            from smt_query import RecordStoreView
            from smt_query.plot import plot_data
            return plot_data(RecordStoreView(project=path, progress=None), X, Y)

        def draw(data):
            from smt_query.plot import write_file
            write_file(data, ours_png)

        base_t, n_base = best(lambda: baseline(store, base_png), args.repeat)
        read_t, data = best(read, args.repeat)
        draw_t, _ = best(lambda: draw(data), args.repeat)
        cmd_t, _ = best(command, args.repeat)
        n_ours = len(data)
    # the raw path reads one JSON path; ours also folds other spellings of the key
    assert abs(n_ours - n_base) <= n_ours // 100, (n_ours, n_base)
    print(f"--plot {X}:{Y} of {n_ours:,} points to a PNG (best of {args.repeat}):")
    print(f"  raw SQL + matplotlib (baseline) {base_t:7.2f} s")
    print(f"  plot_data (the row pipeline)    {read_t:7.2f} s")
    print(f"  write_file (matplotlib PNG)     {draw_t:7.2f} s")
    print(f"  smt query --plot ... --out PNG  {cmd_t:7.2f} s  ({cmd_t / base_t:.1f}x the baseline; "
          f"target < {TARGET:g} s: {'met' if cmd_t < TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
