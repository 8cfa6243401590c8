"""``smt querystore``: switch a project to smt-query's record store and back."""
import click

from . import Group, user_errors


@click.group(cls=Group, context_settings={"max_content_width": 100})
def querystore():
    """Manage the project's record store class.

    With the query store, Sumatra's own commands match tags exactly and
    literally: 'smt list fig' no longer lists figure1, and 'smt delete -t
    "fi*"' deletes only records tagged fi*. Records are not touched:
    switching only changes the class named in .smt/project.
    """


@querystore.command()
def enable():
    """Use smt_query.recordstore.QueryDjangoRecordStore for this project."""
    _switch(True, "Already using the query store.",
            "The project now uses the query store (records unchanged).")


@querystore.command()
def disable():
    """Go back to Sumatra's DjangoRecordStore."""
    _switch(False, "Already using Sumatra's store.",
            "The project now uses Sumatra's DjangoRecordStore (records unchanged).")


def _switch(enable, already, done):
    from ..recordstore import QUERY_STORE, SUMATRA_STORE, use_query_store
    with user_errors():
        before = use_query_store(enable)
    click.echo(already if before == (QUERY_STORE if enable else SUMATRA_STORE) else done)


@querystore.command()
def status():
    """Show which record store class the project uses."""
    from ..project import masked_uri, store_entry
    with user_errors():
        store = store_entry()
    if isinstance(store, dict):
        click.echo(f"{store.get('type')} ({masked_uri(store.get('db_file', ''))})")
    else:
        click.echo(str(store))


@querystore.command()
@click.option("--repair", is_flag=True,
              help="Rewrite the tag rows from the tags column (records are not changed).")
def check(repair):
    """Check that the store's tag rows agree with its tags column.

    Sumatra keeps a record's tags twice: in the record's own tags column
    (what smt-query and `smt list TAG` read) and as Tag/TaggedItem rows
    (what smtweb shows). It writes the rows to the first store a process
    opens only, so a store filled by `smt sync A B` (or by several stores
    in one program) can have missing or stale rows. This reports how many
    records differ, naming a few; with --repair it rewrites their rows from
    the column and deletes rows of records that no longer exist.

    Exit status: 0 if the rows agree (or were repaired), 1 if they differ.
    """
    from ..recordstore import check_tag_rows, project_store
    with user_errors():
        report = check_tag_rows(project_store(), repair=repair)
    for line in report.lines():
        click.echo(line)
    return 0 if report.ok else 1


@querystore.group(cls=Group)
def indexes():
    """Add or remove smt-query's indexes on the record store's tables.

    Sumatra indexes only foreign keys, so date ranges, "newest first" and
    exact label lookups read every record of the project. Two indexes on
    the record table (project, timestamp, label) and (project, label,
    timestamp) make them read only what they return: at 100,000 records a
    date range goes from 40-50 ms to 4 ms. Adding is idempotent and removing
    drops exactly these indexes (named smtq_*); records are never touched.
    Works on SQLite and PostgreSQL stores (also with Sumatra's own store class).
    """


def _print_status(status):
    from ..recordstore import INDEXES
    for name, present in status.items():
        table, columns = INDEXES[name]
        click.echo(f"{name:<30} {'present' if present else 'missing':<8} "
                   f"{table} ({', '.join(columns)})")


@indexes.command("status")
def indexes_status():
    """Show which of smt-query's indexes the store has."""
    from ..recordstore import index_status, project_store
    with user_errors():
        _print_status(index_status(project_store()))


@indexes.command("add")
def indexes_add():
    """Create the missing indexes (safe to repeat)."""
    from ..recordstore import INDEXES, add_indexes, project_store
    with user_errors():
        done = add_indexes(project_store())
    click.echo(f"Added {len(done)} index(es): {', '.join(done)}." if done
               else f"All {len(INDEXES)} indexes were already present.")


@indexes.command("remove")
def indexes_remove():
    """Drop smt-query's indexes (and nothing else; safe to repeat)."""
    from ..recordstore import remove_indexes, project_store
    with user_errors():
        done = remove_indexes(project_store())
    click.echo(f"Removed {len(done)} index(es): {', '.join(done)}." if done
               else "None of smt-query's indexes were present.")


@querystore.group(cls=Group)
def metric():
    """Define metrics: numbers read from each record's outcome or output files.

    A metric is computed once per record and kept in a table of smt-query's
    own in the store (never in Sumatra's tables); `smt query` refreshes it
    for new and changed records before using it. Use it as metric.NAME
    wherever a parameter key goes: --where "metric.logL < -5e4",
    --metric logL, --sort -metric.logL, --group-by metric.logL.
    Definitions are kept in .smt/smt_query.json.
    """


@metric.command("add")
@click.argument("name")
@click.option("--from-outcome", metavar="REGEX",
              help="The first group of the first match in the outcome, as a number "
                   "(nan and inf understood).")
@click.option("--from-output", metavar="GLOB:KEY",
              help="A value of the first output file matching GLOB (JSON, YAML, CSV last "
                   "row, NumPy .npz), by dotted KEY.")
def metric_add(name, from_outcome, from_output):
    """Define (or redefine) metric NAME."""
    from ..metrics import add_metric
    with user_errors():
        defined = add_metric(name, from_outcome, from_output)
    click.echo(f"Metric {name}: {defined.describe()} (computed when first used).")


@metric.command("list")
def metric_list():
    """List the project's metrics."""
    from ..metrics import metric_definitions
    with user_errors():
        for name, defined in sorted(metric_definitions().items()):
            click.echo(f"{name}\t{defined.describe()}")


@metric.command("remove")
@click.argument("name")
def metric_remove(name):
    """Forget metric NAME (its stored values go at the next refresh)."""
    from ..metrics import remove_metric
    with user_errors():
        remove_metric(name)
    click.echo(f"Removed metric {name}.")


@metric.command("refresh")
@click.argument("names", nargs=-1)
@click.option("--all", "everything", is_flag=True,
              help="Recompute every record, not only new and changed ones.")
def metric_refresh(names, everything):
    """Compute the metrics (NAMES, default all) of new and changed records."""
    from ..metrics import refresh_metrics
    from . import stored_data_notes
    with user_errors(), stored_data_notes():
        done = refresh_metrics(names=names or None, everything=everything, progress=None)
    for name, n in sorted(done.items()):
        click.echo(f"{name}: computed for {n} record(s).")
