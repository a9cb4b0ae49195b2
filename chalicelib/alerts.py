"""The alert sweep: tells the notifications topic about missed, late and failed runs.

Cost follows what went wrong, not the fleet: each active schedule has an alert watch item
whose ``created_date`` is when its next unchecked slot is due (the slot's time plus its
flexible window plus the grace). A run that starts on time and succeeds moves its watch past
its slot in the outcome write it already makes (``activity.watch_moved``, a step of that
transaction, conditioned on the watch waiting for that very slot), so a healthy schedule's
watch is never due when the sweep looks. A failed run is alerted by the target function as
it is written (``Alerter.run_finished``), with the same markers and settings; pausing a
schedule that keeps failing stays with the sweep (the target leaves the watch due for it).
A sweep
1. queries the watches that are due (one query for all of them; schedules with nothing
   due are not read at all);
2. for each due schedule reads its record (one GetItem) and the executions since an hour
   before its watermark (one Query, whatever the number of slots: the hour finds runs that
   started after their slot was judged), classifies each slot since the watermark, and
   alerts;
3. moves the watermark and the next due time on (one conditional UpdateItem).

Each alert is published once: a marker ``<schedule>#alert#<slot>#<kind>`` is claimed with a
conditional put before publishing and marked published after. The publish is sent once
(its client makes one attempt: botocore's retry would send a request whose answer was lost
again); a publish whose connection closed after it was sent was carried out, so its claim is
kept as published and no retry sends it twice; a timed-out publish is sent again (an alert
is never lost for a doubt; after a read timeout it may arrive twice, with the same kind,
schedule and slot). A sweep whose publish was refused or never sent
releases its claim and leaves the watermark before that slot, so the next sweep
claims and publishes it again; a claim left by a sweep that died expires after
``CLAIM_SECONDS``. A concurrent sweep finds the marker claimed and publishes nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError
from pydantic import ValidationError as PydanticValidationError

from chalicelib import observability
from chalicelib.clock import Clock, system_clock
from chalicelib.errors import Conflict, ServiceError
from chalicelib.exclusions import NONE as NO_EXCLUSIONS
from chalicelib.exclusions import CalendarReader, for_schedule
from chalicelib.identity import Caller
from chalicelib.models import (
    DEFAULT_ALERTS,
    Action,
    ExecutionRecord,
    ExecutionTrigger,
    Schedule,
    ScheduleStatus,
    iso,
    parse_iso,
)
from chalicelib.ports import AlertInFlight, AlertWatches, MessagePublisher, ScheduleRepository
from chalicelib.timeline import (
    FAILED,
    LATE,
    MINUTE,
    MISSED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    UPCOMING,
    Slot,
    SlotJoin,
    expected_slots,
    next_due,
    run_result,
    slot_key,
    slot_result,
)

logger = logging.getLogger("rez_agent.alerts")

SWEEPER = "rez-agent:alert-sweep"  # who pauses a failing schedule, in its history
CLAIM_SECONDS = 60  # longer than one publish takes; a dead sweep's claim expires then
MARKER_TTL_DAYS = 35
SETTLE_ATTEMPTS = 3  # marking a sent alert published; beyond this a later sweep may repeat it
LATE_LOOKBACK = timedelta(hours=1)  # a run that starts this long after its slot still alerts
SLOTS_PER_SWEEP = 1000
ALERT_KINDS = ("missed", "late", "failed", "paused", "timed_out")


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

    def declare(self) -> None:
        """The sweep's outcome: ``ok``, or ``incomplete`` (a WARNING naming the schedules a
        later sweep finishes) when some could not be checked."""
        summary = self.to_dict()
        if self.errors:
            observability.declare("incomplete", "alert sweep incomplete", logging.WARNING,
                                  reason="; ".join(self.errors)[:1000], report=summary)
        else:
            observability.declare("ok", "alert sweep done", report=summary)


@dataclass
class SlotEvent:
    """A slot (or a manual run) judged: when, with which result, and its run if it has one."""

    time: datetime
    result: str
    trigger: ExecutionTrigger
    record: ExecutionRecord | None


@dataclass
class _Progress:
    """How far one sweep of one schedule got."""

    reached: datetime
    failures: int
    stopped: bool
    pause_tried: bool = False


class _PublishFailed(Exception):
    pass


class Alerter:
    """Publishes each alert once (a marker claimed before, settled after) and pauses a
    schedule that keeps failing. The sweep and the target function's failed runs share it."""

    def __init__(self, activity: AlertWatches, publisher: MessagePublisher,
                 notifications_topic_arn: Callable[[], str], pauser: Pauser | None = None):
        """Without a ``pauser`` (the target function, which may not change schedules) a
        failing schedule is paused by the sweep, and the claim of an alert whose publish
        failed is left to expire (``CLAIM_SECONDS``), when the sweep takes it over."""
        self._activity = activity
        self._publisher = publisher
        self._topic_arn = notifications_topic_arn
        self._pauser = pauser

    def judge(self, schedule: Schedule, event: SlotEvent, now: datetime, report: SweepReport,
              progress: _Progress) -> None:
        """The alerts one judged slot calls for, by the schedule's ``alerts`` settings."""
        settings = schedule.definition.alerts or DEFAULT_ALERTS
        if event.result == MISSED and settings.on_missed:
            self.alert(schedule, "missed", event, now, report, "no run started by the slot's deadline")
        elif event.result == LATE and settings.on_late:
            self.alert(schedule, "late", event, now, report, "the run started after the slot's deadline")
        elif event.result == TIMED_OUT:
            self.alert(schedule, "timed_out", event, now, report,
                       f"no report within max_duration_seconds ({schedule.definition.max_duration_seconds})")
        if event.result == FAILED:
            progress.failures += 1
            self._failed(schedule, event, now, report, progress)
        elif event.result in (SUCCEEDED, LATE):
            progress.failures = 0

    def _failed(self, schedule: Schedule, event: SlotEvent, now: datetime, report: SweepReport,
                progress: _Progress) -> None:
        settings = schedule.definition.alerts or DEFAULT_ALERTS
        failures = progress.failures
        if settings.after_failures and failures >= settings.after_failures:
            self.alert(schedule, "failed", event, now, report, f"{failures} consecutive run(s) failed",
                       failures=failures)
        if settings.pause_after_failures and failures >= settings.pause_after_failures and not progress.pause_tried:
            progress.pause_tried = True  # once: the first slot that reaches the limit
            self.pause(schedule, event, now, report, failures)

    def run_finished(self, schedule: Schedule, slot: Slot, record: ExecutionRecord, now: datetime,
                     next_due: datetime | None) -> SweepReport:
        """Alert a scheduled run's outcome as it is written, as the sweep would: a failed run
        of the slot the watch waits for (counted in the watch's consecutive failures, then the
        watch moves on), or a failed or late run of a slot the sweep already judged. Any other
        slot the sweep judges in order, this one with them."""
        report = SweepReport()
        watch = self._activity.get_watch(schedule.id)
        if watch is None:
            return report
        result = run_result(record, slot.deadline, now)
        event = SlotEvent(slot.time, result, ExecutionTrigger.SCHEDULED, record)
        try:
            if parse_iso(str(watch["checked_until"])) >= slot.time:
                self.judged_already(schedule, event, now, report)
            elif result == FAILED and watch.get("created_date") == iso(slot.deadline):
                self._failed_now(schedule, event, watch, now, report, next_due)
        except (_PublishFailed, AlertInFlight):
            pass  # the watch stays before this slot: the sweep publishes it
        return report

    def run_reported(self, schedule: Schedule, slot: Slot, record: ExecutionRecord, now: datetime,
                     next_due: datetime | None) -> SweepReport:
        """A scheduled run reported failed: alerted now, as a failed dispatch is
        (``run_finished``); when its slot is not the one the watch waits for (the sweep
        already looked at it while it was running), alerted now all the same when one failure
        is enough to alert (the marker keeps it once: the sweep that judges the slot later
        finds it published)."""
        report = self.run_finished(schedule, slot, record, now, next_due)
        settings = schedule.definition.alerts or DEFAULT_ALERTS
        if report.alerts or settings.after_failures != 1:
            return report
        event = SlotEvent(slot.time, FAILED, ExecutionTrigger.SCHEDULED, record)
        with contextlib.suppress(_PublishFailed, AlertInFlight):  # the sweep judges the slot and publishes it
            self.alert(schedule, "failed", event, now, report, "the worker reported failed")
        return report

    def _failed_now(self, schedule: Schedule, event: SlotEvent, watch: dict[str, Any], now: datetime,
                    report: SweepReport, next_due: datetime | None) -> None:
        """The failed run of the slot the watch waits for: its alert, then the watch moves
        on, unless the schedule is to be paused and this alerter may not (the sweep does)."""
        progress = _Progress(event.time, int(watch.get("consecutive_failures") or 0), stopped=False,
                             pause_tried=self._pauser is None)
        self.judge(schedule, event, now, report, progress)
        limit = (schedule.definition.alerts or DEFAULT_ALERTS).pause_after_failures
        if next_due is None or (self._pauser is None and limit and progress.failures >= limit):
            return
        self._activity.advance_watch(watch, slot_key(event.time), iso(next_due), progress.failures)

    def judged_already(self, schedule: Schedule, event: SlotEvent, now: datetime, report: SweepReport) -> None:
        """A run of a slot already judged (missed at its deadline) that started since."""
        settings = schedule.definition.alerts or DEFAULT_ALERTS
        _count_judged(event.result)
        if event.result == LATE and settings.on_late:
            self.alert(schedule, "late", event, now, report, "the run started after the slot's deadline")
        elif event.result == FAILED and settings.after_failures:
            self.alert(schedule, "failed", event, now, report, "the run started after the slot's deadline and failed")

    def pause(self, schedule: Schedule, event: SlotEvent, now: datetime, report: SweepReport,
              failures: int) -> None:
        slot = slot_key(event.time)
        if self._pauser is None:
            return
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

    def alert(self, schedule: Schedule, kind: str, event: SlotEvent, now: datetime, report: SweepReport,
              reason: str, failures: int | None = None) -> None:
        slot = slot_key(event.time)
        token = self._activity.claim_alert(schedule.id, slot, kind, now, CLAIM_SECONDS, MARKER_TTL_DAYS)
        if token is None:
            return  # published already, or being published by a concurrent sweep
        self._publish(schedule, kind, event, now, report, reason, token, failures)

    def _publish(self, schedule: Schedule, kind: str, event: SlotEvent, now: datetime, report: SweepReport,
                 reason: str, token: str, failures: int | None = None) -> None:
        slot = slot_key(event.time)
        message = alert_message(schedule, kind, event.time, event.result, reason, now,
                                event.trigger, event.record, failures)
        try:
            self._publisher.publish(self._topic_arn(), message, attributes={"kind": kind})
        except ServiceError as exc:
            if not _maybe_delivered(exc):
                logger.warning("alert %s for %s at %s not published (%s); the next sweep retries",
                               kind, schedule.id, slot, exc.message)
                if self._pauser is not None:  # else the claim expires and the sweep takes it over
                    self._activity.settle_alert(schedule.id, slot, kind, token, published=False)
                raise _PublishFailed() from exc
            # the request reached SNS and its answer was lost: the claim keeps the attempt as
            # published, so no retry publishes the alert twice (the one sent is the alert)
            logger.warning("alert %s for %s at %s: publish answer lost (%s); kept as published",
                           kind, schedule.id, slot, exc.message)
        self._settle_published(schedule.id, slot, kind, token)
        observability.alerts_raised()
        report.alerts.append(message)

    def _settle_published(self, schedule_id: str, slot: str, kind: str, token: str) -> None:
        """Mark a sent alert published. The alert is out: its claim must not expire into a
        second publish, so the write is tried again here (it is idempotent: same token)."""
        for attempt in range(1, SETTLE_ATTEMPTS + 1):
            try:
                self._activity.settle_alert(schedule_id, slot, kind, token, published=True)
                return
            except (ServiceError, BotoCoreError) as exc:  # a timeout reaches here untranslated
                if attempt == SETTLE_ATTEMPTS:
                    logger.error("alert %s for %s at %s published, not marked (%s): a sweep after "
                                 "its claim expires may send it again", kind, schedule_id, slot, exc)
                    return


