"""Schedule records in DynamoDB, behind a small interface.

One table holds two kinds of item, both keyed by ``id``:
- schedule records: ``id`` = the schedule id; queried by status through
  ``status-created_date-index`` and by creator through ``created_by-index``;
- execution records: ``id`` = ``<schedule id>#execution#<execution id>``, with
  ``status`` = ``execution#<schedule id>`` and ``created_date`` = the scheduled time, so a
  schedule's executions are one query on the status index, newest first. The run store
  (``chalicelib.runs``) writes them; the repository lists them.
No request path scans the table. The item helpers (``execution_item_id``, ``plain_value``,
``plain_item``, ``schedule_from_item``) and ``upstream_error`` are shared with the run and
activity stores, which use the same table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from chalicelib import cursors
from chalicelib.aws_errors import error_code, translate
from chalicelib.clock import Clock, expires_after, system_clock
from chalicelib.errors import (
    Conflict,
    NotFound,
    ServiceError,
    UpstreamRejected,
    ValidationError,
    VersionConflict,
)
from chalicelib.models import (
    Action,
    ExecutionRecord,
    LastChange,
    Schedule,
    ScheduleDefinition,
    ScheduleState,
    ScheduleStatus,
    TemplateUse,
    iso,
)
from chalicelib.names import (
    CREATOR_INDEX,
    INDEX_PARTITION,
    LABEL_RANGE,
    LABEL_SLOTS,
    LIVE_INDEX,
    STATUS_INDEX,
    label_index,
    label_slot,
)
from chalicelib.paging import query_items
from chalicelib.ports import ChangeResult, ListedRecord, OwnerAtCap, Page, RecordExists

EXECUTION_PREFIX = "execution#"
# Attributes of a schedule item that only serve its indexes and its writes:
# - ``live``: LIVE_KEY on every record that is not deleted (the sparse live index);
# - ``created_by``: only on records that are not deleted (the creator index stays sparse,
#   so listing by creator never reads through deleted records); ``owner`` always holds it;
# - ``last_request_id``: the token of the last request that changed the record, so a write
#   retried after its response was lost recognises itself.
LIVE_KEY = "live"
# Page sizes from which reading one item ahead (to know a page is the last) stays within
# 1.2 items read per item returned.
LOOKAHEAD_MIN_LIMIT = 5
OWNER_COUNTER_PREFIX = "owner#"


# What the reconcile reads of each record: the fewest attributes (a Query's cost grows with
# what it returns); pending and error records also say what they wait for.
LISTED_FIELDS = ("id", "eventbridge_modified")
WAITING_FIELDS = (*LISTED_FIELDS, "version", "pending_action", "next_retry_at")


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def plain_value(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: make them ints again (through dicts and lists)."""
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_value(item) for item in value]
    if isinstance(value, Decimal):
        return _decimal(value)
    return value


_DESERIALIZER = TypeDeserializer()
_TYPE_KEYS = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}


