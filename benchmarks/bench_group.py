"""``smt query --group-by`` at scale, as ratios to baselines in the same process.

For each store (the demo of ``--records`` records, SQLite and PostgreSQL, built
once in the suite's cache by ``run_suite.ensure_store``) one fresh process
times, best of ``--repeat`` rounds (the three forms take turns), the grouping
``--group-by optimizer.model.activation,nsteps,week --aggregate optimizer.lr``:

* smt-query: ``rows.select_rows(view, group_by=..., aggregate=...)``;
* read only: ``rows.query_rows`` of the same columns (what grouping costs on
  top of reading the rows);
* pandas: the same read, then ``DataFrame.groupby(...).agg`` with the week
  bucket computed by pandas (the counts are checked to agree).

Usage::

    python benchmarks/bench_group.py                           # SQLite and PostgreSQL
    python benchmarks/bench_group.py --backends sqlite --records 10000

PostgreSQL comes from ``--pg`` or ``SMTQ_POSTGRES_URI``.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_suite  # noqa: E402  (bench_main, the cached stores)
KEYS = ["optimizer.model.activation", "nsteps", "week"]
AGGREGATE = ["optimizer.lr"]


def measure(path, repeat):
    """The three forms on the project at ``path`` (run in a fresh process)."""
    import pandas as pd
    import smt_query
    from smt_query import RecordStoreView
    from smt_query.rows import query_rows, select_rows

    params = ["optimizer.model.activation", "nsteps", "optimizer.lr"]

    def ours():
        return select_rows(RecordStoreView(project=path), group_by=KEYS, aggregate=AGGREGATE)[0]

    def read():
        return query_rows(RecordStoreView(project=path), ["timestamp", "duration"], params)

    def with_pandas():
        frame = pd.DataFrame.from_records(read())
        frame["week"] = pd.to_datetime(frame["timestamp"], utc=True).dt.strftime("%G-W%V")
        grouped = frame.groupby(KEYS, dropna=False).agg(
            count=("duration", "size"), mean_duration=("duration", "mean"),
            min_duration=("duration", "min"), max_duration=("duration", "max"),
            **{f"{s}_optimizer.lr": ("optimizer.lr", s) for s in ("mean", "min", "max")})
        return grouped.reset_index()

    (t_ours, groups), (t_read, rows), (t_pd, frame) = run_suite.best_each(
        [ours, read, with_pandas], repeat)
    assert sum(g["count"] for g in groups) == len(rows) == int(frame["count"].sum())
    assert len(groups) == len(frame), "smt-query and pandas found different groups"
    return {"code": os.path.dirname(smt_query.__file__), "records": len(rows),
            "groups": len(groups), "load": os.getloadavg()[0],
            "ours": t_ours, "read": t_read, "pandas": t_pd}


def main():
    for backend, r in run_suite.bench_main(
            __file__, __doc__, measure,
            head=f"--group-by {','.join(KEYS)} --aggregate {','.join(AGGREGATE)}"):
        print(f"{backend} {r['records']:,} records -> {r['groups']} groups, "
              f"load {r['load']:.1f}, code {r['code']}")
        print(f"  smt-query {r['ours']:.3f} s; read only {r['read']:.3f} s "
              f"({r['ours'] / r['read']:.2f}x); read + pandas groupby {r['pandas']:.3f} s "
              f"({r['ours'] / r['pandas']:.2f}x)")


if __name__ == "__main__":
    main()
