"""Exclusion calendars: named sets of days in a time zone on which a schedule does not run.

A calendar holds single ``dates`` (YYYY-MM-DD), inclusive ``ranges`` ({from, to}) and
``yearly`` days (MM-DD, every year). An iCalendar file's text (``ics``) is read by the
``icalendar`` package when the calendar is written: its all-day events become dates (one day)
or ranges (several days; DTEND is exclusive in iCalendar), a yearly all-day event becomes a
yearly day; a timed event is not a day off and is ignored (and counted). The text itself is
not kept. Every list is bounded, and so is the text, so a calendar item stays small.

A slot is excluded when its local date, read in the calendar's time zone, is one of the days.
``chalicelib.calendar_store`` keeps calendars; ``chalicelib.exclusions`` decides with them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib import expressions
from chalicelib.errors import InvalidExpression
from chalicelib.models import MAX_EXCLUDE_CALENDARS, NAME_PATTERN, PreviewRequest, check_calendar_names, check_name

MAX_DATES = 1000
MAX_RANGES = 200
MAX_YEARLY = 366
MAX_RANGE_DAYS = 3660
MAX_ICS_BYTES = 256_000
MAX_ICS_EVENTS = 2000
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
YEARLY_PATTERN = re.compile(r"\d{2}-\d{2}")


def _day(value: str, field: str) -> date:
    if not isinstance(value, str) or not DATE_PATTERN.fullmatch(value):
        raise ValueError(f"{field}: {value!r} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field}: {value} is not a day of the calendar") from None


def _yearly(value: str, field: str) -> tuple[int, int]:
    if not isinstance(value, str) or not YEARLY_PATTERN.fullmatch(value):
        raise ValueError(f"{field}: {value!r} is not a day MM-DD")
    month, day = int(value[:2]), int(value[3:])
    try:
        date(2000, month, day)  # a leap year: 02-29 is a day some years have
    except ValueError:
        raise ValueError(f"{field}: {value} is not a day of the year") from None
    return month, day


class DayRange(BaseModel):
    """Days ``from`` to ``to``, both included."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: str = Field(alias="from", json_schema_extra={"pattern": DATE_PATTERN.pattern})
    end: str = Field(alias="to", json_schema_extra={"pattern": DATE_PATTERN.pattern})

    @model_validator(mode="after")
    def _ordered(self) -> DayRange:
        first, last = _day(self.start, "from"), _day(self.end, "to")
        if last < first:
            raise ValueError("to: must not be before from")
        if (last - first).days >= MAX_RANGE_DAYS:
            raise ValueError(f"to: a range spans at most {MAX_RANGE_DAYS} days")
        return self

    def to_api(self) -> dict[str, str]:
        return {"from": self.start, "to": self.end}


class CalendarDefinition(BaseModel):
    """The body of ``POST /api/calendars`` and ``PUT /api/calendars/{name}`` (and an inline
    calendar of a preview)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN.pattern})
    timezone: str = Field("UTC", description="the IANA time zone whose dates the days are")
    description: str | None = Field(None, max_length=512)
    dates: list[str] = Field(default_factory=list, description=f"days YYYY-MM-DD (at most {MAX_DATES})",
                             json_schema_extra={"maxItems": MAX_DATES})
    ranges: list[DayRange] = Field(default_factory=list, description=f"{{from, to}} days, both included "
                                   f"(at most {MAX_RANGES})", json_schema_extra={"maxItems": MAX_RANGES})
    yearly: list[str] = Field(default_factory=list, description="days MM-DD, every year",
                              json_schema_extra={"maxItems": MAX_YEARLY})
    ics: str | None = Field(None, description=f"an iCalendar file's text (at most {MAX_ICS_BYTES} bytes): its "
                            "all-day events are added as dates, ranges and yearly days; it is not kept")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            expressions.validate_timezone(value)
        except InvalidExpression as exc:
            raise ValueError(exc.rule) from None
        return value

    @field_validator("dates")
    @classmethod
    def _dates(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_DATES:
            raise ValueError(f"at most {MAX_DATES} dates, not {len(value)}")
        for index, each in enumerate(value):
            _day(each, f"dates.{index}")
        return value

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, value: list[DayRange]) -> list[DayRange]:
        if len(value) > MAX_RANGES:
            raise ValueError(f"at most {MAX_RANGES} ranges, not {len(value)}")
        return value

    @field_validator("yearly")
    @classmethod
    def _yearly_days(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_YEARLY:
            raise ValueError(f"at most {MAX_YEARLY} yearly days, not {len(value)}")
        for index, each in enumerate(value):
            _yearly(each, f"yearly.{index}")
        return value

    @field_validator("ics")
    @classmethod
    def _ics_size(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) > MAX_ICS_BYTES:
            raise ValueError(f"at most {MAX_ICS_BYTES} bytes of iCalendar text")
        return value

    def resolved(self) -> CalendarDefinition:
        """The definition with its ``ics`` read into dates, ranges and yearly days (sorted,
        without repeats), checked against the same bounds."""
        dates, ranges, yearly = set(self.dates), {r.to_api()["from"] + "/" + r.end for r in self.ranges}, set(self.yearly)
        if self.ics is not None:
            found = read_ics(self.ics)
            dates |= set(found["dates"])
            ranges |= {r["from"] + "/" + r["to"] for r in found["ranges"]}
            yearly |= set(found["yearly"])
        data = self.model_dump(exclude={"ics"}, exclude_none=True)
        data.update(
            dates=sorted(dates), yearly=sorted(yearly),
            ranges=[{"from": first, "to": last} for first, last in sorted(pair.split("/") for pair in ranges)],
        )
        for field, found_count, bound in (("dates", len(dates), MAX_DATES), ("ranges", len(ranges), MAX_RANGES)):
            if found_count > bound:
                raise ValueError(f"ics: the file makes {found_count} {field}, more than {bound}")
        return CalendarDefinition.model_validate(data)

    def to_api(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"ics"})
        return body


def read_ics(text: str) -> dict[str, list[Any]]:
    """The all-day events of an iCalendar file as dates, ranges and yearly days. A file that
    does not parse, or an all-day event with a recurrence other than plain yearly, is a
    ``ValueError`` naming ``ics``."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"ics: not an iCalendar file ({str(exc)[:200]})") from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise ValueError("ics: not an iCalendar file (no VCALENDAR)")
    dates: list[str] = []
    ranges: list[dict[str, str]] = []
    yearly: list[str] = []
    events = calendar.walk("VEVENT")
    if len(events) > MAX_ICS_EVENTS:
        raise ValueError(f"ics: at most {MAX_ICS_EVENTS} events, not {len(events)}")
    for event in events:
        days = _event_days(event)
        if days is None:
            continue  # a timed event: not a day off
        first, last = days
        rule = event.get("RRULE")
        if rule:
            yearly.append(_yearly_rule(dict(rule), first, last, str(event.get("SUMMARY", ""))))
        elif first == last:
            dates.append(first.isoformat())
        else:
            ranges.append({"from": first.isoformat(), "to": last.isoformat()})
    return {"dates": dates, "ranges": ranges, "yearly": yearly}


