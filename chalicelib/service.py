"""What the service does, independent of HTTP and Lambda plumbing.

- ``ScheduleService``: the API side. Writes the record (``pending``), publishes a command,
  answers at once.
- ``CommandHandler``: the SNS side. Converges one schedule in EventBridge Scheduler to its
  record. The record is the desired state and the command only says which record to look
  at, so a redelivered, reordered or stale command is harmless.
(What a schedule does when it fires is in ``chalicelib.runs``.)
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from chalicelib import expressions
from chalicelib.backoff import ErrorBackoff
from chalicelib.clock import Clock, expires_after, system_clock
from chalicelib.completion import has_fires_left
from chalicelib.config import DEFAULT_REGION, partition_of
from chalicelib.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    ServiceError,
    TooManySchedules,
    UpstreamRejected,
    ValidationError,
    VersionConflict,
)
from chalicelib.exclusions import NONE as NO_EXCLUSIONS
from chalicelib.exclusions import PLAN_LOOKAHEAD, Exclusions, plan
from chalicelib.identity import Caller
from chalicelib.models import (
    MAX_SNOOZE,
    Action,
    LastChange,
    RequestedSkip,
    Schedule,
    ScheduleCommand,
    ScheduleDefinition,
    ScheduleState,
    ScheduleStatus,
    SkipRequest,
    TemplateUse,
    definition_digest,
    derived_id,
    iso,
    new_id,
    parse_custom_target,
    parse_iso,
)
from chalicelib.ports import (
    CalendarUsers,
    ChangeRecorder,
    CommandPublisher,
    OwnerAtCap,
    Page,
    RecordExists,
    ScheduleRepository,
    SchedulerGateway,
)

logger = logging.getLogger("rez_agent.schedules")

MAX_LIST_LIMIT = 100
MAX_CONVERGE_ROUNDS = 5
START_DATE_GRACE = timedelta(minutes=5)
NEXT_FIRES_SHOWN = 5


class ScheduleService:
    """The API's operations on schedules, on behalf of a ``Caller``.

    A caller sees and changes only the schedules it owns (``created_by`` is its
    principal); another owner's schedule answers 404 as if it did not exist. Admins act on
    every schedule. The ownership rule is part of each conditional write, not a separate
    read, so a change is one UpdateItem and one Publish."""

    def __init__(
        self,
        repository: ScheduleRepository,
        publisher: CommandPublisher,
        custom_target_prefix: str,
        deleted_ttl_days: int = 7,
        region: str | None = None,
        account_id: Callable[[], str] | None = None,
        max_schedules_per_owner: int | None = None,
        clock: Clock = system_clock,
        calendars: CalendarUsers | None = None,
    ):
        self._repository = repository
        self._clock = clock
        self._publisher = publisher
        self._calendars = calendars
        self._custom_target_prefix = custom_target_prefix
        self._deleted_ttl_days = deleted_ttl_days
        self._region = region
        self._account_id = account_id
        self._max_per_owner = max_schedules_per_owner

    def create(
        self,
        definition: ScheduleDefinition,
        caller: Caller,
        idempotency_key: str | None = None,
        template: TemplateUse | None = None,
    ) -> Schedule:
        """Write a pending record and publish a create command (``template``: the template
        use that made ``definition``, kept on the record).

        With an idempotency key the id is derived from (owner, key): a retried request
        finds its own record, re-publishes if still pending, and gets the same answer; the
        same key with a different definition is a conflict. Keys of different owners never
        meet. An owner at the cap of live schedules gets ``TooManySchedules``."""
        self._check(definition)
        created_by = caller.principal
        schedule_id = derived_id(created_by, idempotency_key) if idempotency_key else new_id()
        with self._referring(created_by, definition, schedule_id):
            return self._create(schedule_id, definition, caller, idempotency_key, template)

    def _create(
        self, schedule_id: str, definition: ScheduleDefinition, caller: Caller, idempotency_key: str | None,
        template: TemplateUse | None,
    ) -> Schedule:
        created_by = caller.principal
        now = iso(self._clock())
        request_id = str(uuid.uuid4())
        schedule = Schedule(
            id=schedule_id,
            definition=definition,
            status=ScheduleStatus.PENDING,
            pending_action=Action.CREATE,
            created_by=created_by,
            created_date=now,
            updated_date=now,
            idempotency_key=idempotency_key,
            last_change=LastChange(action=Action.CREATE.value, by=created_by, at=now, version=1),
            template=template,
        )
        try:
            self._repository.create(schedule, request_id=request_id, cap=self._max_per_owner)
        except RecordExists as exc:
            existing = exc.existing
            if existing is None or existing.created_by != created_by or existing.definition != definition:
                raise Conflict(
                    "Idempotency-Key was already used for a different schedule definition"
                ) from None
            if existing.status is ScheduleStatus.PENDING:
                self._publish(existing, existing.pending_action or Action.CREATE, caller)
            return existing
        except OwnerAtCap as exc:
            raise TooManySchedules(
                f"{caller.name} already has {exc.cap} schedules, the most one owner may have; "
                "delete some before creating more"
            ) from None
        self._publish(schedule, Action.CREATE, caller, request_id)
        return schedule

    def get(self, schedule_id: str, caller: Caller) -> Schedule:
        """The record, if ``caller`` may see it (its owner, or an admin); else 404. Every
        route about one schedule reads it through here."""
        schedule = self._repository.get(schedule_id)
        if schedule is None or not caller.may_act_on(schedule.created_by):
            raise NotFound(f"schedule {schedule_id} does not exist")
        return schedule

    def list(
        self,
        caller: Caller,
        status: ScheduleStatus | None = None,
        created_by: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        labels: dict[str, str] | None = None,
        template: str | None = None,
    ) -> Page:
        """The caller's own schedules, newest first; admins see every owner's, or one
        owner's with ``created_by``; anyone else may name only themselves. With
        ``labels``, only the schedules carrying every one of them."""
        if created_by is not None and not created_by.strip():
            raise ValidationError("must not be empty", field="created_by")
        if not caller.is_admin:
            if created_by is not None and created_by != caller.principal:
                raise ValidationError(
                    "only admins may list another owner's schedules", field="created_by"
                )
            created_by = caller.principal
        if labels:
            return self._repository.list_by_label(labels, limit, cursor, created_by, status)
        if template is not None:
            # a template is its owner's: without created_by, an admin lists what their own made
            created_by = created_by or caller.principal
            return self._repository.list_by_template(created_by, template, limit, cursor)
        if created_by is not None:
            return self._repository.list_by_creator(created_by, limit, cursor, status)
        if status is None:
            return self._repository.list_live(limit, cursor)
        return self._repository.list_by_status(status, limit, cursor)

    def update(
        self, schedule_id: str, definition: ScheduleDefinition, caller: Caller,
        expected_version: int | None = None, template: TemplateUse | None = None,
    ) -> Schedule:
        """Replace the definition (PUT semantics), and the template it was made from (None:
        none any more). A start date in the past is accepted only if it is the one stored
        (the write's condition checks that)."""
        start_passed = self._check(definition, start_may_be_stored=True)
        owner = caller.principal
        if definition.exclude_calendars and caller.is_admin:
            owner = self.get(schedule_id, caller).created_by  # the calendars are the schedule owner's
        with self._referring(owner, definition, schedule_id):
            return self._change(
                schedule_id, Action.UPDATE, caller, expected_version,
                definition=definition, start_date_unchanged=start_passed, template=template,
            )

    # ``request_id`` (all three): the write's token, when the caller derives one so that a
    # repeated request finds its own earlier write (a bulk call's Idempotency-Key).
    def pause(
        self, schedule_id: str, caller: Caller, expected_version: int | None = None,
        reason: str | None = None, request_id: str | None = None,
    ) -> Schedule:
        return self._change(
            schedule_id, Action.PAUSE, caller, expected_version, state=ScheduleState.DISABLED,
            reason=reason, request_id=request_id, marks={"snoozed_until": None},  # a pause ends a snooze
        )

    def resume(
        self, schedule_id: str, caller: Caller, expected_version: int | None = None, request_id: str | None = None
    ) -> Schedule:
        """Resume a paused schedule, or end a snooze now."""
        return self._change(
            schedule_id, Action.RESUME, caller, expected_version, state=ScheduleState.ENABLED,
            request_id=request_id, marks={"snoozed_until": None},
        )

    def snooze(self, schedule_id: str, until: datetime, caller: Caller, expected_version: int | None = None) -> Schedule:
        """A pause that resumes itself at ``until``: the schedule stays (or becomes) enabled
        and its EventBridge StartDate becomes ``until`` (``scheduler.snooze_start``), so AWS
        holds every slot before it and resumes on time with no tick of ours."""
        now = self._clock()
        if until <= now:
            raise ValidationError("must be in the future", field="until")
        if until > now + MAX_SNOOZE:
            raise ValidationError("must be at most 366 days ahead (pause the schedule instead)", field="until")
        schedule = self.get(schedule_id, caller)
        if expressions.parse_expression(schedule.definition.schedule_expression).kind == "at":
            raise ValidationError("a one-time at() schedule cannot be snoozed (AWS ignores its StartDate): "
                                  "pause it or change its time", field="until")
        return self._change(
            schedule_id, Action.UPDATE, caller, expected_version, state=ScheduleState.ENABLED,
            reason=f"until {iso(until)}", note_action="snooze", marks={"snoozed_until": iso(until)},
        )

    def skip(self, schedule_id: str, request: SkipRequest, caller: Caller,
             expected_version: int | None = None) -> Schedule:
        """Skip the next ``count`` slots (from now, or from the end of a snooze) or the slots
        before ``until``: they show as skipped (``requested``) in the plan and the target
        records them skipped when they fire. It goes through the command path like any
        change, so the EventBridge schedule's Input names the new version."""
        schedule = self.get(schedule_id, caller)
        now = self._clock()
        if request.until is not None:
            if request.until <= now:
                raise ValidationError("must be in the future", field="until")
            until, reason = request.until, f"the slots before {iso(request.until)}"
        else:
            count = request.count or 1
            slots = self._slots_after(schedule, now, count)
            if not slots:
                raise ValidationError("the schedule has no slot left to skip", field="count")
            until = slots[-1] + timedelta(seconds=1)
            reason = f"the next {count} slot(s), through {iso(slots[-1])}"
        skip = RequestedSkip(until=iso(until), count=request.count, by=caller.principal, at=iso(now))
        return self._change(schedule_id, Action.UPDATE, caller, expected_version, reason=reason,
                            note_action="skip", marks={"skip": skip})

    def unskip(self, schedule_id: str, caller: Caller, expected_version: int | None = None) -> Schedule:
        """Undo a requested skip (the slots it held run again)."""
        schedule = self.get(schedule_id, caller)
        if schedule.skip is None:
            return schedule
        return self._change(schedule_id, Action.UPDATE, caller, expected_version, note_action="unskip",
                            marks={"skip": None})

    def _slots_after(self, schedule: Schedule, now: datetime, count: int) -> builtins.list[datetime]:
        """The next ``count`` slots of the plan after ``now`` (and after a snooze)."""
        definition = schedule.definition
        after = now
        if schedule.snoozed_until and parse_iso(schedule.snoozed_until) > now:
            after = parse_iso(schedule.snoozed_until) - timedelta(microseconds=1)
        try:
            fires = expressions.next_fires(
                definition.schedule_expression, definition.timezone, after, count,
                start=definition.start_date or parse_iso(schedule.created_date), end=definition.end_date,
            )
        except ValidationError:
            return []
        return [fire.replace(microsecond=0) for fire in fires]

    @contextmanager
    def _referring(self, owner: str, definition: ScheduleDefinition, schedule_id: str) -> Iterator[None]:
        """Note the schedule on each calendar it names (a 400 for one that does not exist)
        before its write, and take that back when the write fails."""
        if not definition.exclude_calendars:
            yield
            return
        if self._calendars is None:
            raise ValidationError("calendars are not available here", field="exclude_calendars")
        added = self._calendars.refer(owner, definition.exclude_calendars, schedule_id)
        try:
            yield
        except Exception:
            self._calendars.release(owner, added, schedule_id)
            raise

    def delete(
        self, schedule_id: str, caller: Caller, expected_version: int | None = None, request_id: str | None = None
    ) -> Schedule:
        """Ask for deletion. Deleting a deleted schedule is not an error: it answers the
        record as it is."""
        return self._change(schedule_id, Action.DELETE, caller, expected_version, request_id=request_id)

    def list_executions(self, schedule_id: str, caller: Caller, limit: int, cursor: str | None) -> Page:
        self.get(schedule_id, caller)
        return self._repository.list_executions(schedule_id, limit, cursor)

    def next_fire_times(
        self, schedule: Schedule, count: int = NEXT_FIRES_SHOWN, excluded: Exclusions = NO_EXCLUSIONS,
    ) -> tuple[builtins.list[str], builtins.list[dict[str, str]]] | None:
        """The next fire times of an active schedule that run, and the slots before the last
        of them that do not (``excluded`` says which; None for any other status)."""
        if schedule.status is not ScheduleStatus.ACTIVE:
            return None
        definition = schedule.definition
        start = definition.start_date or parse_iso(schedule.created_date)
        try:
            fires = expressions.next_fires(
                definition.schedule_expression, definition.timezone, self._clock(),
                count + (PLAN_LOOKAHEAD if excluded else 0), start=start, end=definition.end_date,
            )
        except ValidationError:
            return None  # a record stored under older rules: show it without a forecast
        return plan(fires, excluded, count)

    # --- internals ------------------------------------------------------------------

    def _change(
        self,
        schedule_id: str,
        action: Action,
        caller: Caller,
        expected_version: int | None,
        definition: ScheduleDefinition | None = None,
        state: ScheduleState | None = None,
        start_date_unchanged: bool = False,
        reason: str | None = None,
        request_id: str | None = None,
        template: TemplateUse | None = None,
        marks: dict[str, Any] | None = None,
        note_action: str | None = None,
    ) -> Schedule:
        """One conditional write, then the command. When the write's condition fails, the
        record as it was (returned by the same call) says why: not there or not the
        caller's (404), deleted (409; a DELETE answers it as it is), another version (409
        VersionConflict), a start date in the past that is not the stored one (400)."""
        request_id = request_id or str(uuid.uuid4())
        result = self._repository.change(
            schedule_id, action, request_id,
            owner=None if caller.is_admin else caller.principal,
            expected_version=expected_version,
            definition=definition,
            state=state,
            start_date_unchanged=start_date_unchanged,
            template=template,
            note=LastChange(action=note_action or action.value, by=caller.principal, at=iso(self._clock()),
                            reason=reason),
            marks=marks,
        )
        current = result.schedule
        if result.applied and current is not None:
            self._publish(current, action, caller, request_id)
            return current
        if current is None or not caller.may_act_on(current.created_by):
            raise NotFound(f"schedule {schedule_id} does not exist")
        if current.is_deleted:
            if action is not Action.DELETE:
                raise Conflict(f"schedule {schedule_id} is deleted")
            if current.status is not ScheduleStatus.DELETED:
                self._publish(current, Action.DELETE, caller)
            return current
        if expected_version is not None and expected_version != current.version:
            raise VersionConflict(
                f"schedule {schedule_id} is at version {current.version}, not {expected_version}"
            )
        if definition is not None and start_date_unchanged and (
            current.definition.start_date != definition.start_date
        ):
            raise ValidationError(
                "must not be more than 5 minutes in the past (EventBridge Scheduler rejects it)",
                field="start_date",
            )
        raise VersionConflict(f"schedule {schedule_id} changed while it was written; retry")

    def _publish(
        self, schedule: Schedule, action: Action, caller: Caller, request_id: str | None = None
    ) -> None:
        """Publish the command. The record is already written, so a failure here does not
        fail the request: the next reconcile finishes a record left pending."""
        try:
            self._publish_command(schedule, action, caller, request_id)
        except ServiceError as exc:
            logger.warning(
                "command %s for schedule %s not published (%s); reconcile will finish it",
                action.value, schedule.id, exc.message,
            )

    def _publish_command(
        self, schedule: Schedule, action: Action, caller: Caller, request_id: str | None = None
    ) -> None:
        self._publisher.publish_command(
            ScheduleCommand(
                action=action,
                schedule_id=schedule.id,
                request_id=request_id or str(uuid.uuid4()),
                requested_by=caller.principal,
                requested_at=self._clock(),
                version=schedule.version,
            )
        )

    def _check(self, definition: ScheduleDefinition, start_may_be_stored: bool = False) -> bool:
        """Rules that depend on the stage or on the clock (the model checks the rest).
        Answers whether the start date has passed: an update may keep a passed start date
        only if it is the stored one, which its write's condition checks."""
        self._check_target(definition)
        now = self._clock()
        if expressions.parse_expression(definition.schedule_expression).kind == "at":
            # AWS ignores StartDate and EndDate for one-time schedules
            if not has_fires_left(definition, now):
                raise ValidationError(
                    "an at() time must be in the future (a one-time schedule whose time has passed never fires)",
                    field="schedule_expression",
                )
            return False
        start_passed = bool(definition.start_date and definition.start_date < now - START_DATE_GRACE)
        if start_passed and not start_may_be_stored:
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
        return start_passed

    def _check_target(self, definition: ScheduleDefinition) -> None:
        """A custom target is this stage's own: named with the stage's prefix (stage names
        hold no '-', so no other stage's prefix covers it), in the stage's partition, region
        and account (checked before anything is written; the IAM policy grants the same)."""
        if not definition.target_arn:
            return
        target = parse_custom_target(definition.target_arn)
        problem = None
        partition = partition_of(self._region or DEFAULT_REGION)
        if not target.name.startswith(self._custom_target_prefix):
            problem = f"the target's name must start with '{self._custom_target_prefix}'"
        elif target.partition != partition:
            problem = f"must be in this stage's partition {partition}, not {target.partition}"
        elif self._region is not None and target.region != self._region:
            problem = f"must be in this stage's region {self._region}, not {target.region}"
        elif self._account_id is not None and target.account != self._account_id():
            problem = "must be in this stage's own AWS account"
        if problem:
            raise ValidationError(problem, field="target_arn")


def changed_fields(before: ScheduleDefinition, after: ScheduleDefinition) -> list[str]:
    """The definition's fields that differ, by name."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return sorted(key for key in new if old.get(key) != new.get(key))


class CommandHandler:
    """Converges EventBridge Scheduler to the records, one schedule per command."""

    def __init__(
        self,
        repository: ScheduleRepository,
        gateway: SchedulerGateway,
        deleted_ttl_days: int = 7,
        backoff: ErrorBackoff | None = None,
        recorder: ChangeRecorder | None = None,
        clock: Clock = system_clock,
    ):
        self._repository = repository
        self._clock = clock
        self._gateway = gateway
        self._deleted_ttl_days = deleted_ttl_days
        self._backoff = backoff or ErrorBackoff()
        self._recorder = recorder

    def handle(self, command: ScheduleCommand) -> Schedule | None:
        return self.handle_id(command.schedule_id)

    def handle_id(self, schedule_id: str) -> Schedule | None:
        schedule = self._repository.get(schedule_id)
        if schedule is None:
            logger.warning("no record for schedule %s; nothing to do", schedule_id)
            return None
        return self.converge(schedule)

    def converge(self, schedule: Schedule, rounds: int = MAX_CONVERGE_ROUNDS) -> Schedule | None:
        """Apply the record's pending action, if any. Transient AWS failures propagate (the
        event is retried); rejections put the record in ``error``, keeping the pending
        action, with the time the reconcile tries it again (``chalicelib.backoff``). After
        the write the schedule is read back once: its modification marker, stored with the
        record, lets the reconcile skip reading it while nothing changes. None when the
        record disappeared while it was being applied."""
        if schedule.pending_action is None:
            return schedule  # already applied: a redelivery
        try:
            if schedule.pending_action is Action.DELETE:
                self._gateway.delete(schedule.id)
                try:
                    return self._repository.mark_deleted(
                        schedule, self._deleted_ttl_days, also=self._steps(schedule, ScheduleStatus.DELETED))
                except VersionConflict:
                    return self._reassert(schedule.id, rounds - 1)
            arn = self._apply(schedule)
        except UpstreamRejected as exc:
            logger.error("AWS rejected schedule %s: %s", schedule.id, exc.message)
            failures, retry_at = self._backoff.next_retry(exc, schedule.error_retries, self._clock())
            return self._settle(
                schedule, ScheduleStatus.ERROR, rounds, last_error=exc.message,
                pending_action=schedule.pending_action, error_retries=failures, next_retry_at=retry_at,
            )
        status = (
            ScheduleStatus.PAUSED
            if schedule.desired_state is ScheduleState.DISABLED
            else ScheduleStatus.ACTIVE if has_fires_left(schedule, self._clock()) else ScheduleStatus.COMPLETED
        )
        return self._settle(
            schedule, status, rounds, also=self._steps(schedule, status), eventbridge_arn=arn,
            eventbridge_modified=self._marker(schedule), error_retries=0, next_retry_at=None,
            applied=definition_digest(schedule.definition),
        )

    def _marker(self, schedule: Schedule) -> str | None:
        """The schedule's modification marker if it now matches the record; a failed read
        only costs the reconcile one read later."""
        try:
            return self._gateway.confirm(schedule)
        except ServiceError as exc:
            logger.warning("schedule %s applied but not read back: %s", schedule.id, exc.message)
            return None

    def _steps(self, schedule: Schedule, status: ScheduleStatus) -> list[dict[str, Any]] | None:
        """Written in the same transaction as the settled record: the history entry of the
        change being applied and the alert sweep's watch (kept for an active schedule). A
        redelivered command writes the same items again."""
        if self._recorder is None:
            return None
        change = schedule.last_change
        noted = schedule
        if change is not None and change.version in (None, schedule.version):
            # the note was written with the version it describes, in one write
            digest = definition_digest(schedule.definition)
            applied = schedule.applied
            noted = schedule.model_copy(update={"last_change": change.model_copy(update={
                "version": schedule.version,
                "fields": sorted(f for f in digest if applied and applied.get(f) != digest[f]) or change.fields,
                "previous_state": ScheduleState(applied["state"].strip('"')) if applied.get("state") else None,
            })})
        elif change is not None:
            noted = schedule.model_copy(update={"last_change": None})
        expires = expires_after(self._clock, self._deleted_ttl_days) if status is ScheduleStatus.DELETED else None
        return self._recorder.change_steps(noted, status is ScheduleStatus.ACTIVE, self._clock(), expires)

    def complete(self, schedule: Schedule) -> Schedule | None:
        """Show an active schedule that can never fire again as ``completed`` (its version
        stays: nothing the user wrote changed). A record changed meanwhile is left to its
        own command."""
        if schedule.status is not ScheduleStatus.ACTIVE or has_fires_left(schedule, self._clock()):
            return schedule
        try:
            return self._repository.update(
                schedule.model_copy(update={"status": ScheduleStatus.COMPLETED, "updated_date": iso(self._clock())}),
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

    def _settle(self, schedule: Schedule, status: ScheduleStatus, rounds: int,
                also: list[dict[str, Any]] | None = None, **changes: Any) -> Schedule | None:
        settled = schedule.model_copy(
            update={
                "status": status,
                "pending_action": None,
                "last_error": None,
                "updated_date": iso(self._clock()),
                **changes,
            }
        )
        try:
            # the version stays: settling applies the version the user wrote
            return self._repository.update(settled, expected_version=schedule.version, also=also)
        except VersionConflict:
            return self._reassert(schedule.id, rounds - 1)

    def reassert(self, schedule_id: str) -> Schedule | None:
        """Apply the current record again (after another writer's stale write to the
        cloud may have landed last)."""
        return self._reassert(schedule_id, MAX_CONVERGE_ROUNDS)

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

