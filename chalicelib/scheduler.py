"""EventBridge Scheduler, behind a small interface.

Every schedule lives in the stage's group and is named by its schedule id. The target is
the stage's ``schedule_target`` function; its Input carries the schedule id and
EventBridge's context attributes, which the scheduler substitutes at each invocation.
botocore errors are translated here and nowhere else in the schedule path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import expressions
from chalicelib.aws_errors import error_code, error_message, translate
from chalicelib.clock import Clock, system_clock
from chalicelib.errors import AlreadyExists, NotFound
from chalicelib.models import Schedule, ScheduleDefinition, parse_iso
from chalicelib.ports import ListedSchedule
from chalicelib.retry import BoundedRetry

TARGET_INPUT_TEMPLATE = {
    "scheduled_time": "<aws.scheduler.scheduled-time>",
    "execution_id": "<aws.scheduler.execution-id>",
    "attempt": "<aws.scheduler.attempt-number>",
}


# The target's Input carries the record as applied (its version and definition) when the
# payload is at most this long, so a process that does not hold the definition need not read
# it: the run's claim checks it against the record (see chalicelib.runs).
STATED_PAYLOAD_BYTES = 4096


def target_input(schedule: Schedule) -> str:
    """The Input EventBridge Scheduler sends the target function: the schedule id, the
    firing's placeholders and, for a payload up to ``STATED_PAYLOAD_BYTES``, the record as
    applied (``version``, ``created_by``, ``created_date``, the stored definition, and a
    requested skip or a snooze when there is one)."""
    body: dict[str, Any] = {"schedule_id": schedule.id, **TARGET_INPUT_TEMPLATE}
    definition = schedule.definition.to_storage()
    definition.pop("labels", None)  # selectors of the API's, nothing a run reads
    if len(definition["payload"].encode()) <= STATED_PAYLOAD_BYTES:
        body["record"] = {
            "version": schedule.version,
            "created_by": schedule.created_by,
            "created_date": schedule.created_date,
            "definition": definition,
        }
        # what the run decides on besides the definition (chalicelib.exclusions): a requested
        # skip and a snooze, each written with a new version, so the claim checks them too
        if schedule.skip is not None:
            body["record"]["skip"] = schedule.skip.model_dump(mode="json", exclude_none=True)
        if schedule.snoozed_until:
            body["record"]["snoozed_until"] = schedule.snoozed_until
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def _gateway_error(exc: ClientError | BotoCoreError) -> Exception:
    """What an EventBridge Scheduler error means to the service: a missing schedule or group
    is ``NotFound``, a name taken ``AlreadyExists``, the rest as ``translate`` reads it
    (connection errors and timeouts included)."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            return NotFound(error_message(exc))
        if code == "ConflictException":
            return AlreadyExists(error_message(exc))
    return translate(exc)


def modification_marker(response: dict[str, Any]) -> str | None:
    """A schedule's LastModificationDate (from GetSchedule or ListSchedules) as UTC text."""
    moment = response.get("LastModificationDate")
    if moment is None:
        return None
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(moment)


@dataclass(frozen=True)
class Target:
    function_arn: str
    role_arn: str
    dead_letter_arn: str | None = None  # the stage's dead-letter queue


