"""Command-line interface: ``smt query``, ``smt compare``, ``smt admin``.

Commands parse options, call the library and format its results. Every error
is one line on stderr (``Error: ...``): exit 1 for a failed request, exit 2
for a usage error. Nothing here imports Django or pandas at import time.
"""
import contextlib
import errno
import os
import sys

import click


class OneLineErrors:
    """Mixin for click commands: errors are always a single ``Error:`` line
    (stored text in it escaped), and a reader that stops reading (``| head``)
    ends the command quietly with exit status 0."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        from .output import clean_line
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as err:
            path = err.ctx.command_path if err.ctx else prog_name
            click.echo(f"Error: {clean_line(err.format_message())} (see '{path} --help')",
                       err=True)
            sys.exit(2)
        except click.ClickException as err:
            click.echo(f"Error: {clean_line(err.format_message())}", err=True)
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        try:
            sys.stdout.flush()      # what is left, while a closed pipe is still handled
        except BrokenPipeError:
            _discard_output()
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx):
        from ..process import own_command
        own_command()   # our command runs (parsed, not --help): Django's DEBUG off
        try:
            return super().invoke(ctx)
        except OSError as err:
            if err.errno != errno.EPIPE:
                raise
            _discard_output()       # e.g. `smt query | head -n 1`: not an error
            raise click.exceptions.Exit(0) from None


def _discard_output():
    """Point stdout at /dev/null: what is still buffered for a reader that
    has gone is dropped, and flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):   # no real stdout (e.g. tests): nothing to flush
        pass


class Command(OneLineErrors, click.Command):
    """A click command with one-line errors."""


class Group(OneLineErrors, click.Group):
    """A click group with one-line errors (its subcommands inherit them)."""

    command_class = Command


@contextlib.contextmanager
def user_errors():
    """Turn library and database errors into one-line click errors."""
    from ..errors import QueryError
    try:
        yield
    except QueryError as err:
        raise click.ClickException(str(err).splitlines()[0]) from None
    except Exception as err:
        if type(err).__name__ == "ImproperlyConfigured" and "psycopg" in str(err):
            raise click.ClickException(
                "this project's record store is on PostgreSQL, which needs a driver: "
                "pip install 'smt-query[postgres]'") from None
        if type(err).__module__.startswith(("django.db", "sqlite3", "psycopg")):
            from ..where import query_too_large
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if query_too_large(err):   # a limit of the query, not a fault of the store
                raise click.ClickException(f"the query is too large for the database "
                                           f"({first}): use fewer conditions") from None
            raise click.ClickException(f"cannot read the record store: {first}") from None
        raise


@contextlib.contextmanager
def stored_data_notes():
    """Show each warning about stored data (:class:`~smt_query.errors.StoredDataWarning`:
    an unreadable parameter set, a row of unknown type) and each hint about the
    query (:class:`~smt_query.errors.QueryHint`: a key or tag that matches
    nothing) once, as one line on stderr; other warnings as usual."""
    import warnings
    from ..errors import QueryHint, StoredDataWarning
    ours = (StoredDataWarning, QueryHint)
    seen = set()
    with warnings.catch_warnings():
        for category in ours:
            warnings.simplefilter("always", category)
        show = warnings.showwarning

        def note(message, category, *args, **kwargs):
            if not issubclass(category, ours):
                return show(message, category, *args, **kwargs)
            text = " ".join(str(message).split())
            if text not in seen:
                seen.add(text)
                click.echo(f"Warning: {text}", err=True)
        warnings.showwarning = note
        yield
