"""Metrics at scale (issue 16), as ratios to raw SQL and plain Python in the same run.

On a private copy of the demo store of ``--records`` records (SQLite: a copy
of run_suite's cached store; PostgreSQL: built in ``--cache`` by
``run_suite.ensure_store``, then its metric table emptied), one fresh process
times:

* **compute**: one outcome metric (``log L ... (\\S+)``) for every record,
  from an empty table (``metrics.table.refresh``), against the plain-Python
  floor: reading ``(db_id, outcome)`` with one raw query and running the
  regular expression over them (nothing written). Target < 10 s.
* **refresh**: after 100 new records (copied rows, new labels), the
  incremental refresh; against the raw query finding them. Target < 1 s.
* **check**: the refresh when nothing changed (each record's fingerprint
  compared in SQL), against the raw scan reading every outcome; and the
  automatic one before a query (``auto=True``: on SQLite the write mark is
  read first, so the comparison does not run); **edit**: the refresh after one outcome
  is edited in place.
* **where**: ``view.filter.where("metric.logL < -5e4").labels()``, best of
  ``--repeat``, against the raw SQL on the metric table returning the same
  labels (checked). Target within 3x.

    python benchmarks/bench_metrics.py [--records 100000] [--backends sqlite postgresql]
"""
import json
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_suite  # noqa: E402  (bench_main, the cached stores)
REGEX = r"log L (?:plateaued at|is) (\S+)"


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def measure(path, repeat):
    """Every case on the project at ``path`` (run in a fresh process)."""
    from django.db import connections

    from smt_query import RecordStoreView
    from smt_query.metrics import Metric, add_metric
    from smt_query.metrics.extract import from_outcome
    from smt_query.metrics.table import refresh
    add_metric("logL", from_outcome=REGEX, start=path)
    view = RecordStoreView(project=path)
    store, name = view._store, view._project_name
    conn = connections[store.db_alias]
    metric = Metric("logL", from_outcome=REGEX)
    out = {"records": len(view), "load": os.getloadavg()[0]}

    def empty():
        from smt_query.storesetup import ensure_metric_table
        ensure_metric_table(conn)
        with conn.cursor() as cur:
            cur.execute("DELETE FROM smtq_metric")

    def raw_python():
        regex = re.compile(REGEX)
        with conn.cursor() as cur:
            cur.execute("SELECT db_id, outcome FROM django_store_record WHERE project_id = %s",
                        [name])
            return sum(from_outcome(regex, o) is not None for _, o in cur.fetchall())

    empty()
    t = time.perf_counter()
    n = refresh(store, name, [metric], progress=False)["logL"]
    out["compute"] = {"ours": time.perf_counter() - t, "n": n}
    out["compute"]["python"], _ = best(raw_python, 3)

    # 100 new records: copies of existing rows under new labels
    with conn.cursor() as cur:
        cur.execute("SELECT db_id FROM django_store_record WHERE project_id = %s "
                    "ORDER BY db_id LIMIT 100", [name])
        ids = [r[0] for r in cur.fetchall()]
        cols = [conn.ops.quote_name(c.name) for c in
                conn.introspection.get_table_description(cur, "django_store_record")
                if c.name not in ("db_id", "label")]
        for i, db_id in enumerate(ids):
            cur.execute(f"INSERT INTO django_store_record (label, {', '.join(cols)}) SELECT "
                        f"%s, {', '.join(cols)} FROM django_store_record WHERE db_id = %s",
                        [f"bench-new-{i}", db_id])
    try:
        def raw_stale():
            with conn.cursor() as cur:
                cur.execute("SELECT r.db_id FROM django_store_record r LEFT JOIN smtq_metric m "
                            "ON m.record_id = r.db_id AND m.name = 'logL' WHERE r.project_id = %s"
                            " AND m.record_id IS NULL", [name])
                return len(cur.fetchall())
        stale_raw, n_stale = best(raw_stale, 3)
        t = time.perf_counter()
        n = refresh(store, name, [metric], progress=False)["logL"]
        out["refresh"] = {"ours": time.perf_counter() - t, "n": n, "raw_find": stale_raw,
                          "n_raw": n_stale}
    finally:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM django_store_record WHERE label LIKE 'bench-new-%%'")
            cur.execute("DELETE FROM smtq_metric WHERE record_id NOT IN "
                        "(SELECT db_id FROM django_store_record)")

    # nothing changed: the check a query makes before it runs (every record's
    # fingerprint compared in SQL), against the raw scan reading every outcome
    def raw_scan():
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*), SUM(LENGTH(outcome)) FROM django_store_record "
                        "WHERE project_id = %s", [name])
            return cur.fetchone()
    t_check, n = best(lambda: refresh(store, name, [metric], progress=False)["logL"], repeat)
    out["check"] = {"ours": t_check, "n": n, "raw_scan": best(raw_scan, repeat)[0],
                    "auto": best(lambda: refresh(store, name, [metric], progress=False,
                                                 auto=True), repeat)[0]}
    # one outcome edited in place (as `smt comment --replace` does), then restored
    with conn.cursor() as cur:
        cur.execute("SELECT db_id, outcome FROM django_store_record WHERE project_id = %s "
                    "ORDER BY db_id LIMIT 1", [name])
        edit_id, outcome = cur.fetchone()
        cur.execute("UPDATE django_store_record SET outcome = %s WHERE db_id = %s",
                    ["log L is -12345.5", edit_id])
    try:
        t = time.perf_counter()
        n = refresh(store, name, [metric], progress=False)["logL"]
        out["edit"] = {"ours": time.perf_counter() - t, "n": n}
    finally:
        with conn.cursor() as cur:
            cur.execute("UPDATE django_store_record SET outcome = %s WHERE db_id = %s",
                        [outcome, edit_id])
        refresh(store, name, [metric], progress=False)

    def ours():
        return RecordStoreView(project=path).filter.where("metric.logL < -5e4").labels()

    def raw():
        with conn.cursor() as cur:
            cur.execute("SELECT label FROM django_store_record WHERE project_id = %s AND db_id IN "
                        "(SELECT record_id FROM smtq_metric WHERE name = 'logL' AND state = 1 "
                        "AND value < -5e4) ORDER BY timestamp DESC, label DESC", [name])
            return [r[0] for r in cur.fetchall()]
    t_ours, got = best(ours, repeat)
    t_raw, expected = best(raw, repeat)
    out["where"] = {"ours": t_ours, "raw": t_raw, "n": len(got), "same": got == expected}
    return out


