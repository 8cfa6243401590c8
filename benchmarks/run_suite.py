"""Scale benchmarks: smt-query against smttask's record-at-a-time pipeline and raw SQL.

One command builds demo stores of 1k, 10k and 100k records on SQLite and
PostgreSQL (once: they are kept in a cache directory and reused), runs every
case on each store in a fresh process, and writes one table:

* ``smt-query`` -- the view (``RecordStoreView(...).filter...``), the summary,
  ``smt compare``'s comparison, ``smt query`` as a subprocess;
* ``.values()`` -- a hand-written query returning the same result (checked);
* ``pipeline`` -- what smttask does: a ``tags__contains`` pre-filter only when
  the tag filter comes first, ``Record.to_sumatra()`` for every record, Python
  predicates. Above ``--sample`` records it is timed on a sample and scaled to
  the whole set (marked ``*``). For "full Records" the reference is Sumatra's
  own ``record_store.list()``;
* every smt-query and ``.values()`` figure twice: on Sumatra's schema as it is,
  and with smt-query's indexes (``smt querystore indexes add``), which are
  removed again afterwards.

Usage::

    python benchmarks/run_suite.py                     # 1k/10k/100k, SQLite + PostgreSQL
    python benchmarks/run_suite.py --sizes 1000 10000 --backends sqlite
    python benchmarks/run_suite.py --pg postgres://USER:PW@HOST:5432/postgres -o table.rst
    python benchmarks/run_suite.py --cases where --sizes 100000   # re-run rows, keep the rest
    python benchmarks/run_suite.py --render -o docs/benchmarks.inc  # only re-write the table

PostgreSQL comes from ``--pg`` or ``SMTQ_POSTGRES_URI`` (a role that may create
databases; stores are databases ``smtq_suite_<N>``); without either it is skipped.
Results accumulate in ``CACHE/results.json``.

Targets: at 10k, date range and label-then-tag >= 1000x the pipeline; at 100k,
within 3x of raw ``.values()``; ``smt query --on DATE --format labels`` under
1.5 s and the summary of 100k records under 500 MB RSS.
"""
import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time

SIZES = (1000, 10000, 100000)
BACKENDS = ("sqlite", "postgresql")
SAMPLE = 2000          # records the pipeline converts before scaling up
DAY = 20201110         # `smt query --on DAY`
RANGE = (20200912, 20200916)
WHERE = "nsteps == 25000"
COMPARE_N = 1000
TAG = "smtq-bench"     # added to and removed from every record ("tag all")
TAG_SAMPLE = 200       # records Sumatra's per-record tagging is timed on
SMT = os.path.join(os.path.dirname(sys.executable), "smt")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                     "smt-query-bench")
CASES = ("tag", "date range", "label then tag", "tag then label", "where", "summary",
         "full Records", f"compare {COMPARE_N:,}", "tag all", "smt query",
         "smt query --where", "summary RSS")
#: The command-line cases: the arguments of ``smt query ... --format labels``.
CLI_CASES = {"smt query": ["--on", str(DAY)], "smt query --where": ["--where", WHERE]}
TARGETS = """\
date range at 10k: >= 1000x the pipeline
label then tag at 10k: >= 1000x the pipeline
at 100k: within 3x of raw .values() (every case with a raw query)
smt query --on DATE --format labels at 100k: under 1.5 s
smt query --where (one parameter) at 100k: under 2 s
summary of 100k records: under 500 MB RSS"""


# -- timing helpers ----------------------------------------------------------------

