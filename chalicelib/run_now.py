"""Run now: invoke a schedule's target function at once, outside its plan.

The run gets its own execution id (``manual-<uuid>``) and ``trigger: manual``; the target
records it like any run. With an ``Idempotency-Key`` the execution id is derived from
(caller, schedule, key), and the run's history entry doubles as the marker: a retried
request finds it and answers the same run without invoking again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws_errors import translate
from chalicelib.clock import Clock, system_clock
from chalicelib.errors import Conflict, NotAvailableHere, NotFound, ServiceError, UpstreamRejected
from chalicelib.identity import Caller
from chalicelib.models import (
    ExecutionTrigger,
    Schedule,
    derived_id,
    iso,
)
from chalicelib.ports import RunNowMarkers, ScheduleRepository

MANUAL_PREFIX = "manual-"
NO_TARGET_FUNCTION = (
    "run now needs this stage's target function, which is not deployed here; `make local` "
    "on its embedded moto serves the API alone and runs no function (`make run` runs the "
    "whole service, run now included)"
)


class TargetInvoker(Protocol):
    def invoke_async(self, payload: dict[str, Any]) -> None: ...


class LambdaTargetInvoker:
    """Invokes the stage's target function asynchronously (InvocationType Event)."""

    def __init__(self, client_for: Callable[[], Any], function_arn: Callable[[], str],
                 unavailable: str = NO_TARGET_FUNCTION):
        """``unavailable``: what a 501 says where the stage has no target function."""
        self._client_for = client_for
        self._function_arn = function_arn
        self._unavailable = unavailable

    def invoke_async(self, payload: dict[str, Any]) -> None:
        try:
            self._client_for().invoke(
                FunctionName=self._function_arn(),
                InvocationType="Event",
                Payload=json.dumps(payload, separators=(",", ":")).encode(),
            )
        except (ClientError, BotoCoreError) as exc:
            error = translate(exc, "target function")
            if isinstance(error, NotFound):  # the function, not the schedule
                raise NotAvailableHere(self._unavailable) from exc
            if isinstance(error, Conflict):
                raise UpstreamRejected(error.message) from exc
            raise error from exc


def manual_execution_id(principal: str, schedule_id: str, key: str | None) -> str:
    if key is None:
        return MANUAL_PREFIX + str(uuid.uuid4())
    return MANUAL_PREFIX + derived_id(principal, schedule_id, key)


class RunNowService:
    def __init__(self, repository: ScheduleRepository, activity: RunNowMarkers, invoker: TargetInvoker,
                 clock: Clock = system_clock):
        self._repository = repository
        self._clock = clock
        self._activity = activity
        self._invoker = invoker

    def run(self, schedule_id: str, caller: Caller, idempotency_key: str | None = None) -> dict[str, Any]:
        schedule = self._repository.get(schedule_id)
        if schedule is None or not caller.may_act_on(schedule.created_by):
            raise NotFound(f"schedule {schedule_id} does not exist")
        if schedule.is_deleted:
            raise Conflict(f"schedule {schedule_id} is deleted")
        execution_id = manual_execution_id(caller.principal, schedule_id, idempotency_key)
        requested_at = iso(self._clock())
        claimed = self._activity.claim_run(schedule, execution_id, caller.principal, requested_at)
        if claimed is None:
            existing = self._activity.find_run(schedule_id, execution_id)
            if existing is None or existing.get("at") != requested_at:
                return answer(schedule, execution_id, existing["at"] if existing else requested_at, repeated=True)
            # our own claim, written by a request whose answer was lost and was sent again: run it
        try:
            self._invoker.invoke_async({
                "schedule_id": schedule_id,
                "scheduled_time": requested_at,
                "execution_id": execution_id,
                "attempt": 1,
                "trigger": ExecutionTrigger.MANUAL.value,
            })
        except ServiceError:
            self._activity.release_run(schedule_id, execution_id)
            raise
        return answer(schedule, execution_id, requested_at)


def answer(schedule: Schedule, execution_id: str, requested_at: str, repeated: bool = False) -> dict[str, Any]:
    return {
        "schedule_id": schedule.id,
        "execution_id": execution_id,
        "trigger": ExecutionTrigger.MANUAL.value,
        "requested_at": requested_at,
        "repeated": repeated,
        "links": {
            "executions": f"/api/schedules/{schedule.id}/executions",
            "timeline": f"/api/schedules/{schedule.id}/timeline",
        },
    }
