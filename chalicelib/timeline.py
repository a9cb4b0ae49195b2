"""Every expected fire time of a schedule, planned against what ran.

The plan comes from the exact engine (``expressions.next_fires``: time zone, DST, start and
end dates); the actual from the execution records; whether the schedule was paused at a
time from its history. Each slot has one result (the API's ``result``, formerly ``state``):

- ``succeeded`` / ``failed``: its run finished so (``undelivered`` counts as failed);
- ``running``: its run started and has not finished;
- ``late``: its run started after the slot's flexible window plus the grace;
- ``missed``: no run by then;
- ``skipped``: the schedule was paused (disabled) at that time, or the slot is excluded
  (a calendar's day, a requested skip, a snooze: ``chalicelib.exclusions``), or its run was
  recorded skipped; the entry's ``reason`` says which;
- ``upcoming``: not due yet.

A spring-forward wall time that AWS skips is not computed as a slot, so it is never missed.
Manual runs (run-now) are entries of their own, with ``trigger: manual``. A backfill run
(``trigger: backfill``, chalicelib.backfill) is its slot's run, never late, and its entry says
``note: backfilled at <time>``.

Which slot a run belongs to is decided in one place, :class:`SlotJoin` (the timeline, the
health, the alert sweep and the run's own watch update all use it): the slot its scheduled
time names exactly (what AWS passes), else the slot inside the minute its scheduled time names
when that time is on the minute (what ministack passes: the slot floored to the minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import cursors, expressions
from chalicelib.clock import Clock, system_clock
from chalicelib.errors import InvalidExpression, ValidationError
from chalicelib.exclusions import NONE as NO_EXCLUSIONS
from chalicelib.exclusions import PLAN_LOOKAHEAD, CalendarReader, Exclusions, for_schedule
from chalicelib.models import (
    DELETED_STATE,
    ExecutionOutcome,
    ExecutionRecord,
    ExecutionTrigger,
    Schedule,
    ScheduleState,
    ScheduleStatus,
    iso,
    parse_iso,
)
from chalicelib.ports import RunHistory

SUCCEEDED = "succeeded"
FAILED = "failed"
RUNNING = "running"
LATE = "late"
MISSED = "missed"
SKIPPED = "skipped"
UPCOMING = "upcoming"
TIMED_OUT = "timed_out"  # dispatched, no report within its max_duration_seconds (alerted once)
OVERDUE = "overdue"  # dispatched, awaited (overlap_policy, run_if), no report within a day

BACKFILLED = "backfilled at {at}"  # the note of a slot whose run was a backfill

MAX_SPAN = timedelta(days=31)
MAX_SLOTS = 1000
DEFAULT_BEFORE = timedelta(hours=24)
DEFAULT_AFTER = timedelta(hours=24)
HEALTH_SPAN = timedelta(hours=24)
HEALTH_SLOTS = 10
# A run that started this long ago and never finished has died (longer than the target
# function's timeout and its claim).
STUCK_AFTER = timedelta(minutes=15)


def slot_key(moment: datetime) -> str:
    """A slot's time as text, to the second (how EventBridge passes scheduled times)."""
    return iso(moment.replace(microsecond=0))


@dataclass(frozen=True)
class Slot:
    time: datetime
    deadline: datetime  # a run that starts after this is late; no run by then: missed


MINUTE = timedelta(minutes=1)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class SlotJoin:
    """The rule that joins runs to planned slots. A run belongs to the slot its scheduled time
    names exactly (EventBridge Scheduler passes the slot to the second); failing that, a run
    whose scheduled time is on the minute belongs to the slot inside that minute (ministack,
    the local stage's emulator, passes the slot floored to its minute: a ``rate(1 minute)``
    created at 05:29:37 has slots 05:30:37, 05:31:37, ... and reports runs at 05:30:00,
    05:31:00, ...). A schedule has at most one slot a minute, so the join is never ambiguous,
    and on AWS the first rule always decides."""

    def __init__(self, slots: list[Slot]):
        self._exact = {slot_key(slot.time): slot for slot in slots}
        self._by_minute = {slot_key(minute_of(slot.time)): slot for slot in slots}

    def slot_for(self, scheduled_time: datetime) -> Slot | None:
        key = slot_key(scheduled_time)
        found = self._exact.get(key)
        if found is None and scheduled_time == minute_of(scheduled_time):
            found = self._by_minute.get(key)
        return found

    def split(self, records: list[ExecutionRecord]) -> tuple[dict[str, list[ExecutionRecord]],
                                                             list[ExecutionRecord], list[ExecutionRecord]]:
        """The scheduled runs by the key of their slot, the scheduled runs at times the plan
        does not have, and the manual runs."""
        joined: dict[str, list[ExecutionRecord]] = {}
        unplanned: list[ExecutionRecord] = []
        manual: list[ExecutionRecord] = []
        for record in records:
            if record.trigger is ExecutionTrigger.MANUAL:
                manual.append(record)
                continue
            slot = self.slot_for(parse_iso(record.scheduled_time))
            if slot is None:
                unplanned.append(record)
            else:
                joined.setdefault(slot_key(slot.time), []).append(record)
        return joined, unplanned, manual


