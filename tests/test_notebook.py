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
        stderr, allowed = [], False
        for line in got["stderr"].splitlines():
            # a warning's second line (its source line) goes with its first
            allowed = any(re.search(p, line) for p in stderr_ok) or (
                allowed and line.startswith("  "))
            if line.strip() and not allowed:
                stderr.append(line)
        assert not stderr, "%s\nstderr in the kernel: %s" % (where, got["stderr"])


def display(outputs, mime="text/plain"):
    """The last displayed value of a cell (``mime`` text)."""
    assert outputs["data"], outputs
    return outputs["data"][-1][mime]


def _in_dir_with_demo(tmp_path, project):
    """A new directory holding ``smt-demo``, a link to ``project``: where the tutorial runs."""
    where = tmp_path / "notebooks"
    where.mkdir()
    os.symlink(project, where / "smt-demo")
    return where


def tutorial_cells():
    import nbformat
    nb = nbformat.read(os.path.join(DOCS, "tutorial.ipynb"), as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "docs/tutorial.ipynb is stored without outputs"
    return [c.source for c in nb.cells if c.cell_type == "code"]


# -- the tutorial ---------------------------------------------------------------------------

def test_tutorial_runs_in_a_kernel(demo_project_rw, tmp_path):
    from smt_query import RecordStoreView
    cells = tutorial_cells()
    where = _in_dir_with_demo(tmp_path, demo_project_rw.path)
    reference = run_ipython(cells, where)
    kernel = run_kernel(cells, where)
    assert_same_outputs(cells, kernel, reference)
    out = dict(zip(cells, kernel))

    def shown(part, mime="text/plain"):
        [source] = [c for c in cells if part in c]
        return display(out[source], mime)
    view = RecordStoreView(project=demo_project_rw.path).filter.tags("finished")
    assert shown("from smt_query import RecordStoreView") == \
        "<RecordStoreView of project 'demo' (filters: tags('finished'))>"
    assert shown("len(rsview)") == repr((len(view), demo_project_rw.n_records))
    merged = shown("rsview.summary.merged.tail(15)", "text/html")
    assert merged.count("<tr>") == 15 and "<th># records</th>" in merged      # + a header row
    assert "<th>avg . duration</th>" in merged and re.search(r"<td>\d+h \d\dm \d\ds</td>", merged)
    head = shown("rsview.summary.head(3)", "text/html")
    assert re.findall(r"<th>(\d{8}-\d{6}\w*)</th>", head) == view.labels()[:3]
    assert shown("rsview.latest") == "Record #%s" % view.latest.label
    assert shown("rsview.get('20201118-212254_c2c6ab')") == "Record #20201118-212254_c2c6ab"
    assert shown("figure.add_tag") == shown("figure.remove_tag") != "0"
    tagged = shown('RecordStoreView().filter.tags("figure3")', "text/html")
    assert set(re.findall(r"<th>(\d{8}-\d{6}\w*)</th>", tagged)) == set(eval(shown("figure.tag_changes")))
    assert "generic_filter(fn)\n    The default filter" in out[[c for c in cells if "print_api(fltr)" in c][0]]["stdout"]
    assert shown("from smt_query import ParameterSet") == "[-3.4729471730413772, -0.13678844546243388]"
    assert shown("killed = ") == "True"
    assert shown("get_task_param(records.latest, 'optimizer") == \
        "[3.3860280584311826, -0.11294867494456073]"
    # issue 14's forms: relative dates, smart case, saved queries through the real smt
    everything = RecordStoreView(project=demo_project_rw.path, hints=False)
    recent = len(everything.filter.after("7d"))
    assert 1 <= recent < 10 and shown("everything = RecordStoreView()") == repr(
        (len(everything), len(everything) - recent, recent))
    assert "'3 days ago'   2020-11-17 00:00 to 2020-11-18 00:00" in \
        out[[c for c in cells if "relative_span(text, now=friday)" in c][0]]["stdout"]
    smart = eval(shown("quiet = RecordStoreView(hints=False)"))
    assert smart["Fit"] == (0, 0, smart["fit"][0]) and smart["ou"][1] == 0 < smart["ou"][0]
    assert "matched case-sensitively" in shown('quiet.filter.reason("Fit").hints()')
    saved = "".join(o["stdout"] for c, o in out.items() if 'smt("query' in c or "smt('compare" in c)
    killed = everything.filter.tags("figure1").filter.status("killed")
    assert "Saved query 'killed-figs': --tag figure1 --status killed" in saved
    assert all(label in saved for label in killed.labels()) and "optimizer.lr" in saved
    assert "Deleted saved query 'killed-figs'" in saved and "No saved queries yet" in saved
    assert all(o["data"] or o["stdout"] for c, o in out.items()
               if not c.startswith(("import os", "rsview.list;"))), "a cell shows nothing"
    assert RecordStoreView(project=demo_project_rw.path).filter.tags("figure3").labels() == []


# -- every public API, in a kernel ----------------------------------------------------------

API_CELLS = [
    # views: filters, iteration, len, labels, get/latest/earliest/most_recent, [...]
    """from smt_query import RecordStoreView, ParameterComparison, dfdiff, ParameterSet
view = RecordStoreView()
finished = view.filter.tags("finished")
day = finished.filter.on(20201110).filter.params(ge={"optimizer.lr": 0.001})
print(len(view), len(finished), len(day), finished.pushed_down)""",
    """print([r.label for r in day][:3], len(list(iter(day))), "20201110-213237_87825b" in day)
print(day.labels()[:3], day.latest.label, day.earliest.label, day.most_recent())""",
    """day.get("20201110-213237_87825b"), day["20201110-213237_87825b"], day[0], day[1:3], day.aslist()[-1]""",
    """post = finished.filter(lambda r: r.duration > 36000).filter.on(20201118)
print(post.explain())
post.labels()""",
    """rows = day.rows(["label", "duration"], parameters=True)
print(len(rows), sorted(rows[0]), day.tag_names(), day.parameter_keys()[:6])""",
    """import json
[r["label"] for r in json.loads(day.export())][:3], len(json.loads(day.export_records(day[:2])))""",
    # tagging
    """print(day.tag_changes("nbtest")[:3], day.add_tag("nbtest"))
print(view.filter.tags("nbtest").labels() == day.labels(), day.remove_tag("nbtest"))""",
    # summaries: display (text and HTML), merged, head/tail, dataframe, len
    "day.summary",
    "day.summary.merged.head(3)",
    "print(repr(day.summary.tail(2)))",
    """day.summary.dataframe(fields=("reason", "duration"), parameters=("optimizer.lr",), max_chars=20)""",
    "len(day.summary), len(finished.summary.merged)",
    # comparisons
    """cmp = ParameterComparison(day)
cmp.dataframe(depth=2).drop(columns=["reason"])""",
    "dfdiff(day[0], day[1])",
    """from smt_query.compare import compare_view
c = compare_view(day, fields=("outcome",))
print(c.labels[:3], sorted(c.as_json()["differences"])[:4])""",
    # the store: our methods, and Sumatra's that Sumatra's own code calls
    """from sumatra.projects import load_project
from smt_query.recordstore import QueryDjangoRecordStore, index_status
project = load_project()
store = project.record_store
print(type(store).__name__, store.has_project("demo"), store.list_projects(), store.most_recent("demo"))
print(len(store.labels("demo", "fig")), [r.label for r in store.list("demo", "figure1")][:3])
print(index_status(store))""",
    """qs = store.queryset("demo")
print(len(qs), qs[0].label, [r.label for r in qs[:2]])
rows = store.values(store.queryset("demo").filter(label__startswith="20201110-21"), ("label", "duration"))
print([(r["label"], r["tags"]) for r in rows][:3])
print(sorted(store.label_exists("demo", ["20201110-213237_87825b", "nope"])))
print([r.label for r in store.load(store.queryset("demo").filter(label__startswith="20201110-2132"))])""",
    """ctx = store.context()
print(len(ctx.tag_names()) > 5, store.vendor in ("sqlite", "postgresql"), store.record_ctype_id > 0)
print(store.add_tag(store.queryset("demo").filter(label__startswith="20201110-2132"), "nbstore"),
      store.remove_tag(store.queryset("demo").filter(label__startswith="20201110-2132"), "nbstore"))""",
    """record = store.get("demo", "20201110-213237_87825b")
record.label, record.tags = "20201110-213237_nbcopy", {"_finished_", "nbcopy"}
store.save("demo", record)
print(store.labels("demo", "nbcopy"), store.get("demo", "20201110-213237_nbcopy").tags == record.tags)
store.update("demo", "outcome", "updated in a notebook", tags="nbcopy")
print(store.get("demo", "20201110-213237_nbcopy").outcome)
print(store.delete_by_tag("demo", "nbcopy"), store.labels("demo", "nbcopy"))""",
    """record.label = "20201110-213237_nbcopy2"
store.save("demo", record)
store.delete("demo", record.label)
print(record.label in store.labels("demo"), len(store.export("demo")) > 1000)""",
    # Sumatra's own project API, which calls the store
    """project.add_tag("20201110-213237_87825b", "nbproject")
print(view.filter.tags("nbproject").labels())
project.remove_tag("20201110-213237_87825b", "nbproject")
print(view.filter.tags("nbproject").labels(), project.most_recent().label == store.most_recent("demo"))""",
]


def test_every_public_api_runs_in_a_kernel(demo_project, demo_project_rw, backend, tmp_path):
    from conftest import _copy_project
    from smt_query.recordstore import use_query_store
    second = _copy_project(demo_project, str(tmp_path / "reference"), backend)
    for project in (demo_project_rw, second):     # Sumatra's own calls go to our store
        use_query_store(True, project.path)
    kernel = run_kernel(API_CELLS, demo_project_rw.path)
    reference = run_ipython(API_CELLS, second.path)
    hint = r"QueryHint: no record has the tag 'nbproject'"   # after remove_tag: right
    assert re.search(hint, kernel[20]["stderr"])
    assert_same_outputs(API_CELLS, kernel, reference, stderr_ok=[hint])
    out = [o["stdout"] + "".join(d.get("text/plain", "") for d in o["data"]) for o in kernel]
    assert out[0].startswith("%d " % demo_project.n_records) and out[0].endswith("True\n")
    assert "QueryDjangoRecordStore True ['demo']" in out[15]
    assert "['20201110-213237_nbcopy'] True\nupdated in a notebook\n1 []" in out[18]
    assert out[19] == "False True\n"
    assert out[20] == "['20201110-213237_87825b']\n[] True\n"


# -- %run, errors, and Django's own guard in a kernel --------------------------------------

SCRIPT = """from smt_query import RecordStoreView, get_task_param
view = RecordStoreView().filter.tags("finished").filter.on(20201110)
print(len(view), view.latest.label)
print(get_task_param(view.latest, "optimizer.model.params.μtilde"))
print(view.summary.merged.head(2)._repr_html_().count("<tr>"))
"""


def test_run_magic_errors_and_djangos_own_guard_in_a_kernel(demo_project, tmp_path):
    script = tmp_path / "analysis.py"
    script.write_text(SCRIPT, encoding="utf-8")
    plain = subprocess.run([sys.executable, str(script)], cwd=demo_project.path,
                           capture_output=True, text=True, check=True).stdout
    cells = [
        "%%run %s" % script,
        "from smt_query import RecordStoreView\nRecordStoreView().get('20991231-000000_nope')",
        """import os, threading
from django.core.exceptions import SynchronousOnlyOperation
from smt_query.recordstore import QueryDjangoRecordStore
store = QueryDjangoRecordStore(RecordStoreView().record_store._db_file)
try:
    store.models.Record.objects.using(store.db_alias).count()   # Django, not our API
except SynchronousOnlyOperation as err:
    print("refused:", type(err).__name__)
print(os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"), store.queryset("demo").count() > 0)
print(sorted(t.name for t in threading.enumerate() if t.name.startswith("smt_query")))""",
        "await __import__('asyncio').sleep(0)\nlen(RecordStoreView())",
    ]
    run, missing, guard, awaited = run_kernel(cells, demo_project.path)
    assert run["error"] is None and run["stdout"] == plain and plain.count("\n") == 3
    assert missing["error"].startswith("UnknownLabel: no record labelled '20991231-000000_nope'")
    assert "_get_many" in missing["error"]         # the worker's frames are in the traceback
    assert guard["error"] is None
    assert guard["stdout"] == "refused: SynchronousOnlyOperation\nNone True\n['smt_query-django']\n"
    assert awaited["error"] is None and display(awaited) == str(demo_project.n_records)


# -- IPython with autoawait -----------------------------------------------------------------

def test_ipython_autoawait(demo_project):
    from smt_query import RecordStoreView
    code = """import asyncio
from smt_query import RecordStoreView
await asyncio.sleep(0)
view = RecordStoreView().filter.tags("finished")
print("N", len(view), view.latest.label, view.summary.head(2)._repr_html_().count("<tr>"))
"""
    ipython = os.path.join(os.path.dirname(sys.executable), "ipython")
    done = subprocess.run([ipython, "--no-banner", "--quick", "--colors=nocolor", "-c", code],
                          cwd=demo_project.path, capture_output=True, text=True, timeout=600)
    view = RecordStoreView(project=demo_project.path).filter.tags("finished")
    assert "N %d %s 2\n" % (len(view), view.latest.label) in done.stdout, done.stdout + done.stderr
    assert "Error" not in done.stdout + done.stderr


# -- the guard itself ---------------------------------------------------------------------

from smt_query import asyncguard   # noqa: E402
from smt_query.asyncguard import run_sync, sync_entry, sync_entry_class   # noqa: E402


@sync_entry
def _where():
    return threading.current_thread()


@sync_entry
def _nested():
    return threading.current_thread(), _where()


@sync_entry
def _fails(message):
    raise ValueError(message)


@sync_entry
def _gen(n):
    for i in range(n):
        yield i, threading.current_thread()


def _in_loop(fn, *args):
    """``fn(*args)`` called from inside a running event loop (as in a notebook cell)."""
    async def main():
        return fn(*args), threading.current_thread()
    return asyncio.run(main())


def test_without_a_loop_calls_run_directly():
    assert _where() is threading.current_thread()
    assert run_sync(threading.current_thread) is threading.current_thread()
    assert list(_gen(2)) == [(0, threading.current_thread()), (1, threading.current_thread())]


def test_in_a_loop_calls_run_in_one_worker_thread_and_nest_without_waiting():
    first, loop_thread = _in_loop(_where)
    second, _ = _in_loop(_where)
    assert first is second is asyncguard._worker.thread and first is not loop_thread
    assert first.name == "smt_query-django" and first.daemon
    (outer, inner), _ = _in_loop(_nested)          # a call from the worker runs directly
    assert outer is inner is first


def test_exceptions_propagate_with_the_workers_frames():
    import traceback
    with pytest.raises(ValueError, match="from the worker") as info:
        _in_loop(_fails, "from the worker")
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "_fails" in frames and "main" in frames


def test_generators_run_in_the_worker():
    items, loop_thread = _in_loop(_gen, 3)
    items = list(items)
    assert [i for i, _ in items] == [0, 1, 2]
    assert {t for _, t in items} == {asyncguard._worker.thread}


def test_calls_from_several_loops_queue_for_the_one_worker():
    running, peak, lock = [0], [0], threading.Lock()

    @sync_entry
    def work(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        threading.Event().wait(0.01)
        with lock:
            running[0] -= 1
        return i, threading.current_thread()

    results = {}

    def client(k):
        results[k] = [_in_loop(work, (k, j))[0] for j in range(5)]
    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {k: [i for i, _ in r] for k, r in results.items()} == \
        {k: [(k, j) for j in range(5)] for k in range(4)}
    assert {t for r in results.values() for _, t in r} == {asyncguard._worker.thread}
    assert peak[0] == 1


def test_class_guard_wraps_public_methods_properties_and_inherited_ones():
    class Base:
        def inherited(self):
            return threading.current_thread()

    @sync_entry_class
    class Guarded(Base):
        def __init__(self):
            self.made_in = threading.current_thread()

        def method(self):
            return threading.current_thread()

        @property
        def prop(self):
            return threading.current_thread()

        @staticmethod
        def static():
            return threading.current_thread()

        def _private(self):
            return threading.current_thread()

    def calls():
        g = Guarded()
        return g.made_in, g.method(), g.prop, g.static(), g.inherited(), g._private()
    threads, loop_thread = _in_loop(calls)
    worker = asyncguard._worker.thread
    assert threads[:5] == (worker,) * 5 and threads[5] is loop_thread
    assert Base.inherited(Guarded()) is threading.current_thread()   # Base itself unchanged


def test_querysets_come_back_evaluated_and_djangos_guard_stays_on(demo_project_rw):
    from django.core.exceptions import SynchronousOnlyOperation
    from smt_query.recordstore import QueryDjangoRecordStore
    store = QueryDjangoRecordStore(demo_project_rw.store_uri)

    def cell():
        qs = store.queryset("demo")
        labels = [r.label for r in qs]             # iterated in the loop's thread
        with pytest.raises(SynchronousOnlyOperation):
            store.queryset("demo").filter(label="x").exists()   # a new query: Django's guard
        return labels
    labels, _ = _in_loop(cell)
    assert len(labels) == demo_project_rw.n_records
    assert "DJANGO_ALLOW_ASYNC_UNSAFE" not in os.environ


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_its_own_worker():
    import warnings
    _in_loop(_where)                                 # the parent's worker exists
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:                                     # child: a worker of its own, or exit 1
        try:
            thread, _ = _in_loop(_where)
            os._exit(0 if thread is asyncguard._worker.thread and thread.is_alive() else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
