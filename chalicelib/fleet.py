"""A schedule at a glance from its record alone, and the fleet's overview.

A listing must not read more than the records it lists (tests/test_listing_cost.py), so
what a list item says about a schedule's runs comes from fields the run's own write keeps on
the record (``executions``: the last run's id, slot and outcome) and from the plan, which
is computed, not read:

- ``next_fire_time``: the next slot of an active schedule;
- ``last_execution``: the last run the record knows of;
- ``health`` (at a glance, now): ``paused`` for a paused schedule; ``failing`` when the last
  run failed; ``missing`` when the first slot after the last run (scheduled or run-now) or
  after the last change, whichever is later, is past its deadline with no run; else ``ok``. Any other status has
  no health (``null``). The schedule's own page adds what its timeline says of the recent
  slots (``GET /api/schedules/{id}``: late runs, a miss among the last ten slots).

The overview counts what a caller's default listing holds, page by page (one query a page,
the listing's own read budget), and names the schedules failing or missing now and the next
fires across the fleet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import Clock, system_clock
from chalicelib.exclusions import PLAN_LOOKAHEAD, on_record
from chalicelib.models import ExecutionOutcome, Schedule, ScheduleState, ScheduleStatus, parse_iso
from chalicelib.timeline import expected_slots, last_execution, planned_slot, slot_key

HORIZON = timedelta(days=3660)  # as far as a next fire is looked for (AWS: years up to 2199)
FAILED_OUTCOMES = {ExecutionOutcome.FAILED, ExecutionOutcome.UNDELIVERED}
ATTENTION = ("failing", "missing")
OVERVIEW_PAGE = 100
OVERVIEW_MAX = 5000  # schedules counted at most in one overview (50 queries)
NEXT_SHOWN = 10
ATTENTION_SHOWN = 20


class Glance:
    """``health``, ``next_fire_time`` and ``last_execution`` of records, with no read."""

    def __init__(self, grace_seconds: int = 120, clock: Clock = system_clock):
        self._grace = timedelta(seconds=grace_seconds)
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def of(self, schedule: Schedule, now: datetime | None = None) -> dict[str, Any]:
        now = now or self._clock()
        last = last_execution(schedule)
        active = schedule.status is ScheduleStatus.ACTIVE and schedule.definition.state is ScheduleState.ENABLED
        held = on_record(schedule)  # a skip or a snooze: on the record, no read
        upcoming = expected_slots(schedule, now, now + HORIZON, 1 + (PLAN_LOOKAHEAD if held else 0),
                                  self._grace) if active else []
        runs = [slot for slot in upcoming if held.reason(slot.time) is None]
        return {
            "health": self.health(schedule, now),
            "next_fire_time": slot_key(runs[0].time) if runs else None,
            "last_execution": last,
        }

    def health(self, schedule: Schedule, now: datetime) -> str | None:
        if schedule.status is ScheduleStatus.PAUSED or (
            schedule.status is ScheduleStatus.ACTIVE and schedule.definition.state is ScheduleState.DISABLED
        ):
            return "paused"
        if schedule.status is not ScheduleStatus.ACTIVE:
            return None
        summary = schedule.executions
        if summary.last_outcome in FAILED_OUTCOMES:
            return "failing"
        since = _next_second(parse_iso(schedule.last_change.at if schedule.last_change else schedule.created_date))
        # The last run, scheduled or manual (a run-now keeps only its own time on the record):
        # the slot after it is the one that must have run by now. A scheduled run is read as
        # the slot it belongs to by the timeline's one join rule (SlotJoin: an emulator's
        # floored minute included).
        if summary.last_scheduled_time:
            reported = parse_iso(summary.last_scheduled_time)
            slot = planned_slot(schedule, reported, self._grace)
            since = max(since, (slot.time if slot else reported.replace(microsecond=0)) + timedelta(seconds=1))
        if schedule.snoozed_until:  # EventBridge holds every slot before the snooze ends
            since = max(since, parse_iso(schedule.snoozed_until))
        due = expected_slots(schedule, since, now, 1, self._grace)
        if due and due[0].deadline < now:
            return "missing"
        return "ok"


def _next_second(moment: datetime) -> datetime:
    """The first whole second at or after ``moment``: a slot in the second a schedule was
    created (or changed), before that instant, is not one of its slots."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def overview(pages: Callable[[int, str | None], Any], glance: Glance) -> dict[str, Any]:
    """Counts by status and health, the schedules failing or missing now, and the next fires,
    over every schedule ``pages(limit, cursor)`` lists (at most ``OVERVIEW_MAX``)."""
    now = glance.now()
    statuses: Counter[str] = Counter()
    healths: Counter[str] = Counter()
    attention: list[dict[str, Any]] = []
    upcoming: list[dict[str, Any]] = []
    counted = 0
    complete = True
    for schedule in _every(pages):
        if counted == OVERVIEW_MAX:
            complete = False
            break
        counted += 1
        seen = glance.of(schedule, now)
        statuses[schedule.status.value] += 1
        healths[seen["health"] or "none"] += 1
        brief = _brief(schedule, seen)
        if seen["health"] in ATTENTION:
            attention.append(brief)
        if seen["next_fire_time"]:
            upcoming.append(brief)
    attention.sort(key=lambda item: (item["health"], item["name"]))
    upcoming.sort(key=lambda item: (item["next_fire_time"], item["name"]))
    return {
        "now": slot_key(now),
        "total": counted,
        "complete": complete,
        "by_status": dict(sorted(statuses.items())),
        "by_health": dict(sorted(healths.items())),
        "attention": attention[:ATTENTION_SHOWN],
        "attention_total": len(attention),
        "next_fires": upcoming[:NEXT_SHOWN],
    }


def _every(pages: Callable[[int, str | None], Any]) -> Iterator[Schedule]:
    cursor: str | None = None
    while True:
        page = pages(OVERVIEW_PAGE, cursor)
        yield from page
        cursor = page.cursor
        if not cursor:
            return


def _brief(schedule: Schedule, seen: dict[str, Any]) -> dict[str, Any]:
    last = seen["last_execution"] or {}
    return {
        "id": schedule.id,
        "name": schedule.definition.name,
        "status": schedule.status.value,
        "health": seen["health"],
        "schedule_expression": schedule.definition.schedule_expression,
        "timezone": schedule.definition.timezone,
        "next_fire_time": seen["next_fire_time"],
        "last_outcome": last.get("outcome"),
        "last_scheduled_time": last.get("scheduled_time"),
    }
