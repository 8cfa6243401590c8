"""Dates as users write them, turned into UTC time spans.

Sumatra (0.8) stamps records with ``datetime.now(timezone.utc)`` and derives
labels from them, so naive dates are read as UTC: ``on(20200915)`` is the day
the labels ``20200915-*`` were made. Every accepted form denotes a span
``[start, end)``: ``2020`` a year, ``202009`` a month, ``20200912`` a day,
``2020-09-12T13:30`` a minute, a ``datetime`` an instant. ``after`` uses
``start`` (inclusive), ``before`` uses ``start`` (exclusive) and ``on`` the
whole span.

Relative dates (:func:`relative_span`) count back from now in the same
clock, the UTC day being the labels' day: ``today``, ``yesterday``, ``7d``,
``2w``, ``3 days ago`` and ``last monday`` are whole UTC days (so ``after
today`` starts at midnight UTC); ``this week`` / ``last month`` / ``last
year`` whole calendar weeks (Monday first), months and years; ``now`` and
``36h`` / ``90 min ago`` instants.

Every date from year 1 to 9999 is accepted. A span reaching past the last
representable instant (``on(9999)``, ``9999-12-31``) has ``end = None``: it
is open at the end, which selects exactly the same records. Dates outside
that range (a time zone moving ``0001-01-01T00:00`` into year 0) raise
:class:`QueryError`.
"""
import datetime as _dt
import math
import re

from .errors import QueryError, did_you_mean

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
        span = relative_span(s)
        if span is not None:
            return span
        raise QueryError(
            f"bad date {text!r}: use 2020, 202009, 20200912, 2020-09-12, "
            "2020-09-12T13:30, a label timestamp such as 20200912-133000, or today, "
            "yesterday, 7d, 2w, '3 days ago', 'last monday', 'last month', now") from None
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


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Calendar spans for ``this``/``last``: the unit and the start of the current one.
_PERIODS = ("day", "week", "month", "year")
_RELATIVE_WORDS = ("now", "today", "yesterday", "tomorrow", "ago", "last", "this")
_DAY_UNITS = {"d", "day", "days", "w", "wk", "wks", "week", "weeks"}


def utc_now():
    """The current instant in the labels' clock (aware UTC)."""
    return _dt.datetime.now(UTC)


def _day(when):
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


def relative_span(text, now=None):
    """The UTC span of a relative date, or None if ``text`` is not one.

    ``now`` (default :func:`utc_now`) is the instant counted from. Days are
    the UTC days of Sumatra's labels:

    * ``now``: the instant; ``today``, ``yesterday``, ``tomorrow``: that day;
    * ``7d``, ``2w``, ``3 days ago``, ``1 week ago`` (days and weeks): the
      whole day so many days before today (``1d`` is ``yesterday``);
    * ``36h``, ``90 min ago``, ``2h30m`` (a unit below a day): the instant
      that long before ``now``;
    * ``monday`` .. ``sunday`` (or ``mon``): the latest such day, today
      included; ``last monday``: the latest before today;
    * ``this week``/``month``/``year``, ``last week``/``month``/``year``:
      the calendar week (Monday to Sunday), month or year.

    A text that uses these words but not in these forms raises
    :class:`QueryError` saying what is wrong.
    """
    s = " ".join(str(text).strip().lower().split())
    now = _in_utc(now, str(now)) if now is not None else utc_now()
    today = _day(now)
    words = s.split(" ")
    fixed = {"now": (now, now), "today": (today, _add(today, "day")),
             "yesterday": (today - _dt.timedelta(days=1), today),
             "tomorrow": (_add(today, "day"), _add(_add(today, "day"), "day"))}
    if s in fixed:
        return fixed[s]
    weekday = _weekday(words[-1])
    if weekday is not None and len(words) <= 2:
        if len(words) == 2 and words[0] != "last":
            raise QueryError(f"bad date {text!r}: write 'last {WEEKDAYS[weekday]}' "
                             f"or '{WEEKDAYS[weekday]}'")
        back = (today.weekday() - weekday) % 7
        if back == 0 and len(words) == 2:
            back = 7
        start = today - _dt.timedelta(days=back)
        return start, start + _dt.timedelta(days=1)
    if len(words) == 2 and words[0] in ("this", "last"):
        if words[1] not in _PERIODS:
            hint = did_you_mean(words[1], _PERIODS + WEEKDAYS)
            raise QueryError(f"bad date {text!r}: after '{words[0]}' write day, week, month, "
                             f"year or a weekday{hint}")
        return _period(today, words[1], words[0] == "last")
    ago = words[-1] == "ago"
    amount = " ".join(words[:-1] if ago else words)
    if not re.search(r"\d", amount) or not re.search(r"[a-z]", amount):
        if ago:
            raise QueryError(f"bad date {text!r}: write a count with a unit before 'ago', "
                             "e.g. '3 days ago', '2w ago', '36h ago'")
        if any(w in _RELATIVE_WORDS for w in words):
            raise QueryError(f"bad date {text!r}: write e.g. today, yesterday, now, "
                             "'last monday', 'last week', 'this month', '3 days ago'")
        return None
    try:
        seconds = parse_duration(amount)
    except QueryError:
        if not ago:
            return None   # not a relative date at all: the caller says what is accepted
        raise QueryError(f"bad date {text!r}: {amount!r} is not a count with a unit, "
                         "such as 3 days, 2w, 36h or 90 min") from None
    units = {u for _, u in _DURATION_PART.findall(amount.replace(" ", ""))}
    try:
        if units <= _DAY_UNITS and seconds % 86400 == 0:
            start = today - _dt.timedelta(days=seconds // 86400)
            return start, start + _dt.timedelta(days=1)
        when = now - _dt.timedelta(seconds=seconds)
    except OverflowError:
        raise QueryError(f"bad date {text!r}: that is before year 1") from None
    return when, when


def _weekday(word):
    """0 for monday (or mon) .. 6 for sunday; None for another word."""
    for i, name in enumerate(WEEKDAYS):
        if word == name or word == name[:3]:
            return i
    return None


def _period(today, unit, last):
    """The calendar ``unit`` (day, week, month, year) holding ``today``, or the one before."""
    if unit == "day":
        start = today
    elif unit == "week":
        start = today - _dt.timedelta(days=today.weekday())
    elif unit == "month":
        start = today.replace(day=1)
    else:
        start = today.replace(month=1, day=1)
    if last:
        if unit in ("day", "week"):
            start -= _dt.timedelta(days=1 if unit == "day" else 7)
        elif unit == "month":
            start = (start - _dt.timedelta(days=1)).replace(day=1)
        else:
            start = start.replace(year=start.year - 1)
    return start, _add(start, unit) if unit != "week" else start + _dt.timedelta(days=7)


def on_span(date, *args):
    """Span for ``on``: an instant (a ``datetime``) widens to its whole day;
    ``end`` is None when the span reaches past year 9999."""
    start, end = date_span(date, *args)
    if start == end:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        end = _add(start, "day")
    return start, end


#: A timestamp as Django writes it in SQLite: ``str()`` of a naive UTC datetime.
_STORED = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})"
                     r"(?:\.([0-9]{6}))?", re.ASCII)


