"""The smttask guide "Finding records", cell by cell, with only its import lines changed.

The demo (``smt_query.demo.GUIDE_RECORDS``) holds the records the guide's cells name, with
the values its outputs show, so the guide's cells run on it as written, in a real
Jupyter kernel; where the guide shows a value that the demo reproduces, the kernel
shows the same. Also :class:`smt_query.ParameterSet` and :func:`smt_query.print_api`.
"""
import io
import re

import pytest

from test_notebook import assert_same_outputs, display, run_ipython, run_kernel

MU = [-3.4729471730413772, -0.13678844546243388]

#: The guide's cells (``In [n]``), in the guide's order; only cell 2's imports changed.
GUIDE_CELLS = {
    2: "import smt_query as smttask\n"
       "import smt_query.utils\n"
       "from tqdm.auto import tqdm\n"
       "from smt_query import ParameterSet  # Customized version of parameters.ParameterSet\n"
       "from smt_query.utils import print_api\n"
       "from smt_query import dfdiff, ParameterComparison",
    3: 'rsview = smttask.RecordStoreView().filter.tags("finished")',
    4: "rsview.list;",
    5: "rsview.summary.merged.tail(15)",
    6: "rsview.latest",
    7: "rsview.get('20201118-212254_c2c6ab')",
    8: "rsview.get(['20201118-212254_c2c6ab', '20201119-095543_8b5fc1'])",
    9: "rsview['20201118-212254_c2c6ab']",
    10: "rsview[0]",
    11: "records = (rsview.filter.after(20200912)\n"
        "                 .filter.before(20200916)\n"
        "          ).list\n"
        "records.summary",
    12: "for fltr in rsview.filter.registered_filters.values():\n"
        "    print_api(fltr)",
    13: "rsview.filter.params(\n"
        "    eq={'optimizer.model.params.μtilde': [-3.4729471730413772, -0.13678844546243388]}\n"
        ").summary",
    14: "# Full key of the first record includes three task descs:\n"
        "ParameterSet(rsview['20201119-090726_a8a2b0'].parameters)[\n"
        "    'inputs.optimizer.inputs.model.inputs.params.μtilde']",
    15: "rsview2 = smttask.RecordStoreView()",
    16: "%time rsview2.filter.tags('killed').filter.label('202011').list;",
    17: "%time rsview2.filter.label('202011').filter.tags('killed').list;",
    18: "records = rsview.filter.output().filter(lambda rec: rec.duration > 10*60*60).list\n"
        "records.summary",
    19: "record1 = rsview.get('20201119-075320_7b84e7')\n"
        "record2 = rsview.get('20201119-042150_e177c4')",
    20: "params1 = ParameterSet(record1.parameters)\n"
        "params2 = ParameterSet(record2.parameters)",
    21: "# Commented out for brevity\n"
        "#print(params1.pretty())",
    22: "dfdiff(params1, params2)",
    23: "dfdiff(params1, params2).sort_index().loc[('inputs','optimizer','model')]",
    24: "cmp = ParameterComparison(rsview.filter.on(20201110))",
    25: "cmp.dataframe()",
    26: "cmp.dataframe(depth=2).drop(columns=['reason'])",
    40: "for rec, _ in zip(records, range(4)):\n"
        '    print(f"----- {rec.label} -------")\n'
        '    print("\\n".join(rec.reason))\n'
        '    print("")',
    28: "records = rsview.filter.on(20201110).list\n"
        "cmp = ParameterComparison(params=[smttask.utils.fold_task_inputs(rec.parameters)\n"
        "                                  for rec in records],\n"
        "                          labels=[rec.label for rec in records])",
    29: "cmp.dataframe(depth=1)",
    30: "smttask.utils.get_task_param(records.latest, 'optimizer.model.params.μtilde')    # Record",
    31: "smttask.utils.get_task_param(records.latest.parameters,                          # ParameterSet\n"
        "                             'optimizer.model.params.μtilde')",
}

#: The guide's cells left out: they need the author's own packages.
LEFT_OUT = {
    1: "import IndEEG; IndEEG.setup(...); import sinn -- the author's project",
    33: "smttask.Task.from_desc(...) -- rebuilds the author's task: needs its code",
}

#: ``from tqdm.auto import tqdm`` in a kernel without ipywidgets (the guide's own line).
TQDM_WARNING = (r"TqdmWarning: IProgress not found", r"^\s+from \.autonotebook import tqdm")