def plain_item(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """An item as plain values (None when there is none). An item in an error response or a
    transaction's cancellation reasons arrives in DynamoDB's typed JSON; one the ``Table``
    resource returns is deserialized already: both are read here."""
    if not item:
        return None
    typed = all(
        isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _TYPE_KEYS for value in item.values()
    )
    plain: dict[str, Any] = plain_value(
        {key: _DESERIALIZER.deserialize(value) for key, value in item.items()} if typed else item
    )
    return plain


def read_schedule(table: Any, schedule_id: str) -> Schedule | None:
    """The schedule record, read consistently (None: no such record)."""
    try:
        item = table.get_item(Key={"id": schedule_id}, ConsistentRead=True).get("Item")
    except ClientError as exc:
        raise upstream_error(exc) from exc
    if not item or item.get("record_type", "schedule") != "schedule":
        return None
    return schedule_from_item(item)


def schedule_from_item(item: dict[str, Any]) -> Schedule:
    """A schedule record from its item (the definition read as stored)."""
    data = plain_value(item)
    data["definition"] = ScheduleDefinition.from_storage(data["definition"])
    data.setdefault("created_by", data.get("owner"))
    return Schedule.model_validate(data)


def schedule_to_item(schedule: Schedule) -> dict[str, Any]:
    """The item a schedule record is stored as (the inverse of ``schedule_from_item``)."""
    item = schedule.model_dump(mode="json", exclude_none=True, exclude={"definition"})
    item["definition"] = schedule.definition.to_storage()
    item["record_type"] = "schedule"
    item["owner"] = schedule.created_by
    item[LABEL_RANGE] = f"{schedule.created_by}\n{schedule.created_date}"
    if schedule.status is ScheduleStatus.DELETED:
        item.pop("created_by")  # out of the creator index
    else:
        item["live"] = LIVE_KEY  # in the live index
        item.update(label_slots(schedule.definition.labels))  # in the label indexes
    return item


def _home_slot(key: str) -> int:
    return hashlib.sha256(key.encode()).digest()[0] % LABEL_SLOTS


def label_slots(labels: dict[str, str]) -> dict[str, str]:
    """The slot attributes of a record with ``labels``: each label in its key's home slot,
    or the next free one (keys in sorted order, so the same labels always land alike)."""
    slots: dict[str, str] = {}
    for key in sorted(labels):
        slot = _home_slot(key)
        while label_slot(slot) in slots:
            slot = (slot + 1) % LABEL_SLOTS
        slots[label_slot(slot)] = f"{key}={labels[key]}"
    return slots


def label_probe_order(key: str) -> list[int]:
    """The slots a label with ``key`` may sit in, most likely first."""
    home = _home_slot(key)
    return [(home + step) % LABEL_SLOTS for step in range(LABEL_SLOTS)]


def execution_item_id(schedule_id: str, execution_id: str) -> str:
    return f"{schedule_id}#{EXECUTION_PREFIX}{execution_id}"


class DynamoDBScheduleRepository:
    """The DynamoDB implementation; receives its ``Table`` resource."""

    def __init__(self, table: Any, clock: Clock = system_clock):
        self._table = table
        self._clock = clock

    # --- schedule records -------------------------------------------------------------

    def create(self, schedule: Schedule, request_id: str | None = None, cap: int | None = None) -> None:
        """Write a new record, only if its id is free. With ``cap``, the owner's live count
        goes up by one in the same transaction, only while it is below ``cap``
        (``OwnerAtCap``). A write that finds the id taken by itself (its first attempt
        committed but the response was lost, and botocore sent it again) succeeds; taken by
        another request: ``RecordExists`` carrying the record found."""
        item = schedule_to_item(schedule)
        if request_id:
            item["last_request_id"] = request_id
        put: dict[str, Any] = {
            "Item": item,
            "ConditionExpression": "attribute_not_exists(id)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        existing: dict[str, Any] | None
        try:
            if cap is None:
                self._table.put_item(**put)
                return
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self._table.name, **put}},
                    {"Update": self._count_change(schedule.created_by, +1, cap)},
                ]
            )
            return
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                existing = plain_item(exc.response.get("Item"))
            elif code == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                if _failed_condition(reasons, 0):
                    existing = plain_item(reasons[0].get("Item"))
                elif _failed_condition(reasons, 1):
                    raise OwnerAtCap(schedule.created_by, cap or 0) from exc
                else:
                    raise upstream_error(exc) from exc
            else:
                raise upstream_error(exc) from exc
            if request_id and existing and existing.get("last_request_id") == request_id:
                return  # our own write, answered the first time
            raise RecordExists(
                f"schedule {schedule.id} already exists",
                schedule_from_item(existing) if existing and _is_schedule_item(existing) else None,
            ) from exc

    def _count_change(self, owner: str, delta: int, cap: int | None = None) -> dict[str, Any]:
        """The transaction step that moves ``owner``'s live-schedule count by ``delta``."""
        step: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": {"id": OWNER_COUNTER_PREFIX + owner},
            "UpdateExpression": "ADD live_count :delta SET record_type = :kind, #owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": {":delta": delta, ":kind": "owner_count", ":owner": owner},
        }
        if cap is not None:
            step["ConditionExpression"] = "attribute_not_exists(live_count) OR live_count < :cap"
            step["ExpressionAttributeValues"][":cap"] = cap
        return step

    def live_count(self, owner: str) -> int:
        """How many live schedules ``owner`` holds, as counted by creates and settled deletes."""
        try:
            item = self._table.get_item(
                Key={"id": OWNER_COUNTER_PREFIX + owner}, ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise upstream_error(exc) from exc
        return int((item or {}).get("live_count", 0))

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
    ) -> ChangeResult:
        """One conditional UpdateItem: the record becomes pending ``action`` at the next
        version, with ``definition`` (replaced) or ``state`` (set), only if it is a live
        schedule record not being deleted, owned by ``owner`` (None: anyone's), at
        ``expected_version`` (None: any) and, with ``start_date_unchanged``, still holding
        ``definition``'s start date. When the condition fails DynamoDB answers the record as
        it was (ALL_OLD), so the caller can tell why without reading it again; a failure
        against this request's own earlier attempt counts as applied. ``marks``: record
        fields outside the definition set with it (None: removed), such as a skip or a snooze."""
        names, values, sets, removes = _change_sets(action, request_id, definition, state, note, template, iso(self._clock()))
        _set_marks(marks or {}, names, values, sets, removes)
        conditions = _change_conditions(names, values, owner, expected_version,
                                        definition if start_date_unchanged else None)
        try:
            result = self._table.update_item(
                Key={"id": schedule_id},
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE " + ", ".join(removes),
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise upstream_error(exc) from exc
            old = plain_item(exc.response.get("Item"))
            if old is None or not _is_schedule_item(old):
                return ChangeResult(False, None)
            return ChangeResult(old.get("last_request_id") == request_id, schedule_from_item(old))
        return ChangeResult(True, schedule_from_item(result["Attributes"]))

    def get(self, schedule_id: str) -> Schedule | None:
        return read_schedule(self._table, schedule_id)

    def update(self, schedule: Schedule, expected_version: int, also: list[dict[str, Any]] | None = None) -> Schedule:
        """Write every field of ``schedule`` except its run counts (``executions``), only if the
        stored version is still ``expected_version``. With ``also`` (transaction steps: the
        history entry and the alert watch), in one transaction with them; the schedule
        written is then returned as written."""
        if also:
            return self._update_with(schedule, expected_version, also)
        try:
            result = self._table.update_item(
                **self._update_request(schedule, expected_version), ReturnValues="ALL_NEW"
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _version_conflict(schedule.id, expected_version) from exc
            raise upstream_error(exc) from exc
        return schedule_from_item(result["Attributes"])

    def _update_with(self, schedule: Schedule, expected_version: int, also: list[dict[str, Any]]) -> Schedule:
        write = {"TableName": self._table.name, **self._update_request(schedule, expected_version)}
        try:
            self._table.meta.client.transact_write_items(TransactItems=[{"Update": write}, *also])
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if error_code(exc) == "TransactionCanceledException" and _failed_condition(reasons, 0):
                raise _version_conflict(schedule.id, expected_version) from exc
            raise upstream_error(exc) from exc
        return schedule

    def _update_request(self, schedule: Schedule, expected_version: int) -> dict[str, Any]:
        item = schedule_to_item(schedule)
        item.pop("id")
        item.pop("executions", None)
        names: dict[str, str] = {}
        values: dict[str, Any] = {":expected": expected_version}
        sets: list[str] = []
        removes: list[str] = []
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
        return {
            "Key": {"id": schedule.id},
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(id) AND #version = :expected",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def mark_deleted(self, schedule: Schedule, ttl_days: int, also: list[dict[str, Any]] | None = None) -> Schedule:
        """Settle a deletion: the record becomes ``deleted`` (leaving the live and creator
        indexes) and its owner's live count goes down, in one transaction (with ``also``:
        the history entry and the dropped watch)."""
        deleted = schedule.model_copy(
            update={
                "status": ScheduleStatus.DELETED,
                "pending_action": None,
                "updated_date": iso(self._clock()),
                "ttl": expires_after(self._clock, ttl_days),
                "version": schedule.version + 1,
            }
        )
        write = {"TableName": self._table.name, **self._update_request(deleted, schedule.version)}
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {"Update": write},
                    {"Update": self._count_change(schedule.created_by, -1)},
                    *(also or []),
                ]
            )
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if error_code(exc) == "TransactionCanceledException" and _failed_condition(reasons, 0):
                raise _version_conflict(schedule.id, schedule.version) from exc
            raise upstream_error(exc) from exc
        return deleted

    def note_drift(
        self, schedule_id: str, notes: list[str], arn: str, expected_version: int,
        modified: str | None = None,
    ) -> bool:
        """Remember on the record which drift was repaired, and when, and the schedule's
        modification marker after the repair; only these fields are written, and only if
        the record is still at ``expected_version`` (False when it changed meanwhile)."""
        values: dict[str, Any] = {
            ":notes": notes, ":at": iso(self._clock()), ":arn": arn, ":expected": expected_version,
        }
        expression = "SET last_drift = :notes, last_drift_repaired_at = :at, eventbridge_arn = :arn"
        if modified is not None:
            expression += ", eventbridge_modified = :modified"
            values[":modified"] = modified
        else:
            expression += " REMOVE eventbridge_modified"
        return self._conditional_update(schedule_id, expression, values, expected_version)

    def note_applied(self, schedule_id: str, modified: str, expected_version: int) -> bool:
        """Record the modification marker of a schedule found to match the record at
        ``expected_version`` (False when the record changed meanwhile)."""
        return self._conditional_update(
            schedule_id, "SET eventbridge_modified = :modified",
            {":modified": modified, ":expected": expected_version}, expected_version,
        )

    def _conditional_update(
        self, schedule_id: str, expression: str, values: dict[str, Any], expected_version: int
    ) -> bool:
        try:
            self._table.update_item(
                Key={"id": schedule_id},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(id) AND #version = :expected",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={**values, ":expected": expected_version},
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise upstream_error(exc) from exc

    def iter_listed(self, status: ScheduleStatus, page_size: int | None = None) -> Iterator[ListedRecord]:
        """Every record with ``status``, reduced to what the reconcile plans with, one Query
        a page: as large as DynamoDB returns (1 MB of records read) unless ``page_size``
        says otherwise. The full record is read only where needed."""
        fields = LISTED_FIELDS if status in (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED) else WAITING_FIELDS
        request: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#s = :v",
            "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(fields))),
            "ExpressionAttributeNames": {"#s": "status", **{f"#p{i}": name for i, name in enumerate(fields)}},
            "ExpressionAttributeValues": {":v": status.value},
        }
        if page_size:
            request["Limit"] = page_size
        try:
            for item in query_items(self._table, request):
                yield ListedRecord.from_item(plain_value(item), status)
        except ClientError as exc:
            raise upstream_error(exc) from exc

    def list_by_status(
        self, status: ScheduleStatus | None, limit: int, cursor: str | None = None
    ) -> Page:
        """Newest first. With no status: every live record (all but ``deleted``)."""
        if status is None:
            return self.list_live(limit, cursor)
        return self._exact_page(STATUS_INDEX, "status", status.value, limit, cursor)

    def list_live(self, limit: int, cursor: str | None = None) -> Page:
        """Every record that is not deleted, newest first: one query on the sparse live
        index, reading exactly the items returned."""
        return self._exact_page(LIVE_INDEX, "live", LIVE_KEY, limit, cursor)

    def list_by_creator(
        self, created_by: str, limit: int, cursor: str | None = None, status: ScheduleStatus | None = None
    ) -> Page:
        """Newest first; every status but ``deleted`` unless one is named. Deleted records
        are not in the creator index: those are read from the status index."""
        if status is ScheduleStatus.DELETED:
            return self._exact_page(
                STATUS_INDEX, "status", status.value, limit, cursor,
                filter_=(
                    "(#owner = :owner OR #creator = :owner)",
                    {"#owner": "owner", "#creator": "created_by"},
                    {":owner": created_by},
                ),
            )
        # records deleted before the creator index became sparse still carry created_by
        filter_ = (
            ("#s <> :deleted", {"#s": "status"}, {":deleted": ScheduleStatus.DELETED.value})
            if status is None
            else ("#s = :status", {"#s": "status"}, {":status": status.value})
        )
        return self._exact_page(CREATOR_INDEX, "created_by", created_by, limit, cursor, filter_=filter_)

    def list_by_label(
        self, labels: dict[str, str], limit: int, cursor: str | None = None,
        owner: str | None = None, status: ScheduleStatus | None = None,
    ) -> Page:
        """Records carrying every one of ``labels`` (``owner``'s only, unless None), newest
        first within each label slot. The first label is read from the label indexes (only
        records that carry it are read); any further label and ``status`` are filters on
        those. The slots are read in the label's probe order; the cursor says which slot
        and where in it."""
        first = next(iter(labels))
        order = label_probe_order(first)
        step, start = _label_position(cursors.decode(cursor)) if cursor else (0, None)
        lookahead = 1 if limit >= LOOKAHEAD_MIN_LIMIT else 0
        found: list[dict[str, Any]] = []
        while step < LABEL_SLOTS:
            request = _label_request(order[step], labels, owner, status)
            items, start = self._collect(request, start, limit - len(found) + lookahead)
            if len(found) + len(items) > limit:  # the page is full and more follow
                found.extend(items[: limit - len(found)])
                return self._label_page(found, step, _label_key(found[-1], order[step]))
            found.extend(items)
            if start:  # the page is full (no look-ahead) and this slot goes on
                return self._label_page(found, step, plain_value(start))
            step += 1
            if len(found) == limit and not lookahead:
                break
        return self._label_page(found, step, None) if step < LABEL_SLOTS else Page(
            [schedule_from_item(item) for item in found]
        )

    def _label_page(self, items: list[dict[str, Any]], step: int, start: dict[str, Any] | None) -> Page:
        return Page([schedule_from_item(item) for item in items], cursors.encode({"slot": step, "start": start}))

    def _collect(
        self, request: dict[str, Any], start: dict[str, Any] | None, want: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Up to ``want`` items of one query, page after page while a filter drops some;
        and DynamoDB's position after the last page read (None: the partition is done)."""
        items: list[dict[str, Any]] = []
        try:
            while want > len(items):
                if start:
                    request["ExclusiveStartKey"] = start
                request["Limit"] = want - len(items)
                response = self._table.query(**request)
                items.extend(plain_value(item) for item in response.get("Items", []))
                start = response.get("LastEvaluatedKey")
                if not start:
                    break
        except ClientError as exc:
            if error_code(exc) == "ValidationException" and "ExclusiveStartKey" in request:
                raise ValidationError("is not a cursor for this listing", field="cursor") from exc
            raise upstream_error(exc) from exc
        return items, start

    def list_by_template(self, owner: str, template: str, limit: int, cursor: str | None = None) -> Page:
        """``owner``'s live records made from ``template``, newest first (a filter on the
        owner's part of the creator index)."""
        return self._exact_page(
            CREATOR_INDEX, "created_by", owner, limit, cursor,
            filter_=(
                "#t.#n = :template AND #s <> :deleted",
                {"#t": "template", "#n": "name", "#s": "status"},
                {":template": template, ":deleted": ScheduleStatus.DELETED.value},
            ),
        )

    def iter_by_status(self, status: ScheduleStatus) -> Iterable[Schedule]:
        """Every record with ``status`` (for the reconciler), newest first, 100 a page."""
        request: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#s = :v",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":v": status.value},
            "ScanIndexForward": False,
            "Limit": 100,
        }
        try:
            for item in query_items(self._table, request):
                yield schedule_from_item(item)
        except ClientError as exc:
            raise upstream_error(exc) from exc

    # --- execution records ----------------------------------------------------------

    def list_executions(self, schedule_id: str, limit: int, cursor: str | None = None) -> Page:
        page = self._query_page(
            STATUS_INDEX, INDEX_PARTITION, EXECUTION_PREFIX + schedule_id, limit, cursor, raw=True
        )
        return Page([ExecutionRecord.model_validate(item) for item in page], page.cursor)

    def list_partition(self, partition: str, limit: int, cursor: str | None = None) -> Page:
        """Raw items of one partition of the status index, newest first (history entries)."""
        return self._query_page(STATUS_INDEX, INDEX_PARTITION, partition, limit, cursor, raw=True)

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
        start = _start_key(cursors.decode(cursor), key) if cursor else None
        items, last_key = self._query(index, key, value, limit, start, status)
        converted = items if raw else [schedule_from_item(item) for item in items]
        return Page(converted, cursors.encode(last_key) if last_key else None)

    def _query(
        self,
        index: str,
        key: str,
        value: str,
        limit: int,
        start: dict[str, Any] | None,
        status: ScheduleStatus | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
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
        items, _ = self._collect(request, start, want)
        if len(items) <= limit:
            return items, None
        items = items[:limit]
        return items, _index_key(items[-1], key)

    def _exact_page(
        self,
        index: str,
        key: str,
        value: str,
        limit: int,
        cursor: str | None,
        filter_: tuple[str, dict[str, str], dict[str, Any]] | None = None,
    ) -> Page:
        """Up to ``limit`` records newest first, reading at most 1.2 items per item
        returned. From ``LOOKAHEAD_MIN_LIMIT`` up one item more is read, so the last page
        has no cursor; below it that one item would cost more than the budget, so the
        cursor is DynamoDB's own position and a last page can come back empty."""
        request: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {":v": value},
            "ScanIndexForward": False,
        }
        if filter_:
            expression, names, values = filter_
            request["FilterExpression"] = expression
            request["ExpressionAttributeNames"].update(names)
            request["ExpressionAttributeValues"].update(values)
        start = _start_key(cursors.decode(cursor), key) if cursor else None
        want = limit + 1 if limit >= LOOKAHEAD_MIN_LIMIT else limit
        items, start = self._collect(request, start, want)
        if len(items) > limit:
            items = items[:limit]
            next_cursor: str | None = cursors.encode(_index_key(items[-1], key))
        elif want == limit and start:
            next_cursor = cursors.encode(_index_key(plain_value(start), key))
        else:
            next_cursor = None
        return Page([schedule_from_item(item) for item in items], next_cursor)


def _change_sets(
    action: Action, request_id: str, definition: ScheduleDefinition | None, state: ScheduleState | None,
    note: LastChange | None, template: TemplateUse | None, now: str,
) -> tuple[dict[str, str], dict[str, Any], list[str], list[str]]:
    """The names, values, SET and REMOVE clauses of a change: pending ``action`` at the next
    version, with the definition replaced (its label slots and template use with it) or the
    state set, and who asked (``note``)."""
    names: dict[str, str] = {
        "#status": "status",
        "#action": "pending_action",
        "#version": "version",
        "#updated": "updated_date",
        "#request": "last_request_id",
        "#error": "last_error",
        "#kind": "record_type",
    }
    values: dict[str, Any] = {
        ":pending": ScheduleStatus.PENDING.value,
        ":action": action.value,
        ":one": 1,
        ":now": now,
        ":request": request_id,
        ":deleted": ScheduleStatus.DELETED.value,
        ":delete": Action.DELETE.value,
        ":schedule": "schedule",
    }
    sets = [
        "#status = :pending",
        "#action = :action",
        "#version = if_not_exists(#version, :one) + :one",
        "#updated = :now",
        "#request = :request",
    ]
    if note is not None:  # who asked for what (the history entry, once applied)
        names["#note"] = "last_change"
        sets.append("#note = :note")
        values[":note"] = note.model_dump(mode="json", exclude_none=True)
    removes = ["#error"]
    if definition is not None:
        names["#def"] = "definition"
        sets.append("#def = :def")
        values[":def"] = definition.to_storage()
        _set_label_slots(definition.labels, names, values, sets, removes)
        names["#template"] = "template"  # made from a template, or not (any more)
        if template is not None:
            values[":template"] = template.model_dump(mode="json")
            sets.append("#template = :template")
        else:
            removes.append("#template")
    elif state is not None:
        names["#def"] = "definition"
        names["#state"] = "state"
        sets.append("#def.#state = :state")
        values[":state"] = state.value
    return names, values, sets, removes


def _set_marks(marks: dict[str, Any], names: dict[str, str], values: dict[str, Any], sets: list[str],
               removes: list[str]) -> None:
    """The parts of a change that set (or, for None, remove) record fields of ``marks``."""
    for index, (field, value) in enumerate(sorted(marks.items())):
        names[f"#mark{index}"] = field
        if value is None:
            removes.append(f"#mark{index}")
        else:
            values[f":mark{index}"] = value.model_dump(mode="json", exclude_none=True) if hasattr(value, "model_dump") else value
            sets.append(f"#mark{index} = :mark{index}")


def _change_conditions(
    names: dict[str, str], values: dict[str, Any], owner: str | None,
    expected_version: int | None, same_start: ScheduleDefinition | None,
) -> list[str]:
    """When a change applies: a live schedule record not being deleted, not this request's
    own earlier attempt, owned by ``owner``, at ``expected_version``, and (``same_start``)
    still holding that definition's start date. Adds what it uses to ``names``/``values``."""
    conditions = [
        "attribute_exists(id)",
        "(attribute_not_exists(#kind) OR #kind = :schedule)",
        "#status <> :deleted",
        "(attribute_not_exists(#action) OR #action <> :delete)",
        # a resent attempt of this very request fails here and finds its own token
        "(attribute_not_exists(#request) OR #request <> :request)",
    ]
    if owner is not None:
        names["#owner"] = "owner"
        names["#creator"] = "created_by"
        values[":owner"] = owner
        conditions.append("(#owner = :owner OR #creator = :owner)")
    if expected_version is not None:
        values[":expected"] = expected_version
        conditions.append("#version = :expected")
    if same_start is not None:
        names["#def"] = "definition"
        names["#start"] = "start_date"
        start = same_start.to_storage().get("start_date")
        if start is None:
            conditions.append("attribute_not_exists(#def.#start)")
        else:
            values[":start"] = start
            conditions.append("#def.#start = :start")
    return conditions



_RECORD_FIELDS = (
    *Schedule.model_fields, "record_type", "owner", "live", LABEL_RANGE,
    *(label_slot(slot) for slot in range(LABEL_SLOTS)),
)


def _set_label_slots(
    labels: dict[str, str], names: dict[str, str], values: dict[str, Any], sets: list[str], removes: list[str]
) -> None:
    """The parts of an UpdateExpression that move a record's label slots to ``labels``."""
    slots = label_slots(labels)
    for slot in range(LABEL_SLOTS):
        attribute = label_slot(slot)
        names[f"#slot{slot}"] = attribute
        if attribute in slots:
            values[f":slot{slot}"] = slots[attribute]
            sets.append(f"#slot{slot} = :slot{slot}")
        else:
            removes.append(f"#slot{slot}")


def _is_schedule_item(item: dict[str, Any]) -> bool:
    return bool(item.get("record_type", "schedule") == "schedule")


def _failed_condition(reasons: list[dict[str, Any]], position: int) -> bool:
    return len(reasons) > position and reasons[position].get("Code") == "ConditionalCheckFailed"


def _version_conflict(schedule_id: str, expected_version: int) -> VersionConflict:
    return VersionConflict(
        f"schedule {schedule_id} changed since version {expected_version}; read it again and retry"
    )


def upstream_error(exc: Exception) -> ServiceError:
    """A DynamoDB failure as the caller should see it: a missing table is the service's
    fault, never a 404 of the schedule the client asked for."""
    error = translate(exc, "schedules table")
    if isinstance(error, (NotFound, Conflict)):
        return UpstreamRejected(error.message)
    return error


def partition_page(table: Any, partition: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the items filed under ``partition`` in the status index (an owner's
    templates, an owner's calendars), newest first, and the next page's cursor."""
    request: dict[str, Any] = {
        "IndexName": STATUS_INDEX,
        "KeyConditionExpression": "#s = :p",
        "ExpressionAttributeNames": {"#s": INDEX_PARTITION},
        "ExpressionAttributeValues": {":p": partition},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if cursor:
        request["ExclusiveStartKey"] = _start_key(cursors.decode(cursor), INDEX_PARTITION)
    try:
        response = table.query(**request)
    except ClientError as exc:
        if error_code(exc) == "ValidationException" and cursor:
            raise ValidationError("is not a cursor for this listing", field="cursor") from exc
        raise upstream_error(exc) from exc
    last = response.get("LastEvaluatedKey")
    return response.get("Items", []), cursors.encode(last) if last else None


def _start_key(value: Any, key: str) -> dict[str, Any]:
    """A decoded cursor position, checked: exactly the index's key attributes, as text."""
    expected = {"id", key, "created_date"}
    if not isinstance(value, dict) or set(value) != expected or not all(
        isinstance(part, str) for part in value.values()
    ):
        raise ValidationError("is not a cursor for this listing", field="cursor")
    return value


def _label_request(
    slot: int, labels: dict[str, str], owner: str | None, status: ScheduleStatus | None
) -> dict[str, Any]:
    """The query of one label slot's index for the first of ``labels``, filtered by the
    others and ``status``."""
    (first, value), *others = labels.items()
    names = {"#k": label_slot(slot)}
    values: dict[str, Any] = {":v": f"{first}={value}"}
    condition = "#k = :v"
    if owner is not None:
        names["#r"] = LABEL_RANGE
        condition += " AND begins_with(#r, :owner)"
        values[":owner"] = owner + "\n"
    filters = []
    for index, (key, wanted) in enumerate(others):
        names.update({"#d": "definition", "#l": "labels", f"#l{index}": key})
        values[f":l{index}"] = wanted
        filters.append(f"#d.#l.#l{index} = :l{index}")
    if status is not None:
        names["#s"] = "status"
        values[":status"] = status.value
        filters.append("#s = :status")
    request: dict[str, Any] = {
        "IndexName": label_index(slot),
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    if filters:
        request["FilterExpression"] = " AND ".join(filters)
    return request


def _label_position(value: Any) -> tuple[int, dict[str, Any] | None]:
    """A decoded label-listing cursor: the slot step and the position in it (checked)."""
    if not isinstance(value, dict) or set(value) != {"slot", "start"}:
        raise ValidationError("is not a cursor for this listing", field="cursor")
    step, start = value["slot"], value["start"]
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < LABEL_SLOTS:
        raise ValidationError("is not a cursor for this listing", field="cursor")
    if start is None:
        return step, None
    if not isinstance(start, dict) or not start.keys() <= {"id", LABEL_RANGE, *map(label_slot, range(LABEL_SLOTS))} \
            or len(start) != 3 or not all(isinstance(part, str) for part in start.values()):
        raise ValidationError("is not a cursor for this listing", field="cursor")
    return step, start


def _label_key(item: dict[str, Any], slot: int) -> dict[str, Any]:
    attribute = label_slot(slot)
    return {"id": item["id"], attribute: item[attribute], LABEL_RANGE: item[LABEL_RANGE]}


def _index_key(item: dict[str, Any], key: str) -> dict[str, Any]:
    return {"id": item["id"], key: item[key], "created_date": item["created_date"]}

