"""Schedules converge: the records are the desired state, the group's schedules the
observed state.

``plan()`` reads both and returns plain data that can be printed before anything changes;
``apply(plan)`` carries it out and reads every repaired schedule back from the cloud:
- a record whose schedule is missing in the cloud: re-create it;
- a schedule changed out of band (expression, timezone, state, target, window): reset it;
- a record stuck in ``pending`` (a crash between steps): finish it;
- a deleted record whose schedule still exists: delete the schedule;
- a schedule in our group with no record (an orphan): report it; delete it with ``prune``;
- a record in ``error``: try it again once its ``next_retry_at`` has come (a pending
  delete at every run: a deleted record's schedule must not live on).
The service never touches a schedule outside its group.

What it costs: the group is listed (100 schedules a ListSchedules page) while the records
are queried (1,000 a page, a few fields each). A schedule is read (GetSchedule, and its
record with GetItem) only when its LastModificationDate differs from the one recorded when
it was last applied, or when it is one of a few picked at random (``spot_checks``) to
catch what a marker cannot tell. Those reads run on a bounded thread pool. A read that
fails leaves that schedule unchecked (reported) and the run goes on.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.clock import Clock, system_clock
from chalicelib.completion import has_fires_left
from chalicelib.errors import ServiceError
from chalicelib.models import Action, Schedule, ScheduleStatus, iso
from chalicelib.ports import ListedRecord, RepairLog, ScheduleRepository, SchedulerGateway
from chalicelib.scheduler import (
    desired_spec,
    modification_marker,
    observed_spec,
)
from chalicelib.service import CommandHandler

logger = logging.getLogger("rez_agent.reconcile")

# What a repair does.
NOOP = "noop"
CREATE = "create"  # missing in the cloud
RESET = "reset"  # changed out of band
FINISH = "finish"  # stuck pending
DELETE = "delete"  # the record says deleted
REPORT_ORPHAN = "orphan"  # no record: reported
PRUNE = "prune"  # no record: deleted (with --prune)
RETRY = "retry"  # in error: tried again
COMPLETE = "complete"  # no fire time left: the record becomes completed

RECONCILER = "rez-agent:reconcile"  # who repairs drift, in the history
LIVE_STATUSES = (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED)
LISTED_STATUSES = (ScheduleStatus.PENDING, *LIVE_STATUSES, ScheduleStatus.ERROR)
DEFAULT_CONCURRENCY = 16
DEFAULT_SPOT_CHECKS = 5


@dataclass
class Repair:
    """One schedule's drift and the action that repairs it (``noop`` when in sync)."""

    schedule_id: str
    action: str
    reason: str
    fields: list[str] = field(default_factory=list)
    name: str | None = None
    version: int | None = None  # the record's version when planned
    # a schedule read and found in sync whose marker the record does not have yet: apply()
    # records it, so the next run does not read it again
    learned_modified: str | None = None


@dataclass
class Unchecked:
    """A schedule (or a whole listing) that could not be checked in this run."""

    subject: str
    reason: str


@dataclass
class DriftPlan:
    """What a reconcile found: one repair per schedule checked, and what it could not check."""

    repairs: list[Repair]
    unchecked: list[Unchecked] = field(default_factory=list)
    schedules_read: int = 0  # schedules the plan read with GetSchedule (changed, or spot checks)
    active: list[str] = field(default_factory=list)  # the active records' ids (their alert watches)

    @property
    def changes(self) -> list[Repair]:
        return [repair for repair in self.repairs if repair.action not in (NOOP, REPORT_ORPHAN)]

    @property
    def orphans(self) -> list[Repair]:
        return [repair for repair in self.repairs if repair.action in (REPORT_ORPHAN, PRUNE)]

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for repair in self.repairs:
            counts[repair.action] = counts.get(repair.action, 0) + 1
        return {
            "steps": [asdict(repair) for repair in self.repairs],
            "counts": counts,
            "unchecked": [asdict(item) for item in self.unchecked],
            "unchecked_count": len(self.unchecked),
            "schedules_read": self.schedules_read,
        }

    def render(self) -> str:
        lines = [
            f"{repair.action:7} {repair.schedule_id} {repair.name or ''} {repair.reason}"
            + (f" ({', '.join(repair.fields)})" if repair.fields else "")
            for repair in self.repairs
            if repair.action != NOOP
        ]
        lines.extend(f"UNCHECKED {item.subject}: {item.reason}" for item in self.unchecked)
        in_sync = sum(1 for repair in self.repairs if repair.action == NOOP)
        lines.append(
            f"{in_sync} schedule(s) in sync, {len(self.changes)} to change, {len(self.orphans)} orphan(s), "
            f"{len(self.unchecked)} unchecked"
        )
        return "\n".join(lines)