def planned_slot(schedule: Schedule, scheduled_time: datetime, grace: timedelta) -> Slot | None:
    """The planned slot a run reported at ``scheduled_time`` belongs to (``SlotJoin``'s rule),
    None when the plan has none there."""
    return SlotJoin(expected_slots(schedule, minute_of(scheduled_time), scheduled_time + MINUTE, 2, grace)
                    ).slot_for(scheduled_time)


def expected_slots(schedule: Schedule, after: datetime, until: datetime, limit: int,
                   grace: timedelta) -> list[Slot]:
    """The slots from ``after`` (inclusive) to ``until`` (inclusive), at most ``limit``; none
    before the schedule existed. A slot is its fire time to the second (how EventBridge passes
    it), so a bound is compared to the second too: a ``rate()`` created at 08:13:25.123 fires
    at 08:14:25.123, which is the slot 08:14:25, not after it."""
    definition = schedule.definition
    created = parse_iso(schedule.created_date)
    start = definition.start_date or created
    # none before the schedule existed, and not its creation second: EventBridge fires a
    # rate() first one interval after it
    lower = max(_second_at_or_after(after),
                created.replace(microsecond=0) + (timedelta(0) if definition.start_date else timedelta(seconds=1)))
    try:
        fires = expressions.next_fires(
            definition.schedule_expression, definition.timezone, lower - timedelta(microseconds=1),
            limit + 1, start=start, end=definition.end_date,
        )
    except (InvalidExpression, ValidationError):
        return []  # a record stored under older rules: no plan to show
    window = timedelta(minutes=definition.flexible_window_minutes or 0) + grace
    seconds = [fire.replace(microsecond=0) for fire in fires]
    return [Slot(second, second + window) for second in seconds if lower <= second <= until][:limit]


def _second_at_or_after(moment: datetime) -> datetime:
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def next_due(schedule: Schedule, reached: datetime, grace: timedelta) -> datetime | None:
    """When the alert watch of a schedule checked up to ``reached`` is next due: the deadline
    of its next slot (None: it has none left). A snoozed schedule's slots before its snooze
    ends never fire, so the watch waits for the first one after it."""
    if schedule.snoozed_until and parse_iso(schedule.snoozed_until) > reached:
        reached = parse_iso(schedule.snoozed_until) - timedelta(microseconds=1)
    upcoming = expected_slots(schedule, reached + timedelta(microseconds=1),
                              reached + timedelta(days=3660), 1, grace)
    return upcoming[0].deadline if upcoming else None


def run_result(record: ExecutionRecord, deadline: datetime | None, now: datetime) -> str:
    """The result of a slot (or a manual run) that has a run."""
    held = _held_result(record, now)
    if held is not None:
        return held
    if record.outcome in (ExecutionOutcome.FAILED, ExecutionOutcome.UNDELIVERED):
        return FAILED
    if record.outcome is ExecutionOutcome.SKIPPED:
        return SKIPPED  # fired and not dispatched on purpose: never missed, never a success
    started = parse_iso(record.started_at)
    reported = _report_result(record, now)
    if reported is not None:
        return LATE if reported == SUCCEEDED and deadline is not None and started > deadline else reported
    if record.outcome is ExecutionOutcome.STARTED:
        expires = parse_iso(record.claim_expires_at) if record.claim_expires_at else started + STUCK_AFTER
        return RUNNING if now < max(expires, started + STUCK_AFTER) else FAILED
    if deadline is not None and started > deadline and record.trigger is not ExecutionTrigger.BACKFILL:
        return LATE  # a backfill runs after its slot on purpose
    return SUCCEEDED


