"""Dates as users write them, turned into UTC time spans.

Sumatra stamps records with UTC times and derives labels from them, so naive
dates are read as UTC: ``on(20200915)`` is the day the labels ``20200915-*``
were made. Every accepted form denotes a span ``[start, end)``: ``2020`` a year,
``202009`` a month, ``20200912`` a day, ``2020-09-12T13:30`` a minute, a
``datetime`` an instant. ``after`` uses ``start`` (inclusive), ``before`` uses
``start`` (exclusive) and ``on`` the whole span.

Every date from year 1 to 9999 is accepted. A span reaching past the last
representable instant (``on(9999)``, ``9999-12-31``) has ``end = None``: it
is open at the end, which selects exactly the same records. Dates outside
that range (a time zone moving ``0001-01-01T00:00`` into year 0) raise
:class:`QueryError`.
"""
import datetime as _dt
import math
import re

from .errors import QueryError

UTC = _dt.timezone.utc

_DIGITS = re.compile(r"^\d{4,8}$")
_LABEL = re.compile(r"^(\d{8})-(\d{2})(\d{2})(\d{2})$")  # Sumatra's %Y%m%d-%H%M%S
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")

# Widths of the spans denoted by tuples of 1..7 fields.
_UNITS = ("year", "month", "day", "hour", "minute", "second", "microsecond")


def _add(start, unit):
    """``start`` plus one ``unit`` (calendar aware for years and months);
    None past the last representable instant (an open end)."""
    try:
        if unit == "year":
            return start.replace(year=start.year + 1)
        if unit == "month":
            year, month = divmod(start.month, 12)
            return start.replace(year=start.year + year, month=month + 1)
        return start + _dt.timedelta(**{unit + "s": 1})
    except (ValueError, OverflowError):   # year 10000
        return None


def _in_utc(when, text):
    """``when`` (naive: UTC) as an aware UTC datetime, or a QueryError if
    that falls outside years 1 to 9999."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (ValueError, OverflowError):
        raise QueryError(f"bad date {text}: out of range in UTC (years 1 to 9999)") from None


def _from_fields(fields, text):
    fields = tuple(int(f) for f in fields)
    if not 1 <= len(fields) <= 7:
        raise QueryError(f"bad date {text}: give 1 to 7 fields (year, month, day, ...)")
    padded = fields + (1, 1)[len(fields) - 1:] if len(fields) < 3 else fields
    try:
        start = _dt.datetime(*padded, tzinfo=UTC)
    except (ValueError, OverflowError) as err:
        raise QueryError(f"bad date {text}: {err}") from None
    return start, _add(start, _UNITS[len(fields) - 1])


def _from_digits(digits, text):
    # smttask's convenience form: concatenated fields, shorter ones padded
    # with the earliest date (2018 -> 20180101). 5 and 7 digits pad "1"s.
    n = len(digits)
    fields = [digits[:4]]
    if n > 4:
        fields.append(digits[4:6].ljust(2, "1") if n < 6 else digits[4:6])
    if n > 6:
        fields.append(digits[6:8].ljust(2, "1"))
    return _from_fields(fields, text)


def _from_string(text):
    s = text.strip()
    if _DIGITS.match(s):
        return _from_digits(s, text)
    m = _LABEL.match(s)
    if m:
        d, hh, mm, ss = m.groups()
        return _from_fields((d[:4], d[4:6], d[6:], hh, mm, ss), text)
    m = _ISO_DATE.match(s)
    if m:
        return _from_fields([g for g in m.groups() if g is not None], text)
    try:
        when = _dt.datetime.fromisoformat(s)
    except ValueError:
        raise QueryError(
            f"bad date {text!r}: use 2020, 202009, 20200912, 2020-09-12, "
            "2020-09-12T13:30 or a label timestamp such as 20200912-133000") from None
    when = _in_utc(when, repr(text))
    time = re.match(r"\d\d(:\d\d)?(:\d\d)?", re.split("[T ]", s, 1)[-1]) if len(s) > 10 else None
    unit = ("day", "hour", "minute", "second")[0 if time is None else 1 + sum(
        g is not None for g in time.groups())]
    return when, _add(when, "microsecond" if when.microsecond else unit)


def date_span(date, *args):
    """Return the UTC span ``(start, end)`` that ``date`` denotes (``end`` is
    None when it would fall past year 9999: the span is open there).

    Accepts an integer of 4 to 8 digits (``2020``, ``202009``, ``20200912``),
    a tuple or several integers as for :class:`datetime.datetime`, a
    :class:`datetime.datetime` (an instant; naive means UTC), a
    :class:`datetime.date` (a day), or a string (the integer forms,
    ``2020-09``, ``2020-09-12``, ISO date-times such as ``2020-09-12T13:30``,
    or a label timestamp ``20200912-133000``). Raises :class:`QueryError` with
    a clear message for anything else.
    """
    if isinstance(date, _dt.datetime):
        if args:
            raise QueryError("bad date: give either a datetime or date fields, not both")
        when = _in_utc(date, str(date))
        return when, when
    if isinstance(date, _dt.date):
        if args:
            raise QueryError("bad date: give either a date or date fields, not both")
        return _from_fields((date.year, date.month, date.day), str(date))
    if isinstance(date, tuple):
        return date_span(*(date + args)) if date else date_span(None)
    if isinstance(date, bool) or not isinstance(date, (int, str)):
        raise QueryError(f"bad date {date!r}: expected an integer, a string, a tuple, "
                         "a date or a datetime")
    if args:
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in (date,) + args):
            raise QueryError(f"bad date {(date,) + args}: fields must be integers")
        return _from_fields((date,) + args, str((date,) + args))
    if isinstance(date, int):
        if not _DIGITS.match(str(date)):
            raise QueryError(f"bad date {date}: an integer date has 4 to 8 digits "
                             "(2020, 202009, 20200912)")
        return _from_digits(str(date), str(date))
    return _from_string(date)


def on_span(date, *args):
    """Span for ``on``: an instant (a ``datetime``) widens to its whole day;
    ``end`` is None when the span reaches past year 9999."""
    start, end = date_span(date, *args)
    if start == end:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        end = _add(start, "day")
    return start, end


def as_utc(timestamp):
    """A record timestamp as an aware UTC datetime (naive means UTC)."""
    if timestamp.tzinfo is None:
        return timestamp.replace(tzinfo=UTC)
    return timestamp.astimezone(UTC)


#: Duration units as people and smttask write them -> seconds.
DURATION_UNITS = {
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(%s)" % "|".join(
    sorted(DURATION_UNITS, key=len, reverse=True)))


def parse_duration(value):
    """Seconds from a number or a string: '90', '1.5h', '1.5 h', '2h30m',
    '1h23min2s', '90 min', '2 days', '9 hours 59 minutes 60 seconds'
    (units: ``DURATION_UNITS``, any case)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise QueryError(f"bad duration {value!r}: use seconds or a form such as 2h30m "
                         "or '90 min'")
    return sum(float(n) * DURATION_UNITS[u] for n, u in parts)


def format_duration(seconds, with_seconds=True):
    """'3h 52m 39s' (or '3h 52m' without seconds); '' for a missing duration."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    total = int(round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m {s:02d}s" if with_seconds else f"{h}h {m:02d}m"


def check_date(value):
    """``value`` if :func:`date_span` reads it as a date, else a QueryError
    (a date given as text is kept as written: checked, not converted)."""
    date_span(value)
    return value
