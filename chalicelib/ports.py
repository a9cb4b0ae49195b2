"""The ports: what the domain (the service, the command handler, the run, the reconcile,
the alerts) asks of storage, of EventBridge Scheduler and of the publishers, and the
exceptions those answer with.

The domain imports these names, never the adapters that implement them
(``chalicelib.repository``, ``chalicelib.scheduler``, ``chalicelib.publisher``,
``chalicelib.activity``); ``wiring`` picks the implementations, and the behaviour suite runs
the same tests on in-memory fakes (tests/fakes.py) and on the adapters over moto.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.errors import AlreadyExists, ServiceError
from chalicelib.models import (
    Action,
    ExecutionRecord,
    LastChange,
    Schedule,
    ScheduleCommand,
    ScheduleDefinition,
    ScheduleState,
    ScheduleStatus,
    TemplateUse,
)

# --- the schedule records -------------------------------------------------------------

class RecordExists(AlreadyExists):
    """The id is taken by a write that was not this request's; ``existing`` is that record
    (None when it is not a schedule record)."""

    def __init__(self, message: str, existing: Schedule | None):
        super().__init__(message)
        self.existing = existing


class OwnerAtCap(ServiceError):
    """The owner already has ``cap`` live schedules (the service answers 429)."""

    def __init__(self, owner: str, cap: int):
        super().__init__(f"{owner} owns {cap} live schedules already")
        self.cap = cap


class ChangeResult:
    """The outcome of one conditional change: ``applied`` (by this request, perhaps in an
    earlier attempt whose response was lost) with the record as stored after it, or not
    applied with the record as it was (``None`` when there is no schedule record)."""

    def __init__(self, applied: bool, schedule: Schedule | None):
        self.applied = applied
        self.schedule = schedule


@dataclass(frozen=True)
class ListedRecord:
    """A schedule record as the reconcile lists it: the few fields it plans with."""

    id: str
    status: ScheduleStatus
    version: int | None  # read for pending and error records only
    pending_action: Action | None
    eventbridge_modified: str | None
    next_retry_at: str | None

    @classmethod
    def from_item(cls, item: dict[str, Any], status: ScheduleStatus) -> ListedRecord:
        pending = item.get("pending_action")
        return cls(
            id=item["id"],
            status=status,
            version=int(item["version"]) if "version" in item else None,
            pending_action=Action(pending) if pending else None,
            eventbridge_modified=item.get("eventbridge_modified"),
            next_retry_at=item.get("next_retry_at"),
        )


class Page(list[Any]):
    """A page of results plus the cursor of the next page (None on the last)."""

    def __init__(self, items: Iterable[Any] = (), cursor: str | None = None):
        super().__init__(items)
        self.cursor = cursor


class ScheduleRepository(Protocol):
    def create(self, schedule: Schedule, request_id: str | None = None, cap: int | None = None) -> None: ...
    def get(self, schedule_id: str) -> Schedule | None: ...
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
        marks: dict[str, Any] | None = None,
    ) -> ChangeResult: ...
    def update(self, schedule: Schedule, expected_version: int, also: list[dict[str, Any]] | None = None) -> Schedule: ...
    def mark_deleted(self, schedule: Schedule, ttl_days: int, also: list[dict[str, Any]] | None = None) -> Schedule: ...
    def list_by_status(
        self, status: ScheduleStatus | None, limit: int, cursor: str | None = None
    ) -> Page: ...
    def list_by_creator(
        self, created_by: str, limit: int, cursor: str | None = None, status: ScheduleStatus | None = None
    ) -> Page: ...
    def list_live(self, limit: int, cursor: str | None = None) -> Page: ...
    def list_by_label(
        self, labels: dict[str, str], limit: int, cursor: str | None = None,
        owner: str | None = None, status: ScheduleStatus | None = None,
    ) -> Page: ...
    def list_by_template(self, owner: str, template: str, limit: int, cursor: str | None = None) -> Page: ...
    def list_executions(self, schedule_id: str, limit: int, cursor: str | None = None) -> Page: ...
    # The raw items of one partition (the activity store's history entries).
    def list_partition(self, partition: str, limit: int, cursor: str | None = None) -> Page: ...
    # What the reconciler reads and writes besides the service's calls.
    def iter_listed(self, status: ScheduleStatus, page_size: int | None = None) -> Iterator[ListedRecord]: ...
    def iter_by_status(self, status: ScheduleStatus) -> Iterable[Schedule]: ...
    def note_drift(
        self, schedule_id: str, notes: list[str], arn: str, expected_version: int,
        modified: str | None = None,
    ) -> bool: ...
    def note_applied(self, schedule_id: str, modified: str, expected_version: int) -> bool: ...


# --- EventBridge Scheduler -------------------------------------------------------------

class SchedulerGateway(Protocol):
    def create(self, schedule: Schedule, repair: bool = False) -> str: ...
    def update(self, schedule: Schedule) -> str: ...
    def get(self, schedule_id: str) -> dict[str, Any] | None: ...
    def delete(self, schedule_id: str) -> None: ...
    def list_names(self) -> Iterator[str]: ...
    def confirm(self, schedule: Schedule) -> str | None: ...
    # What the reconciler calls besides the service's calls.
    def request_for(self, schedule: Schedule, now: datetime | None = None) -> dict[str, Any]: ...
    def upsert(self, schedule: Schedule, repair: bool = False) -> str: ...
    def matches(self, schedule: Schedule, observed: dict[str, Any]) -> bool: ...
    def list_schedules(self) -> Iterator[ListedSchedule]: ...


@dataclass(frozen=True)
class ListedSchedule:
    """A schedule as the group's listing (ListSchedules) shows it: its name and when it last
    changed."""

    name: str
    modified: str | None


# --- publishing and the activity the domain writes ---------------------------------------

class CalendarUsers(Protocol):
    """Where a schedule notes the calendars it names (``chalicelib.calendar_store``)."""

    def refer(self, owner: str, names: Iterable[str], schedule_id: str) -> list[str]: ...
    def release(self, owner: str, names: Iterable[str], schedule_id: str) -> None: ...


class CommandPublisher(Protocol):
    def publish_command(self, command: ScheduleCommand) -> None: ...


class MessagePublisher(Protocol):
    def publish(self, target_arn: str, message: dict[str, Any], attributes: dict[str, Any] | None = None) -> None: ...


class ChangeRecorder(Protocol):
    """What the command handler writes with the record it settles (chalicelib.activity)."""

    def change_steps(self, schedule: Schedule, active: bool, now: datetime,
                     expires_at: int | None = None) -> list[dict[str, Any]]: ...


class RunHistory(Protocol):
    """What the timeline reads of a schedule's past (chalicelib.activity.ActivityStore)."""

    def executions_between(self, schedule_id: str, start: datetime, end: datetime) -> list[ExecutionRecord]: ...
    def history_since(self, schedule_id: str, since: datetime) -> list[dict[str, Any]]: ...


