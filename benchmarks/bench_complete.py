"""Shell completion latency at scale: what a TAB costs, end to end.

For each store (the demo of ``--records`` records, SQLite and, with ``--pg`` or
``SMTQ_POSTGRES_URI``, PostgreSQL; built once in the suite's cache by
``run_suite.ensure_store``) this runs a real ``smt`` with bash's completion
variables (``_SMT_COMPLETE=bash_complete``) for

* labels (``smt query 2020111<TAB>``), tags (``--tag fi<TAB>``), parameter
  keys (``--param optimizer.model.<TAB>``) and saved queries
  (``smt query @<TAB>``); tags and keys twice: cold (no cache file) and
  cached (SQLite only keeps one);

and in the same run, interleaved, the baselines:

* ``python -c pass`` (the interpreter's start-up, with this venv's ``.pth``
  hooks) and ``python -c "import click"`` (the floor of a completion that
  answers through click's protocol);
* ``python -c "import django"`` (as ``bench_startup.py``: the floor of any
  command that touches the store the ordinary way);
* the way completion read the store before ``smt_query.completion``
  (``RecordStoreView().tag_names()`` and ``.parameter_keys()``, in a fresh
  process; left out with ``--no-before``);
* with ``--old-tree DIR`` (a checkout of an earlier smt-query, say
  ``git archive COMMIT | tar -x -C DIR``): every case again with that code
  (``PYTHONPATH=DIR``), named ``old: ...``.

Python files are compiled first (``compileall``), as pip compiles an
installed package: without ``.pyc`` files (an editable install with
``PYTHONDONTWRITEBYTECODE`` set) every run compiles the package again.

Each is the best wall time and the best CPU time (user + system, which varies
far less on a busy machine) of ``--repeat`` runs; ratios are against
``import click``. The machine's load average is printed: compare ratios, and
absolute times only from an idle machine.

Target: every completion under 0.3 s on an idle 2-core machine at 100,000
records.

Usage::

    python benchmarks/bench_complete.py                      # 100,000 records
    python benchmarks/bench_complete.py --records 10000 --repeat 3
    python benchmarks/bench_complete.py --backends sqlite --no-before --old-tree /tmp/old
"""
import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_suite  # noqa: E402  (the suite's cached stores)

SMT = os.path.join(os.path.dirname(sys.executable), "smt")
CACHE_FILE = "smt_query_complete.json"
CASES = {   # name: (command line as typed, a value it must offer, cache file removed first)
    "labels": ("smt query 2020111", "plain,2020111", False),
    "tags (cold)": ("smt query --tag fi", "fig", True),
    "tags": ("smt query --tag fi", "fig", False),
    "keys (cold)": ("smt query --param optimizer.model.", "optimizer.model.activation", True),
    "keys": ("smt query --param optimizer.model.", "optimizer.model.activation", False),
    "saved names": ("smt query @", "@bench", False),
}
BASELINES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import click": [sys.executable, "-c", "import click"],
    "import django": [sys.executable, "-c", "import django"],
    "before: view tags": [sys.executable, "-c", "from smt_query.view import RecordStoreView; "
                          "RecordStoreView().tag_names()"],
    "before: view keys": [sys.executable, "-c", "from smt_query.view import RecordStoreView; "
                          "RecordStoreView().parameter_keys()"],
}


def complete(line, path, must, cold, old_tree=None):
    """``(wall, CPU)`` time of one completion by a real ``smt`` (its answer
    checked); with ``old_tree``, that code instead of the installed one."""
    if cold:
        try:
            os.remove(os.path.join(path, ".smt", CACHE_FILE))
        except FileNotFoundError:
            pass
    env = dict(os.environ, _SMT_COMPLETE="bash_complete", COMP_WORDS=line,
               COMP_CWORD=str(len(line.split(" ")) - 1))
    if old_tree:
        env["PYTHONPATH"] = old_tree
    times, done = timed([SMT], path, env)
    if done.returncode or must not in done.stdout:
        sys.exit(f"{line!r} offered {done.stdout[:200]!r} (wanted {must!r}): {done.stderr}")
    return times


def timed(cmd, path, env=None):
    """``((wall time, CPU time), result)`` of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=path, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (wall, cpu), done


def measure(path, repeat, baselines, old_tree=None):
    """``{name: (best wall time, best CPU time)}`` of every case and baseline,
    taking turns (the old code's cases one after the other: its cache is
    not this one's)."""
    subprocess.run([SMT, "query", "--tag", "fig", "--save", "bench", "--force", "--count"],
                   cwd=path, check=True, capture_output=True)
    times = {}
    for _ in range(repeat):
        for name, (line, must, cold) in CASES.items():
            times.setdefault(name, []).append(complete(line, path, must, cold))
        for name in baselines:
            times.setdefault(name, []).append(timed(BASELINES[name], path)[0])
        for name, (line, must, cold) in CASES.items() if old_tree else ():
            times.setdefault("old: " + name, []).append(
                complete(line, path, must, cold, old_tree))
    return {name: (min(w for w, _ in ts), min(c for _, c in ts)) for name, ts in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=run_suite.BACKENDS,
                        choices=run_suite.BACKENDS)
    parser.add_argument("--pg", default=os.environ.get("SMTQ_POSTGRES_URI"),
                        help="PostgreSQL admin URI (a role that may create databases)")
    parser.add_argument("--no-before", action="store_true",
                        help="leave out the slow 'before' baselines (the view)")
    parser.add_argument("--old-tree", metavar="DIR",
                        help="also time every case with the smt-query code in DIR")
    args = parser.parse_args(argv)
    import smt_query
    for tree in [os.path.dirname(smt_query.__file__)] + (
            [os.path.join(args.old_tree, "smt_query")] if args.old_tree else []):
        subprocess.run([sys.executable, "-m", "compileall", "-q", tree], check=True)
    baselines = ["python -c pass", "import click", "import django"] + (
        [] if args.no_before else ["before: view tags", "before: view keys"])
    for backend in args.backends:
        if backend == "postgresql" and not args.pg:
            print("PostgreSQL skipped: set SMTQ_POSTGRES_URI or --pg", file=sys.stderr)
            continue
        path = run_suite.ensure_store(run_suite.CACHE, backend, args.records, args.pg)
        best = measure(path, args.repeat, baselines,
                       args.old_tree and os.path.abspath(args.old_tree))
        wall0, cpu0 = best["import click"]
        print(f"\n{backend}, {args.records:,} records ({path})")
        print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        print(f"  {'':<20} {'wall':>7}    {'ratio':>5}   {'CPU':>7}    {'ratio':>5}"
              "   (ratios to import click)")
        for name, (wall, cpu) in best.items():
            note = "" if name in BASELINES else ("  under 0.3 s" if wall < 0.3 else "  OVER 0.3 s")
            print(f"  {name:<20} {wall:7.3f} s  {wall / wall0:5.2f}x  {cpu:7.3f} s  "
                  f"{cpu / cpu0:5.2f}x{note}")


if __name__ == "__main__":
    main()
