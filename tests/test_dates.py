"""Dates as users write them -> UTC spans; durations."""
import datetime as dt
import os

import pytest
from hypothesis import given, strategies as st

from smt_query.dates import (check_date, date_span, format_duration, on_span, parse_duration,
                             relative_span)
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
    ("yesterdya", "use 2020, 202009"),
    ("fig", "or today, yesterday, 7d"),
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


@pytest.mark.parametrize("seconds, shown", [
    (13959, "3h 52m 39s"), (1277, "0h 21m 17s"), (13959.4, "3h 52m 39s"),   # the guide's form
    (42, "42s"), (42.4, "42s"), (59.4, "59s"), (59.6, "0h 01m 00s"), (60, "0h 01m 00s"),
    (2.5, "2.5s"), (0.3, "0.3s"), (0, "0s"), (0.04, "0s"), (9.96, "10s"), (90000, "25h 00m 00s"),
    (None, ""), (float("nan"), ""),
])
def test_format_duration(seconds, shown):
    # one form everywhere: never "0h 00m" for a short run, never raw seconds
    assert format_duration(seconds) == shown


# -- relative dates ---------------------------------------------------------------

SUNDAY = d(2026, 11, 29, 21, 5, 7)     # a Sunday evening, UTC


@pytest.mark.parametrize("text, start, end", [
    ("today", d(2026, 11, 29), d(2026, 11, 30)),
    ("Today", d(2026, 11, 29), d(2026, 11, 30)),
    ("yesterday", d(2026, 11, 28), d(2026, 11, 29)),
    ("tomorrow", d(2026, 11, 30), d(2026, 12, 1)),
    ("now", SUNDAY, SUNDAY),
    ("0d", d(2026, 11, 29), d(2026, 11, 30)),
    ("1d", d(2026, 11, 28), d(2026, 11, 29)),            # = yesterday
    ("7d", d(2026, 11, 22), d(2026, 11, 23)),
    ("2w", d(2026, 11, 15), d(2026, 11, 16)),
    ("3 days ago", d(2026, 11, 26), d(2026, 11, 27)),
    ("3  Days  AGO", d(2026, 11, 26), d(2026, 11, 27)),
    ("1 week ago", d(2026, 11, 22), d(2026, 11, 23)),
    ("36h", d(2026, 11, 28, 9, 5, 7), d(2026, 11, 28, 9, 5, 7)),     # below a day: an instant
    ("90 min ago", d(2026, 11, 29, 19, 35, 7), d(2026, 11, 29, 19, 35, 7)),
    ("1.5d", d(2026, 11, 28, 9, 5, 7), d(2026, 11, 28, 9, 5, 7)),     # not whole days
    ("last monday", d(2026, 11, 23), d(2026, 11, 24)),
    ("monday", d(2026, 11, 23), d(2026, 11, 24)),
    ("sunday", d(2026, 11, 29), d(2026, 11, 30)),         # today is one
    ("last sunday", d(2026, 11, 22), d(2026, 11, 23)),    # before today
    ("last sun", d(2026, 11, 22), d(2026, 11, 23)),
    ("this week", d(2026, 11, 23), d(2026, 11, 30)),      # Monday to Sunday
    ("last week", d(2026, 11, 16), d(2026, 11, 23)),
    ("this month", d(2026, 11, 1), d(2026, 12, 1)),
    ("last month", d(2026, 10, 1), d(2026, 11, 1)),
    ("this year", d(2026, 1, 1), d(2027, 1, 1)),
    ("last year", d(2025, 1, 1), d(2026, 1, 1)),
])
def test_relative_dates_are_utc_days(text, start, end):
    assert relative_span(text, now=SUNDAY) == (start, end)


