"""Several OS processes tagging, querying and adding records on one store at once.

A lab shares one PostgreSQL store: every member has a checkout of the project
(its own directory and ``.smt/project``) pointing at the same database. Here
each writer process works in its own copy of a demo project, on one store:

* ``view.filter.on(day).add_tag(once-<w>-<k>-<day>)`` -- add-only tags, one per
  operation, on a set whose size is known (the demo's 2020 records of that
  day; records added meanwhile are dated 2021 or later, so the sets never grow);
* ``t<w>`` -- a tag only writer ``w`` adds and removes (on day sets): the
  writer keeps a model of it and checks every returned count against it;
* ``hot`` -- added to and removed from overlapping multi-day ranges by every
  writer (row-lock contention, the denormalised ``Record.tags`` column);
* ``n<k>`` -- a *new* tag that all writers create at the same moment (a barrier),
  each on its own day (``Tag`` creation races);
* new records through Sumatra's own ``Project.add_record`` and ``smt run``.

Reader processes query in a loop meanwhile, each check one SQL statement (one
snapshot): an add-only tag is on all N records of its day or on none, never
part of them; counts only grow; the ``Record.tags`` column agrees with the tag
table for every tag we write. At the end the parent checks that nothing was
lost (the store equals the sum of the operations) and that every process
exited 0 before its deadline (no deadlock; a PostgreSQL deadlock error, a
"database is locked" or a unique-constraint error would fail a writer).

PostgreSQL: 4 writers x 200 operations and 2 readers. SQLite (several processes
on one machine sharing ``.smt/records``): a lighter run, 2 writers x 60 and 1 reader.
"""
import datetime as dt
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import time
import traceback

from smt_query.demo import build_demo
from support import use_light_main

RECORDS = 1500
#: backend -> (writers, operations per writer, readers, smt runs per writer)
SCALE = {"postgresql": (4, 200, 2, 2), "sqlite": (2, 60, 1, 1)}
BARRIER_EVERY = 10          # every 10th operation all writers create one new tag together
DEADLINE = 600              # seconds for the whole run (workers, then the parent's join); a loaded 2-core CI machine needs 240+
SMT = os.path.join(os.path.dirname(sys.executable), "smt")
UTC = dt.timezone.utc


