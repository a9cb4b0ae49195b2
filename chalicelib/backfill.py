"""Backfill: run a schedule's past slots once each, oldest first, on request.

``POST /api/schedules/{id}/backfill`` picks slots from the plan the timeline computes
(``timeline.expected_slots``) joined with the slot's own runs (``timeline.SlotJoin``):

- ``missed``: due slots with no run of their own;
- ``failed``: due slots whose own run failed (or was undelivered);
- ``all``: every due slot.

A slot is due when its deadline has passed; a slot at a time the schedule was paused (or did
not exist) is not one to run, so no choice picks it. The window is at most 31 days and holds
at most ``MAX_SLOTS`` planned slots (one page of the timeline the answer links to).

Each slot's run has an execution id derived from the schedule and the slot
(``backfill_execution_id``): the target function's claim runs an execution id once, so a
repeated backfill (or two at once) runs nothing twice. The selection ignores backfill runs,
so a repeated request names the same slots and says of each that it already ran; a backfill
run that failed is run again (the claim allows it, as for any failed run).

Order and time: the request makes ONE asynchronous invoke of the target function with the
slots to run, oldest first (a *walk*). The target function runs them one after another,
each through the same claim, dispatch and outcome as a fired run (``TargetRunner.run``);
when its remaining time runs low it invokes itself with the slots left (a continuation), so
a walk of 1,000 slots never meets the function's timeout and the API answers in one invoke's
time. A slot's run that raises (a throttled dispatch, an unavailable table) fails the
invocation: Lambda's retries walk the list again (the slots that ran are duplicates, the
failed one runs again) and, after the last retry, the stage's dead-letter consumer records
that slot as failed; the slots after it stay as they were and a second backfill runs them.
Two walks of the same slots (a request sent twice, a continuation delivered twice) never
overtake each other: a walk that finds a slot claimed by a running invocation stops there and
leaves the rest to the walk ahead of it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.clock import Clock, system_clock
from chalicelib.errors import Conflict, NotFound, ServiceError, ValidationError
from chalicelib.exclusions import CalendarReader, for_schedule
from chalicelib.identity import Caller
from chalicelib.invocations import WALK_SLOTS
from chalicelib.models import (
    DELETED_STATE,
    BackfillRequest,
    BackfillSlots,
    ExecutionOutcome,
    ExecutionRecord,
    ExecutionTrigger,
    Schedule,
    ScheduleState,
    ScheduleStatus,
    derived_id,
    iso,
)
from chalicelib.ports import BackfillLog, ScheduleRepository
from chalicelib.run_now import TargetInvoker
from chalicelib.runs import HELD_ELSEWHERE
from chalicelib.timeline import (
    FAILED,
    MINUTE,
    MISSED,
    RUNNING,
    SKIPPED,
    UPCOMING,
    Slot,
    SlotJoin,
    expected_slots,
    pick_run,
    run_result,
    slot_key,
    slot_result,
    state_at,
)

logger = logging.getLogger("rez_agent.backfill")

BACKFILL_PREFIX = "backfill-"
MAX_SLOTS = 1000
# A walk invokes itself with the slots left when less than this remains of its invocation:
# more than one run takes at its worst (claim, dispatch and outcome, each with retries).
WALK_RESERVE_MS = 10_000

STARTED = "started"  # this request started the slot's run
WOULD_START = "would_start"  # a dry run: this request would start it
ALREADY_RAN = "already_ran"  # its backfill run exists (succeeded, or running): nothing to do

NO_TARGET_FUNCTION = (
    "backfill needs this stage's target function, which is not deployed here; `make local` "
    "on its embedded moto serves the API alone and runs no function (`make run` runs the "
    "whole service, backfill included); a dry run works everywhere"
)


def backfill_execution_id(schedule_id: str, slot: str) -> str:
    """The one execution id of a slot's backfill run: the same slot, the same id."""
    return BACKFILL_PREFIX + derived_id(schedule_id, ExecutionTrigger.BACKFILL.value, slot)


def slot_event(schedule_id: str, slot: str) -> dict[str, Any]:
    """The target function's event for one slot's backfill run (as EventBridge's Input,
    with the slot as its scheduled time)."""
    return {
        "schedule_id": schedule_id,
        "scheduled_time": slot,
        "execution_id": backfill_execution_id(schedule_id, slot),
        "attempt": 1,
        "trigger": ExecutionTrigger.BACKFILL.value,
    }


