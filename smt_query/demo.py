"""Build a demo Sumatra project: a few real ``smt run`` records, the rest bulk-inserted.

The project is a git repository with ``main.py`` (reads a JSON task description,
writes a YAML result under ``Data/``) and ``default.json`` (nested smttask-style
task descriptions, non-ASCII keys such as ``μtilde``). ``runs`` records come
from real ``smt run`` calls (one with the override ``optimizer.lr=0.01``, which
Sumatra stores as a literal top-level key ``"optimizer.lr"``; ``smt tag`` adds
``fig``/``figure1``; the project declares the metric ``logL``, read from outcomes
such as "log L plateaued at -61234.5"). The other records are inserted with the Django ORM into the
tables ``DjangoRecordStore.save()`` writes, reusing the rows of the real runs, so
Sumatra reads them like any other record. Content is deterministic for a seed.

Command line: ``python -m smt_query.demo DIR [--records N] [--store URI] [--runs N] [--seed S]``.
"""
import argparse
import hashlib
import json
import os
import random
import re
import shlex
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from .asyncguard import sync_entry

PROJECT = "demo"
FMT = "%Y%m%d-%H%M%S"                       # Sumatra's TIMESTAMP_FORMAT
START, END = datetime(2020, 9, 1, tzinfo=timezone.utc), datetime(2020, 12, 1, tzinfo=timezone.utc)
FORCED_DAYS = [datetime(2020, 9, 15, tzinfo=timezone.utc)] * 2 + [datetime(2020, 11, 10, tzinfo=timezone.utc)] * 3
RUNS = ((), ("optimizer.lr=0.01",), ())    # command-line overrides of the real runs, cycled
USERS = ("Ada Lovelace <ada@example.org>", "Émilie du Châtelet <emilie@example.org>",
         "Alan Turing <alan@example.org>")
MAIN_FILES = ("main.py",) * 5 + ("IndEEG/tasks.py",) * 3 + ("scripts/fit_ou.py", "analysis.py")
STATUSES = ("_finished_",) * 85 + ("_crashed_",) * 5 + ("_killed_",) * 4 + ("_running_",) * 3 + ("_initialized_",) * 3
USER_TAGS = {"fig": .07, "figure1": .06, "figure2": .05, "OU": .1, "baseline": .05, "sweep": .08, "paper-draft": .03}
REASONS = (
    "Hyperparameter exploration",
    "Test fit OUInput\n\nObserved latents\n\n- OU + Linear projection\n- Synthetic data\n"
    "- Init params: (5, {k})\n- {nsteps} passes\n- params: {{'λθ': {lam}}}",
    "Test fix to rightmost batch",
    "Diagnose – param-only fit\n\nIs the NaN coming from Wtilde?",
    "Test: no dynamics on rightmost latents batch",
)
OUTCOMES = ("",) * 6 + ("Converged after {nsteps} passes", "log L plateaued at {logl:.1f}",
                        "Diverged: log L is NaN after {k} passes", "Fit OK, but σtilde → 0")
