"""What the CLI prints besides result rows: notes on stderr. The formats
themselves live in :mod:`smt_query.formats` (importable from here too)."""
import click

from ..formats import (DURATION_COLUMNS, FORMULA_STARTS, SHRINKABLE, clean_line,  # noqa: F401
                       csv_cell, table_lines, write)


def note(message):
    """A message for the person at the terminal (stderr), never mixed with
    data; stored text in it is shown escaped (:func:`clean_line`)."""
    click.echo(clean_line(message), err=True)