def read_stored_timestamp(text):
    """The naive UTC datetime of a timestamp stored as text (SQLite), or None
    when it is unreadable.

    Readable is exactly the text Django writes, ``str()`` of a datetime:
    ``YYYY-MM-DD HH:MM:SS`` with ``.ffffff`` when the microseconds are not 0,
    a real date and time. Text of that form orders as the instants do, so SQL
    can compare it as text where this holds (the SQL form of the rule:
    ``where.sqlite.SQLite.TIMESTAMP_OK``, tested equal).
    """
    m = _STORED.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        return None
    try:
        when = _dt.datetime(*(int(g) for g in m.groups(default="0")))
    except ValueError:   # 2020-13-45, 25:61:00
        return None
    return when if str(when) == text else None   # '.000000' is written without


def report_unreadable(text, store):
    """Warn of the unreadable stored timestamp ``text`` in ``store`` (a
    database name): :class:`~smt_query.errors.UnreadableTimestamp` (the CLI
    and the admin show each text once; Python's default filter too)."""
    import warnings
    from .errors import UnreadableTimestamp
    warnings.warn(UnreadableTimestamp(text, store), stacklevel=2)


def timestamp_order(timestamp):
    """Sort key of a record timestamp, the order of SQL's (see
    ``where.qfields.timestamp_order``): newest first under ``reverse=True``,
    an unreadable timestamp (None) last."""
    return (0, _dt.datetime.min.replace(tzinfo=UTC)) if timestamp is None else (1, as_utc(timestamp))


def as_utc(timestamp):
    """A record timestamp as an aware UTC datetime (naive means UTC)."""
    if timestamp.tzinfo is None:
        return timestamp.replace(tzinfo=UTC)
    return timestamp.astimezone(UTC)


#: Duration units as people and smttask write them -> seconds.
DURATION_UNITS = {
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 7 * 86400),
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


class Seconds(float):
    """A duration in seconds among other values (a row of ``smt compare``):
    tables show it by :func:`format_duration`, CSV and JSON as the number."""

    __slots__ = ()


def format_duration(seconds):
    """A duration as every table, summary and page shows it: ``42s`` under a
    minute (``2.5s`` under ten seconds), else ``0h 21m 17s`` (the smttask
    guide's form); '' for a missing duration."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    if abs(seconds) < 59.5:
        text = f"{seconds:.1f}" if abs(seconds) < 9.95 else f"{seconds:.0f}"
        return ("0" if float(text) == 0 else text.removesuffix(".0")) + "s"
    total = int(round(seconds))
    sign, total = ("-", -total) if total < 0 else ("", total)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}h {m:02d}m {s:02d}s"


def check_date(value):
    """``value`` if :func:`date_span` reads it as a date, else a QueryError
    (a date given as text is kept as written: checked, not converted)."""
    date_span(value)
    return value
