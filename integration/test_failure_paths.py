"""Failure routing end to end, the app deployed the way ``make run`` deploys it.

- A run the target function gives up on (every attempt of the asynchronous invoke fails)
  goes to the stage's dead-letter queue as Lambda's on-failure record, and the
  ``dead_letters`` function records it on the schedule as ``failed``, with the reason.
- A run EventBridge Scheduler cannot deliver goes to the same queue as the scheduler's
  dead-letter event, recorded as ``undelivered``. ministack does not deliver EventBridge
  Scheduler dead letters (it ignores a schedule's DeadLetterConfig): on ministack that test
  is a strict expected failure; tests/test_dead_letters.py covers the recording on moto with
  the message AWS sends.

On the session's ministack (integration/conftest.py), or on the endpoint named by
``LOCALSTACK_ENDPOINT`` / ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import clients
from chalicelib.config import resource_names, settings_for
from integration.deployed import eventually, http
from ops import run as local_run

STAGE = local_run.LOCAL_STAGE
EXAMPLE = json.loads(local_run.EXAMPLE)
MINISTACK_NO_SCHEDULER_DLQ = "ministack: EventBridge Scheduler never sends dead letters (DeadLetterConfig is ignored)"


@pytest.fixture(scope="module")
def deployed(local_stages) -> Any:
    """The app, up on the session's endpoint (integration/conftest.py), this process pointed
    at it: (outputs, the deploy's log, the endpoint's kind); torn down after the module."""
    with local_stages.pointed():
        outputs = local_stages.up(STAGE)
        try:
            yield outputs, local_stages.logs[STAGE], local_stages.kind
        finally:
            # a record corrupted on purpose (a target type the app never writes) stays behind:
            # the next module gets the stage deployed afresh, not this one
            local_stages.down(STAGE)


def active_schedule(base: str, body: dict, outputs, log) -> str:
    status, created = http("POST", f"{base}/api/schedules", body)
    assert status == 202, created

    def active():
        code, shown = http("GET", f"{base}/api/schedules/{created['id']}")
        return code == 200 and shown.get("status") == "active"

    eventually("the schedule becomes active", active, 30, outputs, log, every=2)
    return str(created["id"])


def test_a_run_the_target_function_gives_up_on_is_recorded_failed(deployed):
    outputs, log, _ = deployed
    settings = settings_for(STAGE)
    names = resource_names(STAGE)
    schedule_id = active_schedule(outputs.base_url, {**EXAMPLE, "schedule_expression": "rate(1 day)"}, outputs, log)
    # GIVEN a record the target function cannot read (every attempt of a run fails)
    table = clients.resource("dynamodb", settings).Table(names.table)
    table.update_item(
        Key={"id": schedule_id}, UpdateExpression="SET #d.#t = :bad",
        ExpressionAttributeNames={"#d": "definition", "#t": "target_type"},
        ExpressionAttributeValues={":bad": "carrier-pigeon"},
    )
    # WHEN it is invoked asynchronously, as EventBridge Scheduler invokes it
    event = {"schedule_id": schedule_id, "execution_id": "given-up-1",
             "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"}
    clients.client("lambda", settings).invoke(
        FunctionName=outputs.functions["schedule_target"], InvocationType="Event", Payload=json.dumps(event).encode())

    # THEN, after Lambda's retries, the run is on its schedule as failed, with why
    def recorded():
        item = table.get_item(Key={"id": f"{schedule_id}#execution#given-up-1"}, ConsistentRead=True).get("Item")
        return item if item and item.get("outcome") == "failed" else None

    item = eventually("the failure is recorded", recorded, 90, outputs, log, every=2)
    assert item["error"].startswith("the target function gave up (RetriesExhausted"), item
    assert item["status"] == f"execution#{schedule_id}"
    summary = table.get_item(Key={"id": schedule_id}, ConsistentRead=True)["Item"]["executions"]
    assert (summary["total"], summary["failed"]) == (1, 1)


def test_a_run_the_scheduler_cannot_deliver_is_recorded_undelivered(deployed, request):
    outputs, log, kind = deployed
    if kind == "ministack":
        request.applymarker(pytest.mark.xfail(strict=True, raises=pytest.fail.Exception, reason=MINISTACK_NO_SCHEDULER_DLQ))
    settings = settings_for(STAGE)
    names = resource_names(STAGE)
    schedule_id = active_schedule(outputs.base_url, EXAMPLE, outputs, log)
    # GIVEN its schedule's target is a function that does not exist (the scheduler cannot
    # invoke it; its dead letters still go to the stage's queue)
    scheduler = clients.client("scheduler", settings)
    current = scheduler.get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    target = {**current["Target"], "Arn": current["Target"]["Arn"] + "-missing"}
    target["RetryPolicy"] = {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}
    scheduler.update_schedule(
        Name=schedule_id, GroupName=names.schedule_group, Target=target,
        ScheduleExpression=current["ScheduleExpression"], FlexibleTimeWindow={"Mode": "OFF"},
        ScheduleExpressionTimezone=current.get("ScheduleExpressionTimezone", "UTC"),
    )

    # WHEN it fires THEN an undelivered execution appears, with the scheduler's reason
    def undelivered():
        code, body = http("GET", f"{outputs.base_url}/api/schedules/{schedule_id}/executions")
        found = [item for item in (body or {}).get("items", []) if item.get("outcome") == "undelivered"]
        return found if code == 200 and found else None

    [execution] = eventually("an undelivered execution is recorded", undelivered, 90, outputs, log, every=2)
    assert execution["error"].startswith("EventBridge Scheduler could not invoke the target")