def _copy_checkout(src, dst):
    """Another member's checkout: a copy of the project directory, same store."""
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("Data"))
    project_file = os.path.join(dst, ".smt", "project")
    with open(project_file, encoding="utf-8") as f:
        text = f.read()
    state = json.loads(text.replace(json.dumps(src)[:-1], json.dumps(dst)[:-1]))
    state["record_store"] = json.loads(text)["record_store"]     # the shared store
    with open(project_file, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
    return dst


def _day(day):
    return int(day.strftime("%Y%m%d"))


# -- worker processes (started with "spawn": fresh interpreters) -------------------

def _run_worker(role, args, result_file):
    """Run ``role(**args)``; write its result (or the traceback) to ``result_file``."""
    try:
        out = {"ok": True, "result": role(**args)}
    except BaseException:                       # noqa: B036 -- report everything, then exit 1
        out = {"ok": False, "error": traceback.format_exc()}
    with open(result_file, "w", encoding="utf-8") as f:
        json.dump(out, f)
    if not out["ok"]:
        sys.stderr.write(out["error"])
        sys.exit(1)


def writer(barrier, **args):
    """Run the writer's operations; on failure, release the others from the barrier."""
    try:
        return _write(barrier=barrier, **args)
    except BaseException:
        barrier.abort()
        raise


def _write(index, path, ops, day_counts, smt_runs, barrier, deadline, seed):
    from sumatra.projects import load_project
    from smt_query import RecordStoreView
    rng = random.Random(seed)
    project = load_project(path)
    view = RecordStoreView(project=path)
    days = sorted(day_counts)
    by_day = {d: set(view.filter.on(d).labels()) for d in days}
    template = project.record_store.get(project.name, view.filter.on(days[0]).labels()[0])
    own, own_tag = set(), "t%d" % index            # labels carrying t<index>, as we expect
    applied, shared, added, hot_ops = [], {}, [], 0
    run_steps = {int(ops * (j + 1) / (smt_runs + 1)) + 3 * index for j in range(smt_runs)}
    run_steps = {k + 1 if k % BARRIER_EVERY == 0 else k for k in run_steps}   # staggered

    def check_deadline():
        if time.time() > deadline:
            raise TimeoutError("writer %d: deadline passed" % index)

    timings = {}
    for k in range(ops):
        check_deadline()
        t0 = time.time()
        if k % BARRIER_EVERY == 0:               # everyone creates tag n<k> at once
            day = days[(index * 7 + k) % len(days)]
            barrier.wait(max(1, deadline - time.time()))
            got = view.filter.on(day).add_tag("n%d" % k)
            assert got == day_counts[day], ("n%d" % k, day, got)
            shared["n%d" % k] = day
            _timed(timings, "new tag", t0)
            continue
        if k in run_steps:                       # a real `smt run` in this checkout
            label = "run-w%d-%d" % (index, k)
            # own parameters, so each run writes its own output file: concurrent runs
            # writing identical ones would race in Sumatra's DataKey.get_or_create
            proc = subprocess.run([SMT, "run", "--label", label, "--reason", "concurrency",
                                   "default.json", "writer=%d" % index], cwd=path,
                                  capture_output=True, text=True,
                                  timeout=max(5, deadline - time.time()))
            assert proc.returncode == 0, "smt run failed:\n" + proc.stdout + proc.stderr
            added.append(label)
            _timed(timings, "smt run", t0)
            continue
        op = rng.random()
        day = rng.choice(days)
        if op < 0.35:
            tag = "once-%d-%d-%d" % (index, k, day)
            got = view.filter.on(day).add_tag(tag)
            assert got == day_counts[day], (tag, got, day_counts[day])
            applied.append(tag)
            _timed(timings, "add-only", t0)
        elif op < 0.60:
            if rng.random() < 0.5:
                got, want = view.filter.on(day).add_tag(own_tag), len(by_day[day] - own)
                own |= by_day[day]
            else:
                got, want = view.filter.on(day).remove_tag(own_tag), len(by_day[day] & own)
                own -= by_day[day]
            assert got == want, (own_tag, day, got, want)
            _timed(timings, "own toggle", t0)
        elif op < 0.85:
            i = rng.randrange(len(days) - 6)
            sel = view.filter.after(days[i]).filter.before(days[i + rng.randint(2, 6)])
            (sel.add_tag if rng.random() < 0.6 else sel.remove_tag)("hot")
            hot_ops += 1
            _timed(timings, "hot toggle", t0)
        else:                                    # Sumatra's own write path
            rec = template
            rec.input_data, rec.output_data = [], []    # keep the template's output keys
            rec.label = "2021%04d-%06d_w%d" % (101 + index, k, index)
            rec.timestamp = dt.datetime(2021, 1, 1 + index, tzinfo=UTC) + dt.timedelta(seconds=k)
            rec.tags = {"_finished_", "added"}
            project.add_record(rec)
            added.append(rec.label)
            _timed(timings, "add_record", t0)
    return {"applied": applied, "own": sorted(own), "shared": shared, "added": added,
            "hot_ops": hot_ops, "timings": timings}


def _timed(timings, kind, t0):
    n, total, worst = timings.get(kind, (0, 0.0, 0.0))
    dt_ = time.time() - t0
    timings[kind] = (n + 1, total + dt_, max(worst, dt_))


def reader(path, day_counts, stop, deadline, seed):
    """Query in a loop until told to stop; every check is one statement (one snapshot)."""
    from django.db import connections
    from django.db.models import Count
    from smt_query import RecordStoreView
    rng = random.Random(seed)
    view = RecordStoreView(project=path)
    store = view._store
    m, db = store.models, store.db_alias
    ctype = store.record_ctype_id
    items = m.TaggedItem.objects.using(db).filter(content_type_id=ctype)
    column_sql = (
        "SELECT count(*) FROM django_store_record r WHERE "
        "EXISTS (SELECT 1 FROM django_store_taggeditem ti JOIN django_store_tag t "
        "ON t.id = ti.tag_id WHERE ti.object_id = r.db_id AND ti.content_type_id = %s "
        "AND t.name = %s) <> ((',' || r.tags || ',') LIKE %s)")
    last_total = last_records = 0
    rounds = 0
    while not stop.is_set():
        if time.time() > deadline:
            raise TimeoutError("reader: deadline passed")
        # 1. each add-only tag is on all records of its day
        counts = dict(items.filter(tag__name__startswith="once-").values("tag__name")
                      .annotate(n=Count("id")).values_list("tag__name", "n"))
        for name, n in counts.items():
            day = int(name.rsplit("-", 1)[1])
            assert n == day_counts[day], ("half-applied", name, n, day_counts[day])
        # 2. counts only grow
        total = sum(counts.values())
        assert total >= last_total, ("tag items vanished", total, last_total)
        n_records = len(view)
        assert n_records >= last_records, ("records vanished", n_records, last_records)
        last_total, last_records = total, n_records
        # 3. through the view: 0 or N
        if counts:
            name = rng.choice(sorted(counts))
            n = len(view.filter.tags(name))
            assert n == day_counts[int(name.rsplit("-", 1)[1])], (name, n)
        # 4. the Record.tags column agrees with the tag table
        for tag in ["hot", "t0", "t1"]:
            with connections[db].cursor() as cur:
                cur.execute(column_sql, [ctype, tag, "%%,%s,%%" % tag])
                (bad,) = cur.fetchone()
            assert bad == 0, ("Record.tags column disagrees with the tag table", tag, bad)
        rounds += 1
    return {"rounds": rounds}


# -- the test ------------------------------------------------------------------------

def test_concurrent_tagging_querying_and_adding(backend, tmp_path):
    n_writers, ops, n_readers, smt_runs = SCALE[backend.name]
    base = build_demo(tmp_path / "demo", RECORDS, runs=1, store=backend.new_store(),
                      progress=False)
    use_light_main(base)        # the writers' `smt run`s: 1 s CPU each instead of 3
    from smt_query import RecordStoreView
    view = RecordStoreView(project=base)
    start = dt.date(2020, 9, 1)
    days = [_day(start + dt.timedelta(days=i)) for i in range(91)]
    day_counts = {d: len(view.filter.on(d)) for d in days}
    days_used = {d: n for d, n in day_counts.items() if n}
    n_before = len(view)

    ctx = multiprocessing.get_context("spawn")
    barrier, stop = ctx.Barrier(n_writers), ctx.Event()
    deadline = time.time() + DEADLINE
    procs = []

    def start_proc(role, name, **args):
        result = str(tmp_path / ("%s.json" % name))
        proc = ctx.Process(target=_run_worker, args=(role, args, result), name=name)
        proc.start()
        procs.append((name, proc, result))

    for i in range(n_writers):
        path = _copy_checkout(base, str(tmp_path / ("checkout%d" % i)))
        start_proc(writer, "writer%d" % i, index=i, path=path, ops=ops, day_counts=days_used,
                   smt_runs=smt_runs, barrier=barrier, deadline=deadline, seed=i)
    for j in range(n_readers):
        start_proc(reader, "reader%d" % j, path=base, day_counts=day_counts, stop=stop,
                   deadline=deadline, seed=100 + j)
    try:
        for name, proc, _ in procs:
            if name.startswith("writer"):
                proc.join(max(0.1, deadline + 10 - time.time()))
        stop.set()
        for name, proc, _ in procs:
            proc.join(max(0.1, deadline + 20 - time.time()))
    finally:
        hung = [name for name, proc, _ in procs if proc.is_alive()]
        for name, proc, _ in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(5)
    assert not hung, "processes still running at the deadline (deadlock?): %s" % hung
    results = {}
    for name, proc, result in procs:
        with open(result, encoding="utf-8") as f:
            out = json.load(f)
        assert out["ok"] and proc.exitcode == 0, "%s failed:\n%s" % (name, out.get("error"))
        results[name] = out["result"]
    writers = [results["writer%d" % i] for i in range(n_writers)]
    assert all(results["reader%d" % j]["rounds"] > 0 for j in range(n_readers))
    print("took %.0f s; reader rounds %s" % (time.time() - deadline + DEADLINE, [
        results["reader%d" % j]["rounds"] for j in range(n_readers)]))
    for i in range(n_writers):
        print("writer%d:" % i, ", ".join("%s %d x %.3f s (max %.2f)" % (kind, n, total / n, worst)
                                         for kind, (n, total, worst) in
                                         sorted(results["writer%d" % i]["timings"].items())))

    # Nothing lost: the store is the sum of the operations.
    view = RecordStoreView(project=base)
    store = view._store
    m, db = store.models, store.db_alias
    added = [label for w in writers for label in w["added"]]
    assert len(view) == n_before + len(added)
    assert set(added) <= set(view.labels())
    assert len(view.filter.tags("added")) == sum(1 for a in added if not a.startswith("run-"))
    applied = [tag for w in writers for tag in w["applied"]]
    assert sorted(m.Tag.objects.using(db).filter(name__startswith="once-")
                  .values_list("name", flat=True)) == sorted(applied)
    for tag in applied:
        assert len(view.filter.tags(tag)) == day_counts[int(tag.rsplit("-", 1)[1])], tag
    for i, w in enumerate(writers):
        assert set(view.filter.tags("t%d" % i).labels()) == set(w["own"]), i
    for k in range(0, ops, BARRIER_EVERY):
        days_k = {w["shared"]["n%d" % k] for w in writers}
        assert len(view.filter.tags("n%d" % k)) == sum(day_counts[d] for d in days_k), k
    assert m.Tag.objects.using(db).filter(name__startswith="n").count() == len(range(0, ops, BARRIER_EVERY))
    # The denormalised column equals the tag table for every record.
    qs = store.queryset("demo")
    by_id = {}
    for object_id, name in m.TaggedItem.objects.using(db).filter(
            content_type_id=store.record_ctype_id).values_list("object_id", "tag__name"):
        by_id.setdefault(object_id, set()).add(name)
    for db_id, label, column in qs.values_list("db_id", "label", "tags"):
        assert set(filter(None, column.split(","))) == by_id.get(db_id, set()), label