@dataclass
class RepairOutcome:
    """What carrying out one repair did."""

    repair: Repair
    ok: bool
    detail: str = ""


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"


class ScheduleReconciler:
    def __init__(
        self,
        repository: ScheduleRepository,
        gateway: SchedulerGateway,
        handler: CommandHandler,
        concurrency: int = DEFAULT_CONCURRENCY,
        spot_checks: int = DEFAULT_SPOT_CHECKS,
        choose: Callable[[list[ListedRecord], int], list[ListedRecord]] | None = None,
        activity: RepairLog | None = None,
        clock: Clock = system_clock,
    ):
        self._repository = repository
        self._clock = clock
        self._gateway = gateway
        self._handler = handler
        self._concurrency = max(1, concurrency)
        self._spot_checks = max(0, spot_checks)
        self._choose = choose or (lambda population, k: random.sample(population, k))
        self._activity = activity

    # --- plan -------------------------------------------------------------------------

    def plan(self, prune: bool = False) -> DriftPlan:
        now = iso(self._clock())
        plan = DriftPlan([])
        with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="reconcile") as pool:
            listing = pool.submit(lambda: {s.name: s.modified for s in self._gateway.list_schedules()})
            records = self._listed_records(plan)
            plan.active = [listed.id for listed in records.values() if listed.status is ScheduleStatus.ACTIVE]
            cloud: dict[str, str | None] | None
            try:
                cloud = listing.result()
            except Exception as exc:  # noqa: BLE001 - reported, the rest goes on
                cloud = None
                plan.unchecked.append(Unchecked("the schedule group's listing", _message(exc)))
            reads, in_sync = self._triage(pool, plan, records, cloud, now)
            reads.extend(self._spot_checks_of(pool, plan, in_sync))
            for name in sorted(set(cloud or ()) - set(records)):
                reads.append((name, pool.submit(self._check_unrecorded, name, prune)))
            for subject, future in reads:
                try:
                    plan.repairs.append(future.result())
                except Exception as exc:  # noqa: BLE001 - this schedule is reported, the run goes on
                    logger.error("reconcile could not check %s: %s", subject, _message(exc))
                    plan.unchecked.append(Unchecked(subject, _message(exc)))
        return plan

    def _listed_records(self, plan: DriftPlan) -> dict[str, ListedRecord]:
        """Every listed record; a status that cannot be listed is reported."""
        records: dict[str, ListedRecord] = {}
        for status in LISTED_STATUSES:
            try:
                for listed in self._repository.iter_listed(status):
                    records[listed.id] = listed
            except Exception as exc:  # noqa: BLE001 - reported, the rest goes on
                plan.unchecked.append(Unchecked(f"records with status {status.value}", _message(exc)))
        return records

    def _triage(
        self, pool: ThreadPoolExecutor, plan: DriftPlan, records: dict[str, ListedRecord],
        cloud: dict[str, str | None] | None, now: str,
    ) -> tuple[list[tuple[str, Future[Repair]]], list[ListedRecord]]:
        """Decide each record from what its listing read where it can be (pending, error, unchanged since
        applied); start a read of the others. Returns the reads and the unchanged records."""
        reads: list[tuple[str, Future[Repair]]] = []
        in_sync: list[ListedRecord] = []
        for listed in records.values():
            if listed.status is ScheduleStatus.PENDING:
                action = listed.pending_action.value if listed.pending_action else ""
                plan.repairs.append(Repair(listed.id, FINISH, f"pending {action}".strip(), version=listed.version))
            elif listed.status is ScheduleStatus.ERROR:
                plan.repairs.append(self._error_repair(listed, now))
            elif cloud is None:
                plan.unchecked.append(Unchecked(listed.id, "the schedule group could not be listed"))
            elif listed.id in cloud and cloud[listed.id] is not None and (
                cloud[listed.id] == listed.eventbridge_modified
            ):
                in_sync.append(listed)
            else:
                plan.schedules_read += listed.id in cloud
                reads.append((listed.id, pool.submit(self._check, listed, listed.id in cloud)))
        return reads, in_sync

    def _spot_checks_of(
        self, pool: ThreadPoolExecutor, plan: DriftPlan, in_sync: list[ListedRecord]
    ) -> list[tuple[str, Future[Repair]]]:
        """Read a few of the records unchanged since applied; the rest need nothing."""
        spot = self._choose(in_sync, min(self._spot_checks, len(in_sync))) if in_sync else []
        spot_ids = {listed.id for listed in spot}
        reads: list[tuple[str, Future[Repair]]] = []
        for listed in in_sync:
            if listed.id in spot_ids:
                plan.schedules_read += 1
                reads.append((listed.id, pool.submit(self._check, listed, True)))
            else:
                plan.repairs.append(Repair(listed.id, NOOP, "unchanged since applied", version=listed.version))
        return reads

    def _error_repair(self, listed: ListedRecord, now: str) -> Repair:
        if listed.pending_action is Action.DELETE:
            return Repair(listed.id, RETRY, "in error while deleting: retried every run", version=listed.version)
        if listed.next_retry_at is None or listed.next_retry_at <= now:
            return Repair(listed.id, RETRY, "in error: retry due", version=listed.version)
        return Repair(listed.id, NOOP, f"in error: next retry at {listed.next_retry_at}", version=listed.version)

    def _check(self, listed: ListedRecord, in_cloud: bool) -> Repair:
        """Read one live record and its schedule, and say what to do."""
        record = self._repository.get(listed.id)
        if record is None or record.status not in LIVE_STATUSES:
            return Repair(listed.id, NOOP, "changed since listed: its own command converges it")
        observed = self._gateway.get(record.id) if in_cloud else None
        repair = self._classify(record, observed)
        repair.version = record.version
        if repair.action == NOOP and observed is not None:
            marker = modification_marker(observed)
            if marker is not None and marker != record.eventbridge_modified:
                repair.learned_modified = marker
        return repair

    def _classify(self, record: Schedule, observed: dict[str, Any] | None) -> Repair:
        name = record.definition.name
        if record.status is ScheduleStatus.ACTIVE and not has_fires_left(record, self._clock()):
            return Repair(record.id, COMPLETE, "no fire times left", name=name)
        if observed is None:
            if not has_fires_left(record, self._clock()):
                return Repair(record.id, NOOP, "complete: no fire times left", name=name)
            return Repair(record.id, CREATE, "missing in the cloud", name=name)
        want = desired_spec(self._gateway.request_for(record))
        have = observed_spec(observed)
        changed = sorted(key for key in want if want[key] != have.get(key))
        if changed:
            return Repair(record.id, RESET, "changed out of band", fields=changed, name=name)
        return Repair(record.id, NOOP, "in sync", name=name)

    def _check_unrecorded(self, name: str, prune: bool) -> Repair:
        """A schedule in the group whose record was not among the listed ones."""
        record = self._repository.get(name)
        if record is not None and record.status is ScheduleStatus.DELETED:
            return Repair(name, DELETE, "record is deleted but the schedule exists", name=record.definition.name)
        if record is not None:  # changed status since we listed: next run sees it
            return Repair(name, NOOP, f"record is {record.status.value}", name=record.definition.name)
        return Repair(name, PRUNE if prune else REPORT_ORPHAN, "in our group with no record")

    # --- apply ------------------------------------------------------------------------

    def apply(self, plan: DriftPlan) -> list[RepairOutcome]:
        """Carry out the plan. One schedule's failure is reported and does not stop the
        others."""
        self._record_markers([repair for repair in plan.repairs if repair.learned_modified])
        outcomes = []
        for repair in plan.repairs:
            if repair.action in (NOOP, REPORT_ORPHAN):
                continue
            try:
                outcomes.append(self._apply_repair(repair))
            except Exception as exc:  # noqa: BLE001 - reported per schedule, the run goes on
                message = _message(exc)
                logger.error("reconcile %s %s failed: %s", repair.action, repair.schedule_id, message)
                outcomes.append(RepairOutcome(repair, False, message))
        return outcomes

    def _record_markers(self, repairs: list[Repair]) -> None:
        """Remember the markers of schedules read and found in sync (conditional on the
        version read: a record changed meanwhile gets its marker when that is applied)."""
        def note(repair: Repair) -> None:
            try:
                self._repository.note_applied(repair.schedule_id, repair.learned_modified or "", repair.version or 0)
            except ServiceError as exc:
                logger.warning("marker of %s not recorded: %s", repair.schedule_id, exc.message)

        if repairs:
            with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="reconcile") as pool:
                list(pool.map(note, repairs))

    def _apply_repair(self, repair: Repair) -> RepairOutcome:
        """Re-read the record first: a user may have changed it since the plan, and then
        the plan no longer applies (their own command converges it). Re-check after every
        write to the cloud, as the command handler does: a change that landed meanwhile is
        applied again, so the newest record's write is the last."""
        record = self._repository.get(repair.schedule_id)
        if repair.action == PRUNE:
            return self._prune(repair, record)
        if repair.action == DELETE:
            if record is None or record.status is not ScheduleStatus.DELETED:
                return RepairOutcome(repair, True, "skipped: the record changed since the plan")
            return self._delete(repair)
        if record is None:
            return RepairOutcome(repair, False, "record disappeared")
        if repair.action == FINISH:
            return self._finish(repair, record)
        if repair.action == RETRY:
            return self._retry(repair, record)
        if record.version != repair.version or record.status not in LIVE_STATUSES:
            return RepairOutcome(repair, True, "skipped: the record changed since the plan")
        if repair.action == COMPLETE:
            completed = self._handler.complete(record)
            return RepairOutcome(repair, completed is not None and completed.status is ScheduleStatus.COMPLETED,
                           "completed" if completed else "record disappeared")
        return self._rewrite(repair, record)

    def _prune(self, repair: Repair, record: Schedule | None) -> RepairOutcome:
        if record is not None:
            return RepairOutcome(repair, True, "skipped: a record appeared since the plan")
        outcome = self._delete(repair)
        if self._repository.get(repair.schedule_id) is not None:
            self._handler.reassert(repair.schedule_id)
            return RepairOutcome(repair, True, "a record appeared meanwhile: applied it")
        return outcome

    def _finish(self, repair: Repair, record: Schedule) -> RepairOutcome:
        settled = self._handler.converge(record)
        if settled is None:
            return RepairOutcome(repair, False, "record disappeared")
        return RepairOutcome(repair, settled.status is not ScheduleStatus.PENDING, f"now {settled.status.value}")

    def _rewrite(self, repair: Repair, record: Schedule) -> RepairOutcome:
        """Create or update the schedule from the record, read it back, note the drift."""
        arn = self._gateway.upsert(record, repair=True) if repair.action == CREATE else self._gateway.update(record)
        observed = self._gateway.get(repair.schedule_id)
        converged = observed is not None and self._gateway.matches(record, observed)
        description = repair.reason + (f": {', '.join(repair.fields)}" if repair.fields else "")
        marker = modification_marker(observed) if observed is not None and converged else None
        if not self._repository.note_drift(record.id, [description], arn, record.version, modified=marker):
            current = self._handler.reassert(record.id)
            version = current.version if current is not None else "none"
            return RepairOutcome(repair, True, f"the record changed meanwhile: applied version {version} again")
        if self._activity is not None:
            self._activity.record_repair(record, repair.fields or [repair.action], description, by=RECONCILER)
        return RepairOutcome(repair, converged, "converged" if converged else "differs after repair")

    def _retry(self, repair: Repair, record: Schedule) -> RepairOutcome:
        if record.status is not ScheduleStatus.ERROR or record.version != repair.version:
            return RepairOutcome(repair, True, "skipped: the record changed since the plan")
        # a record put in error before the pending action was kept: apply its definition
        attempt = record if record.pending_action else record.model_copy(update={"pending_action": Action.UPDATE})
        settled = self._handler.converge(attempt)
        if settled is None:
            return RepairOutcome(repair, False, "record disappeared")
        ok = settled.status is not ScheduleStatus.ERROR
        detail = f"now {settled.status.value}" + ("" if ok else f", next retry at {settled.next_retry_at}")
        return RepairOutcome(repair, ok, detail)

    def _delete(self, repair: Repair) -> RepairOutcome:
        self._gateway.delete(repair.schedule_id)
        gone = self._gateway.get(repair.schedule_id) is None
        return RepairOutcome(repair, gone, "deleted" if gone else "still present after delete")

    def run(self, prune: bool = False, dry_run: bool = False) -> dict[str, Any]:
        plan = self.plan(prune=prune)
        body = report(plan, [] if dry_run else self.apply(plan), dry_run)
        body["watched"] = self.watch_unwatched(plan, dry_run)
        return body

    def watch_unwatched(self, plan: DriftPlan, dry_run: bool = False) -> list[str]:
        """Active schedules with no alert watch (created before the sweep existed, or whose
        watch write was lost) are watched from now on: the sweep checks them at its next
        run. Idempotent: a watch written meanwhile keeps what it has checked. The ids."""
        if self._activity is None or not plan.active:
            return []
        try:
            missing = sorted(set(plan.active) - self._activity.watched_ids())
            if not dry_run:
                for schedule_id in missing:
                    self._activity.watch(schedule_id)
        except ServiceError as exc:  # the next run tries again
            logger.warning("alert watches not brought up to date: %s", exc.message)
            return []
        if missing:
            logger.info("%s %d active schedule(s) with no alert watch", "found" if dry_run else "watched", len(missing))
        return missing


def report(plan: DriftPlan, outcomes: list[RepairOutcome], dry_run: bool = False) -> dict[str, Any]:
    """The drift report: the plan's repairs (its "steps") and counts, and what applying them did."""
    body = plan.to_dict()
    body["dry_run"] = dry_run
    body["applied"] = [
        {"schedule_id": o.repair.schedule_id, "action": o.repair.action, "ok": o.ok, "detail": o.detail}
        for o in outcomes
    ]
    return body
