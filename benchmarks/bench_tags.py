"""Tag and status queries at scale, as ratios to hand-written ``.values()`` queries.

For each store (the demo of ``--records`` records, SQLite and PostgreSQL, built
once in the suite's cache by ``run_suite.ensure_store``) one fresh process
times, best of ``--repeat`` rounds (the three forms take turns):

* smt-query: ``view.filter.tags("fig")``, ``.status("finished")``,
  ``.status("crashed")``, ``.tags("fig*")`` and ``where("status == 'killed'")``,
  each ``.labels()``;
* two raw queries returning the same labels (checked): through Sumatra's tag
  rows (``db_id IN (SELECT object_id FROM taggeditem JOIN tag ...)``) and on
  the ``tags`` column (``instr``/``strpos`` of ``',name,'`` in
  ``',' || tags || ','``).

Run it once per version of the code to compare (the same stores)::

    python benchmarks/bench_tags.py                         # this checkout
    PYTHONPATH=/tmp/old python benchmarks/bench_tags.py     # another one

PostgreSQL comes from ``--pg`` or ``SMTQ_POSTGRES_URI``.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_suite  # noqa: E402  (bench_main, the cached stores)

CASES = {   # name: (view -> filtered view, tag names a record needs one of)
    "tag fig": (lambda v: v.filter.tags("fig"), ["fig"]),
    "status finished": (lambda v: v.filter.status("finished"), ["_finished_"]),
    "status crashed": (lambda v: v.filter.status("crashed"), ["_crashed_"]),
    "glob fig*": (lambda v: v.filter.tags("fig*"), ["fig", "figure1", "figure2"]),
    "where status": (lambda v: v.filter.where("status == 'killed'"), ["_killed_"]),
}


def measure(path, repeat):
    """Every case on the project at ``path`` (run in a fresh process)."""
    from django.db import connections
    import smt_query
    from smt_query import RecordStoreView
    view = RecordStoreView(project=path)
    store = view._store
    m, db = store.models, store.db_alias
    records = m.Record.objects.using(db).filter(project__id=view.project.name).order_by(
        "-timestamp", "-label")
    items = m.TaggedItem.objects.using(db).filter(content_type_id=store.record_ctype_id)
    find = "instr" if store.vendor == "sqlite" else "strpos"

    def rows_raw(names):
        return list(records.filter(db_id__in=items.filter(tag__name__in=names)
                                   .values("object_id")).values_list("label", flat=True))

    def column_raw(names):
        test = " OR ".join([f"{find}(',' || tags || ',', %s) > 0"] * len(names))
        with connections[db].cursor() as cur:
            cur.execute("SELECT label FROM django_store_record WHERE project_id = %s AND ("
                        + test + ") ORDER BY timestamp DESC, label DESC",
                        [view.project.name, *(f",{n}," for n in names)])
            return [row[0] for row in cur.fetchall()]

    out = {"code": os.path.dirname(smt_query.__file__), "vendor": store.vendor,
           "records": len(view), "load": os.getloadavg()[0]}
    for case, (make, names) in CASES.items():
        (t_ours, got), (t_rows, by_rows), (t_col, by_col) = run_suite.best_each(
            [lambda: make(RecordStoreView(project=path)).labels(),
             lambda: rows_raw(names), lambda: column_raw(names)], repeat)
        assert got == by_col, f"{case}: smt-query and the tags column disagree"
        out[case] = {"ours": t_ours, "rows_raw": t_rows, "column_raw": t_col,
                     "n": len(got), "rows_agree": by_rows == by_col}
    return out


def main():
    for backend, res in run_suite.bench_main(__file__, __doc__, measure, repeat=15):
        print(f"{backend} {res['records']:,} records, load {res['load']:.1f}, code {res['code']}")
        print(f"  {'case':<16} {'rows':>7} {'smt-query':>10} {'raw rows':>10} {'raw column':>11}"
              f" {'vs rows':>8} {'vs column':>10}")
        for case in CASES:
            r = res[case]
            print(f"  {case:<16} {r['n']:>7,} {r['ours'] * 1e3:>8.1f}ms {r['rows_raw'] * 1e3:>8.1f}ms"
                  f" {r['column_raw'] * 1e3:>9.1f}ms {r['ours'] / r['rows_raw']:>7.2f}x"
                  f" {r['ours'] / r['column_raw']:>9.2f}x"
                  + ("" if r["rows_agree"] else "  (tag rows disagree with the column)"))


if __name__ == "__main__":
    main()