def best(fn, repeat=3):
    """``(fastest wall time of repeat calls, last result)``."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def best_each(fns, repeat):
    """``[(fastest time, last result)]`` of each function; the functions take
    turns, so a busy machine slows them alike."""
    times, outs = [[] for _ in fns], [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - t)
    return [(min(ts), out) for ts, out in zip(times, outs)]


def pipeline(view, first_tag=None, predicates=(), sample=SAMPLE):
    """smttask: tag pre-filter if it comes first, ``to_sumatra()`` per record, Python tests.

    Returns ``(seconds, kept labels, scaled)``; above ``sample`` records the
    time is measured on ``sample`` of them and scaled to all.
    """
    store = view._store
    qs = store.models.Record.objects.using(store.db_alias).filter(project__id=view.project.name)
    if first_tag:
        qs = qs.filter(tags__contains=first_tag)
    total = qs.count()
    rows = list(qs[:sample])
    t = time.perf_counter()
    records = [row.to_sumatra() for row in rows]
    kept = [r.label for r in records if all(p(r) for p in predicates)]
    elapsed = (time.perf_counter() - t) * (total / max(len(rows), 1))
    return elapsed, kept, total > len(rows)


def sumatra_tagging(view, sample=TAG_SAMPLE):
    """What ``smt tag`` does (``Project.add_tag`` then ``remove_tag``, record by
    record) on ``sample`` records, in a transaction rolled back afterwards.

    Returns ``(seconds scaled to all records, scaled)``.
    """
    from django.db import transaction
    labels = view.labels()
    chosen = labels[:sample]
    with transaction.atomic(using=view._store.db_alias):
        t = time.perf_counter()
        for label in chosen:
            view.project.add_tag(label, TAG)
        for label in chosen:
            view.project.remove_tag(label, TAG)
        elapsed = time.perf_counter() - t
        transaction.set_rollback(True, using=view._store.db_alias)
    return elapsed * len(labels) / max(len(chosen), 1), len(labels) > len(chosen)


def run_rss(cmd, cwd=None):
    """Run ``cmd``; return ``(wall seconds, its peak RSS in MB, its stdout)``."""
    import tempfile
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=err)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)      # this child's own rusage
        wall = time.perf_counter() - t
        proc.stdout.close()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), err.read().decode()[-2000:]))
    return wall, usage.ru_maxrss / 1024, out.decode()


# -- the stores ----------------------------------------------------------------------

def pg_uri(admin_uri, n):
    from urllib.parse import urlsplit, urlunsplit
    return urlunsplit(urlsplit(admin_uri)._replace(path="/smtq_suite_%d" % n))


def _pg(admin_uri, *statements):
    import psycopg2
    conn = psycopg2.connect(admin_uri, connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            out = None
            for sql in statements:
                cur.execute(*sql) if isinstance(sql, tuple) else cur.execute(sql)
                out = cur.fetchall() if cur.description else None
            return out
    finally:
        conn.close()


def ensure_store(cache, backend, n, admin_uri=None):
    """The demo project of ``n`` records on ``backend`` in ``cache`` (built if missing)."""
    from smt_query.demo import build_demo
    path = os.path.join(cache, "%s-%d" % (backend, n))
    marker = os.path.join(path, ".smtq-suite.json")
    uri = pg_uri(admin_uri, n) if backend == "postgresql" else None
    if os.path.exists(marker):
        with open(marker) as f:
            ok = json.load(f) == {"records": n, "store": uri}
        if ok and uri:
            name = uri.rsplit("/", 1)[1]
            ok = bool(_pg(admin_uri, ("SELECT 1 FROM pg_database WHERE datname = %s", (name,))))
        if ok:
            return path
    shutil.rmtree(path, ignore_errors=True)
    if uri:
        name = uri.rsplit("/", 1)[1]
        _pg(admin_uri, ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s", (name,)),
            'DROP DATABASE IF EXISTS "%s"' % name, 'CREATE DATABASE "%s"' % name)
    print("building %s store of %d records in %s ..." % (backend, n, path), file=sys.stderr,
          flush=True)
    build_demo(path, n, runs=1, store=uri, progress=sys.stderr.isatty())
    if uri:
        _pg(uri, "ANALYZE")     # what autovacuum does soon after a bulk insert
    with open(marker, "w") as f:
        json.dump({"records": n, "store": uri}, f)
    return path


def bench_main(script, doc, measure, *, repeat=5, cache=None, store=ensure_store, head=None):
    """The command line of a benchmark on one cached store per backend: yields
    ``(backend, result)``, ``result`` being ``measure(path, repeat)`` run in a
    fresh process (``script --one PATH``, internal; that process prints it as
    JSON and yields nothing). Options: ``--records --backends --repeat --pg
    --cache`` (default ``cache``, else the suite's); ``store(cache, backend,
    n, pg)`` gives a store's project; ``head`` is printed first."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--pg", default=os.environ.get("SMTQ_POSTGRES_URI"))
    parser.add_argument("--cache", default=cache or CACHE, help="the stores' directory")
    parser.add_argument("--one", help=argparse.SUPPRESS)      # internal: measure one project
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.repeat)))
        return
    os.makedirs(args.cache, exist_ok=True)
    if head:
        print(head)
    for backend in args.backends:
        if backend == "postgresql" and not args.pg:
            print("postgresql: skipped (no --pg / SMTQ_POSTGRES_URI)", file=sys.stderr)
            continue
        path = store(args.cache, backend, args.records, args.pg)
        yield backend, json.loads(subprocess.run(
            [sys.executable, script, "--one", path, "--repeat", str(args.repeat)],
            capture_output=True, text=True, check=True).stdout)


