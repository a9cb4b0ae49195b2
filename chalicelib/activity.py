"""What happens around a schedule, stored next to its record in the schedules table.

Three more kinds of item, all keyed by ``id`` like the records, none read by a scan:
- history entries: ``<schedule id>#history#<at>#v<version>-<action>`` (a change the
  command handler settled, or a drift repair), ``<schedule id>#history#run#<execution id>``
  (a run-now; the same item is the run's idempotency marker); the index partition
  (``INDEX_PARTITION``) = ``history#<schedule id>`` and ``created_date`` = when, so a schedule's history is one
  query on the status index, newest first. They expire ``history_ttl_days`` after they were
  written, or with the record when it is deleted.
- the alert watch of an active schedule: ``<schedule id>#alertwatch`` with the index partition =
  ``alertwatch`` and ``created_date`` = when its next slot is due to be checked, so the
  alert sweep reads only the schedules with a slot due (one query for all of them).
- alert markers: ``<schedule id>#alert#<slot>#<kind>``, claimed with a conditional put
  before an alert is published, so each alert is published once. Not on any index.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws_errors import error_code
from chalicelib.clock import Clock, expires_after, system_clock
from chalicelib.models import (
    DELETED_STATE,
    Action,
    ExecutionRecord,
    LastChange,
    Schedule,
    iso,
)
from chalicelib.names import INDEX_PARTITION, STATUS_INDEX
from chalicelib.paging import query_items
from chalicelib.ports import AlertInFlight, Page, ScheduleRepository
from chalicelib.repository import (
    EXECUTION_PREFIX,
    plain_value,
    upstream_error,
)

HISTORY_PREFIX = "history#"
WATCH_PARTITION = "alertwatch"

# History actions beyond the API's own (create, update, pause, resume, delete).
REPAIR = "repair"
RUN = "run"
BACKFILL = "backfill"


def history_partition(schedule_id: str) -> str:
    return HISTORY_PREFIX + schedule_id


def watch_id(schedule_id: str) -> str:
    return f"{schedule_id}#{WATCH_PARTITION}"


def alert_marker_id(schedule_id: str, slot: str, kind: str) -> str:
    return f"{schedule_id}#alert#{slot}#{kind}"


def run_marker_id(schedule_id: str, execution_id: str) -> str:
    return f"{schedule_id}#{HISTORY_PREFIX}{RUN}#{execution_id}"


def state_after(schedule: Schedule, action: str) -> str:
    return DELETED_STATE if action == "delete" else schedule.definition.state.value


class ActivityStore:
    """History entries, alert watches and alert markers in the schedules table."""

    def __init__(self, repository: ScheduleRepository, table: Any, history_ttl_days: int = 90,
                 grace_seconds: int = 120, clock: Clock = system_clock):
        self._repository = repository
        self._clock = clock
        self._table = table
        self._history_ttl_days = history_ttl_days
        self._grace = timedelta(seconds=grace_seconds)

    def change_steps(self, schedule: Schedule, active: bool, now: datetime,
                     expires_at: int | None = None) -> list[dict[str, Any]]:
        """What the command handler writes with the record it settles, in the same
        transaction: the history entry of the change (``last_change``) and the alert watch
        (started for an active schedule, dropped otherwise). A new watch (a create, a resume)
        is first due at its first slot's deadline, so the run of that slot moves it on; a
        changed schedule's watch is due now, so the sweep checks it once against its new plan."""
        steps: list[dict[str, Any]] = []
        change = schedule.last_change
        if change is not None:
            item = self._history_item(
                schedule.id, f"{schedule.id}#{HISTORY_PREFIX}{change.at}#v{change.version}-{change.action}",
                change, state=state_after(schedule, change.action), expires_at=expires_at,
            )
            steps.append({"Put": {"TableName": self._table.name, "Item": item}})
        if not active:
            steps.append({"Delete": {"TableName": self._table.name, "Key": {"id": watch_id(schedule.id)}}})
            return steps
        due = now
        if schedule.pending_action in (Action.CREATE, Action.RESUME):
            from chalicelib.timeline import next_due  # the plan (the expression engine): loaded here only

            due = next_due(schedule, now, self._grace) or now
        steps.append({"Update": {"TableName": self._table.name, **self.watch_request(schedule.id, now, due)}})
        return steps

    # --- history ----------------------------------------------------------------------

    def record_change(self, schedule: Schedule, expires_at: int | None = None) -> bool:
        """Write the history entry of the record's ``last_change`` (once: the entry is keyed
        by its version and action, so a redelivered command writes the same item)."""
        change = schedule.last_change
        if change is None:
            return False
        item = self._history_item(
            schedule.id,
            f"{schedule.id}#{HISTORY_PREFIX}{change.at}#v{change.version}-{change.action}",
            change,
            state=state_after(schedule, change.action),
            expires_at=expires_at,
        )
        self._put(item)
        return True

    def record_repair(self, schedule: Schedule, fields: list[str], reason: str, by: str) -> None:
        at = iso(self._clock())
        change = LastChange(action=REPAIR, by=by, at=at, version=schedule.version, fields=fields,
                            reason=reason, previous_state=schedule.definition.state)
        self._put(self._history_item(
            schedule.id, f"{schedule.id}#{HISTORY_PREFIX}{at}#v{schedule.version}-{REPAIR}",
            change, state=schedule.definition.state.value,
        ))

    def claim_run(self, schedule: Schedule, execution_id: str, by: str, at: str) -> dict[str, Any] | None:
        """Write the run-now's history entry, which is also its idempotency marker. None when
        it was written already (a retried request); then the stored entry is returned by
        ``find_run``."""
        change = LastChange(action=RUN, by=by, at=at, version=schedule.version,
                            previous_state=schedule.definition.state)
        item = self._history_item(schedule.id, run_marker_id(schedule.id, execution_id), change,
                                  state=schedule.definition.state.value)
        item["execution_id"] = execution_id
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise upstream_error(exc) from exc
        stored: dict[str, Any] = plain_value(item)
        return stored

    def record_backfill(self, schedule: Schedule, by: str, at: str, reason: str) -> str:
        """Write the history entry of a backfill request (who, when, which slots); its id."""
        change = LastChange(action=BACKFILL, by=by, at=at, version=schedule.version, reason=reason,
                            previous_state=schedule.definition.state)
        item = self._history_item(schedule.id, f"{schedule.id}#{HISTORY_PREFIX}{at}#{BACKFILL}", change,
                                  state=schedule.definition.state.value)
        self._put(item)
        return str(item["id"])

    def forget(self, item_id: str) -> None:
        """Delete a history entry whose action did not happen after all (its invoke failed)."""
        try:
            self._table.delete_item(Key={"id": item_id})
        except ClientError as exc:
            raise upstream_error(exc) from exc

    def find_run(self, schedule_id: str, execution_id: str) -> dict[str, Any] | None:
        try:
            item = self._table.get_item(
                Key={"id": run_marker_id(schedule_id, execution_id)}, ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise upstream_error(exc) from exc
        return plain_value(item) if item else None

    def release_run(self, schedule_id: str, execution_id: str) -> None:
        """Forget a run-now whose invoke failed, so a retry of the request runs it."""
        try:
            self._table.delete_item(Key={"id": run_marker_id(schedule_id, execution_id)})
        except ClientError as exc:
            raise upstream_error(exc) from exc

    def list_history(self, schedule_id: str, limit: int, cursor: str | None) -> Page:
        page = self._repository.list_partition(history_partition(schedule_id), limit, cursor)
        return Page([history_view(item) for item in page], page.cursor)

    def history_since(self, schedule_id: str, since: datetime) -> list[dict[str, Any]]:
        """Every history entry from ``since`` on, oldest first."""
        return self._range(history_partition(schedule_id), iso(since), None)

    def _history_item(self, schedule_id: str, item_id: str, change: LastChange, state: str,
                      expires_at: int | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": item_id,
            "record_type": "history",
            INDEX_PARTITION: history_partition(schedule_id),
            "created_date": change.at,
            "schedule_id": schedule_id,
            "state": state,
            "ttl": expires_at or expires_after(self._clock, self._history_ttl_days),
            **change.model_dump(mode="json", exclude_none=True),
        }
        if change.previous_state is None:
            item.pop("previous_state", None)
        return item

    def _put(self, item: dict[str, Any]) -> None:
        try:
            self._table.put_item(Item=item)
        except ClientError as exc:
            raise upstream_error(exc) from exc

    # --- executions in a time range -------------------------------------------------

    def executions_between(self, schedule_id: str, start: datetime, end: datetime) -> list[ExecutionRecord]:
        """The executions scheduled (or requested) from ``start`` to ``end``, oldest first."""
        items = self._range(EXECUTION_PREFIX + schedule_id, iso(start), iso(end))
        return [ExecutionRecord.model_validate(item) for item in items]

    def _range(self, partition: str, low: str, high: str | None) -> list[dict[str, Any]]:
        values: dict[str, Any] = {":p": partition, ":low": low}
        condition = "#s = :p AND created_date >= :low"
        if high is not None:
            condition = "#s = :p AND created_date BETWEEN :low AND :high"
            values[":high"] = high
        request: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#s": INDEX_PARTITION},
            "ExpressionAttributeValues": values,
            "ScanIndexForward": True,
        }
        return self._query_all(request)

    def _query_all(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item a query matches, page after page."""
        try:
            return [plain_value(item) for item in query_items(self._table, request)]
        except ClientError as exc:
            raise upstream_error(exc) from exc

    # --- alert watches --------------------------------------------------------------

    def watch(self, schedule_id: str, now: datetime | None = None, due: datetime | None = None) -> None:
        """Have the alert sweep look at an active schedule from ``due`` (default: now). Slots
        already checked stay checked; a schedule watched for the first time (created, resumed)
        is checked from now."""
        now = now or self._clock()
        try:
            self._table.update_item(**self.watch_request(schedule_id, now, due))
        except ClientError as exc:
            raise upstream_error(exc) from exc

    def watch_request(self, schedule_id: str, now: datetime, due: datetime | None = None) -> dict[str, Any]:
        """The UpdateItem that (re)starts a watch: on its own, or as a step of a transaction."""
        return {
            "Key": {"id": watch_id(schedule_id)},
            "UpdateExpression": (
                "SET #s = :p, created_date = :due, schedule_id = :sid, record_type = :t, "
                "checked_until = if_not_exists(checked_until, :now), "
                "consecutive_failures = if_not_exists(consecutive_failures, :zero)"
            ),
            "ExpressionAttributeNames": {"#s": INDEX_PARTITION},
            "ExpressionAttributeValues": {
                ":p": WATCH_PARTITION, ":due": iso(due or now), ":sid": schedule_id, ":t": "alertwatch",
                ":now": iso(now), ":zero": 0,
            },
        }

    def get_watch(self, schedule_id: str) -> dict[str, Any] | None:
        try:
            item = self._table.get_item(Key={"id": watch_id(schedule_id)}, ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise upstream_error(exc) from exc
        return plain_value(item) if item else None

    def unwatch(self, schedule_id: str) -> None:
        try:
            self._table.delete_item(Key={"id": watch_id(schedule_id)})
        except ClientError as exc:
            raise upstream_error(exc) from exc

    def watched_ids(self) -> set[str]:
        """The ids of every schedule with an alert watch (the reconcile's upgrade check)."""
        request: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#s = :p",
            "ProjectionExpression": "schedule_id",
            "ExpressionAttributeNames": {"#s": INDEX_PARTITION},
            "ExpressionAttributeValues": {":p": WATCH_PARTITION},
        }
        return {str(item["schedule_id"]) for item in self._query_all(request) if item.get("schedule_id")}

    def due_watches(self, now: datetime) -> list[dict[str, Any]]:
        """The watches whose next check is due (``created_date`` <= now)."""
        values = {":p": WATCH_PARTITION, ":now": iso(now)}
        request: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#s = :p AND created_date <= :now",
            "ExpressionAttributeNames": {"#s": INDEX_PARTITION},
            "ExpressionAttributeValues": values,
        }
        return self._query_all(request)

    def advance_watch(self, watch: dict[str, Any], checked_until: str, due: str, failures: int) -> bool:
        """Move a watch on, only if no other sweep moved it since it was read."""
        try:
            self._table.update_item(
                Key={"id": watch["id"]},
                UpdateExpression="SET checked_until = :c, created_date = :due, consecutive_failures = :f",
                ConditionExpression="checked_until = :was",
                ExpressionAttributeValues={
                    ":c": checked_until, ":due": due, ":f": failures, ":was": watch["checked_until"],
                },
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise upstream_error(exc) from exc

    # --- alert markers --------------------------------------------------------------

    def claim_alert(self, schedule_id: str, slot: str, kind: str, now: datetime,
                    claim_seconds: int, ttl_days: int) -> str | None:
        """Claim the right to publish one alert: a token, or None when the alert was
        published already. ``AlertInFlight`` when another sweep holds the claim now. A claim
        whose publish failed (released, or expired with its sweep) is claimed again."""
        token = str(uuid.uuid4())
        try:
            self._table.put_item(
                Item={
                    "id": alert_marker_id(schedule_id, slot, kind),
                    "record_type": "alert",
                    "schedule_id": schedule_id,
                    "published": False,
                    "token": token,
                    "claim_expires_at": iso(now + timedelta(seconds=claim_seconds)),
                    "ttl": expires_after(self._clock, ttl_days),
                },
                ConditionExpression=(
                    "attribute_not_exists(id) OR (published = :false AND claim_expires_at < :now)"
                ),
                ExpressionAttributeValues={":false": False, ":now": iso(now)},
            )
            return token
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise upstream_error(exc) from exc
        try:
            marker = self._table.get_item(
                Key={"id": alert_marker_id(schedule_id, slot, kind)}, ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise upstream_error(exc) from exc
        if marker is not None and not marker.get("published"):
            raise AlertInFlight(f"alert {kind} of {schedule_id} at {slot} is being published")
        return None

    def settle_alert(self, schedule_id: str, slot: str, kind: str, token: str, published: bool) -> None:
        """Mark a claimed alert published, or release the claim so the next sweep retries."""
        key = {"id": alert_marker_id(schedule_id, slot, kind)}
        try:
            if published:
                self._table.update_item(
                    Key=key, UpdateExpression="SET published = :true REMOVE claim_expires_at",
                    ConditionExpression="#t = :token",
                    ExpressionAttributeNames={"#t": "token"},
                    ExpressionAttributeValues={":true": True, ":token": token},
                )
            else:
                self._table.delete_item(
                    Key=key, ConditionExpression="#t = :token AND published = :false",
                    ExpressionAttributeNames={"#t": "token"},
                    ExpressionAttributeValues={":token": token, ":false": False},
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return
            raise upstream_error(exc) from exc


def watch_moved(table_name: str, schedule_id: str, slot: str, deadline: str, next_due: str) -> dict[str, Any]:
    """The transaction step an on-time, successful run adds to its outcome write: the watch
    moves past its slot, only if that slot is the next one the watch waits for (its due time
    is the slot's deadline: no earlier slot is left unchecked). Then a healthy schedule's
    watch is never due when the sweep looks, and the sweep reads nothing of it."""
    return {"Update": {
        "TableName": table_name,
        "Key": {"id": watch_id(schedule_id)},
        "UpdateExpression": "SET checked_until = :slot, created_date = :next, consecutive_failures = :zero",
        "ConditionExpression": "created_date = :deadline AND checked_until < :slot",
        "ExpressionAttributeValues": {":slot": slot, ":next": next_due, ":deadline": deadline, ":zero": 0},
    }}


def history_view(item: dict[str, Any]) -> dict[str, Any]:
    """A history entry as clients see it."""
    shown = ("action", "by", "at", "version", "fields", "reason", "state", "previous_state", "execution_id")
    return {key: item[key] for key in shown if item.get(key) not in (None, [])} | {
        "fields": list(item.get("fields") or []),
    }
