"""``smt compare``: the parameters that differ between records."""
import json

import click

from . import Command, stored_data_notes, user_errors
from .options import csv_raw_option, filter_options, format_option, metric_option, pop_spec
from .output import note, write

EXAMPLES = """
\b
Examples:
  smt compare 20201119-075320_7b84e7 20201119-042150_e177c4
  smt compare --on 20201110 --depth 2 --ignore 'recorders' --ignore '*digest'
  smt compare --tag figure1 --fields reason,outcome --format json
  smt compare --tag figure1 --metric logL
  smt compare 20200912-132121_d712 20201119-112247_f334b8 --env
"""


@click.command(cls=Command, epilog=EXAMPLES, context_settings={"max_content_width": 100})
@click.argument("labels", nargs=-1, metavar="[LABEL]...")
@filter_options
@format_option(["table", "csv", "json", "markdown"], "table")
@csv_raw_option
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Cut keys to N levels; deeper differences show as <+> (default: full keys).")
@click.option("--fold/--no-fold", default=True, show_default=True,
              help="Replace task descriptions by their inputs before comparing.")
@click.option("--ignore", multiple=True, metavar="KEY",
              help="Leave out a dotted key or glob (repeatable), e.g. '*.digest'.")
@click.option("--fields", metavar="F1,F2", default="",
              help="Record fields to compare too, e.g. reason,outcome,version.")
@metric_option
@click.option("--env", is_flag=True,
              help="Compare the environment instead: code version and diff, main file, "
                   "executable, dependencies, platform, launch mode.")
def compare(labels, fmt, csv_raw, depth, fold, ignore, fields, metrics, env, **filters):
    """Show the parameters that differ between records.

    Compare the records named by LABEL, or every record matching the filter
    options (the same as for smt query). Two records: one row per differing
    key. More: one row per record, one column per differing key. Records
    lacking a key show <missing>. A record whose parameters cannot be read is
    left out and named on stderr (an error if it is one of the LABELs).
    """
    from ..compare import compare_view
    from ..query import apply_spec
    from ..view import RecordStoreView
    with user_errors(), stored_data_notes():
        spec = pop_spec(filters)
        spec["labels"] = list(labels)
        view = apply_spec(RecordStoreView(), spec)
        if labels:
            view.get(list(labels))  # an unknown label is an error naming it
        result = compare_view(view, fields=[f.strip() for f in fields.split(",") if f.strip()],
                              fold=fold, ignore=ignore, env=env, named=labels,
                              metrics=metrics)
        if fmt == "json":
            click.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False, default=str))
        elif result.comparison is not None:
            rows, columns = result.table(depth)
            if rows:
                write(rows, columns, fmt, csv_raw=csv_raw)
            elif fmt == "table":
                note(f"The {len(result.labels)} records do not differ"
                     + (" (ignoring " + ", ".join(ignore) + ")." if ignore else "."))

