"""Option decorators shared by ``smt query`` and ``smt compare``.

Each filter option has the semantics of the library filter of the same name
(:mod:`smt_query.filters`); values are validated here so that a bad date or
duration is a usage error naming the option.
"""
import click

from ..dates import date_span, parse_duration
from ..errors import QueryError
from ..fields import STATUSES


class DateType(click.ParamType):
    """2020, 202009, 20200912, 2020-09-12, 2020-09-12T13:30 or 20200912-133000 (UTC)."""

    name = "DATE"

    def convert(self, value, param, ctx):
        try:
            date_span(value)
        except QueryError as err:
            self.fail(str(err), param, ctx)
        return value


class DurationType(click.ParamType):
    """Seconds, or a form such as 2h30m."""

    name = "DURATION"

    def convert(self, value, param, ctx):
        try:
            return parse_duration(value)
        except QueryError as err:
            self.fail(str(err), param, ctx)


def complete_with(kind):
    """Shell completion from the project's store (tags, saved queries, keys)."""
    def complete(ctx, param, incomplete):
        from . import complete as completions
        try:
            values = getattr(completions, kind)()
        except Exception:  # completion must never break the shell
            return []
        return [v for v in values if v.startswith(incomplete)]
    return complete


FILTER_OPTIONS = (
    click.option("--tag", "tag", multiple=True, metavar="TAG", shell_complete=complete_with("tags"),
                 help="Records carrying this tag (exactly; repeat: all of them). "
                      "'finished' also matches '_finished_'; globs such as 'fig*' work; "
                      "brackets make a tag literal: 'fig[*]' is the tag 'fig*'."),
    click.option("--any-tag", multiple=True, metavar="TAG", shell_complete=complete_with("tags"),
                 help="Records carrying at least one of these tags (repeatable)."),
    click.option("--not-tag", multiple=True, metavar="TAG", shell_complete=complete_with("tags"),
                 help="Records carrying none of these tags (repeatable)."),
    click.option("--status", multiple=True, type=click.Choice(STATUSES),
                 help="Records with this Sumatra status (repeat: any of them)."),
    click.option("--after", type=DateType(), help="Records made on or after DATE (UTC)."),
    click.option("--before", type=DateType(), help="Records made before DATE (exclusive)."),
    click.option("--on", type=DateType(),
                 help="Records made on DATE: a day, a month (202009) or a year."),
    click.option("--label", multiple=True, metavar="PATTERN",
                 help="Labels containing PATTERN (or matching a glob such as '202009*')."),
    click.option("--reason", multiple=True, metavar="TEXT", help="Reason contains TEXT."),
    click.option("--outcome", multiple=True, metavar="TEXT", help="Outcome contains TEXT."),
    click.option("--user", multiple=True, metavar="TEXT", help="User contains TEXT."),
    click.option("--main-file", multiple=True, metavar="PATH", help="Main file contains PATH."),
    click.option("--version", multiple=True, metavar="PREFIX",
                 help="Code version starts with PREFIX."),
    click.option("--min-duration", type=DurationType(), help="Ran at least D (90, 2h30m)."),
    click.option("--max-duration", type=DurationType(), help="Ran at most D."),
    click.option("--has-output", is_flag=True, default=False,
                 help="Records with at least one output file."),
    click.option("--where", multiple=True, metavar="EXPR", shell_complete=complete_with("keys"),
                 help="Condition on parameters and fields, e.g. \"optimizer.lr >= 1e-3 and "
                      "model.activation == 'relu'\" (repeatable; see the docs)."),
)

#: Names of the filter options, as keys of a query spec.
FILTER_KEYS = ("tag", "any_tag", "not_tag", "status", "after", "before", "on", "label",
               "reason", "outcome", "user", "main_file", "version", "min_duration",
               "max_duration", "has_output", "where")


def filter_options(fn):
    """Add every filter option to a click command."""
    for option in reversed(FILTER_OPTIONS):
        fn = option(fn)
    return fn


def pop_spec(kwargs):
    """Remove the filter options from ``kwargs``; return them as a query spec."""
    return {key: kwargs.pop(key) for key in FILTER_KEYS}


def format_option(choices, default):
    """The ``--format`` option with the given choices."""
    return click.option("--format", "fmt", type=click.Choice(choices), default=default,
                        show_default=True, help="Output format.")


def csv_raw_option(fn):
    """The ``--csv-raw`` flag: CSV cells exactly as stored (no formula guard)."""
    return click.option(
        "--csv-raw", is_flag=True,
        help="With --format csv: write every cell as stored. By default a cell starting "
             "with = + - @ (or a tab or carriage return) gets a ' in front, so that a "
             "spreadsheet shows it instead of running it as a formula.")(fn)