def _labels(outputs):
    """The record labels indexing the rows of the DataFrame a cell shows (from its HTML)."""
    return re.findall(r"<th>(\d{8}-\d{6}(?:_[0-9a-f]+)?)</th>", display(outputs, "text/html"))


#: What the guide shows and the demo reproduces: cell -> check of the kernel's outputs.
GUIDE_SHOWS = {
    7: lambda o: display(o) == "Record #20201118-212254_c2c6ab",
    8: lambda o: display(o) == "[Record #20201118-212254_c2c6ab, Record #20201119-095543_8b5fc1]",
    9: lambda o: display(o) == "Record #20201118-212254_c2c6ab",
    11: lambda o: {"20200915-164710_90be", "20200915-164710_4e31", "20200915-154121_d464",
                   "20200915-154121_a0fa", "20200912-132121_d712", "20200912-132121_c390",
                   "20200912-132121_773d"} <= set(_labels(o))
    and "4h 20m 17s" in display(o) and "0h 21m 17s" in display(o, "text/html"),
    12: lambda o: o["stdout"].startswith("generic_filter(fn)\n    The default filter: keep records "
                                         "for which `fn` returns True.\n    Equivalent to Python's "
                                         "`filter`.\n\n")
    and "\nbefore(date, *args)\n    Keep only records which occurred before the given date. "
        "Date is exclusive.\n" in o["stdout"],
    13: lambda o: _labels(o) == ["20201119-090726_a8a2b0", "20201114-221233_dcfd10",
                                          "20201110-213127_351be7", "20201109-183035_bfd996"]
    and "11h 21m 51s" in display(o, "text/html"),
    14: lambda o: display(o) == repr(MU),
    22: lambda o: all(s in display(o) for s in (
        "7b84e7ecbb__nsteps_25000", "e177c4e9ca__nsteps_25000", ".cache/latents_process-2",
        ".cache/latents_process-4", "μtilde", "τtilde", "σtilde", "Wtilde", "recorders"))
    and "lr" not in _index_words(display(o)),
    23: lambda o: re.findall(r"<th>(.*?)</th>\s*<td>", display(o, "text/html")) == [
        "Wtilde", "μtilde", "σtilde", "τtilde"] and '<th rowspan="4" valign="top">params</th>'
    in display(o, "text/html"),
    26: lambda o: all(c in display(o, "text/html") for c in (
        "<th>inputs.hashed_digest</th>", "<th>inputs.recorders</th>",
        "<th>inputs.optimizer</th>", "<th>inputs.digest</th>"))
    and "reason" not in display(o, "text/html")
    and _labels(o)[:5] == ["20201110-213237_87825b", "20201110-213215_acd030",
                                    "20201110-213133_4ca955", "20201110-213127_351be7",
                                    "20201110-213116_cce369"],
    29: lambda o: "<th>hashed_digest</th>" in display(o, "text/html")
    and "87825b4f90" in display(o, "text/html"),
    30: lambda o: display(o) == "[3.3860280584311826, -0.11294867494456073]",
    31: lambda o: display(o) == "[3.3860280584311826, -0.11294867494456073]",
}


def _index_words(text):
    """The words of a DataFrame text's index part (before the first value column)."""
    return {w for line in text.splitlines()[1:] for w in line.split()[:5]}


def test_the_guide_runs_in_a_kernel_with_only_its_imports_changed(demo_project_rw):
    assert not set(GUIDE_CELLS) & set(LEFT_OUT)
    cells = list(GUIDE_CELLS.values())
    kernel = run_kernel(cells, demo_project_rw.path)
    by_number = dict(zip(GUIDE_CELLS, kernel))
    for number, check in GUIDE_SHOWS.items():
        assert by_number[number]["error"] is None, by_number[number]["error"]
        assert check(by_number[number]), "In [%d]: %r" % (number, by_number[number])
    reference = run_ipython(cells, demo_project_rw.path)
    assert_same_outputs(cells, kernel, reference, stderr_ok=TQDM_WARNING)
    shown = {n for n, o in by_number.items() if o["data"] or o["stdout"]}
    # every cell that shows something in the guide, but its two progress bars (24, 28)
    assert shown == {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 22, 23, 25, 26, 40, 29, 30, 31}


