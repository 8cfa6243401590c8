"""Command-line interface: ``smt query``, ``smt compare``, ``smt admin``.

Commands parse options, call the library and format its results. Every error
is one line on stderr (``Error: ...``): exit 1 for a failed request, exit 2
for a usage error. Nothing here imports Django or pandas at import time.
"""
import contextlib
import sys

import click


class OneLineErrors:
    """Mixin for click commands: errors are always a single ``Error:`` line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as err:
            click.echo(f"Error: {err.format_message()} (see '{err.ctx.command_path if err.ctx else prog_name} --help')",
                       err=True)
            sys.exit(2)
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except BrokenPipeError:  # e.g. `smt query | head`
            sys.stderr.close()
            sys.exit(0)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx):
        from ..process import own_command
        own_command()   # our command runs (parsed, not --help): Django's DEBUG off
        return super().invoke(ctx)


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
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise click.ClickException(f"cannot read the record store: {first}") from None
        raise


@contextlib.contextmanager
def stored_data_notes():
    """Show each warning about stored data (:class:`~smt_query.errors.StoredDataWarning`:
    an unreadable parameter set, a row of unknown type) once, as one line on
    stderr; other warnings as usual."""
    import warnings
    from ..errors import StoredDataWarning
    seen = set()
    with warnings.catch_warnings():
        warnings.simplefilter("always", StoredDataWarning)
        show = warnings.showwarning

        def note(message, category, *args, **kwargs):
            if not issubclass(category, StoredDataWarning):
                return show(message, category, *args, **kwargs)
            text = " ".join(str(message).split())
            if text not in seen:
                seen.add(text)
                click.echo(f"Warning: {text}", err=True)
        warnings.showwarning = note
        yield
