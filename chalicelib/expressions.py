"""AWS EventBridge Scheduler schedule expressions: exact validation, next fire times, preview.

The rules follow the AWS documentation ("Schedule types on EventBridge Scheduler" and the
EventBridge "Cron expressions reference"), not any cron library:

``cron(minutes hours day-of-month month day-of-week year)``
    Six fields separated by single spaces. Minutes 0-59, hours 0-23, day-of-month 1-31,
    month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (1 = Sunday), year 1970-2199.
    Wildcards ``, - * /`` everywhere except ``/`` in day-of-week; ``? L W`` in
    day-of-month; ``? L #`` in day-of-week. Exactly one of day-of-month and day-of-week
    is ``?``.
``rate(value unit)``
    A positive whole number and minute(s), hour(s) or day(s); a day is 24 hours.
``at(yyyy-mm-ddThh:mm:ss)``
    A wall-clock time without offset, read in the schedule's time zone.

Where the documentation is silent this module decides as follows (each decision is pinned
by a test in ``tests/test_expressions.py``):

* Ranges may wrap around the end of a field (``20-2`` hours, ``FRI-MON``): the AWS
  reference itself shows ``cron(0/30 20-2 ? * MON-FRI *)``. Every field is still matched on
  its own (a fire time must satisfy all six fields), and a step continues across the wrap
  (``20-2/2`` = 20, 22, 0, 2). Year ranges cannot wrap.
* ``a-a`` is the single value ``a`` and ``a-a/n`` is ``a``.
* An increment must be between 1 and the field's largest value (59 minutes, 23 hours,
  31 days, 12 months); for years between 1 and 229, the width of the year range.
* ``LW`` (last weekday of the month) is accepted in day-of-month. ``L``, ``LW``, ``nW``,
  ``nL`` and ``n#k`` must stand alone in their field (no lists or ranges); ``L-n`` offsets
  are not documented and are rejected.
* ``nW`` never moves into another month (``1W`` on a Saturday is Monday the 3rd, ``31W``
  on a Sunday is Friday the 29th); in a month without day ``n`` it does not fire.
* Month and day names are accepted in any case; so are the letters ``L`` and ``W``.
* ``rate(1 minutes)`` is accepted (the Scheduler guide lists only the plural units; its API
  reference lists both forms); a value above 1 needs the plural unit.

Daylight saving time (AWS: "When the time shifts forward in Spring, your schedule
invocation gets skipped if the cron expression falls on a non-existent date and time. When
the time shifts back in the Fall, your schedule runs only once"): a cron wall time in the
spring-forward gap is skipped; a wall time in the repeated autumn hour fires once, at its
first occurrence. ``at()`` behaves the same way. Rates are fixed intervals in absolute time.

This module has no dependency beyond the standard library (plus ``chalicelib.errors``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.errors import InvalidExpression

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_PREVIEW_COUNT",
    "MAX_YEAR",
    "MIN_YEAR",
    "AtExpression",
    "CronExpression",
    "DayOfMonth",
    "DayOfWeek",
    "Expression",
    "RateExpression",
    "next_fires",
    "parse_expression",
    "preview",
    "validate_timezone",
]

MAX_EXPRESSION_LENGTH = 256
MIN_YEAR = 1970
MAX_YEAR = 2199
MAX_PREVIEW_COUNT = 366  # a daily schedule's (leap) year
# Memory bounds: parsed expressions kept, and matching days kept per expression (year,
# month). A never-firing expression scans every month to 2199, so an unbounded day cache
# held ~2,760 entries per expression.
PARSE_CACHE_SIZE = 1024
DAYS_CACHE_SIZE = 48

FIELD = "schedule_expression"

_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_DAY_NAMES = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}
_DAY_LABELS = {number: name for name, number in _DAY_NAMES.items()}
_MONTH_LENGTHS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# The zone keys that are plain UTC: evaluated without any offset arithmetic.
_UTC_KEYS = frozenset(
    {
        "UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
        "GMT", "Etc/GMT", "GMT0", "GMT+0", "GMT-0", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0",
        "Greenwich", "Etc/Greenwich",
    }
)


# --------------------------------------------------------------------------------------
# Typed expressions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: dict[str, int] | None
    max_step: int
    allowed: frozenset[str]
    wildcards: str  # for messages


def _spec(
    name: str, low: int, high: int, names: dict[str, int] | None, max_step: int, extra: str, wildcards: str
) -> _FieldSpec:
    chars = set("0123456789,-*") | set(extra)
    if names:
        chars |= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return _FieldSpec(name, low, high, names, max_step, frozenset(chars), wildcards)


_MINUTES = _spec("minutes", 0, 59, None, 59, "/", ", - * /")
_HOURS = _spec("hours", 0, 23, None, 23, "/", ", - * /")
_DOM = _spec("day-of-month", 1, 31, None, 31, "/?LW", ", - * ? / L W")
_MONTH = _spec("month", 1, 12, _MONTH_NAMES, 12, "/", ", - * /")
_DOW = _spec("day-of-week", 1, 7, _DAY_NAMES, 7, "?L#", ", - * ? L #")
_YEAR = _spec("year", MIN_YEAR, MAX_YEAR, None, MAX_YEAR - MIN_YEAR, "/", ", - * /")


@dataclass(frozen=True)
class DayOfMonth:
    """The day-of-month field when it is not ``?``."""

    days: tuple[int, ...] = ()  # plain days 1-31, sorted
    last: bool = False  # L: the last day of the month
    last_weekday: bool = False  # LW: the last Monday-Friday of the month
    nearest_weekday: int | None = None  # nW: the Monday-Friday nearest day n, same month

    def days_in(self, year: int, month: int) -> list[int]:
        length = _month_length(year, month)
        if self.nearest_weekday is not None:
            n = self.nearest_weekday
            if n > length:
                return []
            weekday = date(year, month, n).weekday()  # Monday = 0
            if weekday == 5:  # Saturday: Friday before, or Monday after when n is the 1st
                n = n + 2 if n == 1 else n - 1
            elif weekday == 6:  # Sunday: Monday after, or Friday before when n is the last day
                n = n - 2 if n == length else n + 1
            return [n]
        if self.last:
            return [length]
        if self.last_weekday:
            weekday = date(year, month, length).weekday()
            return [length - max(0, weekday - 4)]
        days = self.days
        if days[-1] <= length:
            return list(days)
        return list(days[: bisect_left(days, length + 1)])


@dataclass(frozen=True)
class DayOfWeek:
    """The day-of-week field when it is not ``?``; days are 1 (Sunday) to 7 (Saturday)."""

    days: tuple[int, ...] = ()  # plain days of the week, sorted (``L`` alone is 7)
    last: int | None = None  # nL: the last day n of the month
    nth: tuple[int, int] | None = None  # n#k: the k-th day n of the month

    def days_in(self, year: int, month: int) -> list[int]:
        length = _month_length(year, month)
        first = (date(year, month, 1).weekday() + 1) % 7 + 1  # day of week of the 1st, 1 = Sunday
        if self.nth is not None:
            day_of_week, k = self.nth
            d = 1 + (day_of_week - first) % 7 + 7 * (k - 1)
            return [d] if d <= length else []
        if self.last is not None:
            last_dow = (first - 1 + length - 1) % 7 + 1
            return [length - (last_dow - self.last) % 7]
        wanted = self.days
        if len(wanted) == 7:
            return list(range(1, length + 1))
        out: list[int] = []
        for day_of_week in wanted:
            d = 1 + (day_of_week - first) % 7
            out.extend(range(d, length + 1, 7))
        out.sort()
        return out


@dataclass(frozen=True)
class CronExpression:
    """A parsed ``cron(...)``; every field is expanded to sorted values."""

    kind: ClassVar[str] = "cron"
    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: DayOfMonth | None  # None when the field is "?"
    months: tuple[int, ...]
    day_of_week: DayOfWeek | None  # None when the field is "?"
    years: tuple[int, ...]
    _days_cache: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def days_in(self, year: int, month: int) -> list[int]:
        """The days of ``year``-``month`` that match the day fields, sorted."""
        key = year * 16 + month
        days = self._days_cache.get(key)
        if days is None:
            spec = self.day_of_month if self.day_of_month is not None else self.day_of_week
            assert spec is not None, "parsing leaves exactly one of the day fields as '?'"
            days = spec.days_in(year, month)
            if len(self._days_cache) >= DAYS_CACHE_SIZE:
                self._days_cache.clear()
            self._days_cache[key] = days
        return days

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class RateExpression:
    """A parsed ``rate(value unit)``; ``unit`` is normalised to the plural."""

    kind: ClassVar[str] = "rate"
    expression: str
    value: int
    unit: str  # "minutes" | "hours" | "days"

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.value * _UNIT_MINUTES[self.unit])

    def __str__(self) -> str:
        return self.expression


@dataclass(frozen=True)
class AtExpression:
    """A parsed ``at(yyyy-mm-ddThh:mm:ss)``; ``at`` is the naive wall-clock time."""

    kind: ClassVar[str] = "at"
    expression: str
    at: datetime

    def __str__(self) -> str:
        return self.expression


Expression = CronExpression | RateExpression | AtExpression

_UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}
_UNITS = {
    "minute": "minutes", "minutes": "minutes",
    "hour": "hours", "hours": "hours",
    "day": "days", "days": "days",
}
_MAX_RATE_MINUTES = timedelta.max // timedelta(minutes=1)


def _month_length(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_LENGTHS[month]


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------


def parse_expression(expression: str) -> Expression:
    """Parse and validate an EventBridge Scheduler expression, exactly as AWS documents it.

    Raises ``InvalidExpression`` naming the part at fault (``field``) and the rule broken.
    Results are cached: the returned objects are immutable.
    """
    if not isinstance(expression, str):
        raise InvalidExpression(
            f"must be a string, not {type(expression).__name__}", field=FIELD
        )
    return _parse_cached(expression)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_cached(expression: str) -> Expression:
    return _parse(expression)


_ODD_SPACE = re.compile(r"[^\S ]")  # any whitespace other than a plain space


def _parse(text: str) -> Expression:
    if not text:
        raise InvalidExpression("is empty; use cron(...), rate(...) or at(...)", field=FIELD)
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise InvalidExpression(
            f"is {len(text)} characters long; the maximum is {MAX_EXPRESSION_LENGTH}", field=FIELD
        )
    if text[0].isspace() or text[-1].isspace():
        raise InvalidExpression("has leading or trailing whitespace", field=FIELD)
    odd_space = _ODD_SPACE.search(text)
    if odd_space is not None:
        raise InvalidExpression(
            f"contains the whitespace character {odd_space.group()!r}; parts are separated by "
            "single spaces",
            field=FIELD,
        )
    if text.startswith("cron(") and text.endswith(")"):
        return _parse_cron(text)
    if text.startswith("rate(") and text.endswith(")"):
        return _parse_rate(text)
    if text.startswith("at(") and text.endswith(")"):
        return _parse_at(text)
    head = text.split("(", 1)[0]
    if head.lower() in ("cron", "rate", "at") and "(" in text:
        if head != head.lower():
            raise InvalidExpression(f"must start with {head.lower()}( in lower case", field=FIELD)
        raise InvalidExpression(f"must end with ')' to close {head}(", field=FIELD)
    raise InvalidExpression(
        "must be cron(minutes hours day-of-month month day-of-week year), rate(value unit) "
        "or at(yyyy-mm-ddThh:mm:ss)",
        field=FIELD,
    )


def _parse_cron(text: str) -> CronExpression:
    body = text[5:-1]
    if not body:
        raise InvalidExpression("cron() has no fields; it needs exactly 6", field=FIELD)
    if body[0] == " " or body[-1] == " ":
        raise InvalidExpression("has a space just inside cron( ); remove it", field=FIELD)
    if "  " in body:
        raise InvalidExpression(
            "has more than one space between cron fields; use exactly one", field=FIELD
        )
    parts = body.split(" ")
    if len(parts) != 6:
        hint = (
            " (EventBridge has no seconds field and cannot run more than once a minute)"
            if len(parts) == 7
            else " (the year field is required)" if len(parts) == 5 else ""
        )
        raise InvalidExpression(
            f"cron has {len(parts)} fields; it needs exactly 6: minutes hours day-of-month "
            f"month day-of-week year{hint}",
            field=FIELD,
        )
    minute_s, hour_s, dom_s, month_s, dow_s, year_s = (p.upper() for p in parts)
    minutes = _parse_plain_field(minute_s, _MINUTES)
    hours = _parse_plain_field(hour_s, _HOURS)
    day_of_month = _parse_dom(dom_s)
    months = _parse_plain_field(month_s, _MONTH)
    day_of_week = _parse_dow(dow_s)
    years = _parse_plain_field(year_s, _YEAR)
    if day_of_month is None and day_of_week is None:
        raise InvalidExpression(
            "day-of-month and day-of-week are both '?'; exactly one of them must be '?' "
            "and the other must say which days (for example * for every day)",
            field=FIELD,
        )
    if day_of_month is not None and day_of_week is not None:
        raise InvalidExpression(
            "day-of-month and day-of-week are both set; exactly one of them must be '?' "
            "(AWS does not support both in one expression)",
            field=FIELD,
        )
    return CronExpression(text, minutes, hours, day_of_month, months, day_of_week, _shared_years(years))


_ALL_YEARS = tuple(range(MIN_YEAR, MAX_YEAR + 1))


def _shared_years(years: tuple[int, ...]) -> tuple[int, ...]:
    """The year values as the shared int objects of ``_ALL_YEARS`` (years above 256 are
    separate objects otherwise: ~7 KiB per cached expression with a year range)."""
    if years == _ALL_YEARS:
        return _ALL_YEARS
    return tuple(_ALL_YEARS[year - MIN_YEAR] for year in years)


def _field_name(spec: _FieldSpec) -> str:
    return f"{FIELD}.{spec.name}"


def _check_chars(token: str, spec: _FieldSpec) -> None:
    for ch in token:
        if ch not in spec.allowed:
            if ch in "?LW#/":
                where = {
                    "?": "day-of-month and day-of-week",
                    "L": "day-of-month and day-of-week",
                    "W": "day-of-month",
                    "#": "day-of-week",
                    "/": "minutes, hours, day-of-month, month and year",
                }[ch]
                message = (
                    f"the {ch} wildcard is not allowed in {spec.name}; it is only allowed in {where}"
                )
            else:
                message = (
                    f"character {ch!r} is not allowed in {spec.name} "
                    f"(values {_range_label(spec)}, wildcards {spec.wildcards})"
                )
            raise InvalidExpression(message, field=_field_name(spec))


def _range_label(spec: _FieldSpec) -> str:
    if spec is _MONTH:
        return "1-12 or JAN-DEC"
    if spec is _DOW:
        return "1-7 or SUN-SAT"
    return f"{spec.low}-{spec.high}"


def _value(token: str, spec: _FieldSpec) -> int:
    if token.isdigit() and token.isascii():
        number = int(token)
        if not spec.low <= number <= spec.high:
            raise InvalidExpression(
                f"value {number} is out of range {spec.low}-{spec.high}", field=_field_name(spec)
            )
        return number
    if not token:
        raise InvalidExpression(
            "a value is missing (check for a stray ',', '-' or '/')", field=_field_name(spec)
        )
    if spec.names is not None and token.isalpha():
        named = spec.names.get(token)
        if named is None:
            kind = "month" if spec is _MONTH else "day"
            raise InvalidExpression(
                f"{token!r} is not a {kind} name ({_range_label(spec)})", field=_field_name(spec)
            )
        return named
    raise InvalidExpression(
        f"{token!r} is not a value of {spec.name} ({_range_label(spec)})", field=_field_name(spec)
    )


def _step(token: str, spec: _FieldSpec) -> int:
    if not (token.isdigit() and token.isascii()):
        raise InvalidExpression(
            f"increment {token!r} after '/' must be a whole number", field=_field_name(spec)
        )
    step = int(token)
    if not 1 <= step <= spec.max_step:
        raise InvalidExpression(
            f"increment {step} is out of range 1-{spec.max_step}", field=_field_name(spec)
        )
    return step


def _expand_item(item: str, spec: _FieldSpec) -> range | list[int]:
    """One comma-separated item of a plain field: ``*``, ``a``, ``a-b``, each with ``/n``."""
    step = 1
    base = item
    if "/" in item:
        base, _, step_s = item.partition("/")
        if "/" in step_s:
            raise InvalidExpression(f"{item!r} has more than one '/'", field=_field_name(spec))
        if not base:
            raise InvalidExpression(
                f"{item!r} needs a start before '/' (for example 0/15 or */15)",
                field=_field_name(spec),
            )
        if not step_s:
            raise InvalidExpression(
                f"{item!r} needs an increment after '/' (for example 0/15)", field=_field_name(spec)
            )
        step = _step(step_s, spec)
    if base == "*":
        return range(spec.low, spec.high + 1, step)
    if "-" in base:
        first_s, _, last_s = base.partition("-")
        if not first_s or not last_s or "-" in last_s:
            raise InvalidExpression(
                f"{item!r} is not a range; write it as start-end, for example 1-5",
                field=_field_name(spec),
            )
        first = _value(first_s, spec)
        last = _value(last_s, spec)
    else:
        first = _value(base, spec)
        last = spec.high if "/" in item else first
    if first <= last:
        return range(first, last + 1, step)
    if spec is _YEAR:
        raise InvalidExpression(
            f"range {first}-{last} runs backwards; a year range cannot wrap around",
            field=_field_name(spec),
        )
    # A range that wraps around the end of the field (22-2 hours, FRI-MON): the step
    # continues across the wrap, as in Quartz, from which AWS cron syntax derives.
    width = spec.high - spec.low + 1
    return [i if i <= spec.high else i - width for i in range(first, last + width + 1, step)]


def _parse_plain_field(token: str, spec: _FieldSpec) -> tuple[int, ...]:
    _check_chars(token, spec)
    if token == "*":
        return tuple(range(spec.low, spec.high + 1))
    values: set[int] = set()
    for item in token.split(","):
        if not item:
            raise InvalidExpression(
                f"{token!r} has an empty list item (check for a stray ',')", field=_field_name(spec)
            )
        values.update(_expand_item(item, spec))
    return tuple(sorted(values))


def _parse_dom(token: str) -> DayOfMonth | None:
    spec = _DOM
    _check_chars(token, spec)
    if token == "?":
        return None
    if "?" in token:
        raise InvalidExpression("'?' must stand alone in day-of-month", field=_field_name(spec))
    if token == "L":
        return DayOfMonth(last=True)
    if token == "LW":
        return DayOfMonth(last_weekday=True)
    if "L" in token:
        raise InvalidExpression(
            f"{token!r}: L must stand alone in day-of-month (L = last day of the month, "
            "LW = last weekday); it cannot be combined with lists, ranges or offsets",
            field=_field_name(spec),
        )
    if "W" in token:
        number = token[:-1]
        if not token.endswith("W") or not number.isdigit() or not number.isascii():
            raise InvalidExpression(
                f"{token!r}: W must follow a single day number (for example 15W = the weekday "
                "nearest the 15th); it cannot be combined with lists, ranges or increments",
                field=_field_name(spec),
            )
        return DayOfMonth(nearest_weekday=_value(number, spec))
    return DayOfMonth(days=_parse_plain_field(token, spec))


_DOW_W = re.compile(r"[0-9]+W")


def _parse_dow(token: str) -> DayOfWeek | None:
    spec = _DOW
    _reject_dow_wildcards(token)
    if token == "?":
        return None
    if "?" in token:
        raise InvalidExpression("'?' must stand alone in day-of-week", field=_field_name(spec))
    if "#" in token:
        return _parse_dow_nth(token)
    if token == "L":
        # "L in the day-of-week field specifies the last day of the week": Saturday (7).
        return DayOfWeek(days=(7,))
    if "L" in token:
        return _parse_dow_last(token)
    return DayOfWeek(days=_parse_plain_field(token, spec))


def _reject_dow_wildcards(token: str) -> None:
    """The wildcards day-of-month allows and day-of-week does not, then the characters."""
    if "/" in token:
        raise InvalidExpression(
            "the / wildcard is not allowed in day-of-week (allowed: , - * ? L #)",
            field=_field_name(_DOW),
        )
    if _DOW_W.search(token):
        raise InvalidExpression(
            "the W wildcard is only allowed in day-of-month", field=_field_name(_DOW)
        )
    _check_chars(token, _DOW)


def _parse_dow_nth(token: str) -> DayOfWeek:
    """day#n: the n-th such weekday of the month (3#2 = the second Tuesday)."""
    spec = _DOW
    if "," in token:
        raise InvalidExpression(
            f"{token!r}: with '#' the day-of-week field can hold only one expression "
            "(for example 3#2 = the second Tuesday)",
            field=_field_name(spec),
        )
    day_s, _, nth_s = token.partition("#")
    if not day_s or not nth_s or "#" in nth_s or "-" in day_s or "L" in token:
        raise InvalidExpression(
            f"{token!r} is not day#n (for example 3#2 = the second Tuesday of the month)",
            field=_field_name(spec),
        )
    day = _value(day_s, spec)
    if not (nth_s.isdigit() and nth_s.isascii()) or not 1 <= int(nth_s) <= 5:
        raise InvalidExpression(
            f"{token!r}: the number after '#' must be 1-5 (a month has at most five of "
            "each weekday)",
            field=_field_name(spec),
        )
    return DayOfWeek(nth=(day, int(nth_s)))