def _held_result(record: ExecutionRecord, now: datetime) -> str | None:
    """A run held back at fire time: skipped, or a buffered slot still waiting (``upcoming``:
    it runs when the previous run reports; ``skipped`` once that run's time ran out)."""
    if record.outcome is ExecutionOutcome.SKIPPED:
        return SKIPPED
    if record.waiting and record.outcome is ExecutionOutcome.STARTED:
        expires = parse_iso(record.claim_expires_at) if record.claim_expires_at else parse_iso(record.started_at)
        return UPCOMING if now < expires else SKIPPED
    return None


def _report_result(record: ExecutionRecord, now: datetime) -> str | None:
    """What a report (or its absence) makes of a dispatched run: the reported outcome; else
    ``running`` while its schedule awaits one, then ``timed_out`` (or ``overdue``); None for
    a run whose schedule awaits no report and that has none."""
    if record.reported_outcome is not None:
        return FAILED if record.reported_outcome.value == FAILED else SUCCEEDED
    if record.outcome is not ExecutionOutcome.SUCCEEDED or not record.report_due_at:
        return None
    if now < parse_iso(record.report_due_at):
        return RUNNING
    return TIMED_OUT if record.max_duration_seconds else OVERDUE


def held_reason(record: ExecutionRecord, result: str) -> str | None:
    """What a slot's entry says of why: a skip's reason, a reported failure's message, a
    timeout's limit."""
    if result == SKIPPED:
        return record.skip_reason or ("the run it waited for never reported" if record.waiting else None)
    if result == UPCOMING and record.waiting:
        return "buffered: runs when the previous run reports"
    if result == FAILED and record.reported_outcome is not None:
        return record.reported_message or "the worker reported failed"
    if result in (TIMED_OUT, OVERDUE):
        return f"no report by {record.report_due_at}"
    return None


def slot_result(slot: Slot, record: ExecutionRecord | None, state: str, now: datetime,
                excluded: str | None = None) -> str:
    """The result of a planned slot, given its run (if any), the definition's ``state``
    (ENABLED, DISABLED) at its time, and ``excluded``: why the plan skips the slot (a
    calendar, a requested skip, a snooze)."""
    if record is not None:
        return run_result(record, slot.deadline, now)
    if state == ScheduleState.DISABLED.value or excluded is not None:
        return SKIPPED
    if now > slot.deadline:
        return MISSED
    return UPCOMING


def pick_run(records: list[ExecutionRecord]) -> ExecutionRecord:
    """Of several runs recorded for one slot, the one that tells most: a success, else the
    newest attempt."""
    done = [r for r in records if r.outcome is ExecutionOutcome.SUCCEEDED]
    return (done or sorted(records, key=lambda r: r.started_at))[-1]


def run_view(record: ExecutionRecord) -> dict[str, Any]:
    shown = {"execution_id", "outcome", "started_at", "attempt", "duration_ms", "error", "skip_reason",
             "dispatched_at", "reported_at", "reported_outcome", "reported_message", "run_duration_ms"}
    return record.model_dump(mode="json", include=shown, exclude_none=True)


