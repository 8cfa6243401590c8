"""Time ParameterComparison on N records × ~200 leaf keys (default N = 1000).

Usage: python benchmarks/bench_compare.py [N]

Each record is a real in-memory Sumatra Record whose parameters are a
JSONParameterSet: three nested task descriptions, 200 leaves (numbers,
strings, lists), a few of them varying across records, one command-line
override, and a varying `reason`.
"""
import json
import random
import sys
import tempfile
import time

from sumatra.datastore import FileSystemDataStore
from sumatra.launch import SerialLaunchMode
from sumatra.parameters import JSONParameterSet
from sumatra.programs import PythonExecutable
from sumatra.records import Record

from smt_query.params import ParameterComparison, as_params


def task(name, **inputs):
    return {"taskname": name, "module": "project.tasks", "inputs": inputs}


def parameters(i, rng):
    params = {f"p{k}": {"w": [rng.random(), 1.0], "n": k, "name": f"layer{k}", "on": k % 2 == 0}
              for k in range(45)}
    params["lr"] = rng.choice([0.1, 0.01])
    model = task("Model", params=params, nlatents=2 + i % 3)
    optimizer = task("Optimizer", model=model, latent_cache_path=f".cache/latents_{i % 4}",
                     nsteps=25000, seed=i)
    pset = task("Fit", optimizer=optimizer, digest=f"{i:010x}", recorders=[{"name": "log L"}])
    pset["inputs.optimizer.inputs.nsteps"] = 30000 if i % 10 == 0 else 25000  # an override
    return pset


def main(n=1000):
    rng = random.Random(0)
    datastore = FileSystemDataStore(tempfile.gettempdir())
    executable = PythonExecutable(sys.executable)
    records = [Record(executable, None, "main.py", "abc", SerialLaunchMode(), datastore,
                      parameters=JSONParameterSet(json.dumps(parameters(i, rng))),
                      label=f"rec{i:06d}", reason=f"run {i % 7}")
               for i in range(n)]
    import pandas  # noqa: F401  (imported once by dataframe(); not part of the figure)

    start = time.perf_counter()
    cmp = ParameterComparison(records, progress=False)
    compared = time.perf_counter() - start
    start = time.perf_counter()
    folded, full = cmp.dataframe(depth=2), cmp.dataframe(depth=None)
    framed = time.perf_counter() - start
    n_leaves = sum(1 for _ in _leaves(as_params(records[0]))) + 1  # + reason
    print(f"{n} records × {n_leaves} leaf keys: compared in {compared:.3f} s "
          f"({len(cmp.differences)} differing keys); dataframe(depth=2) {folded.shape} "
          f"+ dataframe(depth=None) {full.shape} in {framed:.3f} s")

def _leaves(d):
    for v in d.values():
        if isinstance(v, dict) and v:
            yield from _leaves(v)
        else:
            yield v


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