def _parse_dow_last(token: str) -> DayOfWeek:
    """dayL: the last such weekday of the month (6L = the last Friday)."""
    day_s = token[:-1]
    if not token.endswith("L") or not day_s or any(c in day_s for c in ",-*L"):
        raise InvalidExpression(
            f"{token!r}: L in day-of-week is either L alone (Saturday) or follows a single "
            "day (for example 6L = the last Friday of the month); it cannot be combined "
            "with lists or ranges",
            field=_field_name(_DOW),
        )
    return DayOfWeek(last=_value(day_s, _DOW))


_RATE_VALUE = re.compile(r"[0-9]+", re.ASCII)


def _parse_rate(text: str) -> RateExpression:
    body = text[5:-1]
    parts = body.split(" ")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise InvalidExpression(
            "rate needs a value and a unit separated by one space, for example rate(5 minutes)",
            field=FIELD,
        )
    value_s, unit_s = parts
    if not _RATE_VALUE.fullmatch(value_s):
        if value_s[0] in "+-":
            reason = "must be a positive whole number written without a sign"
        elif "." in value_s or "," in value_s:
            reason = "must be a whole number (no decimals)"
        else:
            reason = "must be a positive whole number"
        raise InvalidExpression(f"rate value {value_s!r} {reason}", field=FIELD)
    value = int(value_s)
    if value == 0:
        raise InvalidExpression("rate value must be at least 1", field=FIELD)
    unit = _UNITS.get(unit_s)
    if unit is None:
        raise InvalidExpression(
            f"rate unit {unit_s!r} is not supported; use minute(s), hour(s) or day(s) in "
            "lower case",
            field=FIELD,
        )
    if value > 1 and unit_s != unit:
        raise InvalidExpression(
            f"rate unit must be plural when the value is more than 1: rate({value} {unit})",
            field=FIELD,
        )
    if value * _UNIT_MINUTES[unit] > _MAX_RATE_MINUTES:
        raise InvalidExpression(f"rate value {value} {unit} is too large", field=FIELD)
    return RateExpression(text, value, unit)


