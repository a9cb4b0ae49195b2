"""Schedule records in DynamoDB, behind a small interface.

One table holds two kinds of item, both keyed by ``id``:
- schedule records: ``id`` = the schedule id; queried by status through
  ``status-created_date-index`` and by creator through ``created_by-index``;
- execution records: ``id`` = ``<schedule id>#execution#<execution id>``, with
  ``status`` = ``execution#<schedule id>`` and ``created_date`` = the scheduled time, so a
  schedule's executions are one query on the status index, newest first.
No request path scans the table.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any, Iterable, Protocol

from botocore.exceptions import ClientError

from chalicelib.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    ServiceError,
    UpstreamRejected,
    ValidationError,
    VersionConflict,
)
from chalicelib.aws_errors import error_code, translate
from chalicelib.names import CREATOR_INDEX, STATUS_INDEX
from chalicelib.models import (
    ExecutionOutcome,
    ExecutionRecord,
    Schedule,
    ScheduleDefinition,
    ScheduleStatus,
    iso,
    utcnow,
)

EXECUTION_PREFIX = "execution#"
MAX_CURSOR_LENGTH = 4096
# Longer than the target function's timeout: a run "started" this long ago has died.
STALE_EXECUTION = timedelta(minutes=5)
LISTED_BY_DEFAULT = (
    ScheduleStatus.PENDING,
    ScheduleStatus.ACTIVE,
    ScheduleStatus.PAUSED,
    ScheduleStatus.ERROR,
    ScheduleStatus.COMPLETED,
)


class Page(list):
    """A page of results plus the cursor of the next page (None on the last)."""

    def __init__(self, items: Iterable = (), cursor: str | None = None):
        super().__init__(items)
        self.cursor = cursor


class ScheduleRepository(Protocol):
    def create(self, schedule: Schedule) -> None: ...
    def get(self, schedule_id: str) -> Schedule | None: ...
    def update(self, schedule: Schedule, expected_version: int) -> Schedule: ...
    def mark_deleted(self, schedule: Schedule, ttl_days: int) -> Schedule: ...
    def list_by_status(
        self, status: ScheduleStatus | None, limit: int, cursor: str | None = None
    ) -> Page: ...
    def list_by_creator(
        self, created_by: str, limit: int, cursor: str | None = None, status: ScheduleStatus | None = None
    ) -> Page: ...
    def start_execution(self, record: ExecutionRecord, ttl_days: int) -> bool: ...
    def finish_execution(self, record: ExecutionRecord) -> None: ...
    def list_executions(self, schedule_id: str, limit: int, cursor: str | None = None) -> Page: ...


def encode_cursor(state: Any) -> str:
    raw = json.dumps(state, separators=(",", ":"), default=_decimal).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValidationError("is not a cursor this service issued", field="cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ValidationError("is not a cursor this service issued", field="cursor") from None


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: make them ints again."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return _decimal(value)
    return value


def execution_item_id(schedule_id: str, execution_id: str) -> str:
    return f"{schedule_id}#{EXECUTION_PREFIX}{execution_id}"


class DynamoDBScheduleRepository:
    """The DynamoDB implementation; receives its ``Table`` resource."""

    def __init__(self, table: Any):
        self._table = table

    # --- schedule records -------------------------------------------------------------

    def create(self, schedule: Schedule) -> None:
        try:
            self._table.put_item(
                Item=self._to_item(schedule),
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise AlreadyExists(f"schedule {schedule.id} already exists") from exc
            raise _upstream(exc) from exc

    def get(self, schedule_id: str) -> Schedule | None:
        try:
            item = self._table.get_item(Key={"id": schedule_id}, ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise _upstream(exc) from exc
        if not item or item.get("record_type", "schedule") != "schedule":
            return None
        return self._from_item(item)

    def update(self, schedule: Schedule, expected_version: int) -> Schedule:
        """Write every field of ``schedule`` except the execution summary, only if the
        stored version is still ``expected_version``."""
        item = self._to_item(schedule)
        item.pop("id")
        item.pop("executions", None)
        names, values, sets, removes = {}, {":expected": expected_version}, [], []
        for index, field in enumerate(_RECORD_FIELDS):
            if field in ("id", "executions"):
                continue
            names[f"#f{index}"] = field
            if field in item:
                values[f":v{index}"] = item[field]
                sets.append(f"#f{index} = :v{index}")
            else:
                removes.append(f"#f{index}")
        expression = "SET " + ", ".join(sets)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        names["#version"] = "version"
        try:
            result = self._table.update_item(
                Key={"id": schedule.id},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(id) AND #version = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(
                    f"schedule {schedule.id} changed since version {expected_version}; "
                    "read it again and retry"
                ) from exc
            raise _upstream(exc) from exc
        return self._from_item(result["Attributes"])

    def mark_deleted(self, schedule: Schedule, ttl_days: int) -> Schedule:
        deleted = schedule.model_copy(
            update={
                "status": ScheduleStatus.DELETED,
                "pending_action": None,
                "updated_date": iso(utcnow()),
                "ttl": int(time.time()) + ttl_days * 86400,
                "version": schedule.version + 1,
            }
        )
        return self.update(deleted, expected_version=schedule.version)

    def note_drift(self, schedule_id: str, notes: list[str], arn: str, expected_version: int) -> bool:
        """Remember on the record which drift was repaired, and when; only these fields are
        written, and only if the record is still at ``expected_version``."""
        try:
            self._table.update_item(
                Key={"id": schedule_id},
                UpdateExpression="SET last_drift = :notes, last_drift_repaired_at = :at, eventbridge_arn = :arn",
                ConditionExpression="attribute_exists(id) AND #version = :expected",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={
                    ":notes": notes, ":at": iso(utcnow()), ":arn": arn, ":expected": expected_version,
                },
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False  # changed meanwhile: its own command converges it
            raise _upstream(exc) from exc

    def list_by_status(
        self, status: ScheduleStatus | None, limit: int, cursor: str | None = None
    ) -> Page:
        """Newest first. With no status: every status but ``deleted``, merged."""
        if status is not None:
            return self._query_page(STATUS_INDEX, "status", status.value, limit, cursor)
        return self._merged_page(LISTED_BY_DEFAULT, limit, cursor)

    def list_by_creator(
        self, created_by: str, limit: int, cursor: str | None = None, status: ScheduleStatus | None = None
    ) -> Page:
        """Newest first; every status but ``deleted`` unless one is named."""
        return self._query_page(CREATOR_INDEX, "created_by", created_by, limit, cursor, status=status)

    def iter_by_status(self, status: ScheduleStatus) -> Iterable[Schedule]:
        """Every record with ``status`` (for the reconciler), page by page."""
        cursor = None
        while True:
            page = self._query_page(STATUS_INDEX, "status", status.value, 100, cursor)
            yield from page
            if not page.cursor:
                return
            cursor = page.cursor

    # --- execution records ----------------------------------------------------------

    def start_execution(self, record: ExecutionRecord, ttl_days: int) -> bool:
        """Claim this execution id. False when it is already claimed: it succeeded, or a run
        started less than ``STALE_EXECUTION`` ago is still going (a duplicate delivery).
        A failed run, or one that started long ago and never finished (its function timed
        out), is claimed again, whatever attempt number the retry carries: Lambda's own
        retries of an asynchronous invoke resend the same event."""
        item = {
            "id": execution_item_id(record.schedule_id, record.execution_id),
            "record_type": "execution",
            "status": EXECUTION_PREFIX + record.schedule_id,
            "created_date": record.scheduled_time,
            "ttl": int(time.time()) + ttl_days * 86400,
            **record.model_dump(mode="json", exclude_none=True),
        }
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression=(
                    "attribute_not_exists(id) OR outcome = :failed OR "
                    "(outcome = :started AND started_at < :stale)"
                ),
                ExpressionAttributeValues={
                    ":failed": ExecutionOutcome.FAILED.value,
                    ":started": ExecutionOutcome.STARTED.value,
                    ":stale": iso(utcnow() - STALE_EXECUTION),
                },
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise _upstream(exc) from exc

    def finish_execution(self, record: ExecutionRecord) -> None:
        """Store the outcome and fold it into the schedule's execution summary."""
        try:
            self._table.update_item(
                Key={"id": execution_item_id(record.schedule_id, record.execution_id)},
                UpdateExpression="SET outcome = :o, duration_ms = :d"
                + (", #err = :e" if record.error else " REMOVE #err"),
                ExpressionAttributeNames={"#err": "error"},
                ExpressionAttributeValues={
                    ":o": record.outcome.value,
                    ":d": record.duration_ms or 0,
                    **({":e": record.error} if record.error else {}),
                },
            )
            failed = 1 if record.outcome is ExecutionOutcome.FAILED else 0
            self._table.update_item(
                Key={"id": record.schedule_id},
                UpdateExpression=(
                    "SET #x.#total = if_not_exists(#x.#total, :zero) + :one, "
                    "#x.#failed = if_not_exists(#x.#failed, :zero) + :failed, "
                    "#x.#last_id = :id, #x.#last_time = :t, #x.#last_outcome = :o"
                ),
                ExpressionAttributeNames={
                    "#x": "executions",
                    "#total": "total",
                    "#failed": "failed",
                    "#last_id": "last_execution_id",
                    "#last_time": "last_scheduled_time",
                    "#last_outcome": "last_outcome",
                },
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeValues={
                    ":zero": 0,
                    ":one": 1,
                    ":failed": failed,
                    ":id": record.execution_id,
                    ":t": record.scheduled_time,
                    ":o": record.outcome.value,
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return  # the schedule record expired: the execution record stands alone
            raise _upstream(exc) from exc

    def list_executions(self, schedule_id: str, limit: int, cursor: str | None = None) -> Page:
        page = self._query_page(
            STATUS_INDEX, "status", EXECUTION_PREFIX + schedule_id, limit, cursor, raw=True
        )
        return Page([ExecutionRecord.model_validate(item) for item in page], page.cursor)

    # --- internals ----------------------------------------------------------------

    def _query_page(
        self,
        index: str,
        key: str,
        value: str,
        limit: int,
        cursor: str | None,
        raw: bool = False,
        status: ScheduleStatus | None = None,
    ) -> Page:
        start = _start_key(decode_cursor(cursor), key) if cursor else None
        items, last_key = self._query(index, key, value, limit, start, status)
        converted = items if raw else [self._from_item(item) for item in items]
        return Page(converted, encode_cursor(last_key) if last_key else None)

    def _query(
        self,
        index: str,
        key: str,
        value: str,
        limit: int,
        start: dict | None,
        status: ScheduleStatus | None = None,
    ) -> tuple[list[dict], dict | None]:
        """Up to ``limit`` items newest first, and the key to continue from (None when
        nothing is left: one item more than asked for is read to know)."""
        want = limit + 1
        request: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {":v": value},
            "ScanIndexForward": False,
            "Limit": want,
        }
        if key == "created_by":
            # the creator index holds only schedule records: filter by status there
            request["ExpressionAttributeNames"]["#s"] = "status"
            if status is None:
                request["FilterExpression"] = "#s <> :deleted"
                request["ExpressionAttributeValues"][":deleted"] = ScheduleStatus.DELETED.value
            else:
                request["FilterExpression"] = "#s = :status"
                request["ExpressionAttributeValues"][":status"] = status.value
        items: list[dict] = []
        try:
            while True:
                if start:
                    request["ExclusiveStartKey"] = start
                response = self._table.query(**request)
                items.extend(_plain(item) for item in response.get("Items", []))
                start = response.get("LastEvaluatedKey")
                if len(items) >= want or not start:
                    break
                request["Limit"] = want - len(items)
        except ClientError as exc:
            if error_code(exc) == "ValidationException" and "ExclusiveStartKey" in request:
                raise ValidationError("is not a cursor for this listing", field="cursor") from exc
            raise _upstream(exc) from exc
        if len(items) <= limit:
            return items, None
        items = items[:limit]
        return items, _index_key(items[-1], key)

    def _merged_page(self, statuses: Iterable[ScheduleStatus], limit: int, cursor: str | None) -> Page:
        """Merge several status partitions newest first. The cursor holds, per status, the
        key after the last item returned from it (or ``null`` when it is exhausted)."""
        state = decode_cursor(cursor) if cursor else {s.value: {} for s in statuses}
        if not isinstance(state, dict) or not set(state) <= {s.value for s in statuses}:
            raise ValidationError("is not a cursor for this listing", field="cursor")
        state = {
            status: start if start is None or start == {} else _start_key(start, "status")
            for status, start in state.items()
        }
        candidates: list[tuple[str, str, dict, str]] = []
        exhausted: dict[str, bool] = {}
        for status, start in state.items():
            if start is None:
                continue
            items, last_key = self._query(STATUS_INDEX, "status", status, limit, start or None)
            exhausted[status] = last_key is None
            candidates.extend((item["created_date"], item["id"], item, status) for item in items)
        chosen = heapq.nlargest(limit, candidates, key=lambda c: (c[0], c[1]))
        next_state: dict[str, Any] = {}
        for status, start in state.items():
            if start is None:
                continue
            taken = [c for c in chosen if c[3] == status]
            fetched = [c for c in candidates if c[3] == status]
            if taken:
                next_state[status] = _index_key(taken[-1][2], "status")
                if exhausted[status] and len(taken) == len(fetched):
                    next_state[status] = None
            else:
                next_state[status] = None if exhausted[status] and not fetched else start
        more = any(value is not None for value in next_state.values())
        page = [self._from_item(c[2]) for c in chosen]
        return Page(page, encode_cursor(next_state) if more and page else None)

    @staticmethod
    def _to_item(schedule: Schedule) -> dict[str, Any]:
        item = schedule.model_dump(mode="json", exclude_none=True, exclude={"definition"})
        item["definition"] = schedule.definition.to_storage()
        item["record_type"] = "schedule"
        return item

    @staticmethod
    def _from_item(item: dict[str, Any]) -> Schedule:
        data = _plain(item)
        data["definition"] = ScheduleDefinition.from_storage(data["definition"])
        return Schedule.model_validate(data)


_RECORD_FIELDS = tuple(Schedule.model_fields) + ("record_type",)


def _upstream(exc: Exception) -> ServiceError:
    """A DynamoDB failure as the caller should see it: a missing table is the service's
    fault, never a 404 of the schedule the client asked for."""
    error = translate(exc, "schedules table")
    if isinstance(error, (NotFound, Conflict)):
        return UpstreamRejected(error.message)
    return error


def _start_key(value: Any, key: str) -> dict:
    """A decoded cursor position, checked: exactly the index's key attributes, as text."""
    expected = {"id", key, "created_date"}
    if not isinstance(value, dict) or set(value) != expected or not all(
        isinstance(part, str) for part in value.values()
    ):
        raise ValidationError("is not a cursor for this listing", field="cursor")
    return value


def _index_key(item: dict, key: str) -> dict:
    return {"id": item["id"], key: item[key], "created_date": item["created_date"]}

