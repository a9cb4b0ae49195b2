"""Which slots of a schedule do not run, and why: one rule for the plan and the fire.

A slot is skipped, in this order of reasons, when
1. it falls before the schedule's ``snoozed_until`` (a pause that resumes itself): ``snoozed
   until <time>``;
2. it falls before the end of a requested skip (``POST /api/schedules/{id}/skip``):
   ``requested``;
3. its local date, in a calendar's time zone, is one of the days of a calendar the schedule
   names in ``exclude_calendars``: ``calendar <name>``.

The first two are on the schedule's record; calendars are read (one GetItem each) only for
a schedule that names some, so a schedule with none pays nothing. ``fire_skip`` is what the
target function asks when EventBridge fires a slot; ``Exclusions.reason`` is what the plan
(next fire times, preview, timeline, alert sweep) asks of each slot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.calendars import CalendarDays
from chalicelib.models import ExecutionRecord, ExecutionTrigger, Schedule, iso, parse_iso

REQUESTED = "requested"
# how many slots past the wanted number the plan looks at for ones that run
PLAN_LOOKAHEAD = 100

# (owner, calendar names) -> their days
CalendarReader = Callable[[str, Sequence[str]], list[CalendarDays]]


def calendar_reason(name: str) -> str:
    return f"calendar {name}"


def snooze_reason(until: datetime) -> str:
    return f"snoozed until {iso(until)}"


@dataclass(frozen=True)
class Exclusions:
    """What keeps a schedule's slots from running: its calendars' days, a requested skip and
    a snooze."""

    calendars: list[CalendarDays] = field(default_factory=list)
    skip_until: datetime | None = None
    snoozed_until: datetime | None = None

    def reason(self, slot: datetime) -> str | None:
        """Why the slot at ``slot`` does not run (None: it runs)."""
        if self.snoozed_until is not None and slot < self.snoozed_until:
            return snooze_reason(self.snoozed_until)
        if self.skip_until is not None and slot < self.skip_until:
            return REQUESTED
        for calendar in self.calendars:
            if calendar.covers(slot):
                return calendar_reason(calendar.name)
        return None

    def __bool__(self) -> bool:
        return bool(self.calendars) or self.skip_until is not None or self.snoozed_until is not None


NONE = Exclusions()


def on_record(schedule: Schedule) -> Exclusions:
    """The exclusions the record itself holds (a skip, a snooze): no call."""
    skip_until = parse_iso(schedule.skip.until) if schedule.skip is not None else None
    snoozed = parse_iso(schedule.snoozed_until) if schedule.snoozed_until else None
    return Exclusions(skip_until=skip_until, snoozed_until=snoozed)


def for_schedule(schedule: Schedule, read_calendars: CalendarReader | None) -> Exclusions:
    """Every exclusion of ``schedule``: the record's, and its calendars' days (read only when
    it names calendars)."""
    own = on_record(schedule)
    names = schedule.definition.exclude_calendars
    if not names or read_calendars is None:
        return own
    return Exclusions(read_calendars(schedule.created_by, names), own.skip_until, own.snoozed_until)


def fire_skip(schedule: Schedule, record: ExecutionRecord, read_calendars: CalendarReader | None) -> str | None:
    """Why the target must not dispatch this claimed run (None: dispatch it). Only a run
    EventBridge fired for a slot is excluded; a manual run (or a backfill) runs as asked.
    The record's own exclusions are tested first, so a snoozed or skipped slot reads no
    calendar."""
    if record.trigger is not ExecutionTrigger.SCHEDULED:
        return None
    try:
        slot = parse_iso(record.scheduled_time)
    except ValueError:
        return None
    reason = on_record(schedule).reason(slot)
    if reason is not None or not schedule.definition.exclude_calendars or read_calendars is None:
        return reason
    return for_schedule(schedule, read_calendars).reason(slot)


def plan(fires: Iterable[datetime], excluded: Exclusions, count: int) -> tuple[list[str], list[dict[str, str]]]:
    """Up to ``count`` fire times that run (UTC text, to the second) and the skipped slots
    met before the last of them, each with its reason."""
    runs: list[str] = []
    skipped: list[dict[str, str]] = []
    for fire in fires:
        if len(runs) >= count:
            break
        moment = fire.replace(microsecond=0)
        reason = excluded.reason(moment)
        if reason is None:
            runs.append(iso(moment))
        else:
            skipped.append({"time": iso(moment), "reason": reason})
    return runs, skipped


def split_preview(answer: dict[str, Any], excluded: Exclusions) -> dict[str, Any]:
    """A preview's answer with the slots that do not run moved from ``next`` to ``skipped``."""
    if not excluded:
        return answer
    runs, skipped = plan((parse_iso(each) for each in answer["next"]), excluded, len(answer["next"]))
    return {**answer, "next": runs, "skipped": skipped}
