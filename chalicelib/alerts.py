"""The alert sweep: tells the notifications topic about missed, late and failed runs.

Cost follows what changed, not the fleet: each active schedule has an alert watch item
whose ``created_date`` is when its next unchecked slot is due (the slot's time plus its
flexible window plus the grace). A sweep
1. queries the watches that are due (one query for all of them; schedules with nothing
   due are not read at all);
2. for each due schedule reads its record (one GetItem) and the executions since an hour
   before its watermark (one Query, whatever the number of slots: the hour finds runs that
   started after their slot was judged), classifies each slot since the watermark, and
   alerts;
3. moves the watermark and the next due time on (one conditional UpdateItem).

Each alert is published once: a marker ``<schedule>#alert#<slot>#<kind>`` is claimed with a
conditional put before publishing and marked published after. A sweep whose publish
failed releases its claim and leaves the watermark before that slot, so the next sweep
claims and publishes it again; a claim left by a sweep that died expires after
``CLAIM_SECONDS``. A concurrent sweep finds the marker claimed and publishes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.activity import ActivityStore, AlertInFlight
from chalicelib.errors import Conflict, ServiceError
from chalicelib.identity import Caller
from chalicelib.models import (
    DEFAULT_ALERTS,
    Action,
    ExecutionRecord,
    ExecutionTrigger,
    Schedule,
    ScheduleStatus,
    iso,
    utcnow,
)
from chalicelib.repository import ScheduleRepository
from chalicelib.timeline import (
    FAILED,
    LATE,
    MISSED,
    RUNNING,
    SUCCEEDED,
    expected_slots,
    parse_time,
    run_state,
    slot_key,
    slot_state,
)

logger = logging.getLogger("rez_agent.alerts")

SWEEPER = "rez-agent:alert-sweep"  # who pauses a failing schedule, in its history
CLAIM_SECONDS = 60  # longer than one publish takes; a dead sweep's claim expires then
MARKER_TTL_DAYS = 35
LATE_LOOKBACK = timedelta(hours=1)  # a run that starts this long after its slot still alerts
SLOTS_PER_SWEEP = 1000
ALERT_KINDS = ("missed", "late", "failed", "paused")


class AlertPublisher(Protocol):
    def publish(self, target_arn: str, message: dict[str, Any],
                attributes: dict[str, str] | None = None) -> None: ...


class Pauser(Protocol):
    def pause(self, schedule_id: str, caller: Caller, expected_version: int | None = None,
              reason: str | None = None) -> Schedule: ...


@dataclass
class SweepReport:
    examined: int = 0
    slots: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"examined": self.examined, "slots": self.slots, "alerts": len(self.alerts),
                "paused": self.paused, "errors": self.errors}


@dataclass
class _Event:
    time: datetime
    state: str
    trigger: ExecutionTrigger
    record: ExecutionRecord | None


class _PublishFailed(Exception):
    pass


class AlertSweep:
    def __init__(
        self,
        repository: ScheduleRepository,
        activity: ActivityStore,
        publisher: AlertPublisher,
        notifications_topic_arn: Callable[[], str],
        pauser: Pauser,
        grace_seconds: int = 120,
        clock: Callable[[], datetime] | None = None,
    ):
        self._repository = repository
        self._activity = activity
        self._publisher = publisher
        self._topic_arn = notifications_topic_arn
        self._pauser = pauser
        self._grace = timedelta(seconds=grace_seconds)
        self._clock: Callable[[], datetime] = clock or (lambda: utcnow())

    def run(self) -> SweepReport:
        now = self._clock()
        report = SweepReport()
        for watch in self._activity.due_watches(now):
            try:
                self._check(watch, now, report)
            except ServiceError as exc:  # one schedule's failure does not stop the sweep
                logger.error("alert sweep of %s failed: %s", watch.get("schedule_id"), exc.message)
                report.errors.append(f"{watch.get('schedule_id')}: {exc.message}")
        return report

    def _check(self, watch: dict[str, Any], now: datetime, report: SweepReport) -> None:  # noqa: C901 - alerts are reworked in issue 25; this exemption goes with that refactor
        schedule_id = str(watch["schedule_id"])
        schedule = self._repository.get(schedule_id)
        leaving = schedule is not None and schedule.pending_action in (Action.PAUSE, Action.DELETE)
        if schedule is None or leaving or schedule.status not in (ScheduleStatus.ACTIVE, ScheduleStatus.PENDING):
            self._activity.unwatch(schedule_id)  # being paused or deleted: nothing to alert
            return
        if schedule.status is ScheduleStatus.PENDING:
            return  # a change is being applied; its handler watches it again
        report.examined += 1
        settings = schedule.definition.alerts or DEFAULT_ALERTS
        checked = parse_time(str(watch["checked_until"]))
        window = timedelta(minutes=schedule.definition.flexible_window_minutes or 0)
        cut = now - window - self._grace
        since = checked - LATE_LOOKBACK - window
        records = self._activity.executions_between(schedule_id, since, now)
        events, more = self._events(schedule, checked, cut, records, now)
        failures = int(watch.get("consecutive_failures") or 0)
        reached = checked
        stopped = more
        pause_tried = False
        try:
            self._late_found_since(schedule, checked, records, now, report)
            for event in events:
                if event.state == RUNNING:
                    stopped = True
                    break
                report.slots += 1
                if event.state == MISSED and settings.on_missed:
                    self._alert(schedule, "missed", event, now, report,
                                "no run started by the slot's deadline")
                elif event.state == LATE and settings.on_late:
                    self._alert(schedule, "late", event, now, report,
                                "the run started after the slot's deadline")
                if event.state == FAILED:
                    failures += 1
                    if settings.after_failures and failures >= settings.after_failures:
                        self._alert(schedule, "failed", event, now, report,
                                    f"{failures} consecutive run(s) failed", failures=failures)
                    if (settings.pause_after_failures and failures >= settings.pause_after_failures
                            and not pause_tried):
                        pause_tried = True  # once: the first slot that reaches the limit
                        self._pause(schedule, event, now, report, failures)
                elif event.state in (SUCCEEDED, LATE):
                    failures = 0
                reached = event.time
        except (_PublishFailed, AlertInFlight):
            stopped = True  # the watermark stays before this slot: a later sweep finishes it
        due = now if stopped else self._next_due(schedule, reached)
        if due is None:
            self._activity.unwatch(schedule_id)
            return
        self._activity.advance_watch(watch, iso(reached), iso(due), failures)

    def _events(self, schedule: Schedule, checked: datetime, cut: datetime,
                records: list[ExecutionRecord], now: datetime) -> tuple[list[_Event], bool]:
        """The slots and manual runs after the watermark whose deadline has passed, oldest
        first, and whether more remain than one sweep takes."""
        after = checked + timedelta(microseconds=1)
        slots = expected_slots(schedule, after, cut, SLOTS_PER_SWEEP + 1, self._grace) if cut >= after else []
        more = len(slots) > SLOTS_PER_SWEEP
        slots = slots[:SLOTS_PER_SWEEP]
        by_slot: dict[str, list[ExecutionRecord]] = {}
        events: list[_Event] = []
        for record in records:
            moment = parse_time(record.scheduled_time)
            if record.trigger is ExecutionTrigger.MANUAL:
                if checked < moment <= cut:
                    events.append(_Event(moment, run_state(record, None, now), record.trigger, record))
            else:
                by_slot.setdefault(slot_key(moment), []).append(record)
        for slot in slots:
            latest = _latest(by_slot.get(slot_key(slot.time), []))
            events.append(_Event(slot.time, slot_state(slot, latest, "ENABLED", now),
                                 ExecutionTrigger.SCHEDULED, latest))
        events.sort(key=lambda event: event.time)
        return events, more

    def _late_found_since(self, schedule: Schedule, checked: datetime, records: list[ExecutionRecord],
                          now: datetime, report: SweepReport) -> None:
        """Runs of slots already checked (judged missed at their deadline) that started since:
        alerted ``late`` when it succeeded (if asked), ``failed`` when it failed."""
        settings = schedule.definition.alerts or DEFAULT_ALERTS
        window = timedelta(minutes=schedule.definition.flexible_window_minutes or 0)
        for record in records:
            moment = parse_time(record.scheduled_time)
            if record.trigger is ExecutionTrigger.MANUAL or moment > checked:
                continue
            deadline = moment + window + self._grace
            if parse_time(record.started_at) <= deadline:
                continue  # started in time: its slot was judged with it
            state = run_state(record, deadline, now)
            if state == LATE and settings.on_late:
                self._alert(schedule, "late", _Event(moment, LATE, record.trigger, record), now, report,
                            "the run started after the slot's deadline")
            elif state == FAILED and settings.after_failures:
                self._alert(schedule, "failed", _Event(moment, FAILED, record.trigger, record), now, report,
                            "the run started after the slot's deadline and failed")

    def _next_due(self, schedule: Schedule, reached: datetime) -> datetime | None:
        upcoming = expected_slots(schedule, reached + timedelta(microseconds=1),
                                  reached + timedelta(days=3660), 1, self._grace)
        return upcoming[0].deadline if upcoming else None

    def _pause(self, schedule: Schedule, event: _Event, now: datetime, report: SweepReport,
               failures: int) -> None:
        slot = slot_key(event.time)
        token = self._activity.claim_alert(schedule.id, slot, "paused", now, CLAIM_SECONDS, MARKER_TTL_DAYS)
        if token is None:
            return
        reason = f"paused after {failures} consecutive failed runs"
        try:
            self._pauser.pause(schedule.id, Caller(SWEEPER, is_admin=True), reason=reason)  # the service acts on any schedule
        except Conflict as exc:  # deleted or changed meanwhile: nothing to pause
            logger.info("not pausing %s: %s", schedule.id, exc.message)
        except ServiceError:
            self._activity.settle_alert(schedule.id, slot, "paused", token, published=False)
            raise _PublishFailed() from None
        report.paused.append(schedule.id)
        self._publish(schedule, "paused", event, now, report, reason, token, failures=failures)

    def _alert(self, schedule: Schedule, kind: str, event: _Event, now: datetime, report: SweepReport,
               reason: str, failures: int | None = None) -> None:
        slot = slot_key(event.time)
        token = self._activity.claim_alert(schedule.id, slot, kind, now, CLAIM_SECONDS, MARKER_TTL_DAYS)
        if token is None:
            return  # published already, or being published by a concurrent sweep
        self._publish(schedule, kind, event, now, report, reason, token, failures)

    def _publish(self, schedule: Schedule, kind: str, event: _Event, now: datetime, report: SweepReport,
                 reason: str, token: str, failures: int | None = None) -> None:
        slot = slot_key(event.time)
        message = alert_message(schedule, kind, event.time, event.state, reason, now,
                                event.trigger, event.record, failures)
        try:
            self._publisher.publish(self._topic_arn(), message, attributes={"kind": kind})
        except ServiceError as exc:
            logger.warning("alert %s for %s at %s not published (%s); the next sweep retries",
                           kind, schedule.id, slot, exc.message)
            self._activity.settle_alert(schedule.id, slot, kind, token, published=False)
            raise _PublishFailed() from exc
        self._activity.settle_alert(schedule.id, slot, kind, token, published=True)
        report.alerts.append(message)


def _latest(runs: list[ExecutionRecord]) -> ExecutionRecord | None:
    if not runs:
        return None
    done = [run for run in runs if run.outcome.value == SUCCEEDED]
    return (done or sorted(runs, key=lambda run: run.started_at))[-1]


def alert_message(schedule: Schedule, kind: str, slot: datetime, state: str, reason: str, now: datetime,
                  trigger: ExecutionTrigger = ExecutionTrigger.SCHEDULED,
                  record: ExecutionRecord | None = None, failures: int | None = None) -> dict[str, Any]:
    """One alert, as published to the notifications topic (schema in the README)."""
    base = f"/api/schedules/{schedule.id}"
    around = f"from={iso(slot - timedelta(hours=1))}&to={iso(slot + timedelta(hours=1))}"
    message: dict[str, Any] = {
        "kind": kind,
        "schedule_id": schedule.id,
        "name": schedule.definition.name,
        "slot": slot_key(slot),
        "state": state,
        "trigger": trigger.value,
        "reason": reason,
        "detected_at": iso(now),
        "links": {
            "schedule": base,
            "timeline": f"{base}/timeline?{around}",
            "executions": f"{base}/executions",
            "history": f"{base}/history",
        },
    }
    if record is not None:
        message["execution_id"] = record.execution_id
        if record.error:
            message["error"] = record.error
    if failures is not None:
        message["consecutive_failures"] = failures
    return message