# -- the cases -----------------------------------------------------------------------

def _utc_range():
    utc = dt.timezone.utc
    lo, hi = (dt.datetime.strptime(str(d), "%Y%m%d").replace(tzinfo=utc) for d in RANGE)
    return lo, hi


def query_cases(view):
    """``[(case, smt-query fn, raw fn, pipeline kwargs)]``: functions returning labels."""
    from django.db.models import Q
    store = view._store
    m, db = store.models, store.db_alias
    records = m.Record.objects.using(db).filter(project__id=view.project.name).order_by(
        "-timestamp", "-label")
    items = m.TaggedItem.objects.using(db).filter(content_type_id=store.record_ctype_id)
    lo, hi = _utc_range()

    def tagged(*names):
        return items.filter(tag__name__in=names).values("object_id")

    def labels(qs):
        return list(qs.values_list("label", flat=True))

    def killed(r):
        return "_killed_" in r.tags or "killed" in r.tags

    def in_202011(r):
        return "202011" in r.label

    def nsteps(r):
        from smt_query.params import NO_VALUE, get_task_param
        return get_task_param(r, "nsteps", NO_VALUE) == 25000

    where_sql = {"sqlite": "json_extract(p.content, '$.inputs.nsteps') = 25000",
                 "postgresql": "(p.content::jsonb #> '{inputs,nsteps}') = '25000'::jsonb"}

    def where_raw():
        from django.db import connections
        with connections[db].cursor() as cur:
            cur.execute("SELECT r.label FROM django_store_record r JOIN django_store_parameterset p "
                        "ON p.id = r.parameters_id WHERE r.project_id = %s AND "
                        + where_sql[store.vendor] + " ORDER BY r.timestamp DESC, r.label DESC",
                        [view.project.name])
            return [row[0] for row in cur.fetchall()]

    return [
        ("tag", lambda: view.filter.tags("fig").labels(),
         lambda: labels(records.filter(db_id__in=tagged("fig"))),
         dict(first_tag="fig", predicates=[lambda r: "fig" in r.tags])),
        ("date range", lambda: view.filter.after(RANGE[0]).filter.before(RANGE[1]).labels(),
         lambda: labels(records.filter(timestamp__gte=lo, timestamp__lt=hi)),
         dict(predicates=[lambda r: lo <= r.timestamp < hi])),
        ("label then tag", lambda: view.filter.label("202011").filter.tags("killed").labels(),
         lambda: labels(records.filter(Q(label__contains="202011"),
                                       db_id__in=tagged("killed", "_killed_"))),
         dict(predicates=[in_202011, killed])),
        ("tag then label", lambda: view.filter.tags("killed").filter.label("202011").labels(),
         lambda: labels(records.filter(Q(label__contains="202011"),
                                       db_id__in=tagged("killed", "_killed_"))),
         dict(first_tag="killed", predicates=[killed, in_202011])),
        ("where", lambda: view.filter.where(WHERE).labels(), where_raw,
         dict(predicates=[nsteps])),
    ]