def _event_days(event: Any) -> tuple[date, date] | None:
    """The first and last day of an all-day event (None: a timed one)."""
    start = event.get("DTSTART")
    if start is None:
        raise ValueError(f"ics: the event {str(event.get('SUMMARY', ''))[:80]!r} has no DTSTART")
    first = start.dt
    if isinstance(first, datetime) or not isinstance(first, date):
        return None
    end = event.get("DTEND")
    last = first
    if end is not None and isinstance(end.dt, date) and not isinstance(end.dt, datetime):
        last = max(first, end.dt - timedelta(days=1))  # DTEND is the day after the last
    elif event.get("DURATION") is not None:
        length = event.get("DURATION").dt
        if isinstance(length, timedelta) and length.days > 1:
            last = first + timedelta(days=length.days - 1)
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ValueError(f"ics: an event spans at most {MAX_RANGE_DAYS} days")
    return first, last


def _yearly_rule(rule: dict[str, Any], first: date, last: date, summary: str) -> str:
    if first != last or [key for key in rule if key not in ("FREQ", "INTERVAL")] or rule.get("FREQ") != ["YEARLY"] \
            or rule.get("INTERVAL", [1]) != [1]:
        raise ValueError(f"ics: the recurring event {summary[:80]!r}: only a one-day event repeating every "
                         "year (RRULE:FREQ=YEARLY) is read")
    return f"{first.month:02d}-{first.day:02d}"


class Calendar(BaseModel):
    """A stored calendar: its (resolved) definition, owner, version and the schedules that
    name it."""

    definition: CalendarDefinition
    owner: str
    version: int
    created_date: str
    updated_date: str
    used_by: list[str] = Field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        body = self.definition.to_api()
        body.update(owner=self.owner, version=self.version, created_date=self.created_date,
                    updated_date=self.updated_date, used_by=sorted(self.used_by))
        return body


class CalendarDays:
    """A calendar's days, ready to test slots against."""

    def __init__(self, definition: CalendarDefinition):
        self.name = definition.name
        self._zone = expressions.validate_timezone(definition.timezone)
        self._dates = {date.fromisoformat(each) for each in definition.dates}
        self._ranges = [(date.fromisoformat(r.start), date.fromisoformat(r.end)) for r in definition.ranges]
        self._yearly = {(int(each[:2]), int(each[3:])) for each in definition.yearly}

    def covers(self, moment: datetime) -> bool:
        """Whether ``moment`` (aware) falls on one of the days, in the calendar's zone."""
        day = moment.astimezone(self._zone).date()
        if day in self._dates or (day.month, day.day) in self._yearly:
            return True
        return any(first <= day <= last for first, last in self._ranges)


class CalendarPreviewRequest(PreviewRequest):
    """The body of ``POST /api/expressions/preview``: an expression, and the calendars whose
    days it skips (the caller's, by name, or given inline)."""

    exclude_calendars: list[str] = Field(
        default_factory=list, description="the caller's calendars whose days are skipped",
        json_schema_extra={"maxItems": MAX_EXCLUDE_CALENDARS, "uniqueItems": True},
    )
    calendars: list[CalendarDefinition] = Field(
        default_factory=list, description="calendars given here (not stored) whose days are skipped",
        json_schema_extra={"maxItems": MAX_EXCLUDE_CALENDARS},
    )

    @field_validator("exclude_calendars")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return check_calendar_names(value)

    @field_validator("calendars")
    @classmethod
    def _inline(cls, value: list[CalendarDefinition]) -> list[CalendarDefinition]:
        if len(value) > MAX_EXCLUDE_CALENDARS:
            raise ValueError(f"at most {MAX_EXCLUDE_CALENDARS} calendars, not {len(value)}")
        return value
