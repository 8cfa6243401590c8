"""Metrics (issue 16): definitions, values from outcomes and output files of
real ``smt run`` records, the store's table, ``metric.NAME`` in --where /
--sort / --metric / --group-by / JSON, SQL = Python on both databases."""
import json
import math
import os
import shutil
import subprocess
import sys
import types

import pytest
from hostile import run_sql
from test_admin import admin_user  # noqa: F401 (a fixture)

from smt_query import RecordStoreView
from smt_query.demo import _call, init_project, smt, smt_run
from smt_query.errors import QueryError
from smt_query.metrics import (
    UnreadableOutput,
    add_metric,
    metric_definitions,
    refresh_metrics,
    remove_metric,
)
from smt_query.query import load_query, save_query

LOGL = r"log L (?:plateaued at|is) (\S+)"
PASSES = r"after (\d+) passes"

#: Conditions on metrics (and parameters, fields) checked SQL = Python on the demo.
EXPRESSIONS = [
    "metric.logL < -5e4",
    "metric.logL >= -5e4 and optimizer.lr > 1e-3",
    "metric.logL < -5e4 and optimizer.lr > 1e-3",
    "metric.logL != -87217.5",
    "metric.logL == -87217.5",
    "metric.logL exists",
    "metric.logL missing",
    "not metric.logL > -6e4",
    "metric.logL in [1, 2, -87217.5]",
    "metric.logL not in [-87217.5]",
    "metric.logL == 'x'",
    "metric.logL != 'x'",
    "metric.logL ~ 'a'",
    "metric.passes in [10000, 25000] or 'fig' in tags",
    "metric.logL < -5e4 or metric.passes == 5000",
    "not (metric.passes >= 10000 and status == 'finished')",
    "metric.passes > 1e999",
]