_AT = re.compile(
    r"at\(([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\)", re.ASCII
)
_AT_OFFSET = re.compile(r".*T[0-9:.]+(Z|[+-][0-9:]+)\)", re.ASCII | re.IGNORECASE)


def _parse_at(text: str) -> AtExpression:
    match = _AT.fullmatch(text)
    if match is None:
        raise InvalidExpression(f"{text!r} {_at_format_problem(text)}", field=FIELD)
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    _check_at_date(year, month, day)
    for name, value, highest in (("hour", hour, 23), ("minute", minute, 59), ("second", second, 59)):
        if value > highest:
            raise InvalidExpression(f"{name} {value} is out of range 0-{highest}", field=FIELD)
    return AtExpression(text, datetime(year, month, day, hour, minute, second))


def _at_format_problem(text: str) -> str:
    """Why ``text`` is not at(yyyy-mm-ddThh:mm:ss), in the words a user needs."""
    if _AT_OFFSET.fullmatch(text):
        return (
            "has a UTC offset or Z; at() takes a local date and time, and the time zone "
            "comes from the schedule's timezone"
        )
    if re.search(r"[0-9] [0-9]", text):
        return "must separate the date and the time with T, not a space"
    if re.search(r":[0-9]{2}\.[0-9]", text):
        return "has fractional seconds; write whole seconds"
    return "must be exactly at(yyyy-mm-ddThh:mm:ss), for example at(2027-03-01T10:00:00)"


