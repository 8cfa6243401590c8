"""Globs match in time linear in the text, whatever the pattern.

Usage: python benchmarks/bench_globs.py [N] [--store URI]

Fills a new record store (a temporary SQLite file, or ``--store`` an empty
PostgreSQL database) with N records (default 2,000), then times, as ratios
measured in this process:

* patterns ``*?*?...*!`` with 2 to 8 ``*?`` pairs on the labels: smt-query's
  SQL (SQLite: the ``smtq_glob`` function calling fnmatch; PostgreSQL: a
  regular expression, matched by an automaton) against the glob translated to
  a backtracking regular expression (``.*.*`` run by SQLite's REGEXP, i.e.
  Python's ``re``: what 0.1.0 did before), which grows exponentially with the
  number of pairs; the old way is stopped past 8 pairs or 60 s;
* one pattern on reasons of 1,000, 10,000 and 100,000 characters: the time
  grows like the text (ratios near 10), in SQL and with fnmatch in Python.
"""
import argparse
import datetime as dt
import fnmatch
import random
import re
import sys
import tempfile
import time


def old_glob_regex(pattern):
    """The translation smt-query used before: ``*`` -> ``.*`` (backtracking)."""
    return r"(?s)\A" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                               for c in pattern) + r"\Z"


def fill(store, n, reason_length):
    m, db = store.models, store.db_alias
    objects = lambda model: model.objects.using(db)             # noqa: E731
    m.Record.objects.using(db).all().delete()
    proj, _ = objects(m.Project).get_or_create(id="bench", defaults={"name": "bench"})
    launch = objects(m.LaunchMode).create(type="SerialLaunchMode", parameters="{}")
    data = objects(m.Datastore).create(type="FileSystemDataStore", parameters="{}")
    exe = objects(m.Executable).create(path=sys.executable, name="Python", version="3",
                                       options="")
    repo = objects(m.Repository).create(type="GitRepository", url="file:///tmp/repo")
    params = objects(m.ParameterSet).create(type="JSONParameterSet", content="{}")
    rng = random.Random(0)
    t0 = dt.datetime(2020, 9, 1, tzinfo=dt.timezone.utc)
    unit = "".join(rng.choice("abcdefghij ") for _ in range(1000))
    reason = (unit * (reason_length // 1000 + 1))[:reason_length]
    objects(m.Record).bulk_create([m.Record(
        label=(t0 + dt.timedelta(minutes=i)).strftime("%Y%m%d-%H%M%S_") + f"{rng.getrandbits(24):06x}",
        reason=reason, outcome="", user="", main_file="main.py", duration=1.0, version="abc",
        parameters=params, launch_mode=launch, datastore=data, input_datastore=data,
        timestamp=t0 + dt.timedelta(minutes=i), project=proj, executable=exe, repository=repo,
        script_arguments="", diff="", stdout_stderr="") for i in range(n)], batch_size=1000)
    return objects(m.Record).filter(project_id="bench")


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=2000)
    parser.add_argument("--store", help="an empty PostgreSQL database URI (default: SQLite)")
    args = parser.parse_args(argv)
    from django.db.models import Q
    from smt_query.filters import get_filter
    from smt_query.recordstore import QueryDjangoRecordStore
    store = QueryDjangoRecordStore(args.store or tempfile.mkdtemp() + "/records")
    ctx = store.context()
    print(f"{store.vendor}, {args.n} records")

    qs = fill(store, args.n, 100)
    labels = list(qs.values_list("label", flat=True))
    base_new = base_old = None
    qs.filter(get_filter("label")("*x").to_q(ctx)).count()     # warm up the connection
    print("pattern on labels              smt-query (x the 2-pair time)   backtracking regex")
    for pairs in range(2, 11, 2):
        pattern = "*?" * pairs + "*!"
        new, count = timed(lambda: qs.filter(get_filter("label")(pattern).to_q(ctx)).count())
        assert count == sum(fnmatch.fnmatchcase(lbl, pattern) for lbl in labels)
        base_new = base_new or new
        old_text = "stopped"
        if store.vendor == "sqlite" and pairs <= 8 and (base_old is None or base_old < 60):
            old, _ = timed(lambda: qs.filter(Q(label__regex=old_glob_regex(pattern))).count())
            base_old = old
            old_text = f"{old:8.3f} s"
        elif store.vendor != "sqlite":
            old_text = "(PostgreSQL: same regex engine)"
        print(f"{pattern:<30} {new:8.3f} s (x{new / base_new:5.1f})          {old_text}")

    print("reason length   smt-query SQL   ratio   fnmatch in Python   ratio")
    pattern, previous = "*a*b*c*d*e*!", None
    for length in (1000, 10000, 100000):
        qs = fill(store, args.n, length)
        sql, _ = timed(lambda: qs.filter(get_filter("reason")(pattern).to_q(ctx)).count())
        texts = list(qs.values_list("reason", flat=True))
        py, _ = timed(lambda: sum(fnmatch.fnmatchcase(t, pattern) for t in texts))
        ratios = (f"{sql / previous[0]:5.1f}", f"{py / previous[1]:5.1f}") if previous \
            else ("    -", "    -")
        print(f"{length:>13,}   {sql:9.3f} s   {ratios[0]}   {py:13.3f} s   {ratios[1]}")
        previous = sql, py


if __name__ == "__main__":
    main()