def smt_cli(path, *args, check=True):
    exe = os.path.join(os.path.dirname(sys.executable), "smt")
    proc = subprocess.run([exe, *args], cwd=path, capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_where_on_metrics_sql_equals_python(demo_project_rw):
    path = demo_project_rw.path
    add_metric("logL", from_outcome=LOGL, start=path)
    add_metric("passes", from_outcome=PASSES, start=path)
    seen_nonempty = 0
    for expr in EXPRESSIONS:
        sql = RecordStoreView(project=path).filter.where(expr)
        python = RecordStoreView(project=path, pushdown=False).filter.where(expr)
        if "1e999" not in expr:
            assert sql.pushed_down, expr
        assert sql.labels() == python.labels(), expr
        seen_nonempty += bool(sql.labels())
    assert seen_nonempty >= 10
    # NaN is a value ("log L is NaN"): != holds, < does not
    nan = RecordStoreView(project=path).filter.where("metric.logL != 0 and outcome ~ 'NaN'")
    assert len(nan) > 0
    assert len(nan.filter.where("metric.logL < 0")) == 0


def test_metric_columns_sort_group_json(demo_project_rw):
    path = demo_project_rw.path
    smt_cli(path, "querystore", "metric", "add", "logL", "--from-outcome", LOGL)
    out = smt_cli(path, "query", "--metric", "logL", "--where", "metric.logL < -5e4",
                  "--sort", "-metric.logL", "--format", "json", "--fields", "label,outcome").stdout
    rows = json.loads(out)
    assert rows and all(set(r["metrics"]) == {"logL"} for r in rows)
    values = [r["metrics"]["logL"] for r in rows]
    assert values == sorted(values, reverse=True) and all(v < -5e4 for v in values)
    for r in rows:   # the value is the outcome's number
        assert float(r["outcome"].rsplit(" ", 1)[-1]) == r["metrics"]["logL"]
    table = smt_cli(path, "query", "--metric", "logL", "--sort", "metric.logL",
                    "--limit", "3", "--fields", "label").stdout
    assert "metric.logL" in table.splitlines()[0]
    # --param metric.X is the same column; --group-by a metric counts per value
    csv_out = smt_cli(path, "query", "--param", "metric.logL", "--format", "csv",
                      "--fields", "label", "--where", "metric.logL exists").stdout
    present = RecordStoreView(project=path).filter.where("metric.logL exists")
    assert len(csv_out.splitlines()) - 1 == len(present) > len(rows)
    assert "nan" in csv_out     # "log L is NaN": a value
    grouped = smt_cli(path, "query", "--group-by", "metric.logL", "--format", "json").stdout
    groups = json.loads(grouped)
    assert sum(g["count"] for g in groups) == demo_project_rw.n_records
    # --aggregate metric.X: count, mean, min, max of its numbers per group
    from smt_query.rows import read_rows
    by_status = {}
    for r in read_rows(RecordStoreView(project=path), ["label", "status"], ["metric.logL"]):
        value = r["metric.logL"]
        if value is not None and math.isfinite(value):
            by_status.setdefault(r["status"], []).append(value)
    groups = json.loads(smt_cli(path, "query", "--group-by", "status", "--aggregate",
                                "metric.logL", "--format", "json").stdout)
    assert {g["status"] for g in groups if g["mean_metric.logL"] is not None} == set(by_status)
    for g in groups:
        numbers = by_status.get(g["status"])
        if numbers:
            assert g["mean_metric.logL"] == pytest.approx(sum(numbers) / len(numbers))
            assert (g["min_metric.logL"], g["max_metric.logL"]) == (min(numbers), max(numbers))
    # the Python view: summary rows carry the column
    view = RecordStoreView(project=path).filter.where("metric.logL < -8e4")
    got = read_rows(view, ["label"], ["metric.logL"])
    assert got and all(r["metric.logL"] < -8e4 for r in got)
    frame = view.summary.dataframe(fields=["label"], parameters=["metric.logL"])
    assert list(frame["metric.logL"]) == [r["metric.logL"] for r in got]


def test_unknown_metric_and_bad_definitions(demo_project_rw):
    path = demo_project_rw.path
    proc = smt_cli(path, "query", "--where", "metric.nope > 1", check=False)
    assert proc.returncode != 0 and proc.stderr.startswith("Error: unknown metric 'nope'")
    assert "Traceback" not in proc.stderr
    for args in (["1bad", "--from-outcome", "x"], ["ok", "--from-outcome", "("],
                 ["ok", "--from-output", "nokey"], ["ok"]):
        proc = smt_cli(path, "querystore", "metric", "add", *args, check=False)
        assert proc.returncode != 0 and proc.stderr.startswith("Error: "), args
    with pytest.raises(QueryError, match="no metric"):
        remove_metric("ghost", start=path)


def test_definitions_live_beside_saved_queries(demo_project_rw):
    path = demo_project_rw.path
    add_metric("logL", from_outcome=LOGL, start=path)
    save_query("fig", {"tag": ["fig"]}, start=path)
    add_metric("passes", from_outcome=PASSES, start=path)
    assert set(metric_definitions(path)) == {"logL", "passes"}
    assert load_query("fig", start=path) == {"tag": ["fig"]}
    with open(os.path.join(path, ".smt", "smt_query.json"), encoding="utf-8") as f:
        data = json.load(f)
    assert set(data) == {"queries", "metrics"}
    listed = smt_cli(path, "querystore", "metric", "list").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["logL", "passes"]
    smt_cli(path, "querystore", "metric", "remove", "passes")
    assert set(metric_definitions(path)) == {"logL"}
    # nothing of Sumatra's project file changed
    with open(os.path.join(path, ".smt", "project"), encoding="utf-8") as f:
        assert "from_outcome" not in f.read()


def test_refresh_is_incremental(demo_project_rw):
    path = demo_project_rw.path
    remove_metric("logL", start=path)   # the demo's, whose values a copy of it may carry
    assert refresh_metrics(path) == {}
    add_metric("logL", from_outcome=LOGL, start=path)
    assert refresh_metrics(path) == {"logL": demo_project_rw.n_records}
    assert refresh_metrics(path) == {"logL": 0}
    label = RecordStoreView(project=path).filter.where("metric.logL < -5e4").labels()[0]
    smt(path, "comment", "--replace", label, "log L plateaued at 17")
    assert refresh_metrics(path) == {"logL": 1}
    assert RecordStoreView(project=path).filter.where("metric.logL == 17").labels() == [label]
    # a changed definition: every record again
    add_metric("logL", from_outcome=r"log L plateaued at (\S+)", start=path)
    assert refresh_metrics(path) == {"logL": demo_project_rw.n_records}
    # a query refreshes by itself: an outcome edited in place (smt comment) ...
    smt(path, "comment", "--replace", label, "log L plateaued at 18")
    assert RecordStoreView(project=path).filter.where("metric.logL == 18").labels() == [label]
    assert refresh_metrics(path) == {"logL": 0}
    # ... a deleted record, and one re-using a deleted record's id (SQLite may)
    other = RecordStoreView(project=path).filter.where("metric.logL missing").labels()[-1]
    smt(path, "delete", other)
    assert RecordStoreView(project=path).filter.where("metric.logL == 18").labels() == [label]
    assert refresh_metrics(path) == {"logL": 0}
    assert refresh_metrics(path, everything=True) == {"logL": demo_project_rw.n_records - 1}
    # values of a removed metric leave the table
    remove_metric("logL", start=path)
    refresh_metrics(path)
    assert run_sql(demo_project_rw, "SELECT COUNT(*) FROM smtq_metric")[0][0] == 0
    assert run_sql(demo_project_rw, "SELECT COUNT(*) FROM django_store_record")[0][0] \
        == demo_project_rw.n_records - 1


MAIN_OUTPUTS = '''"""Write one result in each format under Data/ (names unique per run)."""
import json, os, sys
import numpy as np
with open(sys.argv[1], encoding="utf-8") as f:
    a = json.load(f)["a"]
os.makedirs("Data", exist_ok=True)
with open("Data/out_%s.json" % a, "w") as f:
    json.dump({"train": {"loss": a / 10, "hist": [1, 2, a]}}, f)
with open("Data/out_%s.yaml" % a, "w") as f:
    f.write("eval:\\n  acc: %s\\n" % (a * 2))
with open("Data/hist_%s.csv" % a, "w") as f:
    f.write("step,loss\\n1,9\\n2,%s\\n" % (a + 0.5))
np.savez("Data/arrays_%s.npz" % a, score=np.array([1.0, a * 3.0]), one=np.array(a * 4.0))
print("done")
'''


@pytest.fixture
def outputs_project(tmp_path, backend):
    """A real project whose runs write JSON, YAML, CSV and .npz outputs
    (``a`` = 1, 2, 3), with outcomes set by ``smt comment``."""
    path = str(tmp_path / "outputs")
    init_project(path, {"a": 1}, store=backend.new_store())
    with open(os.path.join(path, "main.py"), "w", encoding="utf-8") as f:
        f.write(MAIN_OUTPUTS)
    _call(["git", "add", "main.py"], path)
    _call(["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "outputs"], path)
    labels = {}
    for a in (1, 2, 3):
        label = smt_run(path, "default.json", f"a={a}")
        smt(path, "comment", label, f"score = {a * -1.5e4}" if a != 3 else "score = nan")
        labels[a] = label
    return path, labels


def store_of(path):
    """What ``run_sql`` needs of the project at ``path``: its store's address."""
    with open(os.path.join(path, ".smt", "project"), encoding="utf-8") as f:
        store = json.load(f)["record_store"]
    uri = store.get("db_file") or store.get("url") or store.get("uri")
    return types.SimpleNamespace(store_uri=uri)


def test_metrics_from_outputs_of_real_runs(outputs_project):
    path, labels = outputs_project
    for name, source in [("score", ["--from-outcome", r"score = (\S+)"]),
                         ("loss", ["--from-output", "*.json:train.loss"]),
                         ("last", ["--from-output", "out_*.json:train.hist.-1"]),
                         ("acc", ["--from-output", "*.yaml:eval.acc"]),
                         ("csvloss", ["--from-output", "hist_*.csv:loss"]),
                         ("npz", ["--from-output", "*.npz:score"]),
                         ("npzone", ["--from-output", "arrays_*.npz:one"]),
                         ("none", ["--from-output", "*.json:train.missing"])]:
        smt_cli(path, "querystore", "metric", "add", name, *source)
    names = ["score", "loss", "last", "acc", "csvloss", "npz", "npzone", "none"]
    args = [a for n in names for a in ("--metric", n)]
    rows = json.loads(smt_cli(path, "query", *args, "--format", "json").stdout)
    by_label = {r["label"]: r["metrics"] for r in rows}
    for a, label in labels.items():
        got = by_label[label]
        expected = {"loss": a / 10, "last": a, "acc": a * 2, "csvloss": a + 0.5,
                    "npz": a * 3.0, "npzone": a * 4.0, "none": None}
        assert {k: got[k] for k in expected} == pytest.approx(expected), (a, got)
        assert (got["score"] is None if a == 3 else got["score"] == a * -1.5e4)  # JSON: NaN is null
    # SQL = Python on each metric
    for expr in ["loss > 0.15", "acc == 4", "csvloss <= 2.5", "npz in [3, 9]",
                 "score < -2e4", "score != 1", "none exists", "npzone missing"]:
        expr = "metric." + expr
        sql = RecordStoreView(project=path).filter.where(expr)
        python = RecordStoreView(project=path, pushdown=False).filter.where(expr)
        assert sql.pushed_down and sql.labels() == python.labels(), expr
    assert RecordStoreView(project=path).filter.where("metric.acc == 4").labels() == [labels[2]]
    # smt compare shows them as keys metric.NAME
    out = smt_cli(path, "compare", labels[1], labels[2], "--metric", "acc",
                  "--format", "json").stdout
    assert "metric.acc" in out and "2.0" in out and "4.0" in out
    from smt_query.compare import compare_view
    rows, columns = compare_view(RecordStoreView(project=path), metrics=["acc"]).table()
    assert "metric.acc" in columns


def test_hostile_output_paths(make_project, tmp_path):
    """Output-file paths come from rows: nothing outside the data store's root
    is read, files that cannot be read are named once and have no value."""
    import numpy as np
    project = make_project(runs=[{}, {"overrides": ["a=2"]}, {"overrides": ["a=3"]},
                                 {"overrides": ["a=4"]}, {"overrides": ["a=5"]}])
    path = project.path
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"train": {"loss": 42}}))
    data = os.path.join(path, "Data")
    os.symlink(secret, os.path.join(data, "link_secret.json"))
    obj = np.empty(1, dtype=object)
    obj[0] = {"x": 1}
    np.save(os.path.join(data, "pickled.npy"), obj, allow_pickle=True)
    with open(os.path.join(data, "pickled.npy"), "rb") as f:
        import zipfile
        with zipfile.ZipFile(os.path.join(data, "pickled_secret.npz"), "w") as z:
            z.writestr("train.npy", f.read())
    bomb = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]" for i in range(9)])
    with open(os.path.join(data, "bomb_secret.yaml"), "w") as f:
        f.write(bomb + "\ntrain: {loss: 1}\n")
    hostile = ["../secret.json", str(secret), "link_secret.json", "pickled_secret.npz",
               "bomb_secret.yaml"]
    for label, key_path in zip(project.labels, hostile):
        [(db_id,)] = run_sql(project, "SELECT db_id FROM django_store_record WHERE label = %s",
                             (label,))
        run_sql(project, "DELETE FROM django_store_datakey WHERE output_from_record_id = %s",
                (db_id,))
        run_sql(project, "INSERT INTO django_store_datakey (path, digest, metadata, "
                         "output_from_record_id) VALUES (%s, 'x', '{}', %s)", (key_path, db_id))
    add_metric("leak", from_output="*secret*:train.loss", start=path)
    with pytest.warns(UnreadableOutput) as caught:
        assert refresh_metrics(path) == {"leak": 5}
    messages = [str(w.message) for w in caught if issubclass(w.category, UnreadableOutput)]
    assert len(messages) == 5 and len(set(messages)) == 5
    assert all("cannot read output file" in m for m in messages)
    assert RecordStoreView(project=path).filter.where("metric.leak exists").labels() == []
    python = RecordStoreView(project=path, pushdown=False).filter.where("metric.leak exists")
    with pytest.warns(UnreadableOutput):
        found = python.labels()
    assert found == []
    # on the command line: one line each on stderr, exit 0
    proc = smt_cli(path, "querystore", "metric", "refresh", "--all")
    assert proc.stderr.count("Warning: ") == 5 and "leak: computed for 5" in proc.stdout