def test_relative_dates_across_month_and_year_ends():
    new_year = d(2027, 1, 1, 0, 30)
    assert relative_span("yesterday", now=new_year) == (d(2026, 12, 31), d(2027, 1, 1))
    assert relative_span("last month", now=new_year) == (d(2026, 12, 1), d(2027, 1, 1))
    assert relative_span("last week", now=new_year) == (d(2026, 12, 21), d(2026, 12, 28))
    assert relative_span("friday", now=new_year) == (d(2027, 1, 1), d(2027, 1, 2))
    assert relative_span("last friday", now=new_year) == (d(2026, 12, 25), d(2026, 12, 26))
    # a local clock's "now" counts in UTC (labels are UTC): 01:30 in Paris is yesterday in UTC
    paris = dt.datetime(2027, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert relative_span("today", now=paris) == (d(2026, 12, 31), d(2027, 1, 1))


def test_relative_dates_count_from_the_utc_clock():
    before = dt.datetime.now(UTC)
    start, end = date_span("today")
    after = dt.datetime.now(UTC)
    midnight = {dt.datetime.combine(t.date(), dt.time(), UTC) for t in (before, after)}
    assert start in midnight and end - start == dt.timedelta(days=1)
    now, _ = date_span("now")
    assert before <= now <= dt.datetime.now(UTC)
    assert on_span("now")[0] in midnight
    assert check_date("3 days ago") == "3 days ago"     # kept as written: a saved query stays relative
    if before.date() == after.date():
        assert date_span("yesterday") == (start - dt.timedelta(days=1), start)


@pytest.mark.parametrize("bad, message", [
    ("last mondy", "after 'last' write day, week, month, year or a weekday (did you mean 'monday'"),
    ("this fortnight", "after 'this' write day, week, month, year or a weekday"),
    ("3 dayz ago", "'3 dayz' is not a count with a unit, such as 3 days"),
    ("ago", "write a count with a unit before 'ago'"),
    ("last", "write e.g. today, yesterday, now, 'last monday'"),
    ("next monday", "write 'last monday' or 'monday'"),
    ("99999999d", "before year 1"),
])
def test_bad_relative_dates_say_what_is_wrong(bad, message):
    with pytest.raises(QueryError) as err:
        date_span(bad)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(f"bad date {bad!r}")


def test_weeks_are_durations_too():
    assert parse_duration("2w") == parse_duration("14 days") == 14 * 86400


# -- relative dates on real stores: CLI, Python, --where --------------------------

def _utc_midnight():
    return dt.datetime.combine(dt.datetime.now(UTC).date(), dt.time(), UTC)


_LOADED = {}


def _sumatra_labels(path, start=None, end=None):
    """The oracle: labels of the records Sumatra itself loads, by timestamp."""
    from support import sumatra_records
    if path not in _LOADED:
        _LOADED[path] = [(r.label, r.timestamp.replace(tzinfo=UTC) if r.timestamp.tzinfo is None
                          else r.timestamp.astimezone(UTC)) for r in sumatra_records(path)]
    return sorted(label for label, ts in _LOADED[path]
                  if (start is None or ts >= start) and (end is None or ts < end))


def _on_one_day(check):
    """Run ``check(midnight)``; again if the UTC day changed meanwhile."""
    for _ in range(2):
        midnight = _utc_midnight()
        check(midnight)
        if _utc_midnight() == midnight:
            return
    raise AssertionError("the UTC day changed twice")


def test_relative_dates_in_cli_python_and_where(demo_project, monkeypatch):
    from click.testing import CliRunner

    from smt_query import RecordStoreView
    from smt_query.cli.query import query
    monkeypatch.chdir(demo_project.path)

    def cli(*args):
        result = CliRunner().invoke(query, [*args, "--format", "labels"], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return sorted(result.stdout.split())

    def check(midnight):
        day = dt.timedelta(days=1)
        today = _sumatra_labels(demo_project.path, midnight)
        view = RecordStoreView(project=demo_project.path)
        assert cli("--after", "today") == today
        assert sorted(view.filter.after("today").labels()) == today
        assert cli("--on", "today") == today
        assert cli("--where", "timestamp >= 'today'") == today
        assert sorted(view.filter.where("timestamp == 'today'").labels()) == today
        earlier = _sumatra_labels(demo_project.path, None, midnight)
        assert cli("--before", "today") == earlier
        assert len(earlier) + len(today) == demo_project.n_records and len(earlier) > 300
        assert sorted(view.filter.before("today").labels()) == earlier
        assert cli("--where", "timestamp < 'today'") == earlier
        week = _sumatra_labels(demo_project.path, midnight - 7 * day)
        assert cli("--after", "7d") == week == cli("--after", "7 days ago")
        assert sorted(view.filter.where("timestamp >= '1w'").labels()) == week
        monday = midnight - dt.timedelta(days=midnight.weekday() or 7)
        assert cli("--after", "last monday") == _sumatra_labels(demo_project.path, monday)
        assert cli("--on", "yesterday") == _sumatra_labels(
            demo_project.path, midnight - day, midnight)
        assert cli("--after", "now") == []
    _on_one_day(check)


def test_relative_dates_through_the_real_smt(demo_project):
    import subprocess
    import sys
    smt = os.path.join(os.path.dirname(sys.executable), "smt")

    def check(midnight):
        out = subprocess.run([smt, "query", "--after", "today", "--format", "labels"],
                             cwd=demo_project.path, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert sorted(out.stdout.split()) == _sumatra_labels(demo_project.path, midnight)
    _on_one_day(check)
    bad = subprocess.run([smt, "query", "--after", "last mondy"], cwd=demo_project.path,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "Error: Invalid value for '--after': bad date 'last mondy': after 'last' write day, week, "
        "month, year or a weekday (did you mean 'monday' or 'month'?) (see 'smt query --help')"]


@pytest.mark.parametrize("expr, caret, message", [
    ("timestamp >= today", 13, "a date goes in quotes: timestamp >= 'today'"),
    ("timestamp < last monday and a == 1", 12, "a date goes in quotes: timestamp < 'last monday'"),
    ("timestamp >= 7d", 13, "a date goes in quotes: timestamp >= '7d'"),
    ("timestamp >= '3 dayz ago'", 13, "'3 dayz' is not a count with a unit"),
])
def test_where_points_at_a_bad_date(expr, caret, message):
    from smt_query.where import WhereSyntaxError, parse
    with pytest.raises(WhereSyntaxError) as err:
        parse(expr)
    assert message in err.value.message and err.value.position == caret


# -- durations shown: one form in every table -----------------------------------------

def test_durations_in_tables_compare_and_summary(demo_project, monkeypatch):
    from click.testing import CliRunner

    from smt_query import RecordStoreView
    from smt_query.cli.compare import compare
    from smt_query.cli.query import query
    monkeypatch.chdir(demo_project.path)
    view = RecordStoreView(project=demo_project.path)
    durations = {r.label: r.duration for r in view}
    short = sorted(label for label, d in durations.items() if d is not None and d < 59.5)
    assert short
    table = CliRunner().invoke(query, ["--label", short[0], "--fields", "label,duration"])
    assert table.exit_code == 0, table.stderr
    assert table.stdout.split()[-2:] == [short[0], format_duration(durations[short[0]])]
    assert table.stdout.split()[-1].endswith("s") and "0h 00m" not in table.stdout
    every = CliRunner().invoke(query, ["--fields", "label,duration", "--format", "markdown"])
    shown = {line.split("|")[1].strip(): line.split("|")[2].strip()
             for line in every.stdout.splitlines()[2:]}
    assert shown == {label: format_duration(d) for label, d in durations.items()}
    csv_out = CliRunner().invoke(query, ["--label", short[0], "--fields", "label,duration",
                                         "--format", "csv"])
    assert csv_out.stdout.splitlines()[1] == f"{short[0]},{durations[short[0]]!r}"   # a number

    a, b = "20201119-075320_7b84e7", "20201119-042150_e177c4"      # the guide's pair
    pair = CliRunner().invoke(compare, [a, b, "--fields", "duration", "--depth", "1"])
    assert pair.exit_code == 0, pair.stderr
    row = next(line for line in pair.stdout.splitlines() if line.startswith("duration"))
    assert row.split() == ["duration", "7h", "12m", "09s", "6h", "33m", "51s"]
    assert repr(durations[a]) not in pair.stdout
    for fmt in ("csv", "json"):                                    # for machines: numbers
        out = CliRunner().invoke(compare, [a, b, "--fields", "duration", "--format", fmt]).stdout
        assert repr(durations[a]) in out and "7h 12m" not in out
    many = CliRunner().invoke(compare, ["--on", "20201110", "--fields", "duration", "--depth", "1"])
    assert "4h 41m 09s" in many.stdout and "16869." not in many.stdout

    summary = repr(view.filter.label(short[0]).summary)
    assert format_duration(durations[short[0]]) in summary and "0h 00m" not in summary
