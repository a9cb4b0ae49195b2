"""In-memory implementations of the service's own interfaces, for the fast layer.

Each honours a Protocol the service is written against, with the semantics the DynamoDB
and EventBridge implementations give it:

- ``InMemoryScheduleRepository`` (``chalicelib.repository.ScheduleRepository``): a create
  only into a free id (a retry of the same request succeeds; another request's record is
  ``RecordExists``), the owner's cap of live records, conditional changes (live record, not
  being deleted, owned, at the expected version, the stored start date kept) that answer
  the record as it was when they fail, version-checked settles, newest-first pages with an
  opaque cursor. Runs are recorded by ``chalicelib.runs.RunStore``, not through this
  interface, so the fake lists none.
- ``InMemorySchedulerGateway`` (``chalicelib.scheduler.SchedulerGateway``): one schedule per
  name; create of a taken name is ``AlreadyExists``, update of a missing one ``NotFound``,
  delete of a missing one succeeds; a modification marker per write.
- ``InMemoryPublisher`` (``chalicelib.service.CommandPublisher`` and
  ``chalicelib.runs.MessagePublisher``): keeps what was published until drained.

These are fakes of the service's interfaces, not of any AWS API: the same behavioural tests
run on them and on the AWS implementations on moto (tests/test_service_behaviour.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from chalicelib import cursors
from chalicelib.clock import system_clock
from chalicelib.errors import AlreadyExists, NotFound, ValidationError, VersionConflict
from chalicelib.models import (
    Action,
    LastChange,
    Schedule,
    ScheduleCommand,
    ScheduleDefinition,
    ScheduleState,
    ScheduleStatus,
    TemplateUse,
    iso,
)
from chalicelib.ports import (
    ChangeResult,
    OwnerAtCap,
    Page,
    RecordExists,
)

FAKE_ACCOUNT = "123456789012"
FAKE_REGION = "us-east-1"


class InMemoryScheduleRepository:
    """Schedule records in a dictionary; every read returns a copy."""

    def __init__(self) -> None:
        self._records: dict[str, Schedule] = {}
        self._last_request: dict[str, str] = {}
        self._live_counts: Counter[str] = Counter()

    # --- schedule records -------------------------------------------------------------

    def create(self, schedule: Schedule, request_id: str | None = None, cap: int | None = None) -> None:
        existing = self._records.get(schedule.id)
        if existing is not None:
            if request_id and self._last_request.get(schedule.id) == request_id:
                return  # this request's own write, sent again
            raise RecordExists(f"schedule {schedule.id} already exists", _copy(existing))
        if cap is not None and self._live_counts[schedule.created_by] >= cap:
            raise OwnerAtCap(schedule.created_by, cap)
        self._records[schedule.id] = _copy(schedule)
        if request_id:
            self._last_request[schedule.id] = request_id
        self._live_counts[schedule.created_by] += 1

    def get(self, schedule_id: str) -> Schedule | None:
        record = self._records.get(schedule_id)
        return _copy(record) if record is not None else None

    def change(
        self,
        schedule_id: str,
        action: Action,
        request_id: str,
        *,
        owner: str | None = None,
        expected_version: int | None = None,
        definition: ScheduleDefinition | None = None,
        state: ScheduleState | None = None,
        start_date_unchanged: bool = False,
        note: LastChange | None = None,
        template: TemplateUse | None = None,
        marks: dict | None = None,
    ) -> ChangeResult:
        current = self._records.get(schedule_id)
        if current is None:
            return ChangeResult(False, None)
        allowed = (
            current.status is not ScheduleStatus.DELETED
            and current.pending_action is not Action.DELETE
            and self._last_request.get(schedule_id) != request_id
            and (owner is None or current.created_by == owner)
            and (expected_version is None or current.version == expected_version)
            and not (
                start_date_unchanged and definition is not None
                and current.definition.start_date != definition.start_date
            )
        )
        if not allowed:
            return ChangeResult(self._last_request.get(schedule_id) == request_id, _copy(current))
        new_definition, new_template = current.definition, current.template
        if definition is not None:
            new_definition, new_template = definition, template
        elif state is not None:
            new_definition = current.definition.model_copy(update={"state": state})
        changed = current.model_copy(
            update={
                "status": ScheduleStatus.PENDING,
                "pending_action": action,
                "version": current.version + 1,
                "updated_date": iso(system_clock()),
                "definition": new_definition,
                "last_error": None,
                "last_change": note if note is not None else current.last_change,
                "template": new_template,
                **(marks or {}),
            },
            deep=True,
        )
        self._records[schedule_id] = changed
        self._last_request[schedule_id] = request_id
        return ChangeResult(True, _copy(changed))

    def update(self, schedule: Schedule, expected_version: int, also: list[dict] | None = None) -> Schedule:
        assert not also, "history and watches live in DynamoDB only"
        current = self._records.get(schedule.id)
        if current is None or current.version != expected_version:
            raise _version_conflict(schedule.id, expected_version)
        stored = schedule.model_copy(update={"executions": current.executions}, deep=True)
        self._records[schedule.id] = stored
        return _copy(stored)

    def mark_deleted(self, schedule: Schedule, ttl_days: int, also: list[dict] | None = None) -> Schedule:
        assert not also, "history and watches live in DynamoDB only"
        current = self._records.get(schedule.id)
        if current is None or current.version != schedule.version:
            raise _version_conflict(schedule.id, schedule.version)
        deleted = schedule.model_copy(
            update={
                "status": ScheduleStatus.DELETED,
                "pending_action": None,
                "updated_date": iso(system_clock()),
                "ttl": int(time.time()) + ttl_days * 86400,
                "version": schedule.version + 1,
                "executions": current.executions,
            },
            deep=True,
        )
        self._records[schedule.id] = deleted
        self._live_counts[schedule.created_by] -= 1
        return _copy(deleted)

    def live_count(self, owner: str) -> int:
        return self._live_counts[owner]

    def list_by_status(self, status: ScheduleStatus | None, limit: int, cursor: str | None = None) -> Page:
        if status is None:
            return self.list_live(limit, cursor)
        return self._page(lambda record: record.status is status, limit, cursor)

    def list_by_creator(
        self, created_by: str, limit: int, cursor: str | None = None, status: ScheduleStatus | None = None
    ) -> Page:
        def wanted(record: Schedule) -> bool:
            if record.created_by != created_by:
                return False
            if status is None:
                return record.status is not ScheduleStatus.DELETED
            return record.status is status

        return self._page(wanted, limit, cursor)

    def list_live(self, limit: int, cursor: str | None = None) -> Page:
        return self._page(lambda record: record.status is not ScheduleStatus.DELETED, limit, cursor)

    def list_by_label(
        self, labels: dict[str, str], limit: int, cursor: str | None = None,
        owner: str | None = None, status: ScheduleStatus | None = None,
    ) -> Page:
        def wanted(record: Schedule) -> bool:
            return (
                record.status is not ScheduleStatus.DELETED
                and labels.items() <= record.definition.labels.items()
                and owner in (None, record.created_by)
                and status in (None, record.status)
            )

        return self._page(wanted, limit, cursor)

    def list_by_template(self, owner: str, template: str, limit: int, cursor: str | None = None) -> Page:
        return self._page(
            lambda record: record.created_by == owner and record.status is not ScheduleStatus.DELETED
            and record.template is not None and record.template.name == template,
            limit, cursor,
        )

    def _page(self, wanted: Callable[[Schedule], bool], limit: int, cursor: str | None) -> Page:
        """Newest first (created date, then id); the cursor is the last key returned."""
        ordered = sorted(
            (record for record in self._records.values() if wanted(record)),
            key=lambda record: (record.created_date, record.id),
            reverse=True,
        )
        if cursor:
            after = _cursor_key(cursor)
            ordered = [record for record in ordered if (record.created_date, record.id) < after]
        page = ordered[:limit]
        more = len(ordered) > limit
        next_cursor = cursors.encode({"created_date": page[-1].created_date, "id": page[-1].id}) if more else None
        return Page([_copy(record) for record in page], next_cursor)

    # --- execution records ----------------------------------------------------------

    def list_executions(self, schedule_id: str, limit: int, cursor: str | None = None) -> Page:
        """Runs are recorded by ``chalicelib.runs.RunStore`` in DynamoDB, never here: there are
        none to list, and no cursor is one this listing issued."""
        if cursor:
            raise ValidationError("is not a cursor for this listing", field="cursor")
        return Page([], None)


class InMemorySchedulerGateway:
    """EventBridge Scheduler's schedules of one group, by name, as the gateway sees them."""

    def __init__(self, group_name: str = "schedules", region: str = FAKE_REGION, account: str = FAKE_ACCOUNT):
        self.group_name = group_name
        self._region = region
        self._account = account
        self._schedules: dict[str, dict[str, Any]] = {}
        self._writes = 0
        self.calls: list[tuple[str, str]] = []  # (operation, schedule id), in order

    def create(self, schedule: Schedule, repair: bool = False) -> str:
        self.calls.append(("create", schedule.id))
        if schedule.id in self._schedules:
            raise AlreadyExists(f"Schedule {schedule.id} already exists.")
        return self._write(schedule)

    def update(self, schedule: Schedule) -> str:
        self.calls.append(("update", schedule.id))
        if schedule.id not in self._schedules:
            raise NotFound(f"Schedule {schedule.id} does not exist.")
        return self._write(schedule)

    def get(self, schedule_id: str) -> dict | None:
        self.calls.append(("get", schedule_id))
        stored = self._schedules.get(schedule_id)
        return dict(stored["response"]) if stored else None

    def delete(self, schedule_id: str) -> None:
        self.calls.append(("delete", schedule_id))
        self._schedules.pop(schedule_id, None)

    def list_names(self) -> Iterator[str]:
        yield from sorted(self._schedules)

    def confirm(self, schedule: Schedule) -> str | None:
        stored = self._schedules.get(schedule.id)
        if stored is None or stored["definition"] != schedule.definition:
            return None
        return str(stored["response"]["LastModificationDate"])

    def _write(self, schedule: Schedule) -> str:
        self._writes += 1
        definition = schedule.definition
        arn = f"arn:aws:scheduler:{self._region}:{self._account}:schedule/{self.group_name}/{schedule.id}"
        self._schedules[schedule.id] = {
            "definition": definition.model_copy(deep=True),
            "response": {
                "Arn": arn,
                "Name": schedule.id,
                "GroupName": self.group_name,
                "ScheduleExpression": definition.schedule_expression,
                "ScheduleExpressionTimezone": definition.timezone,
                "State": definition.state.value,
                "LastModificationDate": f"{iso(system_clock())}#{self._writes}",
            },
        }
        return arn


