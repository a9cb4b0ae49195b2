"""What the service does, independent of HTTP and Lambda plumbing.

- ``ScheduleService``: the API side. Writes the record (``pending``), publishes a command,
  answers at once.
- ``CommandHandler``: the SNS side. Converges one schedule in EventBridge Scheduler to its
  record. The record is the desired state and the command only says which record to look
  at, so a redelivered, reordered or stale command is harmless.
(What a schedule does when it fires is in ``chalicelib.runs``.)
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable, Protocol

from chalicelib import expressions
from chalicelib.completion import has_fires_left
from chalicelib.identity import Caller
from chalicelib.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    ServiceError,
    UpstreamRejected,
    ValidationError,
    VersionConflict,
)
from chalicelib.models import (
    Action,
    Schedule,
    ScheduleCreationRequest,
    ScheduleDefinition,
    ScheduleState,
    ScheduleStatus,
    custom_target_name,
    iso,
    new_id,
    utcnow,
)
from chalicelib.repository import Page, ScheduleRepository
from chalicelib.scheduler import SchedulerGateway

logger = logging.getLogger("rez_agent.schedules")

MAX_LIST_LIMIT = 100
MAX_CONVERGE_ROUNDS = 5
START_DATE_GRACE = timedelta(minutes=5)
NEXT_FIRES_SHOWN = 5


class CommandPublisher(Protocol):
    def publish_command(self, command: ScheduleCreationRequest) -> None: ...


class ScheduleService:
    """The API's operations on schedules."""

    def __init__(
        self,
        repository: ScheduleRepository,
        publisher: CommandPublisher,
        custom_target_prefix: str,
        deleted_ttl_days: int = 7,
    ):
        self._repository = repository
        self._publisher = publisher
        self._custom_target_prefix = custom_target_prefix
        self._deleted_ttl_days = deleted_ttl_days

    def create(
        self,
        definition: ScheduleDefinition,
        caller: Caller,
        idempotency_key: str | None = None,
    ) -> Schedule:
        """Write a pending record and publish a create command.

        With an idempotency key the id is derived from (creator, key): a retried request
        finds its own record, re-publishes if still pending, and gets the same answer; the
        same key with a different definition is a conflict."""
        self._check(definition)
        created_by = caller.principal
        schedule_id = _derived_id(created_by, idempotency_key) if idempotency_key else new_id()
        now = iso(utcnow())
        schedule = Schedule(
            id=schedule_id,
            definition=definition,
            status=ScheduleStatus.PENDING,
            pending_action=Action.CREATE,
            created_by=created_by,
            created_date=now,
            updated_date=now,
            idempotency_key=idempotency_key,
        )
        try:
            self._repository.create(schedule)
        except AlreadyExists:
            existing = self._repository.get(schedule_id)
            if existing is None or existing.definition != definition:
                raise Conflict(
                    "Idempotency-Key was already used for a different schedule definition"
                ) from None
            if existing.status is ScheduleStatus.PENDING:
                self._publish(existing, existing.pending_action or Action.CREATE, caller)
            return existing
        self._publish(schedule, Action.CREATE, caller)
        return schedule

    def get(self, schedule_id: str) -> Schedule:
        schedule = self._repository.get(schedule_id)
        if schedule is None:
            raise NotFound(f"schedule {schedule_id} does not exist")
        return schedule

    def list(
        self,
        status: ScheduleStatus | None = None,
        created_by: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        if created_by is not None:
            return self._repository.list_by_creator(created_by, limit, cursor, status)
        return self._repository.list_by_status(status, limit, cursor)

    def update(
        self, schedule_id: str, definition: ScheduleDefinition, caller: Caller,
        expected_version: int | None = None,
    ) -> Schedule:
        """Replace the definition (PUT semantics)."""
        current = self.get(schedule_id)
        self._check(definition, current=current.definition)
        return self._change(
            schedule_id, Action.UPDATE, caller, expected_version,
            lambda _current: definition, current,
        )

    def pause(self, schedule_id: str, caller: Caller, expected_version: int | None = None) -> Schedule:
        return self._change(
            schedule_id, Action.PAUSE, caller, expected_version,
            lambda definition: definition.model_copy(update={"state": ScheduleState.DISABLED}),
        )

    def resume(self, schedule_id: str, caller: Caller, expected_version: int | None = None) -> Schedule:
        return self._change(
            schedule_id, Action.RESUME, caller, expected_version,
            lambda definition: definition.model_copy(update={"state": ScheduleState.ENABLED}),
        )

    def delete(self, schedule_id: str, caller: Caller, expected_version: int | None = None) -> Schedule:
        """Ask for deletion. Deleting a deleted schedule is not an error: it answers the
        record as it is."""
        current = self.get(schedule_id)
        if current.status is ScheduleStatus.DELETED or current.pending_action is Action.DELETE:
            if current.status is not ScheduleStatus.DELETED:
                self._publish(current, Action.DELETE, caller)
            return current
        return self._change(
            schedule_id, Action.DELETE, caller, expected_version, lambda d: d, current
        )

    def list_executions(self, schedule_id: str, limit: int, cursor: str | None) -> Page:
        self.get(schedule_id)
        return self._repository.list_executions(schedule_id, limit, cursor)

    def next_fire_times(self, schedule: Schedule, count: int = NEXT_FIRES_SHOWN) -> list[str] | None:
        """The next fire times of an active schedule (None for any other status)."""
        if schedule.status is not ScheduleStatus.ACTIVE:
            return None
        definition = schedule.definition
        start = definition.start_date or datetime.fromisoformat(schedule.created_date.replace("Z", "+00:00"))
        try:
            fires = expressions.next_fires(
                definition.schedule_expression, definition.timezone, utcnow(), count,
                start=start, end=definition.end_date,
            )
        except ValidationError:
            return None  # a record stored under older rules: show it without a forecast
        return [iso(moment.replace(microsecond=0)) for moment in fires]

    # --- internals ------------------------------------------------------------------

    def _change(
        self,
        schedule_id: str,
        action: Action,
        caller: Caller,
        expected_version: int | None,
        new_definition: Callable[[ScheduleDefinition], ScheduleDefinition],
        current: Schedule | None = None,
    ) -> Schedule:
        current = current or self.get(schedule_id)
        if current.status is ScheduleStatus.DELETED or current.pending_action is Action.DELETE:
            raise Conflict(f"schedule {schedule_id} is deleted")
        if expected_version is not None and expected_version != current.version:
            raise VersionConflict(
                f"schedule {schedule_id} is at version {current.version}, not {expected_version}"
            )
        changed = current.model_copy(
            update={
                "definition": new_definition(current.definition),
                "status": ScheduleStatus.PENDING,
                "pending_action": action,
                "last_error": None,
                "version": current.version + 1,
                "updated_date": iso(utcnow()),
            }
        )
        stored = self._repository.update(changed, expected_version=current.version)
        self._publish(stored, action, caller)
        return stored

    def _publish(self, schedule: Schedule, action: Action, caller: Caller) -> None:
        """Publish the command. The record is already written, so a failure here does not
        fail the request: the next reconcile finishes a record left pending."""
        try:
            self._publish_command(schedule, action, caller)
        except ServiceError as exc:
            logger.warning(
                "command %s for schedule %s not published (%s); reconcile will finish it",
                action.value, schedule.id, exc.message,
            )

    def _publish_command(self, schedule: Schedule, action: Action, caller: Caller) -> None:
        self._publisher.publish_command(
            ScheduleCreationRequest(
                action=action,
                schedule_id=schedule.id,
                request_id=str(uuid.uuid4()),
                requested_by=caller.principal,
                requested_at=utcnow(),
                version=schedule.version,
            )
        )

    def _check(self, definition: ScheduleDefinition, current: ScheduleDefinition | None = None) -> None:
        """Rules that depend on the stage or on the clock (the model checks the rest). An
        update that keeps the stored start date keeps it even once it has passed."""
        self._check_target(definition)
        now = utcnow()
        if expressions.parse_expression(definition.schedule_expression).kind == "at":
            # AWS ignores StartDate and EndDate for one-time schedules
            if not has_fires_left(definition, now):
                raise ValidationError(
                    "an at() time must be in the future (a one-time schedule whose time has passed never fires)",
                    field="schedule_expression",
                )
            return
        start_changed = current is None or definition.start_date != current.start_date
        if start_changed and definition.start_date and definition.start_date < now - START_DATE_GRACE:
            raise ValidationError(
                "must not be more than 5 minutes in the past (EventBridge Scheduler rejects it)",
                field="start_date",
            )
        if definition.end_date and definition.end_date <= now:
            raise ValidationError("must be in the future (a schedule whose end date has passed never fires)", field="end_date")
        if not has_fires_left(definition, now):
            raise ValidationError(
                "has no fire time left between start_date and end_date", field="schedule_expression"
            )

    def _check_target(self, definition: ScheduleDefinition) -> None:
        if definition.target_arn and not custom_target_name(definition.target_arn).startswith(
            self._custom_target_prefix
        ):
            raise ValidationError(
                f"the target's name must start with '{self._custom_target_prefix}'",
                field="target_arn",
            )


def _derived_id(created_by: str, key: str) -> str:
    digest = hashlib.sha256(f"{created_by}\n{key}".encode()).hexdigest()
    return str(uuid.UUID(digest[:32], version=4))


class CommandHandler:
    """Converges EventBridge Scheduler to the records, one schedule per command."""

    def __init__(self, repository: ScheduleRepository, gateway: SchedulerGateway, deleted_ttl_days: int = 7):
        self._repository = repository
        self._gateway = gateway
        self._deleted_ttl_days = deleted_ttl_days

    def handle(self, command: ScheduleCreationRequest) -> Schedule | None:
        return self.handle_id(command.schedule_id)

    def handle_id(self, schedule_id: str) -> Schedule | None:
        schedule = self._repository.get(schedule_id)
        if schedule is None:
            logger.warning("no record for schedule %s; nothing to do", schedule_id)
            return None
        return self.converge(schedule)

    def converge(self, schedule: Schedule, rounds: int = MAX_CONVERGE_ROUNDS) -> Schedule:
        """Apply the record's pending action, if any. Transient AWS failures propagate (the
        event is retried); permanent rejections put the record in ``error``."""
        if schedule.pending_action is None:
            return schedule  # already applied: a redelivery
        try:
            if schedule.pending_action is Action.DELETE:
                self._gateway.delete(schedule.id)
                try:
                    return self._repository.mark_deleted(schedule, self._deleted_ttl_days)
                except VersionConflict:
                    return self._reassert(schedule.id, rounds - 1)
            arn = self._apply(schedule)
        except UpstreamRejected as exc:
            logger.error("AWS rejected schedule %s: %s", schedule.id, exc.message)
            return self._settle(schedule, ScheduleStatus.ERROR, rounds, last_error=exc.message)
        status = (
            ScheduleStatus.PAUSED
            if schedule.desired_state is ScheduleState.DISABLED
            else ScheduleStatus.ACTIVE if has_fires_left(schedule) else ScheduleStatus.COMPLETED
        )
        return self._settle(schedule, status, rounds, eventbridge_arn=arn)

    def complete(self, schedule: Schedule) -> Schedule | None:
        """Show an active schedule that can never fire again as ``completed`` (its version
        stays: nothing the user wrote changed). A record changed meanwhile is left to its
        own command."""
        if schedule.status is not ScheduleStatus.ACTIVE or has_fires_left(schedule):
            return schedule
        try:
            return self._repository.update(
                schedule.model_copy(update={"status": ScheduleStatus.COMPLETED, "updated_date": iso(utcnow())}),
                expected_version=schedule.version,
            )
        except VersionConflict:
            return self._repository.get(schedule.id)

    def _apply(self, schedule: Schedule) -> str:
        if schedule.pending_action is Action.CREATE:
            try:
                return self._gateway.create(schedule)
            except AlreadyExists:
                return self._gateway.update(schedule)  # a retried create: converge anyway
        try:
            return self._gateway.update(schedule)
        except NotFound:
            return self._gateway.create(schedule, repair=True)  # gone out of band: re-create

    def _settle(self, schedule: Schedule, status: ScheduleStatus, rounds: int, **changes: Any) -> Schedule:
        settled = schedule.model_copy(
            update={
                "status": status,
                "pending_action": None,
                "last_error": None,
                "updated_date": iso(utcnow()),
                **changes,
            }
        )
        try:
            # the version stays: settling applies the version the user wrote
            return self._repository.update(settled, expected_version=schedule.version)
        except VersionConflict:
            return self._reassert(schedule.id, rounds - 1)

    def _reassert(self, schedule_id: str, rounds: int) -> Schedule | None:
        """The record changed while this handler wrote to EventBridge, and that write may
        have landed after the newer change's own: apply the current record again, so the
        last write to the cloud is always the newest record's."""
        current = self._repository.get(schedule_id)
        if current is None or rounds <= 0:
            return current
        logger.info("schedule %s changed while applying; applying version %s", schedule_id, current.version)
        if current.pending_action is not None:
            return self.converge(current, rounds)
        if current.status is ScheduleStatus.DELETED:
            self._gateway.delete(current.id)
        elif current.status in (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED):
            try:
                self._gateway.update(current)
            except NotFound:
                self._gateway.create(current, repair=True)
        return current


def message_json(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)