def summary_case(view):
    """The default summary of all records vs the same columns read by hand."""
    import pandas as pd
    from smt_query.summary import DEFAULT_FIELDS
    store = view._store
    m, db = store.models, store.db_alias
    columns = [f for f in DEFAULT_FIELDS if f != "tags"]

    def ours():
        return list(view.summary.dataframe().index)

    def raw():
        rows = list(m.Record.objects.using(db).filter(project__id=view.project.name)
                    .order_by("-timestamp", "-label").values("db_id", "label", *columns))
        tags = {}
        for object_id, name in m.TaggedItem.objects.using(db).filter(
                content_type_id=store.record_ctype_id).values_list("object_id", "tag__name"):
            tags.setdefault(object_id, []).append(name)
        for row in rows:
            row["tags"] = ", ".join(sorted(tags.get(row.pop("db_id"), ())))
        frame = pd.DataFrame.from_records(rows, columns=["label"] + list(DEFAULT_FIELDS),
                                          index="label")
        return list(frame.index)

    def pipe_one(r):
        return {"reason": r.reason, "outcome": r.outcome, "tags": ", ".join(sorted(r.tags)),
                "main_file": r.main_file, "duration": r.duration}
    return ours, raw, pipe_one


def run_store(backend, n, path, cases, repeat, sample):
    """Every asked-for case on one store (run in its own process: Sumatra's
    ``to_sumatra()`` reads tags from Django's *default* database)."""
    from smt_query import RecordStoreView
    from smt_query.recordstore import add_indexes, remove_indexes
    view = RecordStoreView(project=path)
    store = view._store
    remove_indexes(store)
    results = {"_meta": {"loads": [os.getloadavg()[0]]}}

    def put(case, **values):
        results.setdefault(case, {}).update(values)

    def timed_configs(case, ours, raw=None, check=True):
        """smt-query (and raw) on Sumatra's schema, then with smt-query's indexes."""
        for config in ("plain", "indexed"):
            if config == "indexed":
                add_indexes(store)
            t_ours, got = best(ours, repeat)
            put(case, **{config: t_ours})
            if raw is not None:
                t_raw, expected = best(raw, repeat)
                assert not check or got == expected, f"{case}: smt-query and raw SQL disagree"
                put(case, **{config + "_raw": t_raw})
            remove_indexes(store)
        return got

    try:
        for case, ours, raw, pipe in query_cases(view):
            if case not in cases:
                continue
            got = timed_configs(case, ours, raw)
            t_pipe, kept, scaled = pipeline(view, sample=sample, **pipe)
            if not scaled:
                assert sorted(kept) == sorted(got), f"{case}: the pipeline disagrees"
            put(case, pipeline=t_pipe, scaled=scaled, rows=len(got))
            if case == "where":
                put(case, note="" if view.filter.where(WHERE).pushed_down
                        else "post-filtered in Python (no SQL form)")
            _progress(backend, n, case, results[case])
        if "summary" in cases:
            ours, raw, pipe_one = summary_case(view)
            got = timed_configs("summary", ours, raw)
            t_pipe, kept, scaled = pipeline(view, sample=sample, predicates=[pipe_one])
            put("summary", pipeline=t_pipe, scaled=scaled, rows=len(got))
            _progress(backend, n, "summary", results["summary"])
        if "full Records" in cases:
            lo, hi = _utc_range()
            got = timed_configs("full Records", lambda: [   # a new view each time: no cache
                r.label for r in view.filter.after(RANGE[0]).filter.before(RANGE[1]).aslist()])
            t = time.perf_counter()
            theirs = view.record_store.list(view.project.name, timestamp__gte=lo,
                                            timestamp__lt=hi)
            put("full Records", pipeline=time.perf_counter() - t, scaled=False, rows=len(got),
                note="pipeline: Sumatra's record_store.list()")
            assert sorted(r.label for r in theirs) == sorted(got)
            _progress(backend, n, "full Records", results["full Records"])
        case = f"compare {COMPARE_N:,}"
        if case in cases:
            from smt_query.compare import compare_view
            from smt_query.params import ParameterComparison
            chosen = view.labels()[:COMPARE_N]
            got = timed_configs(case, lambda: sorted(compare_view(view.filter.labels(chosen)).labels))
            t = time.perf_counter()
            rows = view._store.models.Record.objects.using(view._store.db_alias).filter(
                project__id=view.project.name, label__in=chosen)
            theirs = ParameterComparison([row.to_sumatra() for row in rows], progress=False)
            put(case, pipeline=time.perf_counter() - t, scaled=False, rows=len(got))
            assert sorted(theirs.labels) == got
            _progress(backend, n, case, results[case])
        if "tag all" in cases:
            def add_remove():
                added, removed = view.add_tag(TAG), view.remove_tag(TAG)
                assert added == removed == n, (added, removed)
                return added
            timed_configs("tag all", add_remove)
            t_pipe, scaled = sumatra_tagging(view)
            put("tag all", pipeline=t_pipe, scaled=scaled, rows=n,
                note=f"add and remove a tag on every record; pipeline: Sumatra's "
                     f"Project.add_tag/remove_tag per record (smt tag), timed on "
                     f"{TAG_SAMPLE} records")
            _progress(backend, n, "tag all", results["tag all"])
        for case, args in CLI_CASES.items():
            if case not in cases:
                continue
            expected = len(view.filter.on(DAY) if case == "smt query"
                           else view.filter.where(WHERE))
            for config in ("plain", "indexed"):
                if config == "indexed":
                    add_indexes(store)
                runs = [run_rss([SMT, "query", *args, "--format", "labels"], cwd=path)
                        for _ in range(repeat)]
                assert len(runs[-1][2].split()) == expected
                put(case, **{config: min(r[0] for r in runs),
                             config + "_rss": max(r[1] for r in runs)})
                remove_indexes(store)
            put(case, rows=expected, note=f"{shlex.join(args)} --format labels, wall time "
                                          "of the subprocess")
            _progress(backend, n, case, results[case])
        if "summary RSS" in cases:
            code = ("import resource, time; from smt_query import RecordStoreView; "
                    "t = time.perf_counter(); "
                    f"f = RecordStoreView(project={path!r}).summary.dataframe(); "
                    "print(len(f), time.perf_counter() - t, "
                    "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout.split()
            put("summary RSS", rows=int(out[0]), plain=float(out[1]), plain_rss=float(out[2]),
                note="fresh process: import, open, summary.dataframe() of all records")
            _progress(backend, n, "summary RSS", results["summary RSS"])
    finally:
        remove_indexes(store)
    return results


def _progress(backend, n, case, res):
    bits = [f"{k}={v:.0f}MB" if k.endswith("rss") else
            f"{k}={_fmt_time(v)}" if isinstance(v, float) else f"{k}={v}"
            for k, v in res.items() if k != "note"]
    print(f"  {backend:<10} {n:>7} {case:<15} " + " ".join(bits), file=sys.stderr, flush=True)


# -- the table -----------------------------------------------------------------------

def _fmt_time(s):
    if s is None:
        return "—"
    if s >= 10:
        return f"{s:,.0f} s"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 0.01:
        return f"{s * 1e3:.0f} ms"
    return f"{s * 1e3:.2f} ms"


def _fmt_ratio(x, digits=1):
    if x is None:
        return "—"
    return f"{x:,.0f}×" if x >= 100 else f"{x:.{digits}f}×"


def table_rows(results):
    """Rows of strings for every (backend, N, case) result."""
    head = ["backend", "N", "case", "rows", "smt-query", ".values()", "÷ values",
            "+ indexes", ".values() + idx", "÷ values", "pipeline", "× pipeline"]
    out = []
    for backend in BACKENDS:
        for n in sorted(int(k) for k in results.get(backend, {})):
            for case in CASES:
                r = results[backend][str(n)].get(case)       # (and "_meta": not a case)
                if r is None:
                    continue
                if case == "summary RSS":
                    cells = [f"{r['plain_rss']:.0f} MB"] + [""] * 7
                elif case in CLI_CASES:
                    cells = [_fmt_time(r["plain"]), "", "", _fmt_time(r["indexed"]), "", "",
                             "", ""]
                else:
                    ratio = lambda a, b: a / b if a and b else None      # noqa: E731
                    pipe = r.get("pipeline")
                    cells = [_fmt_time(r["plain"]), _fmt_time(r.get("plain_raw")),
                             _fmt_ratio(ratio(r["plain"], r.get("plain_raw"))),
                             _fmt_time(r["indexed"]), _fmt_time(r.get("indexed_raw")),
                             _fmt_ratio(ratio(r["indexed"], r.get("indexed_raw"))),
                             _fmt_time(pipe) + (" †" if r.get("scaled") else ""),
                             _fmt_ratio(ratio(pipe, r["plain"]), 0)]
                out.append([backend, f"{n:,}", case, f"{r.get('rows', ''):,}"] + cells)
    return head, out


def check_targets(results):
    """``[(target, backend, figure text, met)]``."""
    out = []
    for backend in BACKENDS:
        res = results.get(backend, {})
        r10, r100 = res.get("10000", {}), res.get("100000", {})
        for case in ("date range", "label then tag"):
            r = r10.get(case)
            if r:
                x = r["pipeline"] / r["plain"]
                out.append((f"{case} at 10k ≥ 1000× pipeline", backend,
                            f"{x:,.0f}× ({x * r['plain'] / r['indexed']:,.0f}× with indexes)",
                            x >= 1000))
        ratios = {c: (r["plain"] / r["plain_raw"], r["indexed"] / r["indexed_raw"])
                  for c, r in r100.items() if r.get("plain_raw")}
        if ratios:
            worst = max(ratios, key=lambda c: ratios[c][0])
            worst_i = max(ratios, key=lambda c: ratios[c][1])
            out.append(("at 100k within 3× of .values()", backend,
                        f"worst {ratios[worst][0]:.1f}× ({worst}); with indexes worst "
                        f"{ratios[worst_i][1]:.1f}× ({worst_i})",
                        max(v[0] for v in ratios.values()) <= 3))
        for case, target, limit in (("smt query", "--on DATE --format labels", 1.5),
                                    ("smt query --where", "--where (one parameter)", 2)):
            r = r100.get(case)
            if r:
                out.append((f"smt query {target} at 100k < {limit} s", backend,
                            f"{r['plain']:.2f} s ({r['indexed']:.2f} s with indexes)",
                            r["plain"] < limit))
        r = r100.get("summary RSS")
        if r:
            out.append(("summary of 100k < 500 MB RSS", backend, f"{r['plain_rss']:.0f} MB",
                        r["plain_rss"] < 500))
    return out


def render(results, machine, fmt):
    head, rows = table_rows(results)
    targets = [("target", "backend", "measured", "met")] + [
        (t, b, fig, "yes" if ok else "**no**") for t, b, fig, ok in check_targets(results)]
    notes = sorted({f"{c}: {r['note']}" for b in results.values() for s in b.values()
                    for c, r in s.items() if r.get("note")})
    loads = [x for b in results.values() for s in b.values() for x in s["_meta"]["loads"]]
    if loads:
        notes.append(f"1-minute load average when the runs began: {min(loads):.1f}"
                     f"–{max(loads):.1f} ({machine['cores']} cores)")
    notes.append(f"† pipeline timed on {SAMPLE:,} records and scaled to all")
    lines = [f"Measured {machine['date']} on {machine_line(machine)}.", ""]
    table = _rst_table if fmt == "rst" else _md_table
    lines += table(head, rows) + [""] + table(targets[0], targets[1:]) + [""]
    lines += [f"* {note}" for note in notes]
    if fmt == "rst":
        lines = [".. Generated by benchmarks/run_suite.py; do not edit by hand.", ""] + lines
    return "\n".join(lines) + "\n"


def _md_table(head, rows):
    return (["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
            + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def _rst_table(head, rows):
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    rule = "  ".join("=" * w for w in widths)
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [rule, fmt(list(map(str, head))), rule] + [fmt(r) for r in rows] + [rule]


# -- the machine ---------------------------------------------------------------------

def machine_info(admin_uri=None):
    import sqlite3
    import django
    import sumatra
    info = {"date": dt.date.today().isoformat(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "django": django.__version__,
            "sumatra": sumatra.__version__, "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f
                               if line.startswith("model name"))
        with open("/proc/meminfo") as f:
            kb = int(next(line.split()[1] for line in f if line.startswith("MemTotal")))
        info["ram"] = f"{kb / 1024 ** 2:.0f} GB"
    except (OSError, StopIteration):
        info["cpu"], info["ram"] = platform.processor() or "?", "?"
    try:
        with open("/etc/os-release") as f:
            osr = dict(line.rstrip().split("=", 1) for line in f if "=" in line)
        info["os"] = f"{osr.get('PRETTY_NAME', '').strip(chr(34))}, Linux {platform.release()}"
    except OSError:
        info["os"] = platform.platform()
    if admin_uri:
        info["postgresql"] = _pg(admin_uri, "SHOW server_version")[0][0]
    return info


def machine_line(m):
    return (f"{m['cpu']} ({m['cores']} cores), {m['ram']} RAM, {m['os']}; Python "
            f"{m['python']}, SQLite {m['sqlite']}"
            + (f", PostgreSQL {m['postgresql']}" if m.get("postgresql") else "")
            + f", Django {m['django']}, Sumatra {m['sumatra']}")


def wait_for_load(limit, timeout=900):
    """Sleep until the 1-minute load average is below ``limit`` (or ``timeout`` passed)."""
    end = time.time() + timeout
    while os.getloadavg()[0] >= limit and time.time() < end:
        time.sleep(10)
    print("load average %.2f" % os.getloadavg()[0], file=sys.stderr, flush=True)


# -- main ----------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--cases", nargs="+", default=list(CASES), metavar="CASE",
                        help="cases to run (default: all): " + ", ".join(map(repr, CASES)))
    parser.add_argument("--pg", default=os.environ.get("SMTQ_POSTGRES_URI"), metavar="URI",
                        help="PostgreSQL admin URI (default: $SMTQ_POSTGRES_URI)")
    parser.add_argument("--cache", default=CACHE, help="where stores and results are kept "
                                                       "(default: %(default)s)")
    parser.add_argument("-o", "--output", help="also write the table to this file "
                                               "(.md: Markdown, else reST)")
    parser.add_argument("--repeat", type=int, default=3, help="timings: best of N")
    parser.add_argument("--sample", type=int, default=SAMPLE, help=argparse.SUPPRESS)
    parser.add_argument("--wait-load", type=float, metavar="LOAD",
                        help="before each store, wait (up to 15 min) until the 1-minute load "
                             "average is below LOAD (on a shared machine)")
    parser.add_argument("--render", action="store_true",
                        help="only write the table from the stored results")
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "N", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error("unknown case(s) %s; known: %s" % (sorted(unknown), ", ".join(CASES)))
    if args.child:
        backend, n, out = args.child[0], int(args.child[1]), args.child[2]
        path = ensure_store(args.cache, backend, n, args.pg)
        results = run_store(backend, n, path, set(args.cases), args.repeat, args.sample)
        with open(out, "w") as f:
            json.dump(results, f)
        return

    os.makedirs(args.cache, exist_ok=True)
    results_file = os.path.join(args.cache, "results.json")
    stored = {"results": {}, "machine": None}
    if os.path.exists(results_file):
        with open(results_file) as f:
            stored = json.load(f)
    backends = list(args.backends)
    if "postgresql" in backends and not args.pg and not args.render:
        print("PostgreSQL skipped: set SMTQ_POSTGRES_URI or --pg", file=sys.stderr)
        backends.remove("postgresql")
    if not args.render:
        stored["machine"] = machine_info(args.pg if "postgresql" in backends else None)
        for backend in backends:
            for n in args.sizes:
                out = os.path.join(args.cache, "child-%s-%d.json" % (backend, n))
                if args.wait_load:
                    ensure_store(args.cache, backend, n, args.pg)     # build first, then wait
                    wait_for_load(args.wait_load)
                cmd = [sys.executable, os.path.abspath(__file__), "--child", backend, str(n),
                       out, "--cache", args.cache, "--repeat", str(args.repeat),
                       "--sample", str(args.sample), "--cases", *args.cases]
                if args.pg:
                    cmd += ["--pg", args.pg]
                subprocess.run(cmd, check=True)
                with open(out) as f:
                    fresh = json.load(f)
                os.remove(out)
                entry = stored["results"].setdefault(backend, {}).setdefault(str(n), {})
                fresh["_meta"]["loads"] += entry.get("_meta", {}).get("loads", [])
                entry.update(fresh)
                with open(results_file, "w") as f:
                    json.dump(stored, f, indent=1)
    if stored["machine"] is None:
        sys.exit("no stored results yet in %s" % results_file)
    text = render(stored["results"], stored["machine"], "md")
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(render(stored["results"], stored["machine"],
                           "md" if args.output.endswith(".md") else "rst"))


if __name__ == "__main__":
    main()