# -- ParameterSet and print_api ------------------------------------------------------------

def test_parameter_set_accepts_what_holds_parameters(demo_project):
    from sumatra.parameters import (JSONParameterSet, NTParameterSet, SimpleParameterSet,
                                    YAMLParameterSet)
    import parameters
    from smt_query import ParameterSet, RecordStoreView
    record = RecordStoreView(project=demo_project.path).get("20201119-090726_a8a2b0")
    full = "inputs.optimizer.inputs.model.inputs.params.μtilde"
    for source in (record, record.parameters, record.parameters.as_dict(),
                   parameters.ParameterSet(record.parameters.as_dict())):
        ps = ParameterSet(source)
        assert isinstance(ps, parameters.ParameterSet)
        assert ps[full] == MU
        assert ps.inputs.optimizer.inputs.model.inputs.params["μtilde"] == MU   # attributes
        assert ps["inputs"]["optimizer"]["inputs"]["lr"] == ps[("inputs", "optimizer", "inputs", "lr")]
        assert isinstance(ps.inputs.optimizer, ParameterSet) and full in ps
        assert ps.as_dict() == record.parameters.as_dict()
    assert ParameterSet(record).label == record.label
    text = {JSONParameterSet: '{"a": {"b": 1}, "c": [1, 2]}', YAMLParameterSet: "a: {b: 1}\nc: [1, 2]",
            NTParameterSet: "{'a': {'b': 1}, 'c': [1, 2]}", SimpleParameterSet: "c = [1, 2]"}
    for cls, content in text.items():
        ps = ParameterSet(cls(content))
        assert ps["c"] == [1, 2] and (cls is SimpleParameterSet or ps["a.b"] == 1), cls
    assert ParameterSet(None) == {}


def test_parameter_set_applies_overrides_and_keeps_odd_keys():
    from smt_query import ParameterSet
    desc = {"taskname": "Fit", "module": "m", "inputs": {"opt": {"lr": 0.1}, "names": 3},
            "opt.lr": 0.2}                        # Sumatra's literal key for `opt.lr=0.2`
    ps = ParameterSet(desc)
    assert ps["inputs.opt.lr"] == 0.2 and "opt.lr" not in dict(ps)
    assert ps["inputs"]["names"] == 3             # parameters.ParameterSet refuses this name
    import pickle
    again = pickle.loads(pickle.dumps(ps))
    assert type(again) is ParameterSet and again == ps and again.inputs.opt.lr == 0.2


@pytest.mark.parametrize("text", ["/etc/hostname", "{'a': __import__('os').getpid()}",
                                  b"{'a': 1}"])
def test_parameter_set_never_opens_or_evaluates_text(text):
    import pathlib
    from smt_query import ParameterSet
    with pytest.raises(TypeError, match="never opens or evaluates text"):
        ParameterSet(text)
    with pytest.raises(TypeError, match="never opens or evaluates text"):
        ParameterSet(pathlib.Path("/etc/hostname"))


def test_print_api_prints_every_registered_filter(demo_project):
    import inspect
    from smt_query import RecordStoreView, print_api
    from smt_query.filters import FILTERS
    view = RecordStoreView(project=demo_project.path)
    each = io.StringIO()
    for fltr in view.filter.registered_filters.values():
        print_api(fltr, file=each)
    entries = each.getvalue().split("\n\n")
    assert entries[-1] == "" and len(entries) - 1 >= len(FILTERS)
    for name, cls in FILTERS.items():
        head = "%s%s\n" % (name, inspect.signature(cls))
        assert head in each.getvalue()
        doc = inspect.getdoc(cls).splitlines()
        assert head + "\n".join("    " + line if line else "" for line in doc) + "\n\n" \
            in each.getvalue(), name
    whole = io.StringIO()
    print_api(view.filter, file=whole)            # the accessor: all of them
    assert whole.getvalue() == each.getvalue()
    one = io.StringIO()
    print_api(FILTERS["on"], file=one)
    assert one.getvalue().startswith("on(date, *args)\n    Keep only records which occurred on")


def test_print_api_of_a_function():
    from smt_query import get_task_param, print_api
    out = io.StringIO()
    print_api(get_task_param, file=out)
    assert out.getvalue().startswith("get_task_param(obj, name, default=<absent>)\n"
                                     "    Value of a (nested) parameter, looking through task")
