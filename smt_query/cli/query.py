"""``smt query``: find, tag and export records of the current project."""
import sys

import click

from . import Command, stored_data_notes, user_errors
from .options import (complete_with, csv_raw_option, filter_options, format_option,
                      metric_option, pop_spec)
from .. import rows
from ..fields import STATUS_WRITERS
from ..formats import footer
from .output import clean_line, note, write


def hint(message):
    """A :class:`~smt_query.errors.QueryHint` (shown once on stderr as ``Warning: ...``)."""
    import warnings
    from ..errors import QueryHint
    warnings.warn(QueryHint(message), stacklevel=2)


DEFAULT_FIELDS = ",".join(rows.DEFAULT_FIELDS)

EXAMPLES = """
\b
Examples:
  smt query --tag finished --on 20200915
  smt query --label 202011 --tag killed --format labels
  smt query --where "optimizer.lr >= 1e-2 and optimizer.model.seed in [1, 2, 3]" --param optimizer.lr
  smt query --status crashed --after 2020-11-01 --add-tag to-rerun --dry-run
  smt query --tag figure1 --save fig1      # then: smt query @fig1 --format json
  smt query --group-by main_file
  smt query --group-by optimizer.name,week --aggregate optimizer.lr
  smt query --where "metric.logL < -5e4" --metric logL --sort -metric.logL
  smt query 20201110-213237_87825b 20201110-213215_acd030 --format json --with-parameters

\b
Status words (--status, --tag, the status column) and what writes each:
""" + "\n".join(f"  {word:<12} {who}" for word, who in STATUS_WRITERS.items()) + """
A run that exits non-zero is 'failed'; 'crashed' comes from smttask, not Sumatra.
"""


@click.command(cls=Command, epilog=EXAMPLES, context_settings={"max_content_width": 100})
@click.argument("labels", nargs=-1, metavar="[LABEL | @SAVED]...",
                shell_complete=complete_with("labels"))
@filter_options
@format_option(["table", "csv", "json", "markdown", "labels"], "table")
@csv_raw_option
@click.option("--count", is_flag=True, help="Print only the number of matching records.")
@click.option("--fields", metavar="F1,F2",
              help=f"Columns to show (default: {DEFAULT_FIELDS}). Also: main_file, version, "
                   "user, script_arguments, repeats, diff, stdout_stderr, output_data (the "
                   "output files' paths), input_data, executable.")
@click.option("--param", "params", multiple=True, metavar="KEY",
              shell_complete=complete_with("keys"), help="Add a parameter column (dotted key; repeatable).")
@metric_option
@click.option("--with-parameters", is_flag=True,
              help="Include each record's whole parameter set (json format only; in a "
                   "table use --param KEY).")
@click.option("--sort", metavar="KEY", help="Sort by a field or parameter key (shown or "
              "not); '-KEY' for descending.")
@click.option("--limit", type=click.IntRange(min=0), help="Show at most N records.")
@click.option("--merged", is_flag=True,
              help="One row per label timestamp, with the count and mean duration.")
@click.option("--group-by", multiple=True, metavar="KEY",
              help="Count records per value of a field, parameter key or time bucket "
                   "(day, week, month, year, hour; or timestamp:day), with duration "
                   "mean/min/max (repeatable or comma-separated: one group per combination).")
@click.option("--aggregate", multiple=True, metavar="KEY",
              help="With --group-by: mean/min/max of this numeric parameter or field "
                   "too (repeatable or comma-separated).")
@click.option("--plot", metavar="X:Y", help="Plot Y against X (fields or parameter keys; a "
              "line when X is timestamp): in the terminal, or to --out.")
@click.option("--color", metavar="KEY", help="With --plot: colour the points by KEY.")
@click.option("--out", metavar="FILE", type=click.Path(dir_okay=False, writable=True),
              help="With --plot: write FILE.png, .svg (matplotlib) or .html.")
@click.option("--add-tag", metavar="TAG", help="Add TAG to every matching record (atomic).")
@click.option("--remove-tag", metavar="TAG", help="Remove TAG from every matching record.")
@click.option("--dry-run", is_flag=True, help="With --add-tag/--remove-tag: only show what "
                                              "would change.")
@click.option("--save", metavar="NAME", help="Save these filters as query NAME in the project.")
@click.option("--force", is_flag=True, help="With --save: replace a saved query of that name "
                                            "without asking.")
@click.option("--saved", is_flag=True, help="List the saved queries (in --format) and exit.")
@click.option("--delete-saved", metavar="NAME", shell_complete=complete_with("saved_names"),
              help="Delete the saved query NAME and exit.")
