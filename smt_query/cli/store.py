"""``smt querystore``: switch a project to smt-query's record store and back."""
import click

from . import Group, user_errors


@click.group(cls=Group, context_settings={"max_content_width": 100})
def querystore():
    """Manage the project's record store class.

    With the query store, Sumatra's own commands use exact, SQL-side tag
    matching (``smt list fig`` no longer lists ``figure1``). Records are not
    touched: switching only changes the class named in ``.smt/project``.
    """


@querystore.command()
def enable():
    """Use smt_query.recordstore.QueryDjangoRecordStore for this project."""
    from ..recordstore import QUERY_STORE, use_query_store
    with user_errors():
        before = use_query_store(True)
    click.echo("Already using the query store." if before == QUERY_STORE
               else "The project now uses the query store (records unchanged).")


@querystore.command()
def disable():
    """Go back to Sumatra's DjangoRecordStore."""
    from ..recordstore import SUMATRA_STORE, use_query_store
    with user_errors():
        before = use_query_store(False)
    click.echo("Already using Sumatra's store." if before == SUMATRA_STORE
               else "The project now uses Sumatra's DjangoRecordStore (records unchanged).")


@querystore.command()
def status():
    """Show which record store class the project uses."""
    import json
    import os
    from ..query import project_dir
    with user_errors():
        with open(os.path.join(project_dir(), ".smt", "project"), encoding="utf-8") as f:
            store = json.load(f).get("record_store")
    if isinstance(store, dict):
        click.echo(f"{store.get('type')} ({store.get('db_file', '')})")
    else:
        click.echo(str(store))
