"""Schedules converge: the records are the desired state, the group's schedules the
observed state.

``plan()`` reads both and returns plain data that can be printed before anything changes;
``apply(plan)`` carries it out and reads every repaired schedule back from the cloud:
- a record whose schedule is missing in the cloud: re-create it;
- a schedule changed out of band (expression, timezone, state, target, window): reset it;
- a record stuck in ``pending`` (a crash between steps): finish it;
- a deleted record whose schedule still exists: delete the schedule;
- a schedule in our group with no record (an orphan): report it; delete it with ``prune``.
The service never touches a schedule outside its group.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from chalicelib.completion import has_fires_left
from chalicelib.errors import ServiceError
from chalicelib.models import Schedule, ScheduleStatus, utcnow
from chalicelib.repository import DynamoDBScheduleRepository
from chalicelib.scheduler import EventBridgeSchedulerGateway, desired_spec, observed_spec
from chalicelib.service import CommandHandler

logger = logging.getLogger("rez_agent.reconcile")

# What a step does.
NOOP = "noop"
CREATE = "create"  # missing in the cloud
RESET = "reset"  # changed out of band
FINISH = "finish"  # stuck pending
DELETE = "delete"  # the record says deleted
REPORT_ORPHAN = "orphan"  # no record: reported
PRUNE = "prune"  # no record: deleted (with --prune)
COMPLETE = "complete"  # no fire time left: the record becomes completed

LIVE_STATUSES = (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED)


@dataclass
class Step:
    schedule_id: str
    action: str
    reason: str
    fields: list[str] = field(default_factory=list)
    name: str | None = None
    version: int | None = None  # the record's version when planned


@dataclass
class Plan:
    steps: list[Step]

    @property
    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.action not in (NOOP, REPORT_ORPHAN)]

    @property
    def orphans(self) -> list[Step]:
        return [step for step in self.steps if step.action in (REPORT_ORPHAN, PRUNE)]

    def to_dict(self) -> dict:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.action] = counts.get(step.action, 0) + 1
        return {"steps": [asdict(step) for step in self.steps], "counts": counts}

    def describe(self) -> str:
        lines = [
            f"{step.action:7} {step.schedule_id} {step.name or ''} {step.reason}"
            + (f" ({', '.join(step.fields)})" if step.fields else "")
            for step in self.steps
            if step.action != NOOP
        ]
        in_sync = sum(1 for step in self.steps if step.action == NOOP)
        lines.append(f"{in_sync} schedule(s) in sync, {len(self.changes)} to change, {len(self.orphans)} orphan(s)")
        return "\n".join(lines)


@dataclass
class Outcome:
    step: Step
    ok: bool
    detail: str = ""


class ScheduleReconciler:
    def __init__(
        self,
        repository: DynamoDBScheduleRepository,
        gateway: EventBridgeSchedulerGateway,
        handler: CommandHandler,
    ):
        self._repository = repository
        self._gateway = gateway
        self._handler = handler

    def plan(self, prune: bool = False) -> Plan:
        cloud = set(self._gateway.list_names())
        steps: list[Step] = []
        recorded: set[str] = set()
        for status in (ScheduleStatus.PENDING, *LIVE_STATUSES, ScheduleStatus.ERROR):
            for record in self._repository.iter_by_status(status):
                recorded.add(record.id)
                steps.append(self._step_for(record, record.id in cloud))
        for name in sorted(cloud - recorded):
            record = self._repository.get(name)
            if record is not None and record.status is ScheduleStatus.DELETED:
                steps.append(Step(name, DELETE, "record is deleted but the schedule exists", name=record.definition.name))
            elif record is not None:  # changed status since we listed: next run sees it
                steps.append(Step(name, NOOP, f"record is {record.status.value}", name=record.definition.name))
            else:
                steps.append(Step(name, PRUNE if prune else REPORT_ORPHAN, "in our group with no record"))
        return Plan(steps)

    def _step_for(self, record: Schedule, in_cloud: bool) -> Step:
        step = self._classify(record, in_cloud)
        step.version = record.version
        return step

    def _classify(self, record: Schedule, in_cloud: bool) -> Step:
        name = record.definition.name
        if record.status is ScheduleStatus.PENDING:
            return Step(record.id, FINISH, f"pending {record.pending_action.value if record.pending_action else ''}".strip(), name=name)
        if record.status is ScheduleStatus.ERROR:
            return Step(record.id, NOOP, "in error: " + (record.last_error or ""), name=name)
        if record.status is ScheduleStatus.ACTIVE and not has_fires_left(record):
            return Step(record.id, COMPLETE, "no fire times left", name=name)
        observed = self._gateway.get(record.id) if in_cloud else None
        if observed is None:
            if not has_fires_left(record):
                return Step(record.id, NOOP, "complete: no fire times left", name=name)
            return Step(record.id, CREATE, "missing in the cloud", name=name)
        want = desired_spec(self._gateway.request_for(record))
        have = observed_spec(observed)
        changed = sorted(key for key in want if want[key] != have.get(key))
        if changed:
            return Step(record.id, RESET, "changed out of band", fields=changed, name=name)
        return Step(record.id, NOOP, "in sync", name=name)

    def apply(self, plan: Plan) -> list[Outcome]:
        """Carry out the plan. One schedule's failure is reported and does not stop the
        others."""
        outcomes = []
        for step in plan.steps:
            if step.action in (NOOP, REPORT_ORPHAN):
                continue
            try:
                outcomes.append(self._apply_step(step))
            except Exception as exc:  # noqa: BLE001 - reported per schedule, the run goes on
                message = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
                logger.error("reconcile %s %s failed: %s", step.action, step.schedule_id, message)
                outcomes.append(Outcome(step, False, message))
        return outcomes

    def _apply_step(self, step: Step) -> Outcome:
        """Re-read the record first: a user may have changed it since the plan, and then
        the plan no longer applies (their own command converges it)."""
        record = self._repository.get(step.schedule_id)
        if step.action == PRUNE:
            if record is not None:
                return Outcome(step, True, "skipped: a record appeared since the plan")
            return self._delete(step)
        if step.action == DELETE:
            if record is None or record.status is not ScheduleStatus.DELETED:
                return Outcome(step, True, "skipped: the record changed since the plan")
            return self._delete(step)
        if record is None:
            return Outcome(step, False, "record disappeared")
        if step.action == FINISH:
            settled = self._handler.converge(record)
            return Outcome(step, settled.status is not ScheduleStatus.PENDING, f"now {settled.status.value}")
        if record.version != step.version or record.status not in LIVE_STATUSES:
            return Outcome(step, True, "skipped: the record changed since the plan")
        if step.action == COMPLETE:
            completed = self._handler.complete(record)
            return Outcome(step, completed is not None and completed.status is ScheduleStatus.COMPLETED,
                           "completed" if completed else "record disappeared")
        arn = self._gateway.upsert(record, repair=True) if step.action == CREATE else self._gateway.update(record)
        observed = self._gateway.get(step.schedule_id)
        converged = observed is not None and observed_spec(observed) == desired_spec(
            self._gateway.request_for(record)
        )
        description = step.reason + (f": {', '.join(step.fields)}" if step.fields else "")
        self._repository.note_drift(record.id, [description], arn, expected_version=record.version)
        return Outcome(step, converged, "converged" if converged else "differs after repair")

    def _delete(self, step: Step) -> Outcome:
        self._gateway.delete(step.schedule_id)
        gone = self._gateway.get(step.schedule_id) is None
        return Outcome(step, gone, "deleted" if gone else "still present after delete")

    def run(self, prune: bool = False, dry_run: bool = False) -> dict:
        plan = self.plan(prune=prune)
        return report(plan, [] if dry_run else self.apply(plan), dry_run)


def report(plan: Plan, outcomes: list[Outcome], dry_run: bool = False) -> dict:
    """The drift report: the plan's steps and counts, and what applying them did."""
    body = plan.to_dict()
    body["dry_run"] = dry_run
    body["applied"] = [
        {"schedule_id": o.step.schedule_id, "action": o.step.action, "ok": o.ok, "detail": o.detail}
        for o in outcomes
    ]
    return body
