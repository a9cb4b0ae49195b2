"""Validation of EventBridge Scheduler expressions and time zones (chalicelib.expressions).

The corpus follows the AWS documentation ("Schedule types on EventBridge Scheduler", the
EventBridge "Cron expressions reference" and "Rate expressions reference"). Where the
documentation is silent, the decision taken is pinned by a test named ``test_decision_*``
with the reason in its docstring.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chalicelib.errors import InvalidExpression, ValidationError
from chalicelib.expressions import (
    MAX_EXPRESSION_LENGTH,
    AtExpression,
    CronExpression,
    DayOfMonth,
    DayOfWeek,
    RateExpression,
    parse_expression,
    preview,
    validate_timezone,
)

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------------------
# Valid expressions
# --------------------------------------------------------------------------------------

AWS_DOC_VALID = [
    # The examples table of the cron expressions reference.
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0/30 20-2 ? * MON-FRI *)",
    "cron(0 9 ? * 2#1 *)",
    # The put-rule examples.
    "cron(0 12 * * ? *)",
    "cron(5,35 14 * * ? *)",
    "cron(15 10 ? * 6L 2019-2022)",
    # Wildcards described in the reference.
    "cron(0 0 L * ? *)",
    "cron(0 0 ? * L *)",
    "cron(0 0 ? * 6L *)",
    "cron(0 0 3W * ? *)",
    "cron(0 0 ? * 3#2 *)",
    "cron(1/10 * * * ? *)",
    "cron(0 0 1 JAN,FEB,MAR ? *)",
    "cron(0 0 1-15 * ? *)",
    # Rate and at.
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "rate(7 days)",
    "at(2027-03-01T10:00:00)",
    "at(2022-11-20T13:00:00)",
]

MORE_VALID = [
    "cron(* * * * ? *)",
    "cron(* * ? * * *)",
    "cron(59 23 31 12 ? 2199)",
    "cron(0 0 1 1 ? 1970)",
    "cron(0 0 29 2 ? *)",
    "cron(0 0 31 2 ? *)",  # syntactically valid; never fires (see test_next_fires)
    "cron(0 0 ? 2 2#5 *)",
    "cron(0 0 1 1 ? 2150,2199)",
    "cron(0 0 1 1 ? 2030/5)",
    "cron(0 0 1 1 ? */10)",
    "cron(*/5 * * * ? *)",
    "cron(5-50/10 * * * ? *)",
    "cron(0 */2 * * ? *)",
    "cron(0 0 */3 * ? *)",
    "cron(0 0 1 */3 ? *)",
    "cron(0 0 1 JAN/3 ? *)",
    "cron(0 0 LW * ? *)",
    "cron(0 0 1W * ? *)",
    "cron(0 0 31W * ? *)",
    "cron(0 0 ? * SUN *)",
    "cron(0 0 ? * sun,Sat *)",
    "cron(0 0 1 jan ? *)",
    "cron(0 0 ? * FRI-MON *)",
    "cron(0 0 ? * MON#2 *)",
    "cron(0 0 ? * FRIL *)",
    "cron(0 0 ? * 7 *)",
    "cron(0 0 ? * 1-7 *)",
    "cron(0 22-2 * * ? *)",
    "cron(50-10 * * * ? *)",
    "cron(0 0 28-3 * ? *)",
    "cron(0 0 1 NOV-FEB ? *)",
    "cron(0 12 * * ? 2026-2030,2040)",
    "cron(05 09 01 01 ? *)",
    # Expressions reported accepted by AWS (localstack/localstack#13572): single-value ranges.
    "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)",
    "cron(30-30 13-13 ? * 2,4,6 *)",
    "cron(1-31/30 1-1 ? * 1,7 *)",
    "cron(8-8 16-16/12 * * ? *)",
    "rate(1 minutes)",
    "rate(1 hours)",
    "rate(1 days)",
    "rate(1440 minutes)",
    "rate(100000 days)",
    "at(2026-02-28T23:59:59)",
    "at(2028-02-29T00:00:00)",
    "at(2199-12-31T23:59:00)",
]


@pytest.mark.parametrize("text", AWS_DOC_VALID + MORE_VALID)
def test_valid_expressions_parse(text):
    # Given an expression AWS documents (or accepts) as valid
    # When it is parsed
    parsed = parse_expression(text)
    # Then it parses to the typed expression of its kind, keeping the text as given
    assert parsed.expression == text
    assert parsed.kind == text.split("(", 1)[0]
    types = {"cron": CronExpression, "rate": RateExpression, "at": AtExpression}
    assert isinstance(parsed, types[parsed.kind])


# --------------------------------------------------------------------------------------
# Invalid expressions: (expression, field at fault, words the message must contain)
# --------------------------------------------------------------------------------------

F = "schedule_expression"
INVALID = [
    # Structure.
    ("", F, "empty"),
    ("cron(0 10 * * ?)", F, "5 fields"),
    ("cron(0 10 * * ? * *)", F, "7 fields"),
    ("cron(0 0 10 * * ? *)", F, "seconds"),
    ("cron()", F, "no fields"),
    ("cron(0 10 * * ? *", F, "must end with ')'"),
    ("CRON(0 10 * * ? *)", F, "lower case"),
    ("Rate(5 minutes)", F, "lower case"),
    ("every(5 minutes)", F, "must be cron("),
    ("0 10 * * ? *", F, "must be cron("),
    (" cron(0 10 * * ? *)", F, "leading or trailing whitespace"),
    ("cron(0 10 * * ? *) ", F, "leading or trailing whitespace"),
    ("cron(0  10 * * ? *)", F, "more than one space"),
    ("cron( 0 10 * * ? *)", F, "space just inside"),
    ("cron(0 10 * * ? * )", F, "space just inside"),
    ("cron(0\t10 * * ? *)", F, "whitespace character"),
    ("cron(0 10 * * ?\n*)", F, "whitespace character"),
    ("cron(0 10 * * ? " + "1970," * 60 + "1971)", F, "maximum is 256"),
    # Day-of-month / day-of-week: exactly one is '?'.
    ("cron(0 10 ? * ? *)", F, "both '?'"),
    ("cron(0 10 * * * *)", F, "both set"),
    ("cron(0 10 1 * MON *)", F, "both set"),
    ("cron(0 0 1 * L *)", F, "both set"),
    # Out of range values.
    ("cron(60 10 * * ? *)", F + ".minutes", "value 60 is out of range 0-59"),
    ("cron(0 24 * * ? *)", F + ".hours", "value 24 is out of range 0-23"),
    ("cron(0 0 0 * ? *)", F + ".day-of-month", "value 0 is out of range 1-31"),
    ("cron(0 0 32 * ? *)", F + ".day-of-month", "value 32 is out of range 1-31"),
    ("cron(0 0 1 0 ? *)", F + ".month", "value 0 is out of range 1-12"),
    ("cron(0 0 1 13 ? *)", F + ".month", "value 13 is out of range 1-12"),
    ("cron(0 0 ? * 0 *)", F + ".day-of-week", "value 0 is out of range 1-7"),
    ("cron(0 0 ? * 8 *)", F + ".day-of-week", "value 8 is out of range 1-7"),
    ("cron(0 0 1 1 ? 1969)", F + ".year", "value 1969 is out of range 1970-2199"),
    ("cron(0 0 1 1 ? 2200)", F + ".year", "value 2200 is out of range 1970-2199"),
    ("cron(0-60 * * * ? *)", F + ".minutes", "value 60 is out of range"),
    ("cron(0 0 1 1 ? 2100-2200)", F + ".year", "value 2200 is out of range"),
    ("cron(0 0 1 FOO ? *)", F + ".month", "not a month name"),
    ("cron(0 0 ? * FUN *)", F + ".day-of-week", "not a day name"),
    ("cron(0 0 ? * MONDAY *)", F + ".day-of-week", "not a day name"),
    ("cron(MON 0 1 * ? *)", F + ".minutes", "not allowed in minutes"),
    ("cron(\uff11 0 1 * ? *)", F + ".minutes", "not allowed in minutes"),  # a full-width digit
    ("cron(-1 0 1 * ? *)", F + ".minutes", "not a range"),
    # Lists, ranges and increments.
    ("cron(1,,2 0 1 * ? *)", F + ".minutes", "empty list item"),
    ("cron(1, 0 1 * ? *)", F + ".minutes", "empty list item"),
    ("cron(1- 0 1 * ? *)", F + ".minutes", "not a range"),
    ("cron(1-2-3 0 1 * ? *)", F + ".minutes", "not a range"),
    ("cron(0/0 * * * ? *)", F + ".minutes", "increment 0 is out of range 1-59"),
    ("cron(*/0 * * * ? *)", F + ".minutes", "increment 0 is out of range"),
    ("cron(*/60 * * * ? *)", F + ".minutes", "increment 60 is out of range 1-59"),
    ("cron(0 */24 * * ? *)", F + ".hours", "increment 24 is out of range 1-23"),
    ("cron(0 0 1/32 * ? *)", F + ".day-of-month", "increment 32 is out of range 1-31"),
    ("cron(0 0 1 1/13 ? *)", F + ".month", "increment 13 is out of range 1-12"),
    ("cron(0 0 1 1 ? 1970/230)", F + ".year", "increment 230 is out of range 1-229"),
    ("cron(5/ * * * ? *)", F + ".minutes", "needs an increment"),
    ("cron(/5 * * * ? *)", F + ".minutes", "needs a start"),
    ("cron(0/5/5 * * * ? *)", F + ".minutes", "more than one '/'"),
    ("cron(0/x * * * ? *)", F + ".minutes", "not allowed in minutes"),
    ("cron(0 0 1 1 ? 2030-2020)", F + ".year", "cannot wrap"),
    # Wildcards in the wrong field.
    ("cron(? 0 1 * ? *)", F + ".minutes", "? wildcard is not allowed in minutes"),
    ("cron(0 L 1 * ? *)", F + ".hours", "L wildcard is not allowed in hours"),
    ("cron(0 0 1 * ? L)", F + ".year", "L wildcard is not allowed in year"),
    ("cron(0 0 3#2 * ? *)", F + ".day-of-month", "# wildcard is not allowed in day-of-month"),
    ("cron(0 0 ? * 3W *)", F + ".day-of-week", "W wildcard is only allowed in day-of-month"),
    ("cron(0 0 ? * 1/2 *)", F + ".day-of-week", "/ wildcard is not allowed in day-of-week"),
    ("cron(0 0 ? * */2 *)", F + ".day-of-week", "/ wildcard is not allowed in day-of-week"),
    ("cron(0 0 ?? * ? *)", F + ".day-of-month", "'?' must stand alone"),
    ("cron(0 0 ? * ?,1 *)", F + ".day-of-week", "'?' must stand alone"),
    # L, W and # must stand alone.
    ("cron(0 0 L-3 * ? *)", F + ".day-of-month", "L must stand alone"),
    ("cron(0 0 1-5L * ? *)", F + ".day-of-month", "L must stand alone"),
    ("cron(0 0 1,L * ? *)", F + ".day-of-month", "L must stand alone"),
    ("cron(0 0 L/2 * ? *)", F + ".day-of-month", "L must stand alone"),
    ("cron(0 0 1-5W * ? *)", F + ".day-of-month", "W must follow a single day"),
    ("cron(0 0 W * ? *)", F + ".day-of-month", "W must follow a single day"),
    ("cron(0 0 1W,15W * ? *)", F + ".day-of-month", "W must follow a single day"),
    ("cron(0 0 32W * ? *)", F + ".day-of-month", "value 32 is out of range"),
    ("cron(0 0 0W * ? *)", F + ".day-of-month", "value 0 is out of range"),
    ("cron(0 0 ? * 2,6L *)", F + ".day-of-week", "cannot be combined"),
    ("cron(0 0 ? * 2-6L *)", F + ".day-of-week", "cannot be combined"),
    ("cron(0 0 ? * L2 *)", F + ".day-of-week", "follows a single day"),
    ("cron(0 0 ? * 8L *)", F + ".day-of-week", "value 8 is out of range"),
    ("cron(0 0 ? * 3#6 *)", F + ".day-of-week", "must be 1-5"),
    ("cron(0 0 ? * 3#0 *)", F + ".day-of-week", "must be 1-5"),
    ("cron(0 0 ? * 8#1 *)", F + ".day-of-week", "value 8 is out of range"),
    ("cron(0 0 ? * 3#1,6#3 *)", F + ".day-of-week", "only one expression"),
    ("cron(0 0 ? * #2 *)", F + ".day-of-week", "not day#n"),
    ("cron(0 0 ? * 1-3#2 *)", F + ".day-of-week", "not day#n"),
    ("cron(0 0 ? * 3#2#1 *)", F + ".day-of-week", "not day#n"),
    # rate(value unit)
    ("rate(0 minutes)", F, "at least 1"),
    ("rate(00 minutes)", F, "at least 1"),
    ("rate(-1 minutes)", F, "without a sign"),
    ("rate(+5 minutes)", F, "without a sign"),
    ("rate(1.5 hours)", F, "no decimals"),
    ("rate(five minutes)", F, "positive whole number"),
    ("rate(1 week)", F, "'week' is not supported"),
    ("rate(30 seconds)", F, "'seconds' is not supported"),
    ("rate(2 months)", F, "'months' is not supported"),
    ("rate(5 Minutes)", F, "'Minutes' is not supported"),
    ("rate(5 minute)", F, "must be plural"),
    ("rate(2 hour)", F, "must be plural"),
    ("rate(10 day)", F, "must be plural"),
    ("rate(5)", F, "a value and a unit"),
    ("rate(minutes)", F, "a value and a unit"),
    ("rate()", F, "a value and a unit"),
    ("rate(5  minutes)", F, "a value and a unit"),
    ("rate( 5 minutes)", F, "a value and a unit"),
    ("rate(5 minutes 3)", F, "a value and a unit"),
    ("rate(99999999999999 days)", F, "too large"),
    # at(yyyy-mm-ddThh:mm:ss)
    ("at(2026-02-30T10:00:00)", F, "2026-02-30 is not a real calendar date"),
    ("at(2027-02-29T10:00:00)", F, "not a real calendar date"),
    ("at(2026-04-31T10:00:00)", F, "not a real calendar date"),
    ("at(2026-13-01T10:00:00)", F, "month 13 is out of range"),
    ("at(2026-00-01T10:00:00)", F, "month 0 is out of range"),
    ("at(2026-01-00T10:00:00)", F, "not a real calendar date"),
    ("at(2026-01-01T24:00:00)", F, "hour 24 is out of range"),
    ("at(2026-01-01T10:60:00)", F, "minute 60 is out of range"),
    ("at(2026-01-01T10:00:60)", F, "second 60 is out of range"),
    ("at(0000-01-01T10:00:00)", F, "not a valid year"),
    ("at(2026-01-01T10:00:00Z)", F, "offset or Z"),
    ("at(2026-01-01T10:00:00+02:00)", F, "offset or Z"),
    ("at(2026-01-01T10:00:00-0500)", F, "offset or Z"),
    ("at(2026-01-01 10:00:00)", F, "with T, not a space"),
    ("at(2026-01-01T10:00:00.500)", F, "fractional seconds"),
    ("at(2026-01-01T10:00)", F, "exactly at(yyyy-mm-ddThh:mm:ss)"),
    ("at(2026-1-01T10:00:00)", F, "exactly at(yyyy-mm-ddThh:mm:ss)"),
    ("at(2026-01-01)", F, "exactly at(yyyy-mm-ddThh:mm:ss)"),
    ("at(2026-01-01t10:00:00)", F, "exactly at(yyyy-mm-ddThh:mm:ss)"),
    ("at()", F, "exactly at(yyyy-mm-ddThh:mm:ss)"),
]


@pytest.mark.parametrize("text,field,words", INVALID)
def test_invalid_expressions_are_rejected_naming_field_and_rule(text, field, words):
    # Given an expression AWS would reject
    # When it is parsed
    with pytest.raises(InvalidExpression) as caught:
        parse_expression(text)
    # Then the error names the part at fault and says which rule was broken
    assert caught.value.field == field
    assert words in caught.value.rule
    assert str(caught.value) == f"{field}: {caught.value.rule}"
    assert isinstance(caught.value, ValidationError) and caught.value.status_code == 400


def test_expression_of_exactly_the_maximum_length_is_accepted():
    # Given a valid cron expression padded to exactly 256 characters (leading zeros)
    shell = "cron( 0 1 1 ? *)"
    text = "cron(" + "0" * (MAX_EXPRESSION_LENGTH - len(shell)) + " 0 1 1 ? *)"
    assert len(text) == MAX_EXPRESSION_LENGTH
    # When it is parsed
    parsed = parse_expression(text)
    # Then it is valid, and one character more is not
    assert parsed.minutes == (0,)
    with pytest.raises(InvalidExpression, match="257 characters long; the maximum is 256"):
        parse_expression("cron(0" + text[5:])


@pytest.mark.parametrize("value", [None, 5, b"rate(5 minutes)", ["cron(0 10 * * ? *)"]])
def test_non_string_expression_is_rejected(value):
    # Given something that is not a string
    # When it is parsed
    # Then it is rejected as an invalid schedule expression, not a crash
    with pytest.raises(InvalidExpression) as caught:
        parse_expression(value)
    assert caught.value.field == "schedule_expression"


# --------------------------------------------------------------------------------------
# The typed result
# --------------------------------------------------------------------------------------


def test_cron_fields_are_expanded_to_sorted_values():
    # Given the AWS example "every 5 minutes Monday through Friday between 8:00 am and 5:55 pm"
    # When it is parsed
    cron = parse_expression("cron(0/5 8-17 ? * MON-FRI *)")
    # Then each field is expanded: minutes 0,5..55, hours 8..17, Monday (2) to Friday (6)
    assert cron.minutes == tuple(range(0, 60, 5))
    assert cron.hours == tuple(range(8, 18))
    assert cron.day_of_month is None
    assert cron.day_of_week == DayOfWeek(days=(2, 3, 4, 5, 6))
    assert cron.months == tuple(range(1, 13))
    assert cron.years == tuple(range(1970, 2200))


def test_slash_increments_follow_the_reference():
    # Given "1/10 in the Minutes field ... the 11th, 21st, and 31st minute, and so on"
    # When parsed
    # Then the increments start at the given value and run to the end of the field
    assert parse_expression("cron(1/10 * * * ? *)").minutes == (1, 11, 21, 31, 41, 51)
    assert parse_expression("cron(5-50/10 * * * ? *)").minutes == (5, 15, 25, 35, 45)
    assert parse_expression("cron(*/20 * * * ? *)").minutes == (0, 20, 40)
    assert parse_expression("cron(0 0 */10 * ? *)").day_of_month.days == (1, 11, 21, 31)
    assert parse_expression("cron(0 0 1 */5 ? *)").months == (1, 6, 11)
    assert parse_expression("cron(0 0 1 1 ? 2190/4)").years == (2190, 2194, 2198)


def test_special_day_fields_parse_to_their_meaning():
    # Given each documented day wildcard
    # When parsed
    # Then L, LW, nW, nL, n#k and names become their structured meaning
    assert parse_expression("cron(0 0 L * ? *)").day_of_month == DayOfMonth(last=True)
    assert parse_expression("cron(0 0 LW * ? *)").day_of_month == DayOfMonth(last_weekday=True)
    assert parse_expression("cron(0 0 3W * ? *)").day_of_month == DayOfMonth(nearest_weekday=3)
    assert parse_expression("cron(0 0 ? * 6L *)").day_of_week == DayOfWeek(last=6)
    assert parse_expression("cron(0 0 ? * FRIL *)").day_of_week == DayOfWeek(last=6)
    assert parse_expression("cron(0 0 ? * 3#2 *)").day_of_week == DayOfWeek(nth=(3, 2))
    assert parse_expression("cron(0 0 ? * tue#2 *)").day_of_week == DayOfWeek(nth=(3, 2))
    assert parse_expression("cron(0 0 ? * SUN,sat *)").day_of_week == DayOfWeek(days=(1, 7))
    assert parse_expression("cron(0 0 1 jan,Dec ? *)").months == (1, 12)


def test_l_alone_in_day_of_week_is_saturday():
    # Given "The L wildcard in the ... Day-of-week field specifies the last day of the week"
    # When "L" is parsed in day-of-week
    # Then it is Saturday, day 7 (weeks run Sunday=1 to Saturday=7)
    assert parse_expression("cron(0 0 ? * L *)").day_of_week == DayOfWeek(days=(7,))


def test_single_value_ranges_mean_that_single_value():
    # Given ranges whose start equals their end (AWS accepts these; croniter reads a-a as *)
    cron = parse_expression("cron(8-8 16-16/12 * * ? *)")
    # When parsed
    # Then 8-8 is minute 8 only and 16-16/12 is hour 16 only
    assert cron.minutes == (8,)
    assert cron.hours == (16,)
    assert parse_expression("cron(30-30 13-13 ? * 2,4,6 *)").minutes == (30,)
    assert parse_expression("cron(1-31/30 1-1 ? * 1,7 *)").minutes == (1, 31)


def test_rate_unit_is_normalised_and_interval_is_exact():
    # Given rate expressions in each unit
    # When parsed
    # Then the unit is the plural and a day is exactly 24 hours
    assert parse_expression("rate(1 minute)") == RateExpression("rate(1 minute)", 1, "minutes")
    assert parse_expression("rate(3 hours)").interval.total_seconds() == 3 * 3600
    assert parse_expression("rate(1 day)").interval.total_seconds() == 24 * 3600
    assert parse_expression("rate(2 days)").unit == "days"


def test_at_is_a_naive_wall_clock_time():
    # Given a one-time expression
    # When parsed
    parsed = parse_expression("at(2027-03-01T10:00:00)")
    # Then it holds the wall-clock time, with no zone (the schedule's timezone applies)
    assert parsed.at == datetime(2027, 3, 1, 10, 0, 0)
    assert parsed.at.tzinfo is None


def test_parsed_expressions_are_immutable_and_cached():
    # Given an expression parsed twice
    first = parse_expression("cron(0 10 * * ? *)")
    second = parse_expression("cron(0 10 * * ? *)")
    # Then the same immutable object comes back
    assert first is second
    with pytest.raises(AttributeError):
        first.minutes = (1,)  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# Decisions where the AWS documentation is silent
# --------------------------------------------------------------------------------------


def test_decision_wrap_around_ranges_are_accepted_and_step_continues_across_the_wrap():
    """The AWS reference's own example is cron(0/30 20-2 ? * MON-FRI *), so a range may wrap
    past the end of its field. The step keeps counting across the wrap, as in Quartz (the
    syntax AWS cron is derived from). Each field still matches on its own."""
    # Given wrapping ranges in hours, minutes, day-of-month, month and day-of-week
    # When parsed
    # Then they cover the end of the field and its start
    assert parse_expression("cron(0 20-2 * * ? *)").hours == (0, 1, 2, 20, 21, 22, 23)
    assert parse_expression("cron(0 20-2/2 * * ? *)").hours == (0, 2, 20, 22)
    assert parse_expression("cron(50-5 * * * ? *)").minutes == (*range(0, 6), *range(50, 60))
    assert parse_expression("cron(0 0 30-2 * ? *)").day_of_month.days == (1, 2, 30, 31)
    assert parse_expression("cron(0 0 1 NOV-FEB ? *)").months == (1, 2, 11, 12)
    assert parse_expression("cron(0 0 ? * FRI-MON *)").day_of_week.days == (1, 2, 6, 7)


def test_decision_year_ranges_cannot_wrap():
    """Years have no cycle to wrap around; a backwards year range is an error (as in Quartz)."""
    # Given a backwards year range
    # When parsed
    # Then it is rejected in the year field
    with pytest.raises(InvalidExpression) as caught:
        parse_expression("cron(0 0 1 1 ? 2030-2026)")
    assert caught.value.field == "schedule_expression.year"


def test_decision_increment_is_bounded_by_the_field():
    """The reference shows increments such as 0/15 without a bound; AWS rejects
    cron(*/60 * * * ? *) (aws/aws-sdk-js#4212). The bound is the field's largest value
    (59, 23, 31, 12) and, for years, the width of the year range (229)."""
    # Given the largest allowed increment in each field
    # When parsed
    # Then it is accepted (and the next one up is rejected, see INVALID)
    assert parse_expression("cron(0/59 * * * ? *)").minutes == (0, 59)
    assert parse_expression("cron(0 0/23 * * ? *)").hours == (0, 23)
    assert parse_expression("cron(0 0 1/31 * ? *)").day_of_month.days == (1,)
    assert parse_expression("cron(0 0 1 1/12 ? *)").months == (1,)
    assert parse_expression("cron(0 0 1 1 ? 1970/229)").years == (1970, 2199)


def test_decision_lw_is_accepted_as_last_weekday():
    """The reference lists both L and W for day-of-month but not their combination. LW is the
    Quartz form AWS cron derives from and is deployed to EventBridge in public projects, so
    it is accepted; L with an offset (L-3) is not documented and is rejected."""
    # Given LW and L-3
    # When parsed
    # Then LW is the last weekday of the month and L-3 is an error
    assert parse_expression("cron(0 0 LW * ? *)").day_of_month.last_weekday
    with pytest.raises(InvalidExpression):
        parse_expression("cron(0 0 L-3 * ? *)")


def test_decision_rate_of_one_accepts_the_plural_unit_but_not_the_reverse():
    """The Scheduler user guide lists the units as "minutes | hours | days" and its API
    reference as "minute | minutes | hour | hours | day | days" (with no singular/plural
    rule), and public Scheduler configurations use rate(1 hours). So value 1 takes either
    form. No AWS text allows a singular unit with a value above 1 (the EventBridge rules
    reference says rate(5 hour) is not valid), so that is rejected."""
    # Given rate(1 <plural>) and rate(5 <singular>)
    # When parsed
    # Then the first is accepted and the second rejected
    assert parse_expression("rate(1 minutes)").value == 1
    assert parse_expression("rate(1 hours)").unit == "hours"
    with pytest.raises(InvalidExpression, match="plural"):
        parse_expression("rate(5 minute)")


def test_decision_names_and_letters_are_case_insensitive():
    """Names are "JAN-DEC" and "SUN-SAT" in the reference; Quartz, which AWS cron derives
    from, upper-cases the fields, so names and the L/W letters are accepted in any case. The
    cron(, rate( and at( prefixes and rate units are always shown in lower case by AWS and
    are required in lower case."""
    # Given lower-case names and letters
    # When parsed
    # Then they mean the same as upper case
    assert parse_expression("cron(0 0 ? * mon-fri *)").day_of_week.days == (2, 3, 4, 5, 6)
    assert parse_expression("cron(0 0 l * ? *)").day_of_month.last
    assert parse_expression("cron(0 0 15w * ? *)").day_of_month.nearest_weekday == 15
    assert parse_expression("cron(0 0 ? * 6l *)").day_of_week.last == 6


def test_decision_leading_zeros_are_plain_numbers():
    """The reference is silent; a number with leading zeros is still that number (Quartz
    parses it with Integer.parseInt). "00" is still zero, so rate(00 minutes) is invalid."""
    # Given values with leading zeros
    # When parsed
    # Then they are read as numbers
    cron = parse_expression("cron(05 09 01 01 ? *)")
    assert (cron.minutes, cron.hours, cron.day_of_month.days, cron.months) == ((5,), (9,), (1,), (1,))
    assert parse_expression("rate(05 minutes)").value == 5


# --------------------------------------------------------------------------------------
# Time zones
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["UTC", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata",
     "Asia/Kathmandu", "Australia/Adelaide", "Etc/GMT+5", "America/Argentina/Buenos_Aires"],
)
def test_known_iana_time_zones_are_accepted(name):
    # Given an IANA zone name
    # When it is validated
    zone = validate_timezone(name)
    # Then the zoneinfo zone comes back
    assert isinstance(zone, ZoneInfo) and zone.key == name


@pytest.mark.parametrize(
    "name",
    ["", "Mars/Olympus_Mons", "america/new_york", "EST-5", " UTC", "UTC ", "America/New York",
     "../etc/passwd", "/usr/share/zoneinfo/UTC", "America\\New_York", None, 5, "+05:30"],
)
def test_unknown_time_zones_are_rejected(name):
    # Given something that is not an IANA zone name
    # When it is validated
    # Then InvalidExpression names the timezone field
    with pytest.raises(InvalidExpression) as caught:
        validate_timezone(name)
    assert caught.value.field == "timezone"


# --------------------------------------------------------------------------------------
# preview() input validation
# --------------------------------------------------------------------------------------

AFTER = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def test_preview_returns_the_documented_shape():
    # Given a daily 11:00 UTC schedule previewed after 10:30 on 2026-11-24
    # When previewed for 3 fire times
    result = preview("cron(0 11 * * ? *)", after=AFTER, count=3)
    # Then the result holds the expression, zone, fire times as ISO-8601 Z strings, no warnings
    assert result == {
        "valid": True,
        "schedule_expression": "cron(0 11 * * ? *)",
        "timezone": "UTC",
        "next": ["2026-11-24T11:00:00Z", "2026-11-25T11:00:00Z", "2026-11-26T11:00:00Z"],
        "warnings": [],
    }


def test_preview_defaults_to_ten_fire_times():
    # Given no count
    # When a minutely schedule is previewed
    result = preview("rate(1 minute)", after=AFTER)
    # Then ten fire times come back, the first within the minute after `after`
    assert len(result["next"]) == 10
    first = datetime.strptime(result["next"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 0 < (first - AFTER).total_seconds() <= 60


@pytest.mark.parametrize("count", [0, 367, -1, 1.5, "10", True])
def test_preview_rejects_a_count_outside_1_to_366(count):
    # Given a count outside 1-366 (a daily schedule's leap year; or not a whole number)
    # When previewed
    # Then InvalidExpression names the count field
    with pytest.raises(InvalidExpression) as caught:
        preview("rate(5 minutes)", after=AFTER, count=count)
    assert caught.value.field == "count"


def test_preview_accepts_the_count_limits():
    # Given count 1 and count 100
    # When previewed
    # Then exactly that many fire times come back
    assert len(preview("rate(5 minutes)", after=AFTER, count=1)["next"]) == 1
    assert len(preview("rate(5 minutes)", after=AFTER, count=100)["next"]) == 100


def test_preview_rejects_start_not_before_end():
    # Given a start_date equal to (or after) the end_date
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    # When previewed
    # Then InvalidExpression names start_date
    for end in (moment, datetime(2026, 12, 31, tzinfo=UTC)):
        with pytest.raises(InvalidExpression) as caught:
            preview("rate(5 minutes)", after=AFTER, start_date=moment, end_date=end)
        assert caught.value.field == "start_date"


def test_preview_rejects_invalid_expression_and_timezone():
    # Given an invalid expression, then an invalid timezone
    # When previewed
    # Then each is rejected with its own field
    with pytest.raises(InvalidExpression) as caught:
        preview("cron(0 10 * * * *)", after=AFTER)
    assert caught.value.field == "schedule_expression"
    with pytest.raises(InvalidExpression) as caught:
        preview("cron(0 10 * * ? *)", timezone="Nowhere/City", after=AFTER)
    assert caught.value.field == "timezone"


def test_module_imports_no_heavy_dependencies():
    # Given a fresh interpreter
    # When chalicelib.expressions is imported
    code = (
        "import sys, chalicelib.expressions;"
        "bad = [m for m in ('croniter', 'boto3', 'botocore', 'chalice') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    # Then none of croniter, boto3 or chalice is loaded
    assert out.stdout.strip() == ""