def test_admin_where_box_reads_metrics(demo_project_rw, admin_user):  # noqa: F811
    """The admin's where box: metric.NAME in SQL, and in Python when the rest
    of the condition has no SQL form (the same records as the library)."""
    from django.test import Client
    from test_admin import _quote, listed, showing
    path = demo_project_rw.path
    add_metric("logL", from_outcome=LOGL, start=path)
    client = Client()
    client.force_login(admin_user)
    with showing(path):
        for text in ("metric.logL < -5e4",
                     "metric.logL < -5e4 and nsteps < 100000000000000000000"):
            labels, _ = listed(client, "where=" + _quote(text))
            assert labels == RecordStoreView(project=path).filter.where(text).labels(), text
            assert labels



#: Records an output file for an existing record through Sumatra's own API
#: (its data store's key, ``project.save_record``), as a later step of a run may.
SAVE_NEW_OUTPUT = """
import json, os, sys
from sumatra.datastore.filesystem import DataFile
from sumatra.projects import load_project
project = load_project(sys.argv[1])
record = project.get_record(sys.argv[2])
with open(os.path.join(record.datastore.root, "a_new.json"), "w") as f:
    json.dump({"train": {"loss": 7.5}}, f)
record.output_data.append(DataFile("a_new.json", record.datastore).generate_key())
project.save_record(record)
"""