def private_copy(cache, backend, n, pg):
    """A project of ``n`` records on ``backend`` that this benchmark may write to."""
    if backend == "postgresql":
        return run_suite.ensure_store(cache, backend, n, pg)
    src = run_suite.ensure_store(run_suite.CACHE, backend, n)
    dst = os.path.join(cache, f"metrics-{backend}-{n}")
    if not os.path.exists(os.path.join(dst, ".smt", "project")):
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, symlinks=True)
        project_file = os.path.join(dst, ".smt", "project")
        with open(project_file) as f:
            data = json.load(f)
        data["record_store"]["db_file"] = os.path.join(dst, ".smt", "records")
        with open(project_file, "w") as f:
            json.dump(data, f, indent=2)
    return dst


def main():
    for backend, res in run_suite.bench_main(
            __file__, __doc__, measure, repeat=7, store=private_copy,
            cache=os.path.join(os.path.expanduser("~/.cache"), "smt-query-bench-metrics")):
        c, r, w, k, e = (res[key] for key in ("compute", "refresh", "where", "check", "edit"))
        print(f"{backend} {res['records']:,} records, load {res['load']:.1f}")
        print(f"  compute one outcome metric ({c['n']:,}): {c['ours']:.2f} s "
              f"(regex over raw rows {c['python']:.2f} s: {c['ours'] / c['python']:.1f}x)")
        print(f"  refresh after 100 new ({r['n']}): {r['ours'] * 1e3:.0f} ms "
              f"(raw query finding them {r['raw_find'] * 1e3:.0f} ms)")
        print(f"  no-change check ({k['n']} stale): {k['ours'] * 1e3:.0f} ms (raw scan of "
              f"every outcome {k['raw_scan'] * 1e3:.0f} ms: {k['ours'] / k['raw_scan']:.1f}x); "
              f"before a query (write mark first) {k['auto'] * 1e3:.1f} ms")
        print(f"  refresh after one outcome edited ({e['n']}): {e['ours'] * 1e3:.0f} ms")
        print(f"  where metric.logL < -5e4 ({w['n']:,} rows): {w['ours'] * 1e3:.1f} ms, raw SQL "
              f"{w['raw'] * 1e3:.1f} ms: {w['ours'] / w['raw']:.2f}x"
              + ("" if w["same"] else "  (LABELS DIFFER)"))


if __name__ == "__main__":
    main()