class TimelineService:
    """The timeline, its slots' results and the record's health."""

    def __init__(self, activity: RunHistory, grace_seconds: int = 120,
                 clock: Clock = system_clock, calendars: CalendarReader | None = None):
        self._activity = activity
        self._grace = timedelta(seconds=grace_seconds)
        self._clock = clock
        self._calendars = calendars

    def exclusions(self, schedule: Schedule) -> Exclusions:
        """What keeps the schedule's slots from running (its calendars read only if it
        names some): read once per request and handed to ``entries`` and ``summary``."""
        return for_schedule(schedule, self._calendars)

    def timeline(self, schedule: Schedule, start: str | None, end: str | None,
                 cursor: str | None = None) -> dict[str, Any]:
        now = self._clock()
        low, high = self._bounds(now, start, end, cursor)
        entries, next_after = self.entries(schedule, low, high, now, self.exclusions(schedule))
        next_cursor = (
            cursors.encode({"after": iso(next_after), "to": iso(high)}) if next_after is not None else None
        )
        return {
            "schedule_id": schedule.id,
            "from": iso(low),
            "to": iso(high),
            "now": iso(now),
            "grace_seconds": int(self._grace.total_seconds()),
            "items": entries,
            "next_cursor": next_cursor,
        }

    def entries(self, schedule: Schedule, low: datetime, high: datetime, now: datetime,
                excluded: Exclusions = NO_EXCLUSIONS) -> tuple[list[dict[str, Any]], datetime | None]:
        """The entries from ``low`` to ``high``, oldest first, and where the next page starts
        (None when this is the last)."""
        slots = expected_slots(schedule, low, high, MAX_SLOTS + 1, self._grace)
        next_after = None
        if len(slots) > MAX_SLOTS:
            slots = slots[:MAX_SLOTS]
            high = slots[-1].time
            next_after = high + timedelta(seconds=1)
        window = timedelta(minutes=schedule.definition.flexible_window_minutes or 0)
        # a minute early: a run reported at its slot's minute (SlotJoin) may sort before ``low``
        records = self._activity.executions_between(schedule.id, low - MINUTE, high + window)
        history = self._activity.history_since(schedule.id, low)
        current = DELETED_STATE if schedule.status is ScheduleStatus.DELETED else schedule.definition.state.value
        joined, unplanned, manual = SlotJoin(slots).split(records)
        entries = [entry for slot in slots
                   if (entry := _slot_entry(slot, joined.get(slot_key(slot.time), []), history, current, now,
                                            excluded.reason(slot.time)))]
        at_time: dict[str, list[ExecutionRecord]] = {}
        for record in unplanned:
            if low <= parse_iso(record.scheduled_time) <= high:
                at_time.setdefault(slot_key(parse_iso(record.scheduled_time)), []).append(record)
        entries += [_run_entry(pick_run(runs), ExecutionTrigger.SCHEDULED, now, planned=False)
                    for runs in at_time.values()]
        entries += [_run_entry(record, ExecutionTrigger.MANUAL, now) for record in manual
                    if parse_iso(record.scheduled_time) <= high]
        entries.sort(key=lambda entry: (entry["time"], entry["trigger"]))
        return entries, next_after

    def run_overview(self, schedule: Schedule, excluded: Exclusions = NO_EXCLUSIONS) -> dict[str, Any]:
        """The record's runs at a glance: ``last_execution``, ``next_fire_time`` (the next slot
        that runs) and ``health``."""
        now = self._clock()
        last = last_execution(schedule)
        upcoming = (
            expected_slots(schedule, now, now + timedelta(days=3660), 1 + (PLAN_LOOKAHEAD if excluded else 0),
                           self._grace)
            if schedule.status is ScheduleStatus.ACTIVE else []
        )
        runs = [slot for slot in upcoming if excluded.reason(slot.time) is None]
        return {
            "last_execution": last,
            "next_fire_time": slot_key(runs[0].time) if runs else None,
            "health": self.health(schedule, now, excluded),
        }

    def health(self, schedule: Schedule, now: datetime, excluded: Exclusions = NO_EXCLUSIONS) -> str:
        """``paused`` for a paused schedule; else from the last ``HEALTH_SLOTS`` decided slots
        of the last 24 hours: ``failing`` when the latest run failed, ``missing`` when a slot
        was missed, ``late`` when a run started late, else ``ok``."""
        if schedule.status is ScheduleStatus.PAUSED or schedule.desired_state is ScheduleState.DISABLED:
            return "paused"
        entries, _ = self.entries(schedule, now - HEALTH_SPAN, now, now, excluded)
        decided = [e["result"] for e in entries if e["result"] not in (UPCOMING, SKIPPED, RUNNING)]
        decided = decided[-HEALTH_SLOTS:]
        if decided and decided[-1] in (FAILED, TIMED_OUT):
            return "failing"
        if MISSED in decided:
            return "missing"
        if LATE in decided:
            return "late"
        return "ok"

    @staticmethod
    def _bounds(now: datetime, start: str | None, end: str | None,
                cursor: str | None) -> tuple[datetime, datetime]:
        if cursor:
            state = cursors.decode(cursor)
            if not isinstance(state, dict) or set(state) != {"after", "to"}:
                raise ValidationError("is not a cursor for this timeline", field="cursor")
            return _cursor_window(state)
        high_given = _param(end, "to") if end else None
        low = _param(start, "from") if start else now - DEFAULT_BEFORE
        if not start and high_given is not None and high_given < low:
            low = high_given - DEFAULT_BEFORE - DEFAULT_AFTER
        high = high_given or min(max(now, low) + DEFAULT_AFTER, low + MAX_SPAN)
        if high < low:
            raise ValidationError("must not be before from", field="to")
        if high - low > MAX_SPAN:
            raise ValidationError("must be at most 31 days after from", field="to")
        return low, high


