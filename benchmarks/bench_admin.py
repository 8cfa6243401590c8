"""Admin speed: server time of the pages of ``smt admin`` as the store grows.

Builds (or reuses) demo stores of N records, serves them with the admin's
settings in this process and times Django's handling of each page (the test
client: no network, no browser), with the number of SQL queries per page.

    python benchmarks/bench_admin.py                     # 1k, 10k, 100k on SQLite
    python benchmarks/bench_admin.py --sizes 100000 --repeat 10
    python benchmarks/bench_admin.py --store postgres://user:pw@host/db --sizes 10000

Targets: the first page of the record list with a tag filter under 1 s at
100k records; the same number of queries per page at every size.
"""
import argparse
import os
import sys
import tempfile
import time

PAGES = [
    ("list, first page", ""),
    ("list, tag filter", "?tag=fig"),
    ("list, tag + status + search", "?tag=sweep&status=finished&q=Test"),
    ("list, parameter search", "?where=optimizer.lr+%3E%3D+0.005+and+nsteps+%3D%3D+25000"),
    ("list, sorted by duration", "?o=-7&tag=OU"),
    ("list, a day (date hierarchy)", "?timestamp__year=2020&timestamp__month=9&timestamp__day=15"),
]
LIST = "/django_store/record/"


def demo_path(root, n, store):
    """A demo project of ``n`` records under ``root`` (built on first use)."""
    from smt_query.demo import build_demo
    path = os.path.join(root, f"demo-{n}" + ("-pg" if store else ""))
    if not os.path.exists(os.path.join(path, ".smt", "project")):
        print(f"building a demo of {n} records in {path} ...", file=sys.stderr)
        build_demo(path, n, store=store.replace("DB", f"smtq_bench_{n}") if store else None,
                   progress=sys.stderr.isatty())
    return path


def timed(client, url, repeat):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    from smt_query.admin.routers import accounts_alias
    from smt_query.admin.source import get_source
    client.get(url)                                   # warm-up (content types, templates)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200, (url, response.status_code)
    store, accounts = connections[get_source().store.db_alias], connections[accounts_alias()]
    with CaptureQueriesContext(store) as q1, CaptureQueriesContext(accounts) as q2:
        client.get(url)
    return min(times), len(q1) + len(q2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "smtq-bench"),
                        help="where demo projects are kept between runs")
    parser.add_argument("--store", help="PostgreSQL URI template, 'DB' is replaced by a "
                                        "database name per size (default: SQLite)")
    args = parser.parse_args(argv)
    os.makedirs(args.root, exist_ok=True)

    from smt_query.admin.settings import prepare
    accounts_dir = tempfile.mkdtemp(prefix="smtq-bench-admin-")
    prepare(accounts=os.path.join(accounts_dir, "accounts.sqlite3"),
            allowed_hosts=["testserver"])
    paths = {n: demo_path(args.root, n, args.store) for n in args.sizes}
    from sumatra.projects import load_project
    from smt_query.recordstore import configure_django
    load_project(paths[args.sizes[0]])   # Sumatra names its store before Django starts
    configure_django()

    from django.conf import settings
    from django.test import Client, override_settings
    from smt_query.admin import accounts
    from smt_query.admin.source import get_source
    client = Client()
    client.force_login(accounts.create_user("bench", "a long benchmark password"))

    results = {}
    for n, path in paths.items():
        with override_settings(SMT_QUERY_ADMIN={**settings.SMT_QUERY_ADMIN, "PROJECT": path}):
            source = get_source()
            record_id = source.queryset().values_list("db_id", flat=True)[0]
            ids = ",".join(map(str, source.queryset().values_list("db_id", flat=True)[:20]))
            pages = PAGES + [("record page", f"{record_id}/change/"),
                             ("compare 20 records", f"compare/?ids={ids}&depth=2")]
            for name, suffix in pages:
                results[name, n] = timed(client, LIST + suffix, args.repeat)

    names = [name for name, _ in PAGES] + ["record page", "compare 20 records"]
    width = max(map(len, names))
    print(f"{'page':{width}}  " + "  ".join(f"{n:>16,}" for n in args.sizes))
    print(f"{'':{width}}  " + "  ".join(f"{'seconds  queries':>16}" for _ in args.sizes))
    for name in names:
        cells = [f"{results[name, n][0]:9.3f}  {results[name, n][1]:7d}" for n in args.sizes]
        print(f"{name:{width}}  " + "  ".join(cells))
    largest = max(args.sizes)
    tag_time = results["list, tag filter", largest][0]
    counts = {name: {results[name, n][1] for n in args.sizes} for name in names}
    print(f"\nlist with a tag filter at {largest:,} records: {tag_time:.3f} s "
          f"({'under' if tag_time < 1 else 'OVER'} the 1 s target)")
    print("queries per page constant across sizes:",
          all(len(c) == 1 for c in counts.values()))


if __name__ == "__main__":
    main()