class AlertSweep:
    def __init__(
        self,
        repository: ScheduleRepository,
        activity: AlertWatches,
        publisher: MessagePublisher,
        notifications_topic_arn: Callable[[], str],
        pauser: Pauser,
        grace_seconds: int = 120,
        clock: Clock = system_clock,
        calendars: CalendarReader | None = None,
    ):
        self._calendars = calendars  # read only for a due schedule that names calendars
        self._repository = repository
        self._activity = activity
        self._alerter = Alerter(activity, publisher, notifications_topic_arn, pauser)
        self._grace = timedelta(seconds=grace_seconds)
        self._clock = clock

    def run(self) -> SweepReport:
        now = self._clock()
        report = SweepReport()
        for watch in self._activity.due_watches(now):
            try:
                self._check(watch, now, report)
            except ServiceError as exc:  # one schedule's failure does not stop the sweep
                logger.error("alert sweep of %s failed: %s", watch.get("schedule_id"), exc.message)
                report.errors.append(f"{watch.get('schedule_id')}: {exc.message}")
            except PydanticValidationError as exc:  # a record this version cannot read: reported, the rest go on
                logger.error("alert sweep of %s: its record cannot be read (%d problems)",
                             watch.get("schedule_id"), exc.error_count())
                report.errors.append(f"{watch.get('schedule_id')}: its record cannot be read")
        return report

    def _watched(self, schedule_id: str) -> Schedule | None:
        """The schedule to check, or None: unwatched when it is being paused or deleted
        (nothing to alert), left alone while a change is being applied (its handler watches
        it again)."""
        schedule = self._repository.get(schedule_id)
        leaving = schedule is not None and schedule.pending_action in (Action.PAUSE, Action.DELETE)
        if schedule is None or leaving or schedule.status not in (ScheduleStatus.ACTIVE, ScheduleStatus.PENDING):
            self._activity.unwatch(schedule_id)
            return None
        return None if schedule.status is ScheduleStatus.PENDING else schedule

    def _check(self, watch: dict[str, Any], now: datetime, report: SweepReport) -> None:
        schedule_id = str(watch["schedule_id"])
        schedule = self._watched(schedule_id)
        if schedule is None:
            return
        report.examined += 1
        checked = parse_iso(str(watch["checked_until"]))
        window = timedelta(minutes=schedule.definition.flexible_window_minutes or 0)
        records = self._activity.executions_between(schedule_id, checked - LATE_LOOKBACK - window - MINUTE, now)
        events, more = self._events(schedule, checked, now - window - self._grace, records, now)
        progress = _Progress(reached=checked, failures=int(watch.get("consecutive_failures") or 0), stopped=more)
        try:
            self._late_found_since(schedule, checked, records, now, report)
            self._judge(schedule, events, now, report, progress)
        except (_PublishFailed, AlertInFlight):
            progress.stopped = True  # the watermark stays before this slot: a later sweep finishes it
        due = now if progress.stopped else next_due(schedule, progress.reached, self._grace)
        if due is None:
            self._activity.unwatch(schedule_id)
            return
        self._activity.advance_watch(watch, iso(progress.reached), iso(due), progress.failures)

    def _judge(self, schedule: Schedule, events: list[SlotEvent], now: datetime, report: SweepReport,
               progress: _Progress) -> None:
        for event in events:
            if event.result in (RUNNING, UPCOMING):  # not judged yet (at its deadline exactly: upcoming)
                progress.stopped = True
                return
            report.slots += 1
            _count_judged(event.result)
            self._alerter.judge(schedule, event, now, report, progress)
            progress.reached = event.time

    def _events(self, schedule: Schedule, checked: datetime, cut: datetime,
                records: list[ExecutionRecord], now: datetime) -> tuple[list[SlotEvent], bool]:
        """The slots and manual runs after the watermark whose deadline has passed, oldest
        first, and whether more remain than one sweep takes."""
        after = checked + timedelta(microseconds=1)
        slots = expected_slots(schedule, after, cut, SLOTS_PER_SWEEP + 1, self._grace) if cut >= after else []
        more = len(slots) > SLOTS_PER_SWEEP
        slots = slots[:SLOTS_PER_SWEEP]
        excluded = for_schedule(schedule, self._calendars) if slots else NO_EXCLUSIONS  # a skipped slot is never missed
        joined, _, manual = SlotJoin(slots).split(records)
        events = [SlotEvent(moment, run_result(record, None, now), record.trigger, record)
                  for record in manual if checked < (moment := parse_iso(record.scheduled_time)) <= cut]
        for slot in slots:
            latest = _latest(joined.get(slot_key(slot.time), []))
            events.append(SlotEvent(slot.time, slot_result(slot, latest, "ENABLED", now, excluded.reason(slot.time)),
                                    ExecutionTrigger.SCHEDULED, latest))
        events.sort(key=lambda event: event.time)
        return events, more

    def _late_found_since(self, schedule: Schedule, checked: datetime, records: list[ExecutionRecord],
                          now: datetime, report: SweepReport) -> None:
        """Runs of slots already checked (judged missed at their deadline) that started since:
        alerted ``late`` when it succeeded (if asked), ``failed`` when it failed."""
        earliest = min((parse_iso(r.scheduled_time) for r in records), default=checked)
        slots = expected_slots(schedule, earliest, checked, SLOTS_PER_SWEEP, self._grace)
        joined, _, _ = SlotJoin(slots).split(records)
        for slot in slots:
            for record in joined.get(slot_key(slot.time), []):
                if parse_iso(record.started_at) <= slot.deadline:
                    continue  # started in time: its slot was judged with it
                if record.trigger is ExecutionTrigger.BACKFILL:
                    continue  # asked for after the slot was judged (and alerted): never alerted again
                event = SlotEvent(slot.time, run_result(record, slot.deadline, now), record.trigger, record)
                self._alerter.judged_already(schedule, event, now, report)


