"""Query speed: smt-query's view against smttask's record-at-a-time pipeline and raw SQL.

Builds (or reuses) demo stores of N records and, in the same process, times

* ``view``     -- ``RecordStoreView(...).filter...labels()``;
* ``pipeline`` -- what smttask does: a ``tags__contains`` pre-filter only when
  the tag filter comes first, then ``Record.to_sumatra()`` per record and
  Python predicates (timed on a sample and scaled when N is large);
* ``values``   -- a hand-written ``.values_list()`` query for the same result;

and prints the ratios, plus the peak memory of a 100k-record summary.

    python benchmarks/bench_query.py                 # 1k, 10k, 100k on SQLite
    python benchmarks/bench_query.py --sizes 10000 --store postgres://...

Targets: at 10k, date range and label-then-tag >= 1000x the pipeline; at 100k,
within 3x of raw ``.values()``; summary of 100k under 500 MB RSS.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

from smt_query import RecordStoreView
from smt_query.demo import build_demo

SAMPLE = 2000   # records converted by the pipeline before scaling up


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def pipeline(view, first_tag=None, predicates=()):
    """smttask: tag pre-filter if it comes first, to_sumatra() per record, Python tests."""
    store = view._store
    qs = store.models.Record.objects.using(store.db_alias).filter(project__id=view.project.name)
    if first_tag:
        qs = qs.filter(tags__contains=first_tag)
    total = qs.count()
    rows = list(qs[:SAMPLE])
    t = time.perf_counter()
    records = [row.to_sumatra() for row in rows]
    kept = [r.label for r in records if all(p(r) for p in predicates)]
    elapsed = (time.perf_counter() - t) * (total / max(len(rows), 1))
    return elapsed, kept, total > len(rows)


def cases(view):
    import datetime as dt
    from django.db.models import Q
    store = view._store
    Record = store.models.Record.objects.using(store.db_alias).filter(project__id=view.project.name)
    items = store.models.TaggedItem.objects.using(store.db_alias)
    utc = dt.timezone.utc
    lo, hi = dt.datetime(2020, 9, 12, tzinfo=utc), dt.datetime(2020, 9, 16, tzinfo=utc)

    def in_range(r):
        return lo <= r.timestamp < hi

    def killed(r):
        return "_killed_" in r.tags or "killed" in r.tags
    killed_ids = items.filter(content_type_id=store.record_ctype_id,
                              tag__name__in=["killed", "_killed_"]).values("object_id")
    return [
        ("date range", lambda: view.filter.after(20200912).filter.before(20200916).labels(),
         lambda: list(Record.filter(timestamp__gte=lo, timestamp__lt=hi)
                      .order_by("-timestamp", "-label").values_list("label", flat=True)),
         dict(predicates=[in_range])),
        ("label then tag", lambda: view.filter.label("202011").filter.tags("killed").labels(),
         lambda: list(Record.filter(Q(label__contains="202011"), db_id__in=killed_ids)
                      .order_by("-timestamp", "-label").values_list("label", flat=True)),
         dict(predicates=[lambda r: "202011" in r.label, killed])),
        ("tag then label", lambda: view.filter.tags("killed").filter.label("202011").labels(),
         lambda: list(Record.filter(Q(label__contains="202011"), db_id__in=killed_ids)
                      .order_by("-timestamp", "-label").values_list("label", flat=True)),
         dict(first_tag="killed", predicates=[lambda r: "202011" in r.label, killed])),
    ]


def summary_rss(path):
    """Peak RSS (MB) of a fresh process computing the whole summary."""
    code = ("import resource; from smt_query import RecordStoreView; "
            f"f = RecordStoreView(project={path!r}).summary.dataframe(); "
            "print(len(f), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n, mb = out.stdout.split()
    return int(n), float(mb)


def run_size(n, path):
    """Time every case on one store (run in its own process: Sumatra's
    ``to_sumatra()`` reads tags from Django's default database)."""
    view = RecordStoreView(project=path)
    for name, ours, raw, pipe in cases(view):
        t_view, got = best(ours)
        t_raw, expected = best(raw)
        assert got == expected, f"{name}: the view and raw SQL disagree"
        t_pipe, kept, scaled = pipeline(view, **pipe)
        if not scaled:
            assert sorted(kept) == sorted(got), f"{name}: the pipeline disagrees"
        print(f"{n:>7}  {name:<15} {t_view * 1e3:>7.1f}ms {t_raw * 1e3:>7.1f}ms "
              f"{t_pipe:>9.2f}s{'*' if scaled else ' '} {t_pipe / t_view:>10.0f}x "
              f"{t_view / t_raw:>8.2f}x", flush=True)
    if n >= 100000:
        rows, mb = summary_rss(path)
        print(f"{n:>7}  summary of {rows} records: peak RSS {mb:.0f} MB", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--store", help="a postgres:// URI (one database per size is made "
                                        "from it by appending _<size>); default SQLite")
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "smtq-bench"))
    parser.add_argument("--one", nargs=2, metavar=("N", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return run_size(int(args.one[0]), args.one[1])
    print(f"{'N':>7}  {'query':<15} {'view':>9} {'values':>9} {'pipeline':>10} "
          f"{'x pipeline':>11} {'/ values':>9}", flush=True)
    for n in args.sizes:
        path = os.path.join(args.dir, f"demo-{n}" + ("-pg" if args.store else ""))
        if not os.path.isdir(os.path.join(path, ".smt")):
            build_demo(path, records=n, runs=1,
                       store=f"{args.store}_{n}" if args.store else None, progress=False)
        subprocess.run([sys.executable, __file__, "--one", str(n), path], check=True)
    print("* pipeline timed on", SAMPLE, "records and scaled to N")


if __name__ == "__main__":
    main()
