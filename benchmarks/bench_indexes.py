"""Which indexes on Sumatra's tables help: each candidate alone, and smt-query's set.

On the suite's cached stores (``run_suite.py`` builds them), times lookups that
could use an index -- dates, "newest first", labels, tags -- with no extra
index, with each candidate alone, and with :data:`smt_query.recordstore.INDEXES`
(what ``smt querystore indexes add`` creates). Candidates are dropped again at
the end; Sumatra's own indexes are never touched.

    python benchmarks/bench_indexes.py                      # 100k, SQLite + PostgreSQL
    python benchmarks/bench_indexes.py --sizes 10000 --backends sqlite
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run_suite import BACKENDS, CACHE, ensure_store  # noqa: E402

#: name -> (table, columns): smt-query's INDEXES, and one that was rejected
REJECTED = {
    "smtq_taggeditem_object_tag": ("django_store_taggeditem",
                                   ("object_id", "content_type_id", "tag_id")),
}
CONFIGS = [("none", ()), ("timestamp", ("smtq_record_project_time",)),
           ("label", ("smtq_record_project_label_time",)),
           ("taggeditem", ("smtq_taggeditem_object_tag",)), ("smt-query", "INDEXES")]


def cases(view):
    store = view._store
    qs = store.queryset(view.project.name)
    label = view.filter.on(20201110).labels()[3]
    return [
        ("date range (4 days)", lambda: view.filter.after(20200912).filter.before(20200916).labels()),
        ("on a day", lambda: view.filter.on(20201110).labels()),
        ("newest record", lambda: view.latest.label),
        ("first 20 rows", lambda: store.values(qs[:20], ("label",))),
        ("label substring", lambda: view.filter.label("202011").labels()),
        ("label glob", lambda: view.filter.label("20201110-*").labels()),
        ("exact label (view.get)", lambda: view.get(label).label),
        ("label exists", lambda: store.label_exists(view.project.name, [label])),
        ("tag", lambda: view.filter.tags("killed").labels()),
        ("label then tag", lambda: view.filter.label("202011").filter.tags("killed").labels()),
        ("tags of a date range", lambda: store.tags_of(
            view.filter.after(20200912).filter.before(20200916)._plan()[0])),
        ("tags of all records", lambda: store.tags_of(qs)),
    ]


def run_one(path, repeat):
    from django.db import connections
    from smt_query import RecordStoreView
    from smt_query.recordstore import INDEXES, remove_indexes
    from smt_query.storetools import index_sql
    view = RecordStoreView(project=path)
    store = view._store
    conn = connections[store.db_alias]
    qn = conn.ops.quote_name
    remove_indexes(store)

    def set_indexes(names):
        with conn.cursor() as cur:
            for name, (table, columns) in {**INDEXES, **REJECTED}.items():
                if name in names:
                    cur.execute(index_sql(store, name, table, columns))
                else:
                    cur.execute("DROP INDEX IF EXISTS %s" % qn(name))
    out = {}
    try:
        for config, names in CONFIGS:
            set_indexes(list(INDEXES) if names == "INDEXES" else names)
            for case, fn in cases(view):
                fn()
                times = []
                for _ in range(repeat):
                    t = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - t)
                out.setdefault(case, {})[config] = sorted(times)[len(times) // 2]
    finally:
        set_indexes(())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100000])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--pg", default=os.environ.get("SMTQ_POSTGRES_URI"))
    parser.add_argument("--cache", default=CACHE)
    parser.add_argument("--repeat", type=int, default=7, help="median of N")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        import json
        print(json.dumps(run_one(args.one[1], args.repeat)))
        return
    import json
    head = "| backend | N | query | " + " | ".join(c for c, _ in CONFIGS) + " |"
    print(head + "\n|" + "---|" * (3 + len(CONFIGS)))
    for backend in args.backends:
        if backend == "postgresql" and not args.pg:
            print("PostgreSQL skipped: set SMTQ_POSTGRES_URI or --pg", file=sys.stderr)
            continue
        for n in args.sizes:
            path = ensure_store(args.cache, backend, n, args.pg)
            res = json.loads(subprocess.run(
                [sys.executable, __file__, "--one", str(n), path, "--repeat", str(args.repeat)],
                check=True, capture_output=True, text=True).stdout)
            for case, by_config in res.items():
                print(f"| {backend} | {n:,} | {case} | " + " | ".join(
                    f"{by_config[c] * 1e3:.1f} ms" for c, _ in CONFIGS) + " |", flush=True)


if __name__ == "__main__":
    main()
