"""``smt compare``: the parameters that differ between records."""
import sys

import click

from . import Command, stored_data_notes, user_errors
from .options import (complete_with, csv_raw_option, filter_options, format_option,
                      metric_option, pop_spec)
from .output import clean_line, note, write
from ..formats import compare_table_lines, json_text, table_width

EXAMPLES = """
\b
Examples:
  smt compare 20201119-075320_7b84e7 20201119-042150_e177c4
  smt compare --on 20201110 --depth 2 --ignore 'recorders' --ignore '*digest'
  smt compare --tag figure1 --fields reason,outcome --format json
  smt compare --tag figure1 --metric logL
  smt compare 20200912-132121_d712 20201119-112247_f334b8 --env
  smt compare --tag sweep --summary
"""


@click.command(cls=Command, epilog=EXAMPLES, context_settings={"max_content_width": 100})
@click.argument("labels", nargs=-1, metavar="[LABEL | @SAVED]...",
                shell_complete=complete_with("labels"))
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
                   "executable, dependencies, platform, launch mode; then each differing "
                   "commit's subject and 'git diff --stat' (from this project's git "
                   "repository) and the differing dependency versions.")
@click.option("--summary", is_flag=True,
              help="What varies: per differing key, its distinct values and how many "
                   "records have each.")
def compare(labels, fmt, csv_raw, depth, fold, ignore, fields, metrics, env, summary, **filters):
    """Show the parameters that differ between records.

    Compare the records named by LABEL, or every record matching the filter
    options (the same as for smt query); @SAVED is a query saved with smt
    query --save (other options narrow it). Two records: one row per
    differing key. More: one row per record, one column per differing key.
    Records lacking a key show <missing>. A record whose parameters cannot be read is
    left out and named on stderr (an error if it is one of the LABELs).
    Records named by LABEL come in that order. A table fits the terminal
    (COLUMNS, if set): too wide, it is transposed, cut or wrapped.
    """
    from ..compare import compare_view
    from ..query import apply_spec, spec_with_saved
    from ..view import RecordStoreView
    with user_errors(), stored_data_notes():
        spec = spec_with_saved(labels, pop_spec(filters))
        labels = [lbl for lbl in labels if not lbl.startswith("@")]
        view = apply_spec(RecordStoreView(), spec)
        if labels:
            view.get(list(labels))  # an unknown label is an error naming it
        result = compare_view(view, fields=[f.strip() for f in fields.split(",") if f.strip()],
                              fold=fold, ignore=ignore, env=env, named=labels,
                              metrics=metrics)
        if fmt == "json":
            click.echo(json_text(result.as_json(summary=summary, env=env), default=str))
        elif result.comparison is not None:
            rows, columns = result.summary() if summary else result.table(depth)
            if rows:
                _write(rows, columns, fmt, csv_raw)
            elif fmt == "table":
                note(f"The {len(result.labels)} records do not differ"
                     + (" (ignoring " + ", ".join(ignore) + ")." if ignore else "."))
            if env and fmt in ("table", "markdown"):
                _environment(result, fmt)


def _write(rows, columns, fmt, csv_raw):
    if fmt == "table":
        for line in compare_table_lines(rows, columns, table_width(sys.stdout)):
            click.echo(line)
    else:
        write(rows, columns, fmt, csv_raw=csv_raw)


def _environment(result, fmt):
    """The differing commits (subject, diff --stat) and dependency versions."""
    commits = result.commits()
    if commits:
        click.echo("\nCommits:" if fmt == "table" else "\n**Commits**\n")
        first = commits[0]["version"]
        for c in commits:
            head = clean_line(str(c["version"]))[:12] + (
                f"  {clean_line(c['subject'])}" if c["subject"] else "")
            more = f"  ({c['note']})" if c["note"] else ""
            records = ", ".join(map(clean_line, c["labels"]))
            click.echo(("  " if fmt == "table" else "* ") + f"{head}{more}  [{records}]")
            if c["diff_stat"]:
                click.echo(f"    git diff --stat {clean_line(str(first))[:12]}..:"
                           if fmt == "table" else "\n  ```")
                for line in c["diff_stat"].splitlines():
                    click.echo("      " + clean_line(line) if fmt == "table"
                               else "  " + clean_line(line))
                if fmt == "markdown":
                    click.echo("  ```")
    rows, columns = result.dependency_table()
    if rows:
        click.echo("\nDependencies that differ:" if fmt == "table"
                   else "\n**Dependencies that differ**\n")
        _write(rows, columns, fmt, False)

