"""Next fire times of EventBridge Scheduler expressions, and the preview warnings.

Expected times are worked out by hand from the calendar and the published DST rules of each
zone (noted beside each case), never taken from the code under test. AWS's daylight-saving
rule for EventBridge Scheduler: a cron time in the spring-forward gap is skipped; a time in
the repeated autumn hour runs once. A rate day is 24 hours.
"""

from __future__ import annotations

import calendar
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.expressions import next_fires, parse_expression, preview


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def z(text: str) -> datetime:
    """'2026-11-01T05:30' -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires(expression, tz, after, count=5, **bounds):
    return next_fires(expression, tz, after, count, **bounds)


# --------------------------------------------------------------------------------------
# Basics
# --------------------------------------------------------------------------------------


def test_fire_times_are_aware_utc_and_strictly_after():
    # Given a daily 10:00 UTC schedule and `after` exactly at a fire time
    after = utc(2026, 11, 24, 10, 0)
    # When the next fire times are asked for
    result = fires("cron(0 10 * * ? *)", "UTC", after, 3)
    # Then that fire time itself is excluded and the results are aware UTC datetimes
    assert result == [utc(2026, 11, 25, 10), utc(2026, 11, 26, 10), utc(2026, 11, 27, 10)]
    assert all(f.tzinfo is UTC for f in result)


def test_naive_after_is_utc_and_aware_after_in_another_zone_is_converted():
    # Given the same instant as a naive UTC datetime and as an aware New York datetime
    naive = datetime(2026, 11, 24, 9, 59, 30)
    from zoneinfo import ZoneInfo

    aware = naive.replace(tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))
    # When fire times are asked for from each
    # Then both give the same answer (seconds are rounded up to the next minute)
    expected = [utc(2026, 11, 24, 10, 0)]
    assert fires("cron(0 10 * * ? *)", "UTC", naive, 1) == expected
    assert fires("cron(0 10 * * ? *)", "UTC", aware, 1) == expected


def test_parsed_expression_is_accepted_as_well_as_text():
    # Given a parsed expression
    parsed = parse_expression("cron(15 12 * * ? *)")
    # When passed instead of text
    # Then the result is the same
    after = utc(2026, 1, 1)
    assert fires(parsed, "UTC", after, 2) == fires("cron(15 12 * * ? *)", "UTC", after, 2)


def test_count_zero_gives_nothing():
    # Given count 0
    # When fire times are asked for
    # Then none come back
    assert fires("rate(1 minute)", "UTC", utc(2026, 1, 1), 0) == []


AWS_EXAMPLES = [
    # (expression, after, expected first fire times) in UTC; 2026-11-24 is a Tuesday.
    ("cron(0 10 * * ? *)", utc(2026, 11, 24, 10, 30), ["2026-11-25T10:00", "2026-11-26T10:00"]),
    ("cron(15 12 * * ? *)", utc(2026, 11, 24, 10), ["2026-11-24T12:15", "2026-11-25T12:15"]),
    # 2026-11-27 is a Friday, so Monday 2026-11-30 follows.
    ("cron(0 18 ? * MON-FRI *)", utc(2026, 11, 27, 19), ["2026-11-30T18:00", "2026-12-01T18:00"]),
    ("cron(0 8 1 * ? *)", utc(2026, 11, 24), ["2026-12-01T08:00", "2027-01-01T08:00"]),
    ("cron(0/15 * * * ? *)", utc(2026, 11, 24, 10, 7),
     ["2026-11-24T10:15", "2026-11-24T10:30", "2026-11-24T10:45", "2026-11-24T11:00"]),
    # Saturday 2026-11-28 23:55 -> Monday 00:00.
    ("cron(0/10 * ? * MON-FRI *)", utc(2026, 11, 28, 23, 55), ["2026-11-30T00:00", "2026-11-30T00:10"]),
    # 17:55 is the last run of the day, then 08:00 the next weekday.
    ("cron(0/5 8-17 ? * MON-FRI *)", utc(2026, 11, 24, 17, 50), ["2026-11-24T17:55", "2026-11-25T08:00"]),
    # First Monday: 2026-12-07 (Dec 1 is a Tuesday), then 2027-01-04 (Jan 1 is a Friday).
    ("cron(0 9 ? * 2#1 *)", utc(2026, 11, 24), ["2026-12-07T09:00", "2027-01-04T09:00"]),
    ("cron(5,35 14 * * ? *)", utc(2026, 11, 24, 14, 5), ["2026-11-24T14:35", "2026-11-25T14:05"]),
    # Last Friday of the month during 2019-2022: 2022-11-25, 2022-12-30, then never again.
    ("cron(15 10 ? * 6L 2019-2022)", utc(2022, 11, 1), ["2022-11-25T10:15", "2022-12-30T10:15"]),
]


@pytest.mark.parametrize("expression,after,expected", AWS_EXAMPLES)
def test_aws_documented_examples(expression, after, expected):
    # Given an example from the AWS cron reference
    # When its next fire times are computed in UTC
    result = fires(expression, "UTC", after, len(expected) + 1)
    # Then they are the documented meaning (and 6L 2019-2022 stops after 2022)
    assert result[: len(expected)] == [z(e) for e in expected]
    if "2019-2022" in expression:
        assert len(result) == 2


# --------------------------------------------------------------------------------------
# L, W and #
# --------------------------------------------------------------------------------------

DAY_CASES = [
    # Last day of the month; 2028 is a leap year.
    ("cron(0 0 L * ? *)", utc(2027, 1, 15), ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]),
    ("cron(0 0 L 2 ? *)", utc(2027, 3, 1), ["2028-02-29", "2029-02-28"]),
    # L alone in day-of-week is Saturday: 2026-11-28, 2026-12-05.
    ("cron(0 0 ? * L *)", utc(2026, 11, 24), ["2026-11-28", "2026-12-05"]),
    # Last Friday: Nov 30 2026 is a Monday -> 27th; Dec 31 is a Thursday -> 25th; Jan 31 2027 a Sunday -> 29th.
    ("cron(0 0 ? * 6L *)", utc(2026, 11, 1), ["2026-11-27", "2026-12-25", "2027-01-29"]),
    # Last Sunday (1L): Oct 25 2026, Nov 29 2026.
    ("cron(0 0 ? * 1L *)", utc(2026, 10, 1), ["2026-10-25", "2026-11-29"]),
    # 3W: Jan 3 2027 is a Sunday -> Monday 4th; Feb 3 is a Wednesday; Apr 3 2027 a Saturday -> Friday 2nd.
    ("cron(0 0 3W * ? *)", utc(2027, 1, 1), ["2027-01-04", "2027-02-03", "2027-03-03", "2027-04-02"]),
    # 1W does not cross back into the previous month: Aug 1 2026 is a Saturday -> Monday 3rd.
    ("cron(0 0 1W 8 ? *)", utc(2026, 1, 1), ["2026-08-03"]),
    # 31W: Jan 31 2027 is a Sunday and the last day -> Friday 29th; no 31st in Feb or Apr.
    ("cron(0 0 31W * ? *)", utc(2027, 1, 1), ["2027-01-29", "2027-03-31", "2027-05-31"]),
    # 30W never fires in February.
    ("cron(0 0 30W 1-3 ? *)", utc(2027, 1, 1), ["2027-01-29", "2027-03-30"]),
    # LW: Oct 31 2026 Saturday -> 30th; Nov 30 Monday; Jan 31 2027 Sunday -> 29th; Feb 28 2027 Sunday -> 26th.
    ("cron(0 0 LW * ? *)", utc(2026, 10, 1), ["2026-10-30", "2026-11-30", "2026-12-31", "2027-01-29", "2027-02-26"]),
    # Second Tuesday: Dec 1 2026 is a Tuesday -> 8th; Jan 1 2027 a Friday -> 12th.
    ("cron(0 0 ? * 3#2 *)", utc(2026, 11, 24), ["2026-12-08", "2027-01-12"]),
    # Fifth Monday: Nov 2026 has Mondays 2, 9, 16, 23, 30; Dec 2026 has only four; Mar 1 2027 is a Monday.
    ("cron(0 0 ? * 2#5 *)", utc(2026, 11, 1), ["2026-11-30", "2027-03-29"]),
    ("cron(0 0 ? * MON#5 *)", utc(2026, 11, 1), ["2026-11-30", "2027-03-29"]),
]


@pytest.mark.parametrize("expression,after,days", DAY_CASES)
def test_l_w_and_hash_semantics(expression, after, days):
    # Given a day-of-month or day-of-week wildcard
    # When its next fire times are computed
    result = fires(expression, "UTC", after, len(days))
    # Then they fall on the days worked out from the calendar
    assert [f.date().isoformat() for f in result] == days


def test_fifth_monday_of_february_only_in_leap_years_starting_on_a_monday():
    # Given cron(0 0 ? 2 2#5 *): a fifth Monday in February needs 29 days and Feb 1 a Monday
    expected = [
        utc(y, 2, 29) for y in range(2026, 2200)
        if calendar.monthrange(y, 2)[1] == 29 and calendar.weekday(y, 2, 1) == calendar.MONDAY
    ]
    assert [d.year for d in expected] == [2044, 2072, 2112, 2140, 2168, 2196]
    # When every fire time after 2026 is asked for
    started = time.perf_counter()
    result = fires("cron(0 0 ? 2 2#5 *)", "UTC", utc(2026, 1, 1), 20)
    elapsed = time.perf_counter() - started
    # Then exactly those dates come back, quickly
    assert result == expected
    assert elapsed < 0.05


# --------------------------------------------------------------------------------------
# Single-value and wrap-around ranges
# --------------------------------------------------------------------------------------


def test_single_value_ranges_fire_once_a_day():
    # Given cron(8-8 16-16/12 * * ? *) (croniter reads 8-8 as every minute)
    # When the next fire times are computed
    result = fires("cron(8-8 16-16/12 * * ? *)", "UTC", utc(2026, 11, 24), 3)
    # Then it fires at 16:08 each day only
    assert result == [utc(2026, 11, 24, 16, 8), utc(2026, 11, 25, 16, 8), utc(2026, 11, 26, 16, 8)]


def test_single_value_ranges_reported_valid_by_aws():
    # Given cron(30-30 13-13 ? * 2,4,6 *): 13:30 on Monday, Wednesday, Friday
    # When computed after Tuesday 2026-11-24
    result = fires("cron(30-30 13-13 ? * 2,4,6 *)", "UTC", utc(2026, 11, 24), 3)
    # Then Wednesday 25th, Friday 27th, Monday 30th at 13:30
    assert result == [utc(2026, 11, 25, 13, 30), utc(2026, 11, 27, 13, 30), utc(2026, 11, 30, 13, 30)]


def test_wrap_around_hours_match_each_field_on_its_own():
    # Given the AWS example cron(0/30 20-2 ? * MON-FRI *)
    # When computed from Friday 2026-11-27 19:00 UTC
    result = fires("cron(0/30 20-2 ? * MON-FRI *)", "UTC", utc(2026, 11, 27, 19), 10)
    # Then it runs 20:00-23:30 on Friday; early Saturday is not a weekday so it resumes at
    # Monday 00:00 (every field, day-of-week included, is matched on the fire time itself)
    expected = [utc(2026, 11, 27, h, m) for h in (20, 21, 22, 23) for m in (0, 30)]
    expected += [utc(2026, 11, 30, 0, 0), utc(2026, 11, 30, 0, 30)]
    assert result == expected


def test_wrap_around_day_of_week_range():
    # Given FRI-MON
    # When computed after Tuesday 2026-11-24
    result = fires("cron(0 12 ? * FRI-MON *)", "UTC", utc(2026, 11, 24), 5)
    # Then Friday, Saturday, Sunday, Monday, then Friday again
    assert [f.day for f in result] == [27, 28, 29, 30, 4]


# --------------------------------------------------------------------------------------
# Daylight saving time
# --------------------------------------------------------------------------------------

DST_CASES = [
    # America/New_York springs forward on Sunday 2027-03-14 at 02:00 EST -> 03:00 EDT:
    # 02:30 does not exist that day and is skipped.
    ("cron(30 2 * * ? *)", "America/New_York", utc(2027, 3, 12, 12),
     ["2027-03-13T07:30", "2027-03-15T06:30", "2027-03-16T06:30"]),
    # ... and falls back on Sunday 2026-11-01 at 02:00 EDT -> 01:00 EST: 01:30 happens twice
    # and runs once, at the first (EDT) occurrence 05:30Z.
    ("cron(30 1 * * ? *)", "America/New_York", utc(2026, 10, 31, 0),
     ["2026-10-31T05:30", "2026-11-01T05:30", "2026-11-02T06:30"]),
    # Every half hour across the gap: 01:30 EST, then 03:00 EDT (02:00, 02:30 skipped).
    ("cron(0/30 * * * ? *)", "America/New_York", utc(2027, 3, 14, 6, 0),
     ["2027-03-14T06:30", "2027-03-14T07:00", "2027-03-14T07:30"]),
    # Every half hour across the repeated hour: 01:00 and 01:30 run once (EDT), next 02:00 EST.
    ("cron(0/30 * * * ? *)", "America/New_York", utc(2026, 11, 1, 4, 0),
     ["2026-11-01T04:30", "2026-11-01T05:00", "2026-11-01T05:30", "2026-11-01T07:00"]),
    # Europe/London springs forward 2027-03-28 at 01:00 GMT -> 02:00 BST (01:30 skipped) ...
    ("cron(30 1 * * ? *)", "Europe/London", utc(2027, 3, 26, 12),
     ["2027-03-27T01:30", "2027-03-29T00:30"]),
    # ... and falls back 2026-10-25 at 02:00 BST -> 01:00 GMT (01:30 once, BST, 00:30Z).
    ("cron(30 1 * * ? *)", "Europe/London", utc(2026, 10, 23, 12),
     ["2026-10-24T00:30", "2026-10-25T00:30", "2026-10-26T01:30"]),
    # Australia/Sydney (southern hemisphere) falls back 2027-04-04 at 03:00 AEDT -> 02:00 AEST:
    # 02:30 once, at +11:00 (15:30Z the day before); then +10:00.
    ("cron(30 2 * * ? *)", "Australia/Sydney", utc(2027, 4, 2, 0),
     ["2027-04-02T15:30", "2027-04-03T15:30", "2027-04-04T16:30"]),
    # ... and springs forward 2026-10-04 at 02:00 AEST -> 03:00 AEDT: 02:30 skipped.
    ("cron(30 2 * * ? *)", "Australia/Sydney", utc(2026, 10, 2, 0),
     ["2026-10-02T16:30", "2026-10-04T15:30", "2026-10-05T15:30"]),
    # Half-hour zones: Asia/Kolkata is +05:30 all year.
    ("cron(0 9 * * ? *)", "Asia/Kolkata", utc(2026, 11, 24), ["2026-11-24T03:30", "2026-11-25T03:30"]),
    # Asia/Kathmandu is +05:45.
    ("cron(0 9 * * ? *)", "Asia/Kathmandu", utc(2026, 11, 24), ["2026-11-24T03:15", "2026-11-25T03:15"]),
    # Australia/Adelaide is +09:30, +10:30 in summer; springs forward 2026-10-04 at 02:00.
    ("cron(30 2 * * ? *)", "Australia/Adelaide", utc(2026, 10, 2, 12),
     ["2026-10-02T17:00", "2026-10-04T16:00"]),
    # ... and falls back 2027-04-04 at 03:00 ACDT -> 02:00 ACST: 02:30 once, at +10:30.
    ("cron(30 2 * * ? *)", "Australia/Adelaide", utc(2027, 4, 2, 12),
     ["2027-04-02T16:00", "2027-04-03T16:00", "2027-04-04T17:00"]),
    # A daily schedule in New York keeps its wall-clock time through both changes.
    ("cron(0 9 * * ? *)", "America/New_York", utc(2026, 10, 31, 0),
     ["2026-10-31T13:00", "2026-11-01T14:00", "2026-11-02T14:00"]),
]


@pytest.mark.parametrize("expression,zone,after,expected", DST_CASES)
def test_cron_on_the_wall_clock_through_dst_changes(expression, zone, after, expected):
    # Given a cron schedule in a zone with (or without) daylight saving time
    # When the fire times around a clock change are computed
    result = fires(expression, zone, after, len(expected))
    # Then a gap time is skipped, a repeated time runs once (first occurrence), all in UTC
    assert result == [z(e) for e in expected]


def test_after_in_the_second_occurrence_of_the_repeated_hour():
    # Given `after` = 01:10 EST, the second 01:10 on 2026-11-01 in New York (06:10Z)
    after = utc(2026, 11, 1, 6, 10)
    # When a half-hourly schedule is asked for its next fire
    result = fires("cron(0/30 * * * ? *)", "America/New_York", after, 2)
    # Then 01:30 is not repeated (it ran at 05:30Z); the next run is 02:00 EST
    assert result == [utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 7, 30)]


def test_midnight_transition_zone_skips_the_missing_midnight():
    # Given America/Havana, which springs forward at midnight (2027-03-14 00:00 CST -> 01:00 CDT)
    # When a daily 00:30 schedule is computed around it
    result = fires("cron(30 0 * * ? *)", "America/Havana", utc(2027, 3, 12, 12), 3)
    # Then 00:30 on 2027-03-14 is skipped
    assert result == [z("2027-03-13T05:30"), z("2027-03-15T04:30"), z("2027-03-16T04:30")]


# --------------------------------------------------------------------------------------
# rate
# --------------------------------------------------------------------------------------


def test_rate_without_start_counts_from_after():
    # Given rate(5 minutes) and no start date
    # When computed after 10:02:30
    result = fires("rate(5 minutes)", "UTC", utc(2026, 11, 24, 10, 2, 30), 3)
    # Then it fires every 5 minutes from `after`, not from the clock's round minutes
    assert result == [utc(2026, 11, 24, 10, 7, 30), utc(2026, 11, 24, 10, 12, 30), utc(2026, 11, 24, 10, 17, 30)]


def test_rate_with_start_fires_at_start_plus_multiples():
    # Given rate(5 minutes) starting 10:02
    start = utc(2026, 11, 24, 10, 2)
    # When computed after 10:20, and after exactly a fire time (10:22)
    # Then fires are start + k*5 minutes, strictly after `after`
    assert fires("rate(5 minutes)", "UTC", utc(2026, 11, 24, 10, 20), 2, start=start) == [
        utc(2026, 11, 24, 10, 22), utc(2026, 11, 24, 10, 27)]
    assert fires("rate(5 minutes)", "UTC", utc(2026, 11, 24, 10, 22), 1, start=start) == [
        utc(2026, 11, 24, 10, 27)]


def test_rate_with_a_future_start_fires_first_at_the_start():
    # Given rate(1 hour) starting tomorrow at 09:00
    start = utc(2026, 11, 25, 9)
    # When computed today
    result = fires("rate(1 hour)", "UTC", utc(2026, 11, 24, 12), 3, start=start)
    # Then the first fire is the start itself
    assert result == [utc(2026, 11, 25, 9), utc(2026, 11, 25, 10), utc(2026, 11, 25, 11)]


def test_rate_days_are_24_hours_across_dst():
    # Given rate(1 day) starting 09:00 New York time on 2026-10-31 (13:00Z, EDT)
    start = utc(2026, 10, 31, 13)
    # When computed across the 2026-11-01 fall back
    result = fires("rate(1 day)", "America/New_York", start - timedelta(minutes=1), 3, start=start)
    # Then fires stay 24 hours apart (08:00 local after the change)
    assert result == [utc(2026, 10, 31, 13), utc(2026, 11, 1, 13), utc(2026, 11, 2, 13)]


def test_rate_respects_end():
    # Given rate(1 hour) from 00:00 with an end at 02:30
    # When many fires are asked for
    result = fires("rate(1 hour)", "UTC", utc(2026, 1, 1), 10, start=utc(2026, 1, 1), end=utc(2026, 1, 1, 2, 30))
    # Then only 01:00 and 02:00 come back (00:00 is not after `after`)
    assert result == [utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)]


# --------------------------------------------------------------------------------------
# at
# --------------------------------------------------------------------------------------


def test_at_fires_once_in_the_schedules_time_zone():
    # Given at(2027-03-01T10:00:00) in New York (EST, -05:00)
    # When computed
    result = fires("at(2027-03-01T10:00:00)", "America/New_York", utc(2026, 11, 24), 5)
    # Then it fires once, at 15:00Z
    assert result == [utc(2027, 3, 1, 15)]


def test_at_in_the_past_never_fires():
    # Given an at() before `after`
    # When computed
    # Then nothing comes back
    assert fires("at(2026-01-01T10:00:00)", "UTC", utc(2026, 11, 24), 5) == []


def test_at_in_a_dst_gap_never_fires_and_in_the_repeated_hour_fires_first():
    # Given at() times inside New York's 2027 gap and 2026 repeated hour
    after = utc(2026, 1, 1)
    # When computed
    # Then the gap time never fires, the repeated time fires at its first (EDT) occurrence
    assert fires("at(2027-03-14T02:30:00)", "America/New_York", after, 1) == []
    assert fires("at(2026-11-01T01:30:00)", "America/New_York", after, 1) == [utc(2026, 11, 1, 5, 30)]


def test_at_ignores_start_and_end():
    # Given an at() outside its start/end dates (AWS ignores them for one-time schedules)
    # When computed
    result = fires("at(2027-03-01T10:00:00)", "UTC", utc(2026, 1, 1), 1,
                   start=utc(2027, 6, 1), end=utc(2027, 7, 1))
    # Then it still fires at its time
    assert result == [utc(2027, 3, 1, 10)]


# --------------------------------------------------------------------------------------
# start / end bounds on cron
# --------------------------------------------------------------------------------------


def test_cron_start_and_end_are_inclusive_bounds():
    # Given an hourly schedule bounded by 05:00 and 08:00 on 2027-01-01
    start, end = utc(2027, 1, 1, 5), utc(2027, 1, 1, 8)
    # When computed from long before the start
    result = fires("cron(0 * * * ? *)", "UTC", utc(2026, 1, 1), 10, start=start, end=end)
    # Then 05:00 through 08:00 come back, both bounds included
    assert result == [utc(2027, 1, 1, h) for h in (5, 6, 7, 8)]


def test_cron_start_before_after_changes_nothing():
    # Given a start date in the past
    # When computed
    result = fires("cron(0 * * * ? *)", "UTC", utc(2027, 1, 1, 5), 2, start=utc(2020, 1, 1))
    # Then fires are still strictly after `after`
    assert result == [utc(2027, 1, 1, 6), utc(2027, 1, 1, 7)]


# --------------------------------------------------------------------------------------
# Sparse and never-firing schedules
# --------------------------------------------------------------------------------------

SPARSE = [
    # Feb 29: leap years only (2100 is not one).
    ("cron(0 0 29 2 ? *)", "UTC", utc(2026, 11, 24), 5,
     ["2028-02-29", "2032-02-29", "2036-02-29", "2040-02-29", "2044-02-29"]),
    ("cron(0 0 29 2 ? 2090-2110)", "UTC", utc(2090, 1, 1), 9,
     ["2092-02-29", "2096-02-29", "2104-02-29", "2108-02-29"]),
    # A year list decades ahead.
    ("cron(0 0 1 1 ? 2150,2199)", "UTC", utc(2026, 11, 24), 5, ["2150-01-01", "2199-01-01"]),
    ("cron(0 0 1 1 ? 2150,2199)", "America/New_York", utc(2026, 11, 24), 5, ["2150-01-01", "2199-01-01"]),
    # The last minute AWS can express.
    ("cron(59 23 31 12 ? 2199)", "UTC", utc(2026, 1, 1), 5, ["2199-12-31"]),
    # Never fires: no 30th or 31st of February.
    ("cron(0 0 30 2 ? *)", "UTC", utc(2026, 1, 1), 5, []),
    ("cron(0 0 31 2 ? *)", "Europe/London", utc(2026, 1, 1), 5, []),
    # All years past.
    ("cron(0 0 1 1 ? 1970-2020)", "UTC", utc(2026, 1, 1), 5, []),
    # A fifth Friday in February of a non-leap year never exists.
    ("cron(0 0 ? 2 FRI#5 2027)", "UTC", utc(2026, 1, 1), 5, []),
]


@pytest.mark.parametrize("expression,zone,after,count,days", SPARSE)
def test_sparse_schedules_are_found_quickly(expression, zone, after, count, days):
    # Given a schedule whose fire times are years apart (or that never fires)
    # When its next fire times are computed
    started = time.perf_counter()
    result = fires(expression, zone, after, count)
    elapsed = time.perf_counter() - started
    # Then the right dates come back (in local time) without scanning minute by minute
    from zoneinfo import ZoneInfo

    assert [f.astimezone(ZoneInfo(zone)).date().isoformat() for f in result] == days
    assert elapsed < 0.05, f"{expression} took {elapsed * 1000:.1f} ms"


def test_every_minute_for_a_hundred_fires_is_consecutive():
    # Given cron(* * * * ? *)
    # When 100 fire times are computed across an hour and a day boundary
    result = fires("cron(* * * * ? *)", "UTC", utc(2026, 12, 31, 23, 10), 100)
    # Then they are 100 consecutive minutes (once a minute, never more)
    assert result == [utc(2026, 12, 31, 23, 11) + timedelta(minutes=i) for i in range(100)]


# --------------------------------------------------------------------------------------
# Cross-check against croniter where croniter is right (plain numeric fields, UTC)
# --------------------------------------------------------------------------------------


def _random_field(rng, low, high, shift=0, steps=True):
    """A random plain field and its croniter form (AWS day-of-week numbers shifted by -1)."""
    kinds = ["single", "list", "range", "star"] + (["star_step", "range_step"] if steps else [])
    kind = rng.choice(kinds)
    if kind == "star":
        return "*", "*"
    if kind == "single":
        v = rng.randint(low, high)
        return str(v), str(v + shift)
    if kind == "list":
        vs = sorted(rng.sample(range(low, high + 1), rng.randint(2, 4)))
        return ",".join(map(str, vs)), ",".join(str(v + shift) for v in vs)
    a = rng.randint(low, high - 1)
    b = rng.randint(a + 1, high)  # a < b: croniter reads a-a as '*'
    if kind == "range":
        return f"{a}-{b}", f"{a + shift}-{b + shift}"
    if kind == "star_step":
        step = rng.randint(2, max(2, (high - low) // 2))
        return f"*/{step}", f"*/{step}"
    step = rng.randint(1, b - a)
    return f"{a}-{b}/{step}", f"{a + shift}-{b + shift}/{step}"


def _random_pair(rng):
    minute, c_minute = _random_field(rng, 0, 59)
    hour, c_hour = _random_field(rng, 0, 23)
    month, c_month = _random_field(rng, 1, 12)
    if rng.random() < 0.5:
        dom, c_dom = _random_field(rng, 1, 28)
        dow, c_dow = "?", "*"
    else:
        dom, c_dom = "?", "*"
        dow, c_dow = _random_field(rng, 1, 7, shift=-1, steps=False)  # no '/' in AWS day-of-week
    aws = f"cron({minute} {hour} {dom} {month} {dow} *)"
    return aws, f"{c_minute} {c_hour} {c_dom} {c_month} {c_dow}"


def test_matches_croniter_on_plain_numeric_expressions_in_utc():
    croniter = pytest.importorskip("croniter").croniter
    rng = random.Random(20261124)
    compared = 0
    for _ in range(300):
        # Given a random plain AWS cron expression and its croniter equivalent
        aws, unix = _random_pair(rng)
        after = utc(2026, 1, 1) + timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
        # When both compute the next 12 fire times in UTC
        ours = fires(aws, "UTC", after, 12)
        it = croniter(unix, after)
        theirs = [it.get_next(datetime) for _ in range(12)]
        # Then they agree
        assert ours == theirs, (aws, unix, after)
        compared += 1
    assert compared == 300


# --------------------------------------------------------------------------------------
# preview warnings
# --------------------------------------------------------------------------------------


def test_preview_warns_about_a_skipped_spring_forward_time():
    # Given a daily 02:30 New York schedule previewed across 2027-03-14
    result = preview("cron(30 2 * * ? *)", "America/New_York", after=utc(2027, 3, 12, 12), count=3)
    # When the preview is read
    # Then the skipped local time and date are named
    assert result["next"] == ["2027-03-13T07:30:00Z", "2027-03-15T06:30:00Z", "2027-03-16T06:30:00Z"]
    assert len(result["warnings"]) == 1
    warning = result["warnings"][0]
    assert "02:30 on 2027-03-14" in warning and "skipped" in warning and "America/New_York" in warning


def test_preview_groups_many_skipped_times_on_one_day():
    # Given a quarter-hourly schedule across the New York gap
    result = preview("cron(0/15 * * * ? *)", "America/New_York", after=utc(2027, 3, 14, 6, 50), count=3)
    # When the preview is read
    # Then the four skipped times are one warning naming the span
    assert result["next"] == ["2027-03-14T07:00:00Z", "2027-03-14T07:15:00Z", "2027-03-14T07:30:00Z"]
    assert result["warnings"] == [
        "4 run times from 02:00 to 02:45 on 2027-03-14 do not exist in America/New_York "
        "(clocks spring forward), so those runs are skipped"
    ]


def test_preview_warns_about_a_repeated_autumn_time_that_runs_once():
    # Given a daily 01:30 New York schedule previewed across 2026-11-01
    result = preview("cron(30 1 * * ? *)", "America/New_York", after=utc(2026, 10, 31), count=3)
    # When the preview is read
    # Then the once-only run is named with its UTC time
    assert result["next"] == ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    assert len(result["warnings"]) == 1
    warning = result["warnings"][0]
    assert "01:30 on 2026-11-01" in warning and "runs once" in warning and "2026-11-01T05:30:00Z" in warning


def test_preview_has_no_dst_warning_outside_the_previewed_range():
    # Given the same schedule previewed for two days well before the change
    result = preview("cron(30 2 * * ? *)", "America/New_York", after=utc(2027, 1, 5), count=2)
    # Then there is nothing to warn about
    assert result["warnings"] == []


def test_preview_warns_about_at_in_the_past():
    # Given an at() before `after`
    result = preview("at(2026-01-01T10:00:00)", "UTC", after=utc(2026, 11, 24))
    # When the preview is read
    # Then nothing is scheduled and the warning says it is in the past
    assert result["next"] == []
    assert any("in the past" in w and "2026-01-01T10:00:00Z" in w for w in result["warnings"])


def test_preview_warns_about_at_in_a_gap():
    # Given an at() inside New York's spring-forward gap
    result = preview("at(2027-03-14T02:30:00)", "America/New_York", after=utc(2026, 11, 24))
    # Then it never runs, and the warning says the local time does not exist
    assert result["next"] == []
    assert len(result["warnings"]) == 1
    assert "does not exist" in result["warnings"][0] and "never runs" in result["warnings"][0]


def test_preview_of_a_future_at_has_no_warning():
    # Given an ordinary future at()
    result = preview("at(2027-03-01T10:00:00)", "Europe/London", after=utc(2026, 11, 24))
    # Then one fire time and no warnings
    assert result == {
        "valid": True,
        "schedule_expression": "at(2027-03-01T10:00:00)",
        "timezone": "Europe/London",
        "next": ["2027-03-01T10:00:00Z"],
        "warnings": [],
    }


@pytest.mark.parametrize(
    "expression,bounds,words",
    [
        ("cron(0 0 30 2 ? *)", {}, "no date matches"),
        ("cron(0 0 31 2 ? *)", {}, "no date matches"),
        ("cron(0 0 1 1 ? 2020)", {}, "year field ends at 2020"),
        ("cron(0 0 1 1 ? *)", {"end_date": utc(2026, 12, 31)}, "never fires within its bounds"),
        ("rate(1 day)", {"end_date": utc(2026, 11, 24, 12)}, "never fires within its bounds"),
    ],
)
def test_preview_warns_when_nothing_fires(expression, bounds, words):
    # Given a schedule with no fire time within its bounds
    result = preview(expression, "UTC", after=utc(2026, 11, 24), **bounds)
    # When the preview is read
    # Then next is empty and a warning says why
    assert result["next"] == []
    assert any(words in w for w in result["warnings"]), result["warnings"]


def test_preview_notes_that_a_rate_day_shifts_local_time_across_dst():
    # Given rate(1 day) at 09:00 New York time across the fall-back change
    result = preview("rate(1 day)", "America/New_York", after=utc(2026, 10, 30, 13), count=3)
    # Then fire times stay 24 hours apart and a warning names the local-time shift
    assert result["next"] == ["2026-10-31T13:00:00Z", "2026-11-01T13:00:00Z", "2026-11-02T13:00:00Z"]
    assert any("from 09:00 to 08:00" in w for w in result["warnings"])


def test_preview_uses_start_and_end_dates():
    # Given a start date and an end date
    result = preview("cron(0 12 * * ? *)", "UTC", after=utc(2026, 11, 24), count=10,
                     start_date=utc(2027, 1, 1), end_date=utc(2027, 1, 3, 12))
    # Then only fire times inside the bounds come back
    assert result["next"] == ["2027-01-01T12:00:00Z", "2027-01-02T12:00:00Z", "2027-01-03T12:00:00Z"]