#: The metric the demo declares (``smt querystore metric add logL --from-outcome ...``).
DEMO_METRIC = ("logL", r"log L (?:plateaued at|is) (\S+)")
CRASHES = ("FloatingPointError: NaN encountered in μtilde", "MemoryError", "KeyboardInterrupt")
OU = 1                                      # REASONS[OU]: "Test fit OUInput ..."
MU = "inputs.optimizer.inputs.model.inputs.params.μtilde"
#: The records the smttask guide's cells name, with the values its outputs show, so
#: its cells run on the demo as written (the labels were made by the guide's author).
#: (label, duration h:m:s, reason: REASONS index or (OU, k, λθ), parameters by full
#: dotted key; "<values>": the optimizer given as values instead of task descriptions)
GUIDE_RECORDS = (
    # rsview.latest / .get(...) / rsview[...]
    ("20201119-112247_f334b8", "5:27:03", OU, {}),
    ("20201118-212254_c2c6ab", "9:41:12", OU, {}),
    ("20201119-095543_8b5fc1", "2:05:47", OU, {}),
    # .filter.after(20200912).filter.before(20200916)
    ("20200915-164710_90be", "4:20:17", 0, {}),
    ("20200915-164710_4e31", "2:34:51", 0, {}),
    ("20200915-154121_d464", "4:53:32", 0, {}),
    ("20200915-154121_a0fa", "2:45:02", 0, {}),
    ("20200912-132121_d712", "0:21:17", 0, {}),
    ("20200912-132121_c390", "1:16:56", 0, {}),
    ("20200912-132121_773d", "1:23:30", 0, {}),
    # .filter.params(eq={'optimizer.model.params.μtilde': ...}); a8a2b0 still ran in the
    # guide, but its next cell reads it from the finished records: finished here
    ("20201119-090726_a8a2b0", "6:48:19", OU, {MU: [-3.4729471730413772, -0.13678844546243388]}),
    ("20201114-221233_dcfd10", "11:21:51", OU, {MU: [-3.4729471730413772, -0.13678844546243388]}),
    ("20201110-213127_351be7", "4:07:31", (OU, 55, 0.0001),
     {MU: [-3.4729471730413772, -0.13678844546243388], "inputs.hashed_digest": "351be75bdc"}),
    ("20201109-183035_bfd996", "4:10:25", OU, {MU: [-3.4729471730413772, -0.13678844546243388]}),
    # .filter.output().filter(lambda rec: rec.duration > 10*60*60)
    ("20201118-145225_517742", "19:03:05", OU, {}),
    ("20201118-141502_35e1c8", "15:50:42", OU, {}),
    ("20201118-140625_67a79e", "17:22:25", OU, {}),
    ("20201118-124009_bf49cc", "18:20:00", OU, {}),
    ("20201118-121208_5caff8", "20:55:06", OU, {}),
    ("20201028-211334_058f", "10:58:19", 3, {}),
    ("20201014-090309_e5d8", "10:18:57", 4, {}),
    ("20201012-014504_1edb", "10:29:44", 0, {}),
    ("20201011-121232_b536", "11:06:31", 0, {}),
    # dfdiff(ParameterSet(record1.parameters), ParameterSet(record2.parameters))
    ("20201119-075320_7b84e7", "7:12:09", (OU, 12, 0.0001), {
        "<values>": True, "inputs.hashed_digest": "7b84e7ecbb", "inputs.optimizer.lr": 0.002,
        "inputs.optimizer.model.activation": "tanh", "inputs.optimizer.model.seed": 14,
        "inputs.optimizer.latent_cache_path": ".cache/latents_process-2",
        "inputs.optimizer.model.params.μtilde": [-0.2644939661170402, -0.6205617416379619],
        "inputs.optimizer.model.params.τtilde": [2.5375870766829345, 2.209510172754845],
        "inputs.optimizer.model.params.σtilde": [2.297311061527454, 0.11218153077399037],
        "inputs.optimizer.model.params.Wtilde": [[1.0581511200534628, -0.6645030719061765],
                                                 [-0.4377237153011216, 0.8151927271048392]]}),
    ("20201119-042150_e177c4", "6:33:51", (OU, 47, 0.0001), {
        "<values>": True, "inputs.hashed_digest": "e177c4e9ca", "inputs.optimizer.lr": 0.002,
        "inputs.optimizer.model.activation": "tanh", "inputs.optimizer.model.seed": 14,
        "inputs.optimizer.latent_cache_path": ".cache/latents_process-4",
        "inputs.optimizer.model.params.μtilde": [-2.261403657553197, -0.11352527517905774],
        "inputs.optimizer.model.params.τtilde": [0.23277087700432836, 1.4732451278346765],
        "inputs.optimizer.model.params.σtilde": [2.276408794306698, 0.08502108251737077],
        "inputs.optimizer.model.params.Wtilde": [[-0.11604415987541336, -1.192318168175603],
                                                 [0.5830527213381311, -0.9322150335276548]]}),
    # .filter.on(20201110): ParameterComparison, fold_task_inputs, get_task_param
    ("20201110-213237_87825b", "4:41:09", (OU, 33, 0.0001), {
        MU: [3.3860280584311826, -0.11294867494456073], "inputs.hashed_digest": "87825b4f90"}),
    ("20201110-213215_acd030", "3:58:44", (OU, 34, 0.0001), {"inputs.hashed_digest": "acd0303f20"}),
    ("20201110-213133_4ca955", "4:12:26", (OU, 25, 0.0002), {"inputs.hashed_digest": "4ca955e136"}),
    ("20201110-213116_cce369", "3:37:50", OU, {"inputs.hashed_digest": "cce369d5f6"}),
    ("20201110-172330_3a1378", "5:02:18", OU, {"inputs.hashed_digest": "3a137881ef"}),
    ("20201110-172330_0dc62d", "4:49:03", OU, {"inputs.hashed_digest": "0dc62d9f89"}),
    ("20201110-172330_de06e3", "5:15:37", OU, {"inputs.hashed_digest": "de06e30753"}),
    ("20201110-172330_8ad9ee", "4:27:55", OU, {"inputs.hashed_digest": "8ad9ee4be0"}),
)
MAIN_PY = '''"""Demo computation: read a JSON task description, write a YAML result under Data/."""
import hashlib, json, os, sys, time
import yaml

with open(sys.argv[1], encoding="utf-8") as f:
    params = json.load(f)
digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
os.makedirs("Data", exist_ok=True)
out = os.path.join("Data", "fit_%s_%s.yaml" % (digest, time.strftime("%Y%m%d-%H%M%S")))
with open(out, "w", encoding="utf-8") as f:
    yaml.safe_dump({"digest": digest, "params": params}, f, allow_unicode=True)
print("Fitted %s: log L = %.3f" % (digest, -len(json.dumps(params))))
'''