def _check_at_date(year: int, month: int, day: int) -> None:
    if year < 1:
        raise InvalidExpression(f"year {year:04d} is not a valid year", field=FIELD)
    if not 1 <= month <= 12:
        raise InvalidExpression(f"month {month} is out of range 1-12", field=FIELD)
    length = _month_length(year, month)
    if not 1 <= day <= length:
        raise InvalidExpression(
            f"{year:04d}-{month:02d}-{day:02d} is not a real calendar date "
            f"({year:04d}-{month:02d} has {length} days)",
            field=FIELD,
        )


# --------------------------------------------------------------------------------------
# Time zones
# --------------------------------------------------------------------------------------


def validate_timezone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name`` (for example ``America/New_York``) or raise."""
    if not isinstance(name, str) or not name:
        raise InvalidExpression(
            "must be an IANA time zone name such as America/New_York or UTC", field="timezone"
        )
    if any(ch.isspace() for ch in name) or name.startswith("/") or ".." in name or "\\" in name:
        raise InvalidExpression(
            f"{name!r} is not an IANA time zone name (for example America/New_York or UTC)",
            field="timezone",
        )
    try:
        if name not in iana_zone_names():  # not a file of the host's zoneinfo (localtime, right/UTC)
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        raise InvalidExpression(
            f"{name!r} is not a known IANA time zone (for example America/New_York, "
            "Europe/London or UTC)",
            field="timezone",
        ) from None


@lru_cache(maxsize=1)
def iana_zone_names() -> frozenset[str]:
    """The IANA time zone names (the tzdata package's list, the one the functions ship),
    without ``Factory``, a placeholder no schedule can run in."""
    from importlib import resources

    names = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(names) - {"Factory"}


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, str):
        return validate_timezone(tz)
    return tz


def _is_utc(tz: tzinfo) -> bool:
    return tz is UTC or getattr(tz, "key", None) in _UTC_KEYS


def _as_utc(moment: datetime) -> datetime:
    """Aware UTC from aware (any zone) or naive (taken as UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# Outcome of placing a wall-clock time in a zone.
_OK, _GAP, _REPEATED = 0, 1, 2
# What preview notes about a wall time: (outcome, the wall time, its UTC instant or None).
_Note = tuple[int, datetime, datetime | None]


def _offset(naive: datetime, tz: tzinfo) -> timedelta:
    """The UTC offset of a wall time in ``tz`` (its first occurrence)."""
    offset = naive.replace(tzinfo=tz).utcoffset()
    if offset is None:
        raise TypeError(f"{tz!r} gives no UTC offset for {naive}")
    return offset


def _local_to_utc(naive: datetime, tz: tzinfo) -> tuple[datetime | None, int]:
    """The UTC instant of a wall-clock time: None in a spring-forward gap, the first
    occurrence (fold=0) in a repeated autumn hour."""
    off0 = naive.replace(tzinfo=tz).utcoffset()
    off1 = naive.replace(tzinfo=tz, fold=1).utcoffset()
    if off0 is None or off1 is None:
        raise TypeError(f"{tz!r} gives no UTC offset for {naive}")
    try:
        if off0 == off1:
            return (naive - off0).replace(tzinfo=UTC), _OK
        if off0 < off1:
            return None, _GAP
        return (naive - off0).replace(tzinfo=UTC), _REPEATED
    except OverflowError:
        return None, _OK


# --------------------------------------------------------------------------------------
# Next fire times
# --------------------------------------------------------------------------------------


def _iter_wall_times(cron: CronExpression, start: datetime) -> Iterator[tuple[int, int, int, int, int]]:
    """Yield (year, month, day, hour, minute) wall times matching ``cron``, in order, from
    ``start`` (inclusive, minute precision). Field by field: a year, month or day that
    cannot match is skipped whole, so sparse schedules cost no more than dense ones."""
    years, months, hours, minutes = cron.years, cron.months, cron.hours, cron.minutes
    y0, mo0, d0, h0, mi0 = start.year, start.month, start.day, start.hour, start.minute
    on_year = True
    for y in years[bisect_left(years, y0):]:
        on_month = on_year and y == y0
        on_year = False
        for mo in months[bisect_left(months, mo0):] if on_month else months:
            on_day = on_month and mo == mo0
            on_month = False
            days = cron.days_in(y, mo)
            if not days:
                continue
            for d in days[bisect_left(days, d0):] if on_day else days:
                on_hour = on_day and d == d0
                on_day = False
                for h in hours[bisect_left(hours, h0):] if on_hour else hours:
                    on_minute = on_hour and h == h0
                    on_hour = False
                    for mi in minutes[bisect_left(minutes, mi0):] if on_minute else minutes:
                        yield y, mo, d, h, mi


_ONE_MINUTE = timedelta(minutes=1)


def _first_wall_minute(lower: datetime, strict: bool, tz: tzinfo) -> datetime | None:
    """The first wall-clock minute in ``tz`` at or after the instant ``lower`` (after it when
    ``strict``); candidates are filtered again in UTC, so this only needs to be a lower bound."""
    try:
        wall = lower.astimezone(tz).replace(tzinfo=None)
    except OverflowError:
        return None
    floor = wall.replace(second=0, microsecond=0)
    if strict or floor != wall:
        try:
            floor += _ONE_MINUTE
        except OverflowError:
            return None
    return floor


class _WallClock:
    """A zone's wall-clock minutes as UTC instants: one UTC offset per day where the day has
    no transition, so the common day costs one zone lookup, not one a minute."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.utc = _is_utc(tz)
        self._day: tuple[int, int, int] | None = None
        self._offset: timedelta | None = None  # the day's offset, None when it has a transition

    def to_utc(self, y: int, mo: int, d: int, h: int, mi: int) -> tuple[datetime | None, int]:
        """As ``_local_to_utc``: (None, _GAP) in a gap, (None, _OK) past the datetime range."""
        if self.utc:
            return datetime(y, mo, d, h, mi, tzinfo=UTC), _OK
        if (y, mo, d) != self._day:
            self._day, self._offset = (y, mo, d), _day_offset(y, mo, d, self.tz)
        if self._offset is None:
            return _local_to_utc(datetime(y, mo, d, h, mi), self.tz)
        try:
            return datetime(y, mo, d, h, mi, tzinfo=UTC) - self._offset, _OK
        except OverflowError:
            return None, _OK


def _cron_instants(cron: CronExpression, tz: tzinfo, start: datetime) -> Iterator[tuple[datetime, int, datetime]]:
    """Each wall time matching ``cron`` from ``start``, as (UTC instant, state, wall time); a
    wall time in a spring-forward gap comes with the instant it would have named had clocks
    not moved. Ends where the instants leave the datetime range."""
    clock = _WallClock(tz)
    for wall in _iter_wall_times(cron, start):
        naive = datetime(*wall)
        fire, state = clock.to_utc(*wall)
        if fire is None and state == _GAP:
            fire = (naive - _offset(naive, tz)).replace(tzinfo=UTC)
        if fire is None:
            return
        yield fire, state, naive


def _cron_fires(
    cron: CronExpression, tz: tzinfo, lower: datetime, strict: bool, end: datetime | None, count: int,
    notes: list[_Note] | None = None,
) -> list[datetime]:
    out: list[datetime] = []
    start = _first_wall_minute(lower, strict, tz) if count > 0 else None
    if start is None or start.year > MAX_YEAR:
        return out
    for fire, state, naive in _cron_instants(cron, tz, start):
        if not _in_window(fire, lower, strict):
            continue
        if end is not None and fire > end:
            return out
        _note(notes, state, naive, fire)
        if state == _GAP:
            continue
        out.append(fire)
        if len(out) >= count:
            return out
    return out


def _in_window(fire: datetime, lower: datetime, strict: bool) -> bool:
    return fire > lower if strict else fire >= lower


def _note(notes: list[_Note] | None, state: int, naive: datetime, fire: datetime) -> None:
    """Keep a wall time that a clock change skipped (gap) or repeated, for the warnings."""
    if notes is not None and state != _OK:
        notes.append((state, naive, fire if state == _REPEATED else None))


def _day_offset(y: int, mo: int, d: int, tz: tzinfo) -> timedelta | None:
    """The UTC offset of a whole local day, or None when it changes during the day."""
    first = datetime(y, mo, d, tzinfo=tz)
    last = datetime(y, mo, d, 23, 59, tzinfo=tz)
    offset = first.utcoffset()
    if (
        offset == last.utcoffset()
        and offset == first.replace(fold=1).utcoffset()
        and offset == last.replace(fold=1).utcoffset()
    ):
        return offset
    return None


def _rate_fires(
    rate: RateExpression, after: datetime, count: int, start: datetime | None, end: datetime | None
) -> list[datetime]:
    out: list[datetime] = []
    if count <= 0:
        return out
    interval = rate.interval
    base = start if start is not None else after
    k = 0 if base > after else (after - base) // interval + 1
    while len(out) < count:
        try:
            fire = base + interval * k
        except OverflowError:
            break
        if end is not None and fire > end:
            break
        out.append(fire)
        k += 1
    return out


def _at_fire(at: AtExpression, tz: tzinfo) -> tuple[datetime | None, int]:
    if _is_utc(tz):
        return at.at.replace(tzinfo=UTC), _OK
    return _local_to_utc(at.at, tz)


def next_fires(
    expression: str | Expression,
    timezone: str | tzinfo,
    after: datetime,
    count: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``, as aware UTC datetimes.

    ``after``, ``start`` and ``end`` may be aware (any zone) or naive (read as UTC).
    cron is evaluated on the wall clock of ``timezone``: a time in the spring-forward gap
    is skipped, a time in the repeated autumn hour fires once (its first occurrence).
    rate fires at ``start + k * interval`` (``start`` defaults to ``after``). at fires once.
    ``start``/``end`` bound cron and rate (inclusive); AWS ignores them for at().
    """
    expr = parse_expression(expression) if isinstance(expression, str) else expression
    return _fires(expr, _zone(timezone), _as_utc(after), count, start, end, None)


def _fires(
    expr: Expression, tz: tzinfo, after: datetime, count: int, start: datetime | None, end: datetime | None,
    notes: list[_Note] | None,
) -> list[datetime]:
    start = _as_utc(start) if start is not None else None
    end = _as_utc(end) if end is not None else None
    if count <= 0:
        return []
    if isinstance(expr, CronExpression):
        if start is not None and start > after:
            return _cron_fires(expr, tz, start, False, end, count, notes)
        return _cron_fires(expr, tz, after, True, end, count, notes)
    if isinstance(expr, RateExpression):
        return _rate_fires(expr, after, count, start, end)
    if isinstance(expr, AtExpression):
        fire, state = _at_fire(expr, tz)
        if notes is not None:
            notes.append((state, expr.at, fire))
        return [fire] if fire is not None and fire > after else []
    raise TypeError(f"not an expression: {expr!r}")


# --------------------------------------------------------------------------------------
# Preview
# --------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"
    )


def _clock(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _check_count(count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidExpression(
            f"must be a whole number between 1 and {MAX_PREVIEW_COUNT}", field="count"
        )
    if not 1 <= count <= MAX_PREVIEW_COUNT:
        raise InvalidExpression(
            f"value {count} is out of range 1-{MAX_PREVIEW_COUNT}", field="count"
        )
    return count


def _dst_warnings(notes: list[_Note], zone_name: str) -> list[str]:
    """Group the skipped (gap) and once-only (repeated hour) wall times by local date."""
    groups: dict[tuple[int, date], list[tuple[datetime, datetime | None]]] = {}
    for state, wall, fire in notes:
        if state in (_GAP, _REPEATED):
            groups.setdefault((state, wall.date()), []).append((wall, fire))
    warnings = []
    for (state, day), items in groups.items():
        walls = [w for w, _ in items]
        if state == _GAP:
            if len(walls) == 1:
                what = f"{_clock(walls[0])} on {day.isoformat()} does not exist"
                outcome = "so that run is skipped"
            else:
                what = (
                    f"{len(walls)} run times from {_clock(walls[0])} to {_clock(walls[-1])} on "
                    f"{day.isoformat()} do not exist"
                )
                outcome = "so those runs are skipped"
            warnings.append(f"{what} in {zone_name} (clocks spring forward), {outcome}")
        else:
            if len(walls) == 1:
                first = items[0][1]
                assert first is not None, "a repeated wall time is noted with its first occurrence"
                warnings.append(
                    f"{_clock(walls[0])} on {day.isoformat()} occurs twice in {zone_name} "
                    f"(clocks fall back); the schedule runs once, at the first occurrence "
                    f"({_iso(first)})"
                )
            else:
                warnings.append(
                    f"{len(walls)} run times from {_clock(walls[0])} to {_clock(walls[-1])} on "
                    f"{day.isoformat()} occur twice in {zone_name} (clocks fall back); each "
                    "runs once, at its first occurrence"
                )
    return warnings


def _elapsed(rate: RateExpression) -> str:
    hours = rate.value * _UNIT_MINUTES[rate.unit] // 60
    return "hour" if hours == 1 else f"{hours} hours"


def _rate_shift_warnings(rate: RateExpression, fires: list[datetime], tz: tzinfo, zone_name: str) -> list[str]:
    if _is_utc(tz) or rate.unit == "minutes" or len(fires) < 2:
        return []
    warnings = []
    previous = fires[0].astimezone(tz)
    for fire in fires[1:]:
        local = fire.astimezone(tz)
        if local.utcoffset() != previous.utcoffset():
            warnings.append(
                f"{rate.expression} runs every {_elapsed(rate)} of elapsed time (a day is 24 "
                f"hours), so after the clock change in {zone_name} its local time moves "
                f"from {_clock(previous)} to {_clock(local)} (on {local.date().isoformat()})"
            )
        previous = local
    return warnings


def _at_warnings(
    expr: AtExpression, tz: tzinfo, zone_name: str, after: datetime, warnings: list[str], bounded: bool
) -> list[str]:
    """A one-time schedule's warnings: a time the clocks skip, a time in the past, bounds
    that do not apply."""
    fire, state = _at_fire(expr, tz)
    if state == _GAP:
        warnings = [
            f"{expr.expression} names {_clock(expr.at)} on {expr.at.date().isoformat()}, "
            f"which does not exist in {zone_name} (clocks spring forward); the schedule "
            "never runs"
        ]
    elif fire is not None and fire <= after:
        warnings.append(
            f"{expr.expression} in {zone_name} is {_iso(fire)}, which is in the past "
            f"(not after {_iso(after)}); a one-time schedule in the past never runs"
        )
    if bounded:
        warnings.append(
            "start_date and end_date are ignored for one-time at() schedules"
        )
    return warnings


def _never_fires_warning(expr: Expression, lower: datetime, end: datetime | None) -> str:
    """Why a recurring schedule lists no fire time after ``lower``."""
    if isinstance(expr, CronExpression) and next(
        _iter_wall_times(expr, datetime(MIN_YEAR, 1, 1)), None
    ) is None:
        return f"{expr.expression} never fires: no date matches its day, month and year fields"
    if end is not None:
        return (
            f"the schedule never fires within its bounds: no fire time between "
            f"{_iso(lower)} and end_date {_iso(end)}"
        )
    if isinstance(expr, CronExpression):
        return (
            f"the schedule never fires again: no fire time after {_iso(lower)} "
            f"(the year field ends at {expr.years[-1]})"
        )
    return (
        f"the schedule never fires again: its next fire time after {_iso(lower)} "
        "is past the year 9999"
    )


def preview(
    schedule_expression: str,
    timezone: str = "UTC",
    *,
    after: datetime,
    count: int = 10,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> dict[str, Any]:
    """Validate an expression and list its next fire times, with warnings a user should read.

    Returns ``{"valid": True, "schedule_expression", "timezone", "next": [ISO-8601 Z
    strings], "warnings": [str]}``. Raises ``InvalidExpression`` for an invalid expression,
    time zone, ``count`` (1-100) or a ``start_date`` not before ``end_date``.
    """
    expr = parse_expression(schedule_expression)
    zone_name = "UTC" if timezone is None else timezone
    tz = validate_timezone(zone_name)
    count = _check_count(count)
    after = _as_utc(after)
    start = _as_utc(start_date) if start_date is not None else None
    end = _as_utc(end_date) if end_date is not None else None
    if start is not None and end is not None and start >= end:
        raise InvalidExpression(
            f"must be earlier than end_date ({_iso(start)} is not before {_iso(end)})",
            field="start_date",
        )

    notes: list[_Note] = []
    fires = _fires(expr, tz, after, count, start, end, notes)
    warnings = _dst_warnings(notes, zone_name)
    if isinstance(expr, AtExpression):
        warnings = _at_warnings(expr, tz, zone_name, after, warnings, bounded=start is not None or end is not None)
    elif isinstance(expr, RateExpression):
        warnings.extend(_rate_shift_warnings(expr, fires, tz, zone_name))
    if not fires and not isinstance(expr, AtExpression):
        warnings.append(_never_fires_warning(expr, start if start is not None and start > after else after, end))

    return {
        "valid": True,
        "schedule_expression": schedule_expression,
        "timezone": zone_name,
        "next": [_iso(f) for f in fires],
        "warnings": warnings,
    }