class AlertInFlight(Exception):
    """Another sweep holds the claim on this alert and has not published it yet."""


class AlertWatches(Protocol):
    """What the alert sweep and the alerter read and write (chalicelib.activity.ActivityStore):
    the watches, the alert markers, and the runs they judge."""

    def due_watches(self, now: datetime) -> list[dict[str, Any]]: ...
    def get_watch(self, schedule_id: str) -> dict[str, Any] | None: ...
    def advance_watch(self, watch: dict[str, Any], checked_until: str, due: str, failures: int) -> bool: ...
    def unwatch(self, schedule_id: str) -> None: ...
    def claim_alert(self, schedule_id: str, slot: str, kind: str, now: datetime,
                    claim_seconds: int, ttl_days: int) -> str | None: ...
    def settle_alert(self, schedule_id: str, slot: str, kind: str, token: str, published: bool) -> None: ...
    def executions_between(self, schedule_id: str, start: datetime, end: datetime) -> list[ExecutionRecord]: ...


class RunNowMarkers(Protocol):
    """The run-now markers (chalicelib.activity.ActivityStore): one per manual execution."""

    def claim_run(self, schedule: Schedule, execution_id: str, by: str, at: str) -> dict[str, Any] | None: ...
    def find_run(self, schedule_id: str, execution_id: str) -> dict[str, Any] | None: ...
    def release_run(self, schedule_id: str, execution_id: str) -> None: ...


class BackfillLog(Protocol):
    """What a backfill reads of a schedule's past and writes in its history
    (chalicelib.activity.ActivityStore)."""

    def executions_between(self, schedule_id: str, start: datetime, end: datetime) -> list[ExecutionRecord]: ...
    def history_since(self, schedule_id: str, since: datetime) -> list[dict[str, Any]]: ...
    def record_backfill(self, schedule: Schedule, by: str, at: str, reason: str) -> str: ...
    def forget(self, item_id: str) -> None: ...


class RepairLog(Protocol):
    """What the reconcile writes besides the records (chalicelib.activity.ActivityStore):
    the history of a repair, and the watches of active schedules."""

    def record_repair(self, schedule: Schedule, fields: list[str], reason: str, by: str) -> None: ...
    def watched_ids(self) -> set[str]: ...
    def watch(self, schedule_id: str, now: datetime | None = None, due: datetime | None = None) -> None: ...