class DemoError(Exception):
    """Building the demo failed (bad arguments, or a ``git``/``smt`` call failed)."""


def task_params(rng, hashed=None):
    """A smttask-style task description, 3 levels deep, drawn from ``rng``."""
    hashed = hashed or "%010x" % rng.getrandbits(40)
    nsteps = rng.choice((5000, 10000, 25000))
    vec = lambda: [rng.gauss(0, 1.5) for _ in range(2)]            # noqa: E731
    pos = lambda: [abs(rng.gauss(1, 1)) for _ in range(2)]         # noqa: E731
    model = {"taskname": "CreateModel", "module": "IndEEG.tasks", "inputs": {
        "activation": rng.choice(("tanh", "relu", "sigmoid", "linear")), "seed": rng.randrange(100),
        "params": {"μtilde": vec(), "τtilde": pos(), "σtilde": pos(), "Wtilde": [vec(), vec()]}}}
    optimizer = {"taskname": "AlternatedSGD", "module": "IndEEG.tasks", "inputs": {
        "lr": rng.choice((0.001, 0.002, 0.005, 0.01, 0.02)), "model": model,
        "latent_cache_path": ".cache/latents_process-%d" % rng.randint(1, 8)}}
    return {"taskname": "FitModel", "module": "IndEEG.tasks", "inputs": {
        "digest": "%s__nsteps_%d" % (hashed, nsteps), "hashed_digest": hashed, "nsteps": nsteps,
        "recorders": [{"name": "log L", "keys": None, "interval": 10},
                      {"name": "θ", "keys": ["μtilde", "τtilde"], "interval": 100}],
        "optimizer": optimizer}}


