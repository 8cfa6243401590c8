"""``smt query``: find, tag and export records of the current project."""
import sys

import click

from . import Command, stored_data_notes, user_errors
from .options import complete_with, csv_raw_option, filter_options, format_option, pop_spec
from .. import rows
from ..errors import QueryError
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
  smt query 20201110-213237_87825b 20201110-213215_acd030 --format json --with-parameters

\b
Status words (--status, --tag, the status column) and what writes each:
""" + "\n".join(f"  {word:<12} {who}" for word, who in STATUS_WRITERS.items()) + """
A run that exits non-zero is 'failed'; 'crashed' comes from smttask, not Sumatra.
"""


@click.command(cls=Command, epilog=EXAMPLES, context_settings={"max_content_width": 100})
@click.argument("labels", nargs=-1, metavar="[LABEL | @SAVED]...", shell_complete=complete_with("saved"))
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
@click.option("--with-parameters", is_flag=True,
              help="Include each record's whole parameter set (json format only; in a "
                   "table use --param KEY).")
@click.option("--sort", metavar="KEY", help="Sort by a field or parameter key (shown or "
              "not); '-KEY' for descending.")
@click.option("--limit", type=click.IntRange(min=0), help="Show at most N records.")
@click.option("--merged", is_flag=True,
              help="One row per label timestamp, with the count and mean duration.")
@click.option("--group-by", metavar="KEY",
              help="Count records per value of a field or parameter (with duration stats).")
@click.option("--add-tag", metavar="TAG", help="Add TAG to every matching record (atomic).")
@click.option("--remove-tag", metavar="TAG", help="Remove TAG from every matching record.")
@click.option("--dry-run", is_flag=True, help="With --add-tag/--remove-tag: only show what "
                                              "would change.")
@click.option("--save", metavar="NAME", help="Save these filters as query NAME in the project.")
@click.option("--saved", is_flag=True, help="List the saved queries and exit.")
def query(labels, fmt, csv_raw, count, fields, params, with_parameters, sort, limit, merged, group_by,
          add_tag, remove_tag, dry_run, save, saved, **filters):
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
            for name in sorted(lib.saved_queries()):
                try:
                    shown = lib.describe_spec(lib.load_query(name))
                except QueryError as err:
                    shown = f"(not valid: {str(err).split(': ', 1)[-1]})"
                click.echo(f"{clean_line(name)}\t{clean_line(shown)}")
            return
        if add_tag and remove_tag:
            raise click.UsageError("use either --add-tag or --remove-tag, not both")
        if dry_run and not (add_tag or remove_tag):
            raise click.UsageError("--dry-run goes with --add-tag or --remove-tag")
        spec = pop_spec(filters)
        spec["labels"] = [lbl for lbl in labels if not lbl.startswith("@")]
        for name in (lbl[1:] for lbl in labels if lbl.startswith("@")):
            spec = lib.merge_specs(lib.load_query(name), spec)
        if save:
            lib.save_query(save, spec)   # checked first: nothing written if not valid
            note(f"Saved query {save!r}: {lib.describe_spec(spec)}")

        from ..view import RecordStoreView
        view = lib.apply_spec(RecordStoreView(progress=None), spec)
        if add_tag or remove_tag:
            _retag(view, add_tag or remove_tag, add=bool(add_tag), dry_run=dry_run)
            return
        if count:
            click.echo(len(view))
            return
        field_list = [f.strip() for f in (fields or DEFAULT_FIELDS).split(",") if f.strip()]
        if with_parameters and fmt != "json":
            hint(f"--with-parameters applies to --format json only (in {fmt} format, "
                 "show parameters with --param KEY)")
        info = {}
        found, columns = rows.select_rows(view, field_list, params, fmt=fmt,
                                          with_parameters=with_parameters, merged=merged,
                                          group_by=group_by, sort=sort, limit=limit, info=info)
        write(found, columns, fmt, csv_raw=csv_raw)
        if fmt == "table" and not found:
            note("No records match.")
        elif fmt == "table" and sys.stdout.isatty():   # for the reader, not for a pipe
            note(footer(len(found), info.get("total"), "rows" if merged or group_by
                        else "records"))


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