def _slot_entry(slot: Slot, runs: list[ExecutionRecord], history: list[dict[str, Any]], current: str,
                now: datetime, excluded: str | None = None) -> dict[str, Any] | None:
    """A planned slot's entry (None when the schedule did not exist then); a skipped one
    says why (``reason``): its run's own reason, else the plan's, else ``paused``."""
    key = slot_key(slot.time)
    state = state_at(history, key, current)
    if not runs and state in (DELETED_STATE, "ABSENT"):
        return None
    chosen = pick_run(runs) if runs else None
    result = slot_result(slot, chosen, state, now, excluded)
    entry: dict[str, Any] = {
        "time": key,
        "trigger": ExecutionTrigger.SCHEDULED.value,
        "result": result,
        "deadline": iso(slot.deadline),
    }
    if result == SKIPPED:
        entry["reason"] = (chosen.skip_reason if chosen is not None else None) or excluded or "paused"
    if chosen is not None:
        entry["execution"] = run_view(chosen)
        reason = held_reason(chosen, entry["result"])
        if reason:
            entry["reason"] = reason
        if chosen.trigger is ExecutionTrigger.BACKFILL:
            entry["note"] = BACKFILLED.format(at=chosen.started_at)
    return entry


def _run_entry(record: ExecutionRecord, trigger: ExecutionTrigger, now: datetime,
               planned: bool = True) -> dict[str, Any]:
    """A run with no planned slot: a manual run, or a scheduled run the plan does not have."""
    entry: dict[str, Any] = {
        "time": slot_key(parse_iso(record.scheduled_time)),
        "trigger": trigger.value,
        "result": run_result(record, None, now),
        "execution": run_view(record),
    }
    if not planned:
        entry["planned"] = False
    reason = held_reason(record, entry["result"])
    if reason:
        entry["reason"] = reason
    return entry


def _cursor_window(state: dict[str, Any]) -> tuple[datetime, datetime]:
    """A cursor's window, held to the same limits as ``from`` and ``to`` (1970-2199, at most
    31 days)."""
    try:
        low, high = _param(state["after"], "cursor"), _param(state["to"], "cursor")
    except (ValidationError, TypeError, AttributeError):
        raise ValidationError("is not a cursor for this timeline", field="cursor") from None
    if not low <= high <= low + MAX_SPAN:
        raise ValidationError("is not a cursor for this timeline", field="cursor")
    return low, high


def _param(raw: str, field: str) -> datetime:
    try:
        moment = parse_iso(raw.strip().replace(" ", "+"))
    except (ValueError, OverflowError):
        raise ValidationError("must be an ISO 8601 date-time (2026-01-31T06:00:00Z)", field=field) from None
    if not datetime(1970, 1, 1, tzinfo=UTC) <= moment <= datetime(2199, 12, 31, tzinfo=UTC):
        raise ValidationError("must be between 1970 and 2199", field=field)
    return moment


def state_at(history: list[dict[str, Any]], moment: str, current: ScheduleState | str) -> str:
    """The schedule's state (ENABLED, DISABLED, DELETED) at ``moment``, from the history
    entries from some time before it on (oldest first) and the record's current state."""
    when = parse_iso(moment)
    history = sorted(history, key=lambda entry: parse_iso(str(entry["at"])))
    before = [entry for entry in history if parse_iso(str(entry["at"])) <= when]
    if before:
        return str(before[-1]["state"])
    for entry in history:
        if entry.get("previous_state"):
            return str(entry["previous_state"])
        if entry["action"] == "create":
            return "ABSENT"
    return current.value if isinstance(current, ScheduleState) else current


def last_execution(schedule: Schedule) -> dict[str, Any] | None:
    """The last run the record keeps (its id, slot and outcome), as the API shows it."""
    summary = schedule.executions
    if not summary.last_execution_id:
        return None
    return {
        "execution_id": summary.last_execution_id,
        "scheduled_time": summary.last_scheduled_time,
        "outcome": summary.last_outcome.value if summary.last_outcome else None,
    }