def _count_judged(result: str) -> None:
    """A slot judged missed or a run judged late is counted as the sweep decides it."""
    if result == MISSED:
        observability.missed_runs()
    elif result == LATE:
        observability.late_runs()



def _maybe_delivered(error: ServiceError) -> bool:
    """Whether a failed publish was carried out with its answer lost: the connection closed
    after the request was sent. A timeout (nothing, or not all, known to be sent) and an
    error SNS answered are publishes to send again: an alert is never lost for a doubt,
    at the price of a possible repeat after a read timeout (see the module's docstring)."""
    from botocore.exceptions import ConnectionClosedError

    return isinstance(error.__cause__, ConnectionClosedError)


def _latest(runs: list[ExecutionRecord]) -> ExecutionRecord | None:
    if not runs:
        return None
    done = [run for run in runs if run.outcome.value == SUCCEEDED]
    return (done or sorted(runs, key=lambda run: run.started_at))[-1]


def alert_message(schedule: Schedule, kind: str, slot: datetime, result: str, reason: str, now: datetime,
                  trigger: ExecutionTrigger = ExecutionTrigger.SCHEDULED,
                  record: ExecutionRecord | None = None, failures: int | None = None) -> dict[str, Any]:
    """One alert, as published to the notifications topic (shown in docs/api.md, Alerts)."""
    base = f"/api/schedules/{schedule.id}"
    around = f"from={iso(slot - timedelta(hours=1))}&to={iso(slot + timedelta(hours=1))}"
    message: dict[str, Any] = {
        "kind": kind,
        "schedule_id": schedule.id,
        "name": schedule.definition.name,
        "slot": slot_key(slot),
        "result": result,
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
        if record.reported_message:
            message["reported_message"] = record.reported_message
    if failures is not None:
        message["consecutive_failures"] = failures
    return message