def walk_event(schedule_id: str, slots: list[str]) -> dict[str, Any]:
    """A walk: the first slot's event, carrying the slots after it."""
    return {**slot_event(schedule_id, slots[0]), WALK_SLOTS: slots[1:]}


@dataclass(frozen=True)
class Choice:
    """A slot a backfill picked: the slot, what its own runs made of it, and its backfill
    run if one exists."""

    slot: Slot
    result: str
    execution_id: str
    existing: ExecutionRecord | None

    def already_ran(self, now: datetime) -> bool:
        """Its backfill run succeeded (or was skipped on purpose), or is running now."""
        if self.existing is None:
            return False
        if self.existing.outcome in (ExecutionOutcome.SUCCEEDED, ExecutionOutcome.SKIPPED):
            return True
        return run_result(self.existing, None, now) == RUNNING

    def view(self, run: str) -> dict[str, Any]:
        item: dict[str, Any] = {"slot": slot_key(self.slot.time), "execution_id": self.execution_id,
                                "result": self.result, "run": run}
        if self.existing is not None:
            item["outcome"] = self.existing.outcome.value
        return item


class BackfillService:
    def __init__(self, repository: ScheduleRepository, activity: BackfillLog, invoker: TargetInvoker,
                 grace_seconds: int = 120, clock: Clock = system_clock,
                 calendars: CalendarReader | None = None):
        self._repository = repository
        self._calendars = calendars  # a slot its calendars (or a skip, a snooze) excluded is not run
        self._activity = activity
        self._invoker = invoker
        self._grace = timedelta(seconds=grace_seconds)
        self._clock = clock

    def backfill(self, schedule_id: str, caller: Caller, request: BackfillRequest) -> dict[str, Any]:
        """Pick the slots and, unless a dry run, start the walk that runs them."""
        schedule = self._repository.get(schedule_id)
        if schedule is None or not caller.may_act_on(schedule.created_by):
            raise NotFound(f"schedule {schedule_id} does not exist")
        if schedule.is_deleted:
            raise Conflict(f"schedule {schedule_id} is deleted: there is nothing to backfill")
        now = self._clock()
        if request.to > now:
            raise ValidationError(f"must not be in the future (now is {iso(now)})", field="to")
        choices = self.choose(schedule, request.from_, request.to, request.slots, now)
        to_start = [choice for choice in choices if not choice.already_ran(now)]
        if to_start and not request.dry_run:
            self._start(schedule, caller, request, [slot_key(choice.slot.time) for choice in to_start], now)
        fresh = WOULD_START if request.dry_run else STARTED
        items = [choice.view(ALREADY_RAN if choice not in to_start else fresh) for choice in choices]
        return answer(schedule, request, items)

    def _start(self, schedule: Schedule, caller: Caller, request: BackfillRequest, slots: list[str],
               now: datetime) -> None:
        """The history entry (who asked, which slots), then the walk's one invoke; the entry
        is forgotten when the invoke fails, so a retried request is the only one recorded."""
        reason = f"{len(slots)} {request.slots.value} slot(s) started, {slots[0]} to {slots[-1]}"
        entry = self._activity.record_backfill(schedule, caller.principal, iso(now), reason)
        try:
            self._invoker.invoke_async(walk_event(schedule.id, slots))
        except ServiceError:
            self._activity.forget(entry)
            raise
        logger.info("backfill of %s: %s", schedule.id, reason)

    def choose(self, schedule: Schedule, low: datetime, high: datetime, kind: BackfillSlots,
               now: datetime) -> list[Choice]:
        """The due slots from ``low`` to ``high`` that ``kind`` picks, oldest first."""
        slots = expected_slots(schedule, low, high, MAX_SLOTS + 1, self._grace)
        excluded = for_schedule(schedule, self._calendars)
        if len(slots) > MAX_SLOTS:
            last = slot_key(slots[MAX_SLOTS - 1].time)
            raise ValidationError(
                f"the window holds more than {MAX_SLOTS} planned slots: end it at {last} (the "
                f"{MAX_SLOTS}th) and backfill the rest in another request", field="to")
        window = timedelta(minutes=schedule.definition.flexible_window_minutes or 0)
        # a minute early: a run reported at its slot's minute (SlotJoin) may sort before ``low``
        records = self._activity.executions_between(schedule.id, low - MINUTE, high + window)
        history = self._activity.history_since(schedule.id, low)
        backfills = {r.execution_id: r for r in records if r.trigger is ExecutionTrigger.BACKFILL}
        own = [r for r in records if r.trigger is not ExecutionTrigger.BACKFILL]
        joined, _, _ = SlotJoin(slots).split(own)
        current = DELETED_STATE if schedule.status is ScheduleStatus.DELETED else schedule.definition.state.value
        choices = []
        for slot in slots:
            key = slot_key(slot.time)
            state = state_at(history, key, current)
            if state != ScheduleState.ENABLED.value:
                continue  # paused then (skipped), or not there: not a slot to run
            runs = joined.get(key, [])
            result = slot_result(slot, pick_run(runs) if runs else None, state, now, excluded.reason(slot.time))
            if result in (UPCOMING, RUNNING, SKIPPED) or not _picked(kind, result):
                continue  # not due, still running, or not to run (a skip decided by the plan)
            execution_id = backfill_execution_id(schedule.id, key)
            choices.append(Choice(slot, result, execution_id, backfills.get(execution_id)))
        return choices


