"""Time parameter columns at N records (default 100,000) of the demo store
(built once in the suite's cache), on SQLite and/or PostgreSQL: ``smt query
--plot timestamp:optimizer.lr --out FILE.png``, ``--param optimizer.lr``
(with ``--sort`` on it) and ``--group-by nsteps --aggregate optimizer.lr``.

Baselines, in the same run: the raw read (SQL for the points, ``json_extract``
or ``::json``, and matplotlib drawing the same figure), and the reference row
pipeline as it was before the fast path (every parameter set kept whole, its
depth walked, each key read from it by ``get_task_param``). Reported: wall
and CPU seconds (the machine may be shared: CPU time is the steadier
figure), and ratios to the baselines. Target: the --plot command under 3 s at
100k.

Usage: python benchmarks/bench_plot.py [N] [--backend sqlite|postgresql ...] [--repeat R]
PostgreSQL needs SMTQ_POSTGRES_URI (or --pg).
"""
import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run_suite import CACHE, SMT, ensure_store, pg_uri  # noqa: E402

X, Y = "timestamp", "optimizer.lr"
TARGET = 3.0
POINTS_SQL = {
    "sqlite": "SELECT r.timestamp, json_extract(p.content, '$.inputs.optimizer.inputs.lr') "
              "FROM django_store_record r JOIN django_store_parameterset p "
              "ON p.id = r.parameters_id ORDER BY r.timestamp",
    "postgresql": "SELECT r.timestamp, (p.content::json #>> '{inputs,optimizer,inputs,lr}')"
                  "::float FROM django_store_record r JOIN django_store_parameterset p "
                  "ON p.id = r.parameters_id ORDER BY r.timestamp",
}
COMMANDS = {
    "--plot X:Y --out PNG": ["--plot", f"{X}:{Y}", "--out", "{png}"],
    "--param Y --sort -Y --limit 20": ["--param", Y, "--sort", "-" + Y, "--limit", "20"],
    "--group-by nsteps --aggregate Y": ["--group-by", "nsteps", "--aggregate", Y],
}


def measure(fn, repeat, children=False):
    """``(best wall, best CPU seconds, last result)`` of ``repeat`` calls of
    ``fn``; CPU of this process, or of its finished children (a command)."""
    walls, cpus, result = [], [], None
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    for _ in range(repeat):
        r0, t0 = resource.getrusage(who), time.perf_counter()
        result = fn()
        t1, r1 = time.perf_counter(), resource.getrusage(who)
        walls.append(t1 - t0)
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return min(walls), min(cpus), result


def raw_points(backend, store):
    """The points by raw SQL (one JSON path; the least a plot reads)."""
    if backend == "sqlite":
        with sqlite3.connect(store) as conn:
            rows = conn.execute(POINTS_SQL[backend]).fetchall()
        conn.close()
        return [(r[0].replace(" ", "T"), r[1]) for r in rows if r[1] is not None]
    import psycopg2
    conn = psycopg2.connect(store)
    try:
        with conn.cursor() as cur:
            cur.execute(POINTS_SQL[backend])
            rows = cur.fetchall()
    finally:
        conn.close()
    return [(r[0].replace(tzinfo=None).isoformat(), r[1]) for r in rows if r[1] is not None]