def smt(path, *args):
    """Run ``smt *args`` (the ``smt`` next to ``sys.executable``) in ``path``; return stdout."""
    exe = os.path.join(os.path.dirname(sys.executable), "smt")
    return _call([exe if os.path.exists(exe) else "smt", *args], path)


def smt_run(path, *args, reason=None):
    """``smt run [--reason REASON] *args`` in ``path``; return the new record's label."""
    out = smt(path, "run", *(["--reason", reason] if reason else []), *args)
    # Sumatra gives a run every file changed since the second its record
    # started; a next run starting in the second this one wrote its output
    # would take that file too (and, in a Django store, away from this record)
    time.sleep(1 - time.time() % 1)
    found = re.search(r"Record label for this run: '([^']+)'", out)
    if not found:
        raise DemoError("`smt run %s` in %s recorded nothing:\n%s" % (" ".join(args), path, out[-2000:]))
    return found.group(1)


def init_project(path, params, *, store=None, name=PROJECT):
    """git-init ``path`` with ``main.py`` and ``default.json`` (``params``), then
    ``smt init name [--store store]`` and ``smt configure``. ``path`` must be empty."""
    os.makedirs(path, exist_ok=True)
    if os.path.exists(os.path.join(path, ".smt", "project")):
        raise DemoError("%s already contains a Sumatra project" % path)
    if os.listdir(path):
        raise DemoError("%s is not empty" % path)
    files = {"main.py": MAIN_PY, ".gitignore": ".smt/\nData/\n",
             "default.json": json.dumps(params, indent=2, ensure_ascii=False) + "\n"}
    for fname, text in files.items():
        with open(os.path.join(path, fname), "w", encoding="utf-8") as f:
            f.write(text)
    for cmd in (["init", "-q"], ["config", "user.name", "Demo User"],
                ["config", "user.email", "demo@example.org"], ["add", "."],
                ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "Demo: model script and default parameters"]):
        _call(["git", *cmd], path)
    smt(path, "init", name, *(["--store", store] if store else []))
    smt(path, "configure", "--executable=" + sys.executable, "--main=main.py")


def store_uri(path):
    """The record store of the project at ``path``: a db file path, URI or shelf name."""
    with open(os.path.join(path, ".smt", "project"), encoding="utf-8") as f:
        store = json.load(f)["record_store"]
    return store.get("db_file") or store.get("shelf_name")


def build_demo(path, records=2000, *, store=None, runs=3, seed=0, progress=None):
    """Create the demo project in ``path`` (empty or new) and return its absolute path.

    ``records`` records in all: ``runs`` (>= 1) real ``smt run`` records, the rest
    bulk-inserted. ``store``: a record-store URI for ``smt init --store`` (e.g.
    ``postgres://user:pass@host/db``), default SQLite ``.smt/records``. ``progress``:
    show bars on stderr, one over ``smt init``, the runs and the tags, one over the
    inserted records (default: by the rule of ``smt_query.progress``; the
    build is always long).
    """
    if runs < 1 or records < runs:
        raise DemoError("need runs >= 1 and records >= runs (got records=%d, runs=%d)" % (records, runs))
    from .progress import bar
    path = os.path.abspath(path)
    rng = random.Random(seed)
    tags = list(zip(("fig", "figure1"), range(runs)))
    with bar(total=1 + runs + len(tags), desc="smt init", unit="step", progress=progress,
             min_items=0) as steps:
        init_project(path, task_params(rng), store=store)
        if os.path.exists(os.path.join(path, ".smt", "labels")):   # `smt init` found the project in the store
            raise DemoError("record store %s already holds a project %r: use a new one" % (_mask(store_uri(path)), PROJECT))
        labels = []
        for i in range(runs):
            steps.update()
            steps.set_description("smt run %d/%d" % (i + 1, runs))
            labels.append(smt_run(path, "default.json", *RUNS[i % 3],
                                  reason=REASONS[i % 2].format(k=i, nsteps=25000, lam=0.0001)))
        for tag, i in tags:
            steps.update()
            steps.set_description("smt tag %s" % tag)
            smt(path, "tag", tag, labels[i])
        steps.update()
    if records > runs:
        guide = _guide_specs() if records - runs >= len(GUIDE_RECORDS) else []
        _bulk_insert(path, _plan(rng, records - runs - len(guide), guide), progress)
    from .metrics.definitions import add_metric
    add_metric(*DEMO_METRIC, start=path)
    return path