def _picked(kind: BackfillSlots, result: str) -> bool:
    if kind is BackfillSlots.MISSED:
        return result == MISSED
    if kind is BackfillSlots.FAILED:
        return result == FAILED
    return True


def answer(schedule: Schedule, request: BackfillRequest, items: list[dict[str, Any]]) -> dict[str, Any]:
    low, high = iso(request.from_), iso(request.to)
    runs = (WOULD_START if request.dry_run else STARTED, ALREADY_RAN)
    return {
        "schedule_id": schedule.id,
        "from": low,
        "to": high,
        "slots": request.slots.value,
        "dry_run": request.dry_run,
        "items": items,
        "counts": {run: sum(1 for item in items if item["run"] == run) for run in runs},
        "links": {
            "timeline": f"/api/schedules/{schedule.id}/timeline?from={low}&to={high}",
            "executions": f"/api/schedules/{schedule.id}/executions",
        },
    }


class SlotRunner(Protocol):
    def run(self, event: Any, context: Any = None) -> dict[str, Any]: ...


class BackfillWalker:
    """Runs a walk's slots one after another in the target function (see the module's
    docstring), and hands the rest to a new invocation when its time runs low."""

    def __init__(self, runner: SlotRunner, invoker: TargetInvoker):
        self._runner = runner
        self._invoker = invoker

    def walk(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        schedule_id = str(event["schedule_id"])
        slots = [str(event["scheduled_time"]), *(str(slot) for slot in event.get(WALK_SLOTS) or [])]
        outcomes: dict[str, int] = {}
        for index, slot in enumerate(slots):
            if index and _remaining_ms(context) < WALK_RESERVE_MS:
                self._invoker.invoke_async(walk_event(schedule_id, slots[index:]))
                logger.info("backfill of %s continues from %s (%d slots left)", schedule_id, slot, len(slots) - index)
                return {"schedule_id": schedule_id, "outcome": "continued", "ran": outcomes,
                        "continues_from": slot}
            result = self._runner.run(slot_event(schedule_id, slot), context)
            outcome = str(result.get("outcome"))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome == "duplicate" and str(result.get("reason", "")).startswith(HELD_ELSEWHERE):
                # another walk of these slots is running this one now (a request sent twice,
                # a continuation delivered twice): it is ahead, so it runs the rest, in order
                logger.info("backfill of %s left to the walk running %s", schedule_id, slot)
                return {"schedule_id": schedule_id, "outcome": "left to another walk", "ran": outcomes,
                        "stopped_at": slot}
        return {"schedule_id": schedule_id, "outcome": "walked", "ran": outcomes}


def _remaining_ms(context: Any) -> float:
    """What remains of the invocation (no context, as in a direct call: no limit)."""
    try:
        return float(context.get_remaining_time_in_millis())
    except (AttributeError, TypeError, ValueError):
        return float("inf")