def raw_plot(backend, store, out):
    """Baseline: raw SQL for the points, matplotlib for the PNG."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    rows = raw_points(backend, store)
    xs = np.array([r[0] for r in rows], dtype="datetime64[us]")
    ys = np.array([r[1] for r in rows], dtype=float)
    fig = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(xs, ys, "-", color="#bbbbbb", linewidth=0.8)
    ax.scatter(xs, ys, s=3)
    fig.savefig(out)
    return len(rows)


def reference_rows(view, fields, keys):
    """The row pipeline before the fast path: whole sets kept on the rows
    (depth walked), each key read from them by ``get_task_param``."""
    from smt_query.params import get_task_param, parse
    with mock.patch.dict(parse._DEPTH_BOUNDS, clear=True):
        rows = view.rows(["label", *fields], tags=False, parameters=True)
    for row in rows:
        params = row.pop("parameters")
        for key in keys:
            row[key] = get_task_param(params, key, None)
    return rows


def run_backend(backend, n, repeat, admin_uri):
    from smt_query import RecordStoreView
    from smt_query.plot import PlotData, plot_data
    from smt_query.rows import read_rows
    path = ensure_store(CACHE, backend, n, admin_uri)
    store = os.path.join(path, ".smt", "records") if backend == "sqlite" else pg_uri(admin_uri, n)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "ours.png")

        def view():
            return RecordStoreView(project=path, progress=None)

        results["raw SQL + matplotlib (baseline)"] = measure(
            lambda: raw_plot(backend, store, os.path.join(tmp, "raw.png")), repeat)
        n_raw = results["raw SQL + matplotlib (baseline)"][2]
        results["raw SQL points"] = measure(lambda: len(raw_points(backend, store)), repeat)
        results["reference rows (before)"] = measure(
            lambda: reference_rows(view(), [X], [Y]), 1)
        results["read_rows (now)"] = measure(lambda: read_rows(view(), [X], [Y]), repeat)
        ref = {r["label"]: r[Y] for r in results["reference rows (before)"][2]}
        now = {r["label"]: r[Y] for r in results["read_rows (now)"][2]}
        assert now == ref, "read_rows differs from the reference pipeline"
        results["reference plot_data (before)"] = measure(
            lambda: PlotData(X, Y, None, reference_rows(view(), [X], [Y])), 1)
        results["plot_data (now)"] = measure(lambda: plot_data(view(), X, Y), repeat)
        n_ours = len(results["plot_data (now)"][2])
        for name, args in COMMANDS.items():
            cmd = [SMT, "query", *[a.format(png=png) for a in args]]
            results["smt query " + name] = measure(
                lambda: subprocess.run(cmd, cwd=path, check=True, capture_output=True),
                repeat, children=True)
    # the raw path reads one JSON path; ours also folds other spellings of the key
    assert abs(n_ours - n_raw) <= n_ours // 100, (n_ours, n_raw)
    return results, n_ours


def report(backend, n, results, n_points, repeat):
    base = results["raw SQL + matplotlib (baseline)"]
    print(f"\n{backend}, {n:,} records, {n_points:,} points (best of {repeat}; "
          f"reference: one run); wall s, CPU s, ratio to the raw baseline (wall, CPU):")
    for name, (wall, cpu, _) in results.items():
        print(f"  {name:42s} {wall:7.2f} {cpu:7.2f}   {wall / base[0]:6.1f}x {cpu / base[1]:6.1f}x")
    for before, now in (("reference rows (before)", "read_rows (now)"),
                        ("reference plot_data (before)", "plot_data (now)")):
        b, a = results[before], results[now]
        print(f"  {now} / {before}: wall {a[0] / b[0]:.2f}, CPU {a[1] / b[1]:.2f} "
              f"({b[1] / a[1]:.1f}x less CPU)")
    wall, cpu, _ = results["smt query --plot X:Y --out PNG"]
    print(f"  target: smt query --plot under {TARGET:g} s: "
          f"{'met' if wall < TARGET else 'NOT met'} on the wall clock ({wall:.2f} s), "
          f"{'met' if cpu < TARGET else 'NOT met'} in CPU time ({cpu:.2f} s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--pg", default=os.environ.get("SMTQ_POSTGRES_URI"))
    args = parser.parse_args(argv)
    for backend in args.backend or ["sqlite"]:
        if backend == "postgresql" and not args.pg:
            parser.error("PostgreSQL needs SMTQ_POSTGRES_URI or --pg")
        results, n_points = run_backend(backend, args.n, args.repeat, args.pg)
        report(backend, args.n, results, n_points, args.repeat)


if __name__ == "__main__":
    main()
