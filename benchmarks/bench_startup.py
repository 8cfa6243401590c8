"""Start-up of a read-only ``smt query``, end to end, against ``import django``.

Runs ``smt query --after 20200912 --before 20200916 --count`` in the demo
project of ``--records`` records (built once with :mod:`smt_query.demo` and
kept in a cache directory) and ``python -c "import django"`` in the same run,
interleaved, each ``--repeat`` times, and reports the best wall and CPU time
of each and their ratio; ``python -c "import django.db.models"`` (the ORM
alone, the floor of any query through it) runs with them. The machine's load
average is printed too: compare ratios (CPU time varies far less than wall
time on a loaded machine), and absolute times only from an idle machine. It
also says which heavy modules the query imported (none expected: the read
path runs on the mirror models, :mod:`smt_query.mirror`).

Target: the query within 2x of ``import django``, and under 0.6 s on an idle
2-core machine.

Usage::

    python benchmarks/bench_startup.py                    # 100,000 records, SQLite
    python benchmarks/bench_startup.py --store postgres://USER:PW@HOST/smtq_startup
    python benchmarks/bench_startup.py --project DIR      # an existing project
    python benchmarks/bench_startup.py --importtime       # where the query's time goes
"""
import argparse
import os
import resource
import subprocess
import sys
import time

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                     "smt-query-bench")
QUERY = ["query", "--after", "20200912", "--before", "20200916", "--count"]
BASELINE = [sys.executable, "-c", "import django"]
ORM = [sys.executable, "-c", "import django.db.models"]
#: Modules a read-only query should not import.
HEAVY = ("sumatra.recordstore.django_store.models", "sumatra.recordstore", "sumatra.projects",
         "numpy", "pandas")
# Runs `smt` as its script does, then lists the heavy modules it imported.
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('HEAVY:' + ','.join(sorted(set(%r) & set(sys.modules))),"
         " file=sys.stderr))\n"
         "sys.argv = ['smt'] + sys.argv[1:]\n"
         "from sumatra.cli import smt\n"
         "sys.exit(smt())\n" % (HEAVY,))


def demo_project(records, store=None):
    """The cached demo project of ``records`` records (built on first use)."""
    path = os.path.join(CACHE, f"startup-{records}" + ("-pg" if store else ""))
    if not os.path.exists(os.path.join(path, ".smt", "project")):
        cmd = [sys.executable, "-m", "smt_query.demo", path, "--records", str(records)]
        subprocess.run(cmd + (["--store", store] if store else []), check=True)
    return path


def run(cmd, cwd):
    """``(wall time, CPU time, stdout)`` of one run of ``cmd`` (its status checked).
    CPU time (user + system) varies far less than wall time on a loaded machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.stdout.strip()


def heavy_imports(path):
    """The heavy modules (:data:`HEAVY`) the query imports."""
    done = subprocess.run([sys.executable, "-c", PROBE, *QUERY], cwd=path,
                          capture_output=True, text=True)
    return done.stderr.rpartition("HEAVY:")[2].strip() or "none"


def import_profile(path, top=15):
    """The largest cumulative imports of the query (``python -X importtime``)."""
    done = subprocess.run([sys.executable, "-X", "importtime", SMT, *QUERY], cwd=path,
                          capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            rows.append((int(cumulative), name.rstrip()))
    for cumulative, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1e6:6.3f} s  {name}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--store", metavar="URI", help="build the demo on this store")
    parser.add_argument("--project", metavar="DIR", help="use this project instead")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--importtime", action="store_true",
                        help="also show the largest imports of the query")
    args = parser.parse_args(argv)
    path = args.project or demo_project(args.records, args.store)
    query, django_, orm, count = [], [], [], None
    for _ in range(args.repeat):
        *times, count = run([SMT, *QUERY], path)
        query.append(times)
        django_.append(run(BASELINE, path)[:2])
        orm.append(run(ORM, path)[:2])
    load = os.getloadavg()[0]
    print(f"project: {path} ({count} matching records)")
    print(f"load average (1 min): {load:.2f} on {os.cpu_count()} CPUs")
    print(f"heavy modules the query imports: {heavy_imports(path)}")
    for name, times in ((f"smt {' '.join(QUERY)}", query),
                        ("python -c 'import django'", django_),
                        ("python -c 'import django.db.models'", orm)):
        walls = sorted(t for t, _ in times)
        print(f"{name}: wall best {walls[0]:.3f} s (median {walls[len(walls) // 2]:.3f} s), "
              f"CPU best {min(c for _, c in times):.3f} s")
    print(f"ratio, wall best/best: {min(query)[0] / min(django_)[0]:.1f}x; CPU best/best: "
          f"{min(c for _, c in query) / min(c for _, c in django_):.1f}x  "
          "(target: 2x; under 0.6 s on an idle machine)")
    print(f"ratio to the ORM alone, CPU best/best: "
          f"{min(c for _, c in query) / min(c for _, c in orm):.1f}x")
    if args.importtime:
        print("largest imports of the query (cumulative):")
        import_profile(path)


if __name__ == "__main__":
    main()