class EventBridgeSchedulerGateway:
    """The EventBridge Scheduler implementation; receives its client."""

    def __init__(
        self,
        client: Any,
        group_name: str,
        target: Target,
        role_retry: BoundedRetry | None = None,
        clock: Clock = system_clock,
    ):
        self._client = client
        self._clock = clock
        self.group_name = group_name
        self._target = target
        self._role_retry = role_retry

    def request_for(self, schedule: Schedule, now: datetime | None = None) -> dict[str, Any]:
        """The full CreateSchedule/UpdateSchedule request for a record."""
        definition = schedule.definition
        target: dict[str, Any] = {
            "Arn": self._target.function_arn,
            "RoleArn": self._target.role_arn,
            "Input": target_input(schedule),
        }
        if self._target.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self._target.dead_letter_arn}
        if definition.retry_policy:
            target["RetryPolicy"] = {
                "MaximumEventAgeInSeconds": definition.retry_policy.maximum_event_age_in_seconds,
                "MaximumRetryAttempts": definition.retry_policy.maximum_retry_attempts,
            }
        window: dict[str, Any] = {"Mode": "OFF"}
        if definition.flexible_window_minutes:
            window = {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": definition.flexible_window_minutes}
        request: dict[str, Any] = {
            "Name": schedule.id,
            "GroupName": self.group_name,
            "ScheduleExpression": definition.schedule_expression,
            "ScheduleExpressionTimezone": definition.timezone,
            "FlexibleTimeWindow": window,
            "Target": target,
            "State": definition.state.value,
            "ActionAfterCompletion": definition.action_after_completion.value,
        }
        if definition.description:
            request["Description"] = definition.description
        start = effective_start(definition, now or self._clock())
        resume = snooze_start(schedule, now or self._clock())
        if resume is not None and (start is None or resume > start):
            start = resume  # snoozed: AWS itself holds every slot before it
        if start:
            request["StartDate"] = start
        if definition.end_date:
            request["EndDate"] = definition.end_date
        return request

    def create(self, schedule: Schedule, repair: bool = False) -> str:
        """Create the schedule; AlreadyExists if a schedule of that name exists. The
        ClientToken is derived from the id and version, so a retried call is one create;
        a ``repair`` (re-creating a schedule deleted out of band) gets a token of its own,
        since AWS may answer a reused token with the earlier result without creating.
        While a new execution role propagates through IAM, the call is retried (bounded)."""
        request = self.request_for(schedule)
        request["ClientToken"] = f"{schedule.id}-v{schedule.version}"
        if repair:
            request["ClientToken"] += f"-r{int(self._clock().timestamp() * 1000)}"
        arn: str = self._call("create_schedule", request, self._role_retry)["ScheduleArn"]
        return arn

    def update(self, schedule: Schedule) -> str:
        """Replace the whole definition (UpdateSchedule resets what it is not sent). A
        repeated update is harmless, so no ClientToken is derived: a reused token could be
        answered with an earlier result instead of applying this one."""
        request = self.request_for(schedule)
        arn: str = self._call("update_schedule", request, self._role_retry)["ScheduleArn"]
        return arn

    def upsert(self, schedule: Schedule, repair: bool = False) -> str:
        try:
            return self.create(schedule, repair=repair)
        except AlreadyExists:
            return self.update(schedule)

    def get(self, schedule_id: str) -> dict[str, Any] | None:
        try:
            return self._call("get_schedule", {"Name": schedule_id, "GroupName": self.group_name})
        except NotFound:
            return None

    def delete(self, schedule_id: str) -> None:
        """Delete the schedule; one that is already gone is success."""
        try:
            self._call("delete_schedule", {"Name": schedule_id, "GroupName": self.group_name})
        except NotFound:
            return

    def matches(self, schedule: Schedule, observed: dict[str, Any]) -> bool:
        """Whether a GetSchedule answer is what the record asks for."""
        return observed_spec(observed) == desired_spec(self.request_for(schedule))

    def confirm(self, schedule: Schedule) -> str | None:
        """Read the schedule back after applying ``schedule``: its modification marker when
        the cloud holds exactly the record's definition, else None (the reconcile will then
        read it again)."""
        observed = self.get(schedule.id)
        if observed is None or not self.matches(schedule, observed):
            return None
        return modification_marker(observed)

    def list_names(self) -> Iterator[str]:
        """The names of every schedule in the group, page by page."""
        for listed in self.list_schedules():
            yield listed.name

    def list_schedules(self) -> Iterator[ListedSchedule]:
        """Every schedule in the group with its modification marker, 100 a page (botocore's
        paginator; a group that does not exist has none)."""
        pages = self._client.get_paginator("list_schedules").paginate(
            GroupName=self.group_name, PaginationConfig={"PageSize": 100},
        )
        try:
            for page in pages:
                for summary in page.get("Schedules", []):
                    yield ListedSchedule(summary["Name"], modification_marker(summary))
        except (ClientError, BotoCoreError) as exc:
            error = _gateway_error(exc)
            if not isinstance(error, NotFound):
                raise error from exc

    def _call(self, operation: str, request: dict[str, Any], retry: BoundedRetry | None = None) -> dict[str, Any]:
        method = getattr(self._client, operation)
        try:
            return retry.call(method, **request) if retry else method(**request)
        except (ClientError, BotoCoreError) as exc:
            raise _gateway_error(exc) from exc


# EventBridge Scheduler rejects a StartDate more than 5 minutes in the past.
START_DATE_TOLERANCE = timedelta(minutes=4)


def effective_start(definition: ScheduleDefinition, now: datetime) -> datetime | None:
    """The StartDate to send. Once the record's start has passed (a re-create or an update
    days later), AWS would reject it: a rate schedule gets the next start on its own phase
    (start + k * interval), so it keeps firing at the same times; a cron schedule needs
    none, since its fire times do not depend on the start."""
    start = definition.start_date
    if start is None or start >= now - START_DATE_TOLERANCE:
        return start
    parsed = expressions.parse_expression(definition.schedule_expression)
    if isinstance(parsed, expressions.RateExpression):
        steps = -(-(now - start) // parsed.interval)  # ceiling division
        return start + steps * parsed.interval
    return None


def snooze_start(schedule: Schedule, now: datetime) -> datetime | None:
    """The StartDate that holds a snoozed schedule until its snooze ends (None: not snoozed,
    or the snooze is over). A rate schedule's first fire is its StartDate, so it gets its
    first slot on its own phase at or after the end (start, or creation, + k * interval); a
    cron schedule fires on or after it. StartDate is not part of the drift comparison
    (``observed_spec``), so a snooze is never drift."""
    if not schedule.snoozed_until:
        return None
    until = parse_iso(schedule.snoozed_until)
    if until <= now:
        return None
    parsed = expressions.parse_expression(schedule.definition.schedule_expression)
    if isinstance(parsed, expressions.RateExpression):
        anchor = schedule.definition.start_date or parse_iso(schedule.created_date)
        if anchor < until:
            steps = -(-(until - anchor) // parsed.interval)
            return anchor + steps * parsed.interval
    return until


# What AWS fills in when a schedule is created without a retry policy.
DEFAULT_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


def observed_spec(response: dict[str, Any]) -> dict[str, Any]:
    """The parts of a GetSchedule answer that we set, normalised for comparison. StartDate
    is left out: once passed it is sent moved (see ``effective_start``), not as stored."""
    target = response.get("Target", {})
    window = response.get("FlexibleTimeWindow", {"Mode": "OFF"})
    return {
        "ScheduleExpression": response.get("ScheduleExpression"),
        "ScheduleExpressionTimezone": response.get("ScheduleExpressionTimezone") or "UTC",
        "State": response.get("State", "ENABLED"),
        "TargetArn": target.get("Arn"),
        "RoleArn": target.get("RoleArn"),
        "Input": _normalised_json(target.get("Input")),
        "RetryPolicy": target.get("RetryPolicy") or DEFAULT_RETRY_POLICY,
        "DeadLetterArn": (target.get("DeadLetterConfig") or {}).get("Arn"),
        "FlexibleWindow": window.get("MaximumWindowInMinutes") if window.get("Mode") == "FLEXIBLE" else None,
        "Description": response.get("Description") or None,
        "EndDate": _utc(response.get("EndDate")),
        "ActionAfterCompletion": response.get("ActionAfterCompletion") or "NONE",
    }


def desired_spec(request: dict[str, Any]) -> dict[str, Any]:
    """The same normalised view of a request built by ``request_for``."""
    window = request["FlexibleTimeWindow"]
    return {
        "ScheduleExpression": request["ScheduleExpression"],
        "ScheduleExpressionTimezone": request["ScheduleExpressionTimezone"],
        "State": request["State"],
        "TargetArn": request["Target"]["Arn"],
        "RoleArn": request["Target"]["RoleArn"],
        "Input": _normalised_json(request["Target"]["Input"]),
        "RetryPolicy": request["Target"].get("RetryPolicy") or DEFAULT_RETRY_POLICY,
        "DeadLetterArn": (request["Target"].get("DeadLetterConfig") or {}).get("Arn"),
        "FlexibleWindow": window.get("MaximumWindowInMinutes") if window["Mode"] == "FLEXIBLE" else None,
        "Description": request.get("Description"),
        "EndDate": _utc(request.get("EndDate")),
        "ActionAfterCompletion": request["ActionAfterCompletion"],
    }


def _utc(moment: datetime | None) -> datetime | None:
    """Timestamps compare to the second, in UTC (AWS stores seconds)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _normalised_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