def query(labels, fmt, csv_raw, count, fields, params, metrics, with_parameters, sort, limit,
          merged, group_by, aggregate, plot, color, out, add_tag, remove_tag, dry_run, save, force,
          saved, delete_saved, **filters):
    """Find records of the current Sumatra project.

    Every filter combines with AND; tags match exactly. LABELs select those
    records; @SAVED reruns a query saved with --save (other options narrow it).
    Output goes to stdout, notes to stderr; exit status 0 also when nothing
    matches. A record whose parameters cannot be read is named on stderr and
    has no parameters.
    """
    from .. import query as lib
    with user_errors(), stored_data_notes():
        if saved:
            _list_saved(fmt, csv_raw)
            return
        if delete_saved:
            gone = lib.delete_query(delete_saved)
            note(f"Deleted saved query {delete_saved!r}: {lib.describe_spec(gone)}")
            return
        if force and save is None:
            raise click.UsageError("--force goes with --save")
        if plot and (add_tag or remove_tag or count):
            raise click.UsageError("--plot goes without --add-tag, --remove-tag and --count")
        if add_tag and remove_tag:
            raise click.UsageError("use either --add-tag or --remove-tag, not both")
        if dry_run and not (add_tag or remove_tag):
            raise click.UsageError("--dry-run goes with --add-tag or --remove-tag")
        spec = lib.spec_with_saved(labels, pop_spec(filters))
        if save is not None:
            _save(lib, save, spec, force)

        from ..view import RecordStoreView
        view = lib.apply_spec(RecordStoreView(progress=None), spec)
        if add_tag or remove_tag:
            _retag(view, add_tag or remove_tag, add=bool(add_tag), dry_run=dry_run)
            return
        if count:
            click.echo(len(view))
            return
        if plot or color or out:
            _plot(view, plot, color, out)
            return
        field_list = [f.strip() for f in (fields or DEFAULT_FIELDS).split(",") if f.strip()]
        if with_parameters and fmt != "json":
            hint(f"--with-parameters applies to --format json only (in {fmt} format, "
                 "show parameters with --param KEY)")
        info = {}
        found, columns = rows.select_rows(view, field_list, params, fmt=fmt,
                                          with_parameters=with_parameters, merged=merged,
                                          group_by=list(group_by), aggregate=list(aggregate),
                                          sort=sort, limit=limit, metrics=metrics,
                                          info=info)
        write(found, columns, fmt, csv_raw=csv_raw)
        if fmt == "table" and not found:
            note("No records match.")
        elif fmt == "table" and sys.stdout.isatty():   # for the reader, not for a pipe
            note(footer(len(found), info.get("total"), "rows" if merged or group_by
                        else "records"))


def _save(lib, name, spec, force):
    """Save ``spec`` as ``name``; replacing another query asks on a terminal,
    else needs ``--force``."""
    try:
        lib.save_query(name, spec, replace=force)   # checked first: nothing written if not valid
    except lib.SavedQueryExists as err:
        old = lib.describe_spec(err.spec)
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise click.ClickException(f"a saved query {name!r} exists ({old}); "
                                       "use --force to replace it") from None
        click.confirm(f"Replace saved query {name!r} ({old})?", abort=True, err=True)
        lib.save_query(name, spec, replace=True)
    note(f"Saved query {name!r}: {lib.describe_spec(spec)}")


def _list_saved(fmt, csv_raw):
    """The saved queries in ``fmt`` (``labels``: their names)."""
    from ..query import saved_rows
    found = saved_rows()
    if fmt == "labels":
        for row in found:
            click.echo(clean_line(row["name"]))
    elif fmt == "json":
        write(found, ["name", "query", "spec"], fmt)
    elif found or fmt != "table":
        write(found, ["name", "query"], fmt, csv_raw=csv_raw)
    else:
        note("No saved queries yet: save one with --save NAME.")


def _plot(view, plot, color, out):
    if not plot:
        raise click.UsageError("--color and --out go with --plot X:Y")
    x, _, y = plot.partition(":")
    if not (x.strip() and y.strip()):
        raise click.UsageError(f"--plot takes X:Y (two keys), not {plot!r}")
    if not out and not sys.stdout.isatty():
        raise click.ClickException("--plot draws in a terminal; in a pipe give --out FILE.png, .svg or .html")
    from .. import plot as lib
    data = lib.plot_data(view, x.strip(), y.strip(), color)
    if not data.selected:
        note("No records match.")
        return
    if out:
        lib.write_file(data, out)
        note(f"Plotted {len(data)} records to {out}.")
    else:
        import shutil
        size = shutil.get_terminal_size()
        click.echo(lib.text_plot(data, size.columns, max(8, min(30, size.lines - 8))))
    if data.skipped:
        note(f"{data.skipped} of {data.selected} records have no value for {x!r} or {y!r}: "
             "left out.")


def _retag(view, tag, add, dry_run):
    changes = view.tag_changes(tag, add=add)
    verb = "add" if add else "remove"
    if dry_run:
        for label in changes:
            click.echo(label)
        note(f"Would {verb} tag {tag!r} {'to' if add else 'from'} {len(changes)} "
             f"of {len(view)} matching records (dry run: nothing changed).")
        return
    changed = view.add_tag(tag) if add else view.remove_tag(tag)
    note(f"{'Added' if add else 'Removed'} tag {tag!r} {'to' if add else 'from'} "
         f"{changed} records.")