def reject(constant):
    raise ValueError(f"not JSON: {constant}")


def strict_json(text):
    """``text`` parsed as strict JSON (no NaN / Infinity), and by jq if installed."""
    if shutil.which("jq"):
        proc = subprocess.run(["jq", "-c", "."], input=text, capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 0, proc.stderr
    return json.loads(text, parse_constant=reject)


def test_changed_records_refresh_by_themselves(outputs_project):
    """A query sees an outcome edited in place and an output file recorded
    later, with no `metric refresh`; a table left by the last version keeps
    working; NaN and infinities are JSON null."""
    path, labels = outputs_project
    add_metric("loss", from_output="*.json:train.loss", start=path)
    add_metric("score", from_outcome=r"score = (\S+)", start=path)

    def where(expr):
        return RecordStoreView(project=path).filter.where(expr).labels()

    assert where("metric.loss == 0.1") == [labels[1]]
    assert where("metric.score < -1e300") == []
    # the metric table as the last version left it: output values without a
    # fingerprint, its state table beside it
    project = store_of(path)
    run_sql(project, "UPDATE smtq_metric SET source = NULL WHERE name = 'loss'")
    run_sql(project, "DROP TABLE smtq_metric_mark")
    run_sql(project, "CREATE TABLE smtq_metric_state (project VARCHAR(100) NOT NULL, name "
                     "VARCHAR(100) NOT NULL, defn VARCHAR(32) NOT NULL, n INTEGER NOT NULL, "
                     "max_id INTEGER, PRIMARY KEY (project, name))")
    out = smt_cli(path, "query", "--where", "metric.loss > 0.15", "--format", "labels").stdout
    assert sorted(out.split()) == sorted([labels[2], labels[3]])
    tables = {r[0] for r in run_sql(project, "SELECT name FROM sqlite_master") or ()} \
        if not project.store_uri.startswith("postgres") else {r[0] for r in run_sql(
            project, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert "smtq_metric_mark" in tables and "smtq_metric_state" not in tables
    # an output file recorded later, an outcome edited in place: seen by the next query
    subprocess.run([sys.executable, "-c", SAVE_NEW_OUTPUT, path, labels[1]], cwd=path,
                   check=True, capture_output=True)
    smt(path, "comment", "--replace", labels[2], "score = -inf")
    out = smt_cli(path, "query", "--where", "metric.score < -1e300 or metric.loss == 7.5",
                  "--format", "labels").stdout
    assert sorted(out.split()) == sorted([labels[1], labels[2]])
    assert where("metric.loss == 7.5") == [labels[1]]
    assert refresh_metrics(path) == {"loss": 0, "score": 0}
    # JSON: NaN (labels[3]) and -inf (labels[2]) are null, read by strict parsers
    rows = strict_json(smt_cli(path, "query", "--metric", "score", "--metric", "loss",
                               "--param", "metric.score", "--format", "json").stdout)
    by_label = {r["label"]: r for r in rows}
    assert by_label[labels[3]]["metrics"]["score"] is None
    assert by_label[labels[2]]["metrics"]["score"] is None
    assert by_label[labels[2]]["metric.score"] is None
    assert by_label[labels[1]]["metrics"] == {"score": -1.5e4, "loss": 7.5}
    assert math.isnan(RecordStoreView(project=path).summary.dataframe(
        fields=["label"], parameters=["metric.score"]).set_index("label")
        .loc[labels[3], "metric.score"])    # in Python still NaN
    compared = strict_json(smt_cli(path, "compare", labels[2], labels[3], "--metric", "score",
                                   "--format", "json").stdout)
    assert compared["records"] == [labels[2], labels[3]]


def test_parameter_comparison_with_metrics(demo_project_rw, tmp_path):
    """ParameterComparison(metrics=...): the keys ``metric.NAME`` of smt compare
    --metric (the same values), in its DataFrame and as parallel-coordinate axes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.image
    import matplotlib.pyplot as plt

    from smt_query.compare import compare_view
    from smt_query.metrics import metric_values
    from smt_query.params import MISSING, ParameterComparison
    path = demo_project_rw.path
    add_metric("logL", from_outcome=LOGL, start=path)
    add_metric("passes", from_outcome=PASSES, start=path)
    view = RecordStoreView(project=path)
    labels = view.filter.where("metric.logL < 0").labels()[:5]   # and one without logL:
    labels.append(view.filter.where("metric.logL missing and metric.passes exists").labels()[0])
    chosen = view.filter.labels(*labels)
    values = metric_values(chosen, ["logL", "passes"])
    assert len({values[lbl]["logL"] for lbl in labels[:5]}) > 1

    comparison = ParameterComparison(chosen, metrics=["logL"])
    frame = comparison.dataframe()
    assert list(frame["metric.logL"]) == [values.get(lbl, {}).get("logL", MISSING)
                                          for lbl in comparison.labels]
    assert "metric.passes" not in frame
    assert comparison.differences["metric.logL"] == \
        compare_view(chosen, metrics=["logL"]).comparison.differences["metric.logL"]
    declared = ParameterComparison(chosen, metrics=True).differences
    assert {"metric.logL", "metric.passes"} <= set(declared)

    data = comparison.parallel_data()
    assert "metric.logL" in data["keys"]
    ax = comparison.plot()
    try:
        assert "metric.logL" in [t.get_text() for t in ax.get_xticklabels()]
        ax.figure.savefig(tmp_path / "pc.png")
    finally:
        plt.close(ax.figure)
    pixels = matplotlib.image.imread(tmp_path / "pc.png")[..., :3]
    assert (pixels < 0.9).any(axis=-1).sum() > 1000     # drawn, not blank

    with pytest.raises(QueryError, match="RecordStoreView"):
        ParameterComparison(list(chosen), metrics=["logL"])
    with pytest.raises(QueryError, match="unknown metric 'nope'"):
        ParameterComparison(chosen, metrics=["nope"])


def test_admin_list_shows_and_sorts_metric_columns(demo_project_rw, admin_user):  # noqa: F811
    """The admin's record list: one column per declared metric, blank where a
    record has no value, sorted in SQL (records without a number last),
    refreshed before the list is read (an outcome edited by smt comment)."""
    import html
    import re

    from django.test import Client
    from test_admin import listed, showing

    from smt_query.metrics import metric_values
    path = demo_project_rw.path
    add_metric("logL", from_outcome=LOGL, start=path)
    add_metric("passes", from_outcome=PASSES, start=path)
    client = Client()
    client.force_login(admin_user)

    def cells(response, name):
        """{label: text of the metric's cell} of a list page."""
        out = {}
        for row in re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.DOTALL):
            label = re.search(r'<th class="field-label"><a [^>]*>(.*?)</a>', row)
            cell = re.search(rf'<td class="field-metric_{name}">(.*?)</td>', row)
            if label and cell:
                out[html.unescape(label.group(1))] = html.unescape(cell.group(1))
        return out

    values = metric_values(RecordStoreView(project=path), ["logL", "passes"])
    with showing(path):
        labels, response = listed(client)
        assert len(labels) == demo_project_rw.n_records
        text = response.content.decode()
        assert "Metric.logL</a>" in text and "Metric.passes</a>" in text   # sortable headers
        shown = cells(response, "logL")
        assert set(shown) == set(labels)
        for label in labels:
            value = values.get(label, {}).get("logL")
            assert shown[label] == ("" if value is None else str(value)), label
        assert "" in shown.values() and "nan" in shown.values()

        column = response.context["cl"].list_display.index(metric_column("logL"))
        numbers = {lbl: v["logL"] for lbl, v in values.items()
                   if "logL" in v and not math.isnan(v["logL"])}
        for prefix, reverse in (("", False), ("-", True)):
            order, _ = listed(client, f"o={prefix}{column}")
            assert sorted(order) == sorted(labels)
            head = order[:len(numbers)]
            assert set(head) == set(numbers)            # without a number: last
            assert [numbers[lbl] for lbl in head] == sorted(numbers.values(), reverse=reverse)

        # an outcome edited in place: the next page shows the new value, sorts by it
        smt(path, "comment", "--replace", labels[-1], "log L plateaued at -1e9")
        order, response = listed(client, f"o={column}")
        assert order[0] == labels[-1] and cells(response, "logL")[labels[-1]] == "-1000000000.0"


def metric_column(name):
    from smt_query.admin.lists import metric_column
    return metric_column(name)
