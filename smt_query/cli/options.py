"""Option decorators shared by ``smt query`` and ``smt compare``.

The filter options are generated from the filter registry
(:func:`smt_query.filters.spec_options`): each has the semantics of the
library filter that declares it, and its values are checked here (the
check the filter declares), so that a bad date or duration is a usage error
naming the option.
"""
import click

from ..dates import check_date, parse_duration
from ..errors import QueryError
from ..filters import spec_options
from .complete import complete_with  # noqa: F401 (the commands' completion)


class ValueType(click.ParamType):
    """A value checked by ``convert`` (raising QueryError), named ``name`` in help."""

    def __init__(self, name, convert):
        self.name, self.convert_value = name, convert

    def convert(self, value, param, ctx):
        try:
            return self.convert_value(value)
        except QueryError as err:
            self.fail(str(err), param, ctx)


class DateType(ValueType):
    """2020, 202009, 20200912, 2020-09-12, 2020-09-12T13:30, 20200912-133000
    (UTC), or relative: today, yesterday, 7d, '3 days ago', 'last monday'."""

    def __init__(self):
        super().__init__("DATE", check_date)


class DurationType(ValueType):
    """Seconds, or a form such as 2h30m."""

    def __init__(self):
        super().__init__("DURATION", parse_duration)


def _click_option(opt):
    """The click option of a filter's :class:`~smt_query.filters.Option`."""
    kwargs = {"help": opt.help}
    if opt.how in ("flag", "modifier"):
        kwargs.update(is_flag=True, default=False)
    if opt.multiple:
        kwargs["multiple"] = True
    if opt.metavar:
        kwargs["metavar"] = opt.metavar
    if opt.choices:
        kwargs["type"] = click.Choice(opt.choices)
    elif opt.convert:
        kwargs["type"] = ValueType(opt.type_name or "VALUE", opt.convert)
    if opt.complete:
        kwargs["shell_complete"] = complete_with(opt.complete)
    return click.option(opt.flag, opt.key, **kwargs)


#: The filter options (click decorators), in the registry's order.
FILTER_OPTIONS = tuple(_click_option(opt) for opt in spec_options().values()
                       if not opt.positional)

#: Names of the filter options, as keys of a query spec.
FILTER_KEYS = tuple(key for key, opt in spec_options().items() if not opt.positional)


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


def metric_option(fn):
    """The ``--metric NAME`` option: a metric column (``metric.NAME``; in JSON,
    one ``"metrics"`` object). Metrics are defined with ``smt querystore metric``."""
    return click.option(
        "--metric", "metrics", multiple=True, metavar="NAME",
        help="Add a metric column (see 'smt querystore metric'; repeatable). In JSON: "
             "\"metrics\": {NAME: value}.")(fn)
