"""Filters on when a record was made: ``after``, ``before``, ``on``."""
from ..dates import as_utc, check_date, date_span, on_span
from ..where.qfields import span_q
from .registry import Filter, Option, register_filter


class DateFilter(Filter):
    """Base for date filters: ``start <= timestamp < end`` with open ends."""

    def __init__(self, date, *args):
        super().__init__(date, *args)
        self.start, self.end = self.span(date, *args)

    def test(self, record):
        if record.timestamp is None:   # unreadable in the store: matches no date
            return False
        ts = as_utc(record.timestamp)
        return ((self.start is None or ts >= self.start)
                and (self.end is None or ts < self.end))

    def to_q(self, ctx):
        return span_q(self.start, self.end)


def _date_option(key, help):
    return Option(key, help, how="one", convert=check_date, type_name="DATE")


@register_filter(name="after")
class After(DateFilter):
    """Keep only records which occurred after the given date. Date is inclusive.
    Can provide date either as a single tuple, or multiple arguments as for
    `datetime.datetime()`; a `datetime` instance is also accepted.

    As a convenience, tuple values may be concatenated and replaced by a
    single integer of 4 to 8 digits; if it has less than 8 digits, it is
    extended to the earliest date (so 2018 -> 20180101). Strings such as
    '2020-09-12', '2020-09-12T13:30' or '20200912-133000' work too, and
    relative dates: 'today', 'yesterday', '7d', '2w', '3 days ago',
    'last monday', 'last month', 'now' (``smt_query.dates.relative_span``).
    Times are UTC, the clock of Sumatra's labels: 'today' starts at midnight UTC."""

    options = [_date_option("after", "Records made on or after DATE (UTC; also today, "
                                     "yesterday, 7d, '3 days ago', 'last monday').")]

    @staticmethod
    def span(date, *args):
        return date_span(date, *args)[0], None


@register_filter(name="before")
class Before(DateFilter):
    """Keep only records which occurred before the given date. Date is exclusive.
    Accepts the same dates as `after`."""

    options = [_date_option("before", "Records made before DATE (exclusive).")]

    @staticmethod
    def span(date, *args):
        return None, date_span(date, *args)[0]


@register_filter(name="on")
class On(DateFilter):
    """Keep only records which occurred on the given date: a day (20200915),
    a month (202009), a year (2020), or the day of a `datetime`.
    Accepts the same dates as `after`."""

    options = [_date_option("on", "Records made on DATE: a day, a month (202009) or a year.")]
    span = staticmethod(on_span)
