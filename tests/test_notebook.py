"""smt-query in Jupyter: a real kernel (nbclient + ipykernel), IPython's autoawait, ``%run``.

A kernel runs every cell in a thread where an asyncio event loop runs, and Django
refuses database calls there (``SynchronousOnlyOperation``); ``smt_query.asyncguard``
moves our calls into one worker thread. The notebooks here run in a real kernel on
the demo project (SQLite and PostgreSQL) and every cell's output -- text, HTML,
printed text -- must equal what the same cell gives in IPython without an event loop
(run in a subprocess: the reference), and show what it should.

Helpers used by ``test_notebook_guide.py`` too: :func:`run_kernel`,
:func:`run_ipython`, :func:`assert_same_outputs`.
"""
import asyncio
import json
import os
import re
import subprocess
import sys
import textwrap
import threading

import pytest

DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs")
TIMEOUT = 600           # seconds per cell (a cold PostgreSQL store, a loaded machine)
MIMES = ("text/plain", "text/html")

# -- running notebooks ----------------------------------------------------------------------


def run_kernel(cells, cwd):
    """Run ``cells`` (sources) in a fresh ipykernel through nbclient; return each cell's
    outputs as :func:`_outputs` gives them."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return [_outputs(cell.outputs) for cell in nb.cells]


def _outputs(outputs):
    """``{"stdout", "stderr", "data": [{mime: text}], "error"}`` of nbformat outputs."""
    out = {"stdout": "", "stderr": "", "data": [], "error": None}
    for o in outputs:
        if o.output_type == "stream":
            out[o.name] += o.text
        elif o.output_type in ("execute_result", "display_data"):
            out["data"].append({m: _text(o.data[m]) for m in MIMES if m in o.data})
        elif o.output_type == "error":
            out["error"] = "%s: %s\n%s" % (o.ename, o.evalue, _strip_ansi("\n".join(o.traceback)))
    return out


def _text(value):
    return "".join(value) if isinstance(value, list) else value


def _strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


#: Runs cells in IPython without an event loop (as terminal IPython does); prints
#: the outputs of each cell as JSON.
_IPYTHON_RUNNER = r"""
import contextlib, io, json, sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
import pandas    # pandas fits tables to a terminal's width by hiding columns; not in a kernel
pandas.set_option("display.max_columns", 20)
results, current = [], None
def publish(data, metadata=None, **kwargs):
    current["data"].append({m: data[m] for m in ("text/plain", "text/html") if m in data})
shell.display_pub.publish = publish
hook = shell.displayhook
hook.write_output_prompt = lambda: None
hook.write_format_data = lambda data, md=None: publish(data)
for source in json.load(sys.stdin):
    current = {"stdout": "", "stderr": "", "data": [], "error": None}
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = shell.run_cell(source, store_history=True)
    current["stdout"], current["stderr"] = out.getvalue(), err.getvalue()
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        current["error"] = "%s: %s\n%s" % (type(error).__name__, error, out.getvalue())
    results.append(current)
sys.__stdout__.write(json.dumps(results))
"""


def run_ipython(cells, cwd):
    """Run ``cells`` in IPython without an event loop, in a new process in ``cwd``: the
    reference outputs (same form as :func:`run_kernel`)."""
    env = dict(os.environ, COLUMNS="80", LINES="24")
    done = subprocess.run([sys.executable, "-c", _IPYTHON_RUNNER], input=json.dumps(cells),
                          cwd=str(cwd), capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


#: What differs from run to run: timings of %time, object addresses.
_VOLATILE = [(re.compile(r"(CPU times|Wall time): .*"), r"\1: ..."),
             (re.compile(r" at 0x[0-9a-f]+"), " at 0x...")]


def normalized(text):
    for pattern, repl in _VOLATILE:
        text = pattern.sub(repl, text)
    return text


def assert_same_outputs(cells, kernel, reference, stderr_ok=()):
    """Each cell ran without error in the kernel and in the reference, and printed and
    displayed the same (text and HTML). Kernel stderr may only hold lines matching one
    of the ``stderr_ok`` patterns."""
    assert len(kernel) == len(reference) == len(cells)
    for i, (source, got, want) in enumerate(zip(cells, kernel, reference)):
        where = "cell %d:\n%s" % (i, textwrap.indent(source, "    "))
        assert got["error"] is None, "%s\nfailed in the kernel: %s" % (where, got["error"])
        assert want["error"] is None, "%s\nfailed in plain IPython: %s" % (where, want["error"])
        assert normalized(got["stdout"]) == normalized(want["stdout"]), where
        assert [{m: normalized(t) for m, t in d.items()} for d in got["data"]] == \
            [{m: normalized(t) for m, t in d.items()} for d in want["data"]], where
        stderr = [line for line in got["stderr"].splitlines()
                  if line.strip() and not any(re.search(p, line) for p in stderr_ok)]
        assert not stderr, "%s\nstderr in the kernel: %s" % (where, got["stderr"])


def display(outputs, mime="text/plain"):
    """The last displayed value of a cell (``mime`` text)."""
    assert outputs["data"], outputs
    return outputs["data"][-1][mime]
