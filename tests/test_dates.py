"""Dates as users write them -> UTC spans; durations."""
import datetime as dt

import pytest
from hypothesis import given, strategies as st

from smt_query.dates import date_span, format_duration, on_span, parse_duration
from smt_query.errors import QueryError

UTC = dt.timezone.utc


def d(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("value, start, end", [
    (2020, d(2020, 1, 1), d(2021, 1, 1)),
    (202009, d(2020, 9, 1), d(2020, 10, 1)),
    (202012, d(2020, 12, 1), d(2021, 1, 1)),
    (20200912, d(2020, 9, 12), d(2020, 9, 13)),
    (20201231, d(2020, 12, 31), d(2021, 1, 1)),
    ("2020", d(2020, 1, 1), d(2021, 1, 1)),
    ("20200912", d(2020, 9, 12), d(2020, 9, 13)),
    ("2020-09", d(2020, 9, 1), d(2020, 10, 1)),
    ("2020-09-12", d(2020, 9, 12), d(2020, 9, 13)),
    ("2020-09-12T13", d(2020, 9, 12, 13), d(2020, 9, 12, 14)),
    ("2020-09-12T13:30", d(2020, 9, 12, 13, 30), d(2020, 9, 12, 13, 31)),
    ("2020-09-12 13:30:05", d(2020, 9, 12, 13, 30, 5), d(2020, 9, 12, 13, 30, 6)),
    ("2020-09-12T13:30+02:00", d(2020, 9, 12, 11, 30), d(2020, 9, 12, 11, 31)),
    ("20200912-133000", d(2020, 9, 12, 13, 30), d(2020, 9, 12, 13, 30, 1)),
    ((2020, 9, 12), d(2020, 9, 12), d(2020, 9, 13)),
    ((2020, 9), d(2020, 9, 1), d(2020, 10, 1)),
    (dt.date(2020, 9, 12), d(2020, 9, 12), d(2020, 9, 13)),
])
def test_spans(value, start, end):
    assert date_span(value) == (start, end)


def test_fields_as_arguments_and_smttask_padding():
    assert date_span(2020, 9, 12) == (d(2020, 9, 12), d(2020, 9, 13))
    # smttask: fewer than 8 digits are extended with the earliest date ("0101")
    assert date_span(2020091)[0] == d(2020, 9, 11)
    assert date_span(20201)[0] == d(2020, 11, 1)


def test_datetimes_are_instants_naive_means_utc():
    assert date_span(dt.datetime(2020, 9, 12, 5)) == (d(2020, 9, 12, 5), d(2020, 9, 12, 5))
    aware = dt.datetime(2020, 9, 12, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert date_span(aware)[0] == d(2020, 9, 12, 3)
    assert on_span(dt.datetime(2020, 9, 12, 5)) == (d(2020, 9, 12), d(2020, 9, 13))


@pytest.mark.parametrize("bad, message", [
    (2020133, "month must be in 1..12"),
    (123, "4 to 8 digits"),
    (202013, "month must be in 1..12"),
    ("2020-02-30", "day is out of range"),
    ((2020, 2, 30), "day is out of range"),
    ("yesterday", "use 2020, 202009"),
    (1.5, "expected an integer"),
    (True, "expected an integer"),
    (None, "expected an integer"),
])
def test_bad_dates_raise_clear_errors(bad, message):
    with pytest.raises(QueryError, match=message) as err:
        date_span(bad)
    assert "\n" not in str(err.value)


@given(st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2200, 1, 1)))
def test_label_timestamps_round_trip(when):
    # A Sumatra label names the second it was made in.
    label = when.strftime("%Y%m%d-%H%M%S")
    start, end = date_span(label)
    assert start <= when.replace(tzinfo=UTC) < end
    assert (end - start) == dt.timedelta(seconds=1)


@pytest.mark.parametrize("text, seconds", [
    (90, 90.0), ("90", 90.0), ("1.5h", 5400.0), ("2h30m", 9000.0), ("1d 2h 3m 4s", 93784.0),
    ("1h23min2s", 4982.0), ("9 hours 59 minutes 60 seconds", 36000.0), ("1.5 h", 5400.0),
    ("90 min", 5400.0), ("2 days", 172800.0), ("2H", 7200.0), ("1 hr 5 secs", 3605.0),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["h", "2x", "-", "2 dayz", "1h 2", "hours 2", "1.5.h", "2 minutes ago"])
def test_bad_durations(bad):
    with pytest.raises(QueryError, match="bad duration"):
        parse_duration(bad)


def test_format_duration():
    assert format_duration(13959) == "3h 52m 39s"
    assert format_duration(1277) == "0h 21m 17s"
    assert format_duration(13959, with_seconds=False) == "3h 52m"
    assert format_duration(None) == ""
    assert format_duration(float("nan")) == ""
