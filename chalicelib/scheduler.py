"""EventBridge Scheduler, behind a small interface.

Every schedule lives in the stage's group and is named by its schedule id. The target is
the stage's ``schedule_target`` function; its Input carries the schedule id and
EventBridge's context attributes, which the scheduler substitutes at each invocation.
botocore errors are translated here and nowhere else in the schedule path.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

from botocore.exceptions import ClientError

from chalicelib.aws_errors import error_code, error_message, translate
from chalicelib.errors import AlreadyExists, NotFound, UpstreamRejected
from chalicelib.models import Schedule

ROLE_NOT_ASSUMABLE = "The execution role you provide must allow AWS EventBridge Scheduler to assume the role"

TARGET_INPUT_TEMPLATE = {
    "scheduled_time": "<aws.scheduler.scheduled-time>",
    "execution_id": "<aws.scheduler.execution-id>",
    "attempt": "<aws.scheduler.attempt-number>",
}


def target_input(schedule_id: str) -> str:
    return json.dumps({"schedule_id": schedule_id, **TARGET_INPUT_TEMPLATE}, separators=(",", ":"))


class SchedulerGateway(Protocol):
    def create(self, schedule: Schedule) -> str: ...
    def update(self, schedule: Schedule) -> str: ...
    def get(self, schedule_id: str) -> dict | None: ...
    def delete(self, schedule_id: str) -> None: ...
    def list_names(self) -> Iterator[str]: ...


@dataclass(frozen=True)
class Target:
    function_arn: str
    role_arn: str


class EventBridgeSchedulerGateway:
    """The EventBridge Scheduler implementation; receives its client."""

    def __init__(
        self,
        client: Any,
        group_name: str,
        target: Target,
        role_retry_attempts: int = 10,
        role_retry_delay: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._client = client
        self.group_name = group_name
        self._target = target
        self._role_retry_attempts = role_retry_attempts
        self._role_retry_delay = role_retry_delay
        self._sleep = sleep

    def request_for(self, schedule: Schedule) -> dict[str, Any]:
        """The full CreateSchedule/UpdateSchedule request for a record."""
        definition = schedule.definition
        target: dict[str, Any] = {
            "Arn": self._target.function_arn,
            "RoleArn": self._target.role_arn,
            "Input": target_input(schedule.id),
        }
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
        if definition.start_date:
            request["StartDate"] = definition.start_date
        if definition.end_date:
            request["EndDate"] = definition.end_date
        return request

    def create(self, schedule: Schedule) -> str:
        """Create the schedule; AlreadyExists if a schedule of that name exists. The
        ClientToken is derived from the id and version, so a retried call is one create."""
        request = self.request_for(schedule)
        request["ClientToken"] = f"{schedule.id}-v{schedule.version}"
        return self._call_with_role_retry("create_schedule", request)["ScheduleArn"]

    def update(self, schedule: Schedule) -> str:
        """Replace the whole definition (UpdateSchedule resets what it is not sent)."""
        request = self.request_for(schedule)
        request["ClientToken"] = f"{schedule.id}-v{schedule.version}-u"
        return self._call_with_role_retry("update_schedule", request)["ScheduleArn"]

    def upsert(self, schedule: Schedule) -> str:
        try:
            return self.create(schedule)
        except AlreadyExists:
            return self.update(schedule)

    def get(self, schedule_id: str) -> dict | None:
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

    def list_names(self) -> Iterator[str]:
        """The names of every schedule in the group, page by page."""
        token = None
        while True:
            request: dict[str, Any] = {"GroupName": self.group_name, "MaxResults": 100}
            if token:
                request["NextToken"] = token
            try:
                response = self._call("list_schedules", request)
            except NotFound:
                return
            for summary in response.get("Schedules", []):
                yield summary["Name"]
            token = response.get("NextToken")
            if not token:
                return

    def _call_with_role_retry(self, operation: str, request: dict) -> dict:
        """A new execution role takes seconds to become assumable by the scheduler; that
        one ValidationException is retried, boundedly. Nothing else is."""
        attempt = 0
        while True:
            try:
                return self._call(operation, request)
            except UpstreamRejected as exc:
                attempt += 1
                if ROLE_NOT_ASSUMABLE not in exc.message or attempt >= self._role_retry_attempts:
                    raise
                self._sleep(self._role_retry_delay)

    def _call(self, operation: str, request: dict) -> dict:
        try:
            return getattr(self._client, operation)(**request)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                raise NotFound(error_message(exc)) from exc
            if code == "ConflictException":
                raise AlreadyExists(error_message(exc)) from exc
            raise translate(exc) from exc
        except Exception as exc:  # connection errors and timeouts
            if type(exc).__module__.startswith("botocore"):
                raise translate(exc) from exc
            raise


def observed_spec(response: dict) -> dict[str, Any]:
    """The parts of a GetSchedule answer that we set, normalised for comparison."""
    target = response.get("Target", {})
    window = response.get("FlexibleTimeWindow", {"Mode": "OFF"})
    spec = {
        "ScheduleExpression": response.get("ScheduleExpression"),
        "ScheduleExpressionTimezone": response.get("ScheduleExpressionTimezone") or "UTC",
        "State": response.get("State", "ENABLED"),
        "TargetArn": target.get("Arn"),
        "RoleArn": target.get("RoleArn"),
        "Input": _normalised_json(target.get("Input")),
        "FlexibleWindow": window.get("MaximumWindowInMinutes") if window.get("Mode") == "FLEXIBLE" else None,
    }
    return spec


def desired_spec(request: dict) -> dict[str, Any]:
    """The same normalised view of a request built by ``request_for``."""
    window = request["FlexibleTimeWindow"]
    return {
        "ScheduleExpression": request["ScheduleExpression"],
        "ScheduleExpressionTimezone": request["ScheduleExpressionTimezone"],
        "State": request["State"],
        "TargetArn": request["Target"]["Arn"],
        "RoleArn": request["Target"]["RoleArn"],
        "Input": _normalised_json(request["Target"]["Input"]),
        "FlexibleWindow": window.get("MaximumWindowInMinutes") if window["Mode"] == "FLEXIBLE" else None,
    }


def _normalised_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