def _call(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, encoding="utf-8", errors="replace")
    if proc.returncode:
        raise DemoError("`%s` failed in %s:\n%s" % (" ".join(cmd), cwd, (proc.stdout + proc.stderr)[-2000:]))
    return proc.stdout


def _plan(rng, n, guide=()):
    """Timestamps, unique labels and seeds of ``n`` records plus the ``guide``
    records (:func:`_guide_specs`), in time order.

    A session is one smttask batch (records within a few seconds, labels with a
    ``_<6 hex>`` suffix: the start of ``hashed_digest``) or one plain ``smt run``
    (which may repeat an earlier parameter set or add an ``"optimizer.lr"`` override).
    Records of a session share reason, main file and user.
    """
    specs, used, plain_configs = [], {spec[1] for spec in guide}, []
    for session in range(n):
        if len(specs) >= n:
            break
        day, sseed = FORCED_DAYS[session] if session < len(FORCED_DAYS) else None, rng.getrandbits(64)
        t0 = (day + timedelta(seconds=rng.randrange(20 * 3600)) if day else    # before the guide's evening
              START + timedelta(seconds=rng.randrange(int((END - START).total_seconds()))))
        if day or rng.random() < 0.6:                       # smttask batch
            for _ in range(min(rng.randint(3 if day else 1, 14), n - len(specs))):
                ts = t0 + timedelta(seconds=rng.choice((0, 0, 0, 1, 2)), microseconds=rng.randrange(10**6))
                while True:
                    hashed = "%010x" % rng.getrandbits(40)
                    label = "%s_%s" % (ts.strftime(FMT), hashed[:6])
                    if label not in used:
                        break
                used.add(label)
                specs.append((ts, label, rng.getrandbits(64), sseed, (rng.getrandbits(64), hashed), None))
        else:                                               # plain `smt run`
            ts = t0 + timedelta(microseconds=rng.randrange(10**6))
            while ts.strftime(FMT) in used:
                ts += timedelta(seconds=1)
            used.add(ts.strftime(FMT))
            config = (rng.choice(plain_configs) if plain_configs and rng.random() < 0.25
                      else (rng.getrandbits(64), None))
            plain_configs.append(config)
            override = rng.choice((0.002, 0.02, 0.05)) if rng.random() < 0.25 else None
            specs.append((ts, ts.strftime(FMT), rng.getrandbits(64), sseed, config, override))
    versions = sorted("%040x" % rng.getrandbits(160) for _ in range(8))
    specs = sorted(specs + list(guide), key=lambda spec: spec[:2])
    return [(spec, versions[i * len(versions) // len(specs)]) for i, spec in enumerate(specs)]


def _guide_specs():
    """Plan entries ``(timestamp, label, GUIDE_RECORDS entry)`` of the guide's records."""
    specs = []
    for entry in GUIDE_RECORDS:
        label = entry[0]
        ts = datetime.strptime(label[:15], FMT).replace(tzinfo=timezone.utc)
        specs.append((ts + timedelta(microseconds=_seed(label) % 10**6), label, entry))
    return specs


def _seed(label):
    return int.from_bytes(hashlib.sha1(label.encode()).digest()[:8], "big")


def _guide_record(spec, version):
    """Row of a record of the guide (see :data:`GUIDE_RECORDS`): finished, with outputs."""
    ts, label, (_, hms, reason, values) = spec
    r = random.Random(_seed(label))
    suffix = label.split("_")[1]
    hashed = values.get("inputs.hashed_digest") or suffix + "%04x" % r.getrandbits(16)
    params = task_params(r, hashed)
    inputs = params["inputs"]
    inputs["recorders"][1]["interval"] = r.choice((100, 200, 250, 500))
    if reason == OU or isinstance(reason, tuple):
        inputs["nsteps"] = 25000
        inputs["digest"] = "%s__nsteps_25000" % hashed
    if values.get("<values>"):                 # the optimizer given as values
        from .params import fold_task_inputs
        inputs["optimizer"] = fold_task_inputs(inputs["optimizer"])
    for key, value in values.items():
        if key not in ("<values>", "inputs.hashed_digest"):
            *head, last = key.split(".")
            node = params
            for part in head:
                node = node[part]
            node[last] = value
    kind, k, lam = reason if isinstance(reason, tuple) else (reason, r.randint(1, 60), r.choice((0.0001, 0.0002)))
    text = REASONS[kind].format(k=k, nsteps=inputs["nsteps"], lam=lam)
    params["reason"] = text                    # smttask keeps the reason in the task description
    h, m, sec = map(int, hms.split(":"))
    duration = h * 3600 + m * 60 + sec + r.uniform(0, 0.49)     # shown as the guide shows it
    logl = r.uniform(-9e4, -1e3)
    outputs = _outputs(r, r.randint(1, 3), hashed, label, ts, duration)
    return dict(label=label, timestamp=ts, reason=text, duration=duration, outcome="",
                main_file="IndEEG/tasks.py", version=version, user=USERS[0],
                script_arguments="<parameters>", stdout_stderr="Fitted %s: log L = %.3f\n" % (hashed, logl),
                repeats=None, diff="", tags="_finished_"), pretty_json(params), ["_finished_"], outputs


def _outputs(r, n_out, hashed, label, ts, duration):
    """Output keys (path, digest, creation, metadata) of a record, drawn from ``r``."""
    stem = "fit_%s_%s" % (hashed, label)
    return [("%s.%s" % (stem, ext),
             "%040x" % r.getrandbits(160), ts.replace(microsecond=0) + timedelta(seconds=duration or 0),
             json.dumps({"encoding": None, "mimetype": mime, "size": r.randint(200, 10**7)}, sort_keys=True))
            for ext, mime in (("yaml", "application/x-yaml"), ("npz", None), ("log", "text/plain"))[:n_out]]


def _record(spec, version):
    """Column values, parameter-set content, tags and output keys of one planned record."""
    if len(spec) == 3:
        return _guide_record(spec, version)
    ts, label, seed, sseed, (pseed, hashed), override = spec
    r = random.Random(seed)
    params = task_params(random.Random(pseed), hashed)
    hashed = params["inputs"]["hashed_digest"]
    if override is not None:
        params["optimizer.lr"] = override
    nsteps, status = params["inputs"]["nsteps"], r.choice(STATUSES)
    fmt = dict(k=r.randint(1, 60), nsteps=nsteps, lam=r.choice((0.0001, 0.0002)), logl=r.uniform(-9e4, -1e3))
    duration = (None if status in ("_running_", "_initialized_") else
                r.uniform(1, 600) if r.random() < 0.3 else r.uniform(600, 20 * 3600))
    if status == "_finished_":
        outcome, stdout = r.choice(OUTCOMES).format(**fmt), "Fitted %s: log L = %.3f\n" % (hashed, fmt["logl"])
    elif status == "_crashed_":
        outcome = r.choice(CRASHES)
        stdout = "Traceback (most recent call last):\n  File \"main.py\", line 8, in <module>\n%s\n" % outcome
    else:
        outcome, stdout = "", "Not yet captured." if status == "_running_" else "Not launched."
    tags = [status] + [t for t, p in USER_TAGS.items() if r.random() < p]
    outputs = _outputs(r, r.randint(0, 3) if status == "_finished_" else 0, hashed, label, ts, duration)
    return dict(label=label, timestamp=ts, reason=REASONS[sseed % 5].format(**fmt), duration=duration,
                outcome=outcome, main_file=MAIN_FILES[sseed // 5 % 10], version=version,
                user=USERS[sseed // 50 % 3], script_arguments="<parameters>", stdout_stderr=stdout,
                repeats=None, diff="", tags=",".join(tags)), pretty_json(params), tags, outputs


_TEMPLATES = {}
_LEAF = {float: float.__repr__, int: int.__repr__, str: json.encoder.encode_basestring_ascii,
         bool: lambda v: "true" if v else "false", type(None): lambda v: "null"}


def pretty_json(obj):
    """``json.dumps(obj, sort_keys=True, indent=4)`` -- the text Sumatra stores for a
    ``JSONParameterSet`` -- twice as fast: one %-template per shape of ``obj``
    (dicts with string keys, lists, strings, numbers, booleans, None; finite floats)."""
    def walk(o):                            # shape of o; leaves in output order
        if type(o) is dict:
            return tuple([(k, walk(o[k])) for k in sorted(o)])
        if type(o) is list:
            return (len(o),) + tuple([walk(v) for v in o])
        leaves.append(_LEAF[type(o)](o))
        return type(o)

    def skeleton(o):
        return ({k: skeleton(v) for k, v in o.items()} if type(o) is dict else
                [skeleton(v) for v in o] if type(o) is list else "\0")
    leaves = []
    shape = walk(obj)
    if shape not in _TEMPLATES:
        text = json.dumps(skeleton(obj), sort_keys=True, indent=4).replace("%", "%%")
        _TEMPLATES[shape] = re.sub(r'"\\u0000"(?!: )', "%s", text)      # values, not keys
    return _TEMPLATES[shape] % tuple(leaves)


@sync_entry
def _bulk_insert(path, plan, progress, batch=2000):
    """Insert the planned records into the store of ``path`` as ``DjangoRecordStore.save()`` would.

    ParameterSet and Record rows go through ``bulk_create``; the many plain link
    rows (tags, output keys, platforms, dependencies) through multi-row INSERTs,
    five times faster.
    """
    from django.db import connections, transaction
    from smt_query.progress import bar as progress_bar
    from smt_query.recordstore import QueryDjangoRecordStore
    uri = store_uri(path)
    try:
        store = QueryDjangoRecordStore(uri)
        m, db = store.models, store.db_alias
    except Exception as err:
        raise DemoError("cannot bulk-insert into %s (a Django record store is needed): %s" % (uri, err))
    ctype, objects, conn = store.record_ctype_id, lambda model: model.objects.using(db), connections[db]
    template = objects(m.Record).filter(project_id=PROJECT).order_by("db_id").first()
    fks = {f + "_id": getattr(template, f + "_id") for f in (
        "executable", "repository", "launch_mode", "datastore", "input_datastore", "project")}
    platforms = list(template.platforms.values_list("pk", flat=True))
    deps = list(template.dependencies.values_list("pk", flat=True))
    numpy, _ = objects(m.Dependency).get_or_create(
        name="numpy", path="/usr/lib/python3/dist-packages/numpy", version="1.19.2", diff="",
        source="attribute", module="python")
    psets = {_sha1(c): pk for pk, c in objects(m.ParameterSet).values_list("pk", "content")}
    with transaction.atomic(using=db):
        tag_ids = dict(objects(m.Tag).values_list("name", "pk"))
        objects(m.Tag).bulk_create([m.Tag(name=t) for t in {*STATUSES, *USER_TAGS} - set(tag_ids)])
        tag_ids = dict(objects(m.Tag).values_list("name", "pk"))
        bar = progress_bar(total=len(plan), desc="Inserting", unit="rec", progress=progress,
                           min_items=0, leave=True)
        for start in range(0, len(plan), batch):
            rows = [_record(*item) for item in plan[start:start + batch]]
            keys, new = [_sha1(content) for _, content, _, _ in rows], {}
            for key, (_, content, _, _) in zip(keys, rows):
                if key not in psets and key not in new:
                    new[key] = m.ParameterSet(type="JSONParameterSet", content=content)
            objects(m.ParameterSet).bulk_create(new.values())
            psets.update((key, p.pk) for key, p in new.items())
            recs = objects(m.Record).bulk_create([m.Record(parameters_id=psets[key], **fks, **cols)
                                                  for key, (cols, _, _, _) in zip(keys, rows)])
            ids = [rec.pk for rec in recs]
            _insert_rows(conn, m.TaggedItem, ("tag", "content_type", "object_id"), [
                (tag_ids[t], ctype, pk) for pk, (_, _, tags, _) in zip(ids, rows) for t in tags])
            _insert_rows(conn, m.DataKey, ("path", "digest", "creation", "metadata", "output_from_record"), [
                (p, d, conn.ops.adapt_datetimefield_value(c), md, pk)
                for pk, (_, _, _, outs) in zip(ids, rows) for p, d, c, md in outs])
            _insert_rows(conn, m.Record.platforms.through, ("record", "platforminformation"), [
                (pk, pi) for pk in ids for pi in platforms])
            _insert_rows(conn, m.Record.dependencies.through, ("record", "dependency"), [
                (rec.pk, dep) for rec in recs
                for dep in deps + ([numpy.pk] if rec.main_file == "IndEEG/tasks.py" else [])])
            bar.update(len(rows))
        bar.close()
    labels = objects(m.Record).filter(project_id=PROJECT).values_list("label", flat=True)
    with open(os.path.join(path, ".smt", "labels"), "w") as f:   # as `smt run` leaves it
        f.write("\n".join(labels))
    conn.close()


def _sha1(text):
    return hashlib.sha1(text.encode()).digest()


def _insert_rows(conn, model, fields, rows):
    """INSERT ``rows`` (tuples of database-ready values for ``fields``) into ``model``'s table."""
    qn = conn.ops.quote_name
    head = "INSERT INTO %s (%s) VALUES " % (qn(model._meta.db_table), ", ".join(
        qn(model._meta.get_field(f).column) for f in fields))
    one, n = "(%s)" % ", ".join(["%s"] * len(fields)), 999 // len(fields)   # SQLite: <= 999 variables
    with conn.cursor() as cur:
        for i in range(0, len(rows), n):
            part = rows[i:i + n]
            cur.execute(head + ", ".join([one] * len(part)), [v for row in part for v in row])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m smt_query.demo", description=__doc__.split("\n")[0])
    parser.add_argument("dir", metavar="DIR", help="directory of the new project (new or empty)")
    parser.add_argument("--records", type=int, default=2000, help="number of records (default: %(default)s)")
    parser.add_argument("--store", metavar="URI", help="record store, e.g. postgres://user:pass@host/db "
                        "(default: SQLite .smt/records)")
    parser.add_argument("--runs", type=int, default=3, help="real `smt run` calls (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        path = build_demo(args.dir, args.records, store=args.store, runs=args.runs, seed=args.seed)
    except DemoError as err:
        sys.exit("Error: %s" % str(err).strip())
    uri = store_uri(path)
    print("Demo project: %s\nRecords:      %d (%d from `smt run`, %d inserted)\nRecord store: %s\n"
          "Try:          cd %s && smt query --tag finished --limit 10"
          % (path, args.records, args.runs, args.records - args.runs, _mask(uri), shlex.quote(path)))


def _mask(uri):
    """``uri`` with its password replaced by ``***`` (``project.masked_uri``)."""
    from .project import masked_uri
    return masked_uri(uri)


if __name__ == "__main__":
    main()