class InMemoryPublisher:
    """Commands and messages, kept in order until drained."""

    def __init__(self) -> None:
        self.commands: list[ScheduleCommand] = []
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def publish_command(self, command: ScheduleCommand) -> None:
        self.commands.append(command.model_copy(deep=True))

    def publish(self, target_arn: str, message: dict[str, Any], attributes: dict[str, Any] | None = None) -> None:
        self.messages.append((target_arn, dict(message)))

    def drain_commands(self) -> list[ScheduleCommand]:
        commands, self.commands = self.commands, []
        return commands

    def drain_messages(self, target_arn: str) -> list[dict[str, Any]]:
        """The messages published to ``target_arn`` since the last drain, oldest first."""
        drained = [message for arn, message in self.messages if arn == target_arn]
        self.messages = [(arn, message) for arn, message in self.messages if arn != target_arn]
        return drained


def _copy(record: Schedule) -> Schedule:
    return record.model_copy(deep=True)


def _cursor_key(cursor: str) -> tuple[str, str]:
    state = cursors.decode(cursor)
    if not isinstance(state, dict) or not isinstance(state.get("created_date"), str) or not isinstance(state.get("id"), str):
        raise ValidationError("is not a cursor for this listing", field="cursor")
    return state["created_date"], state["id"]


def _version_conflict(schedule_id: str, expected_version: int) -> VersionConflict:
    return VersionConflict(f"schedule {schedule_id} is not at version {expected_version}")
