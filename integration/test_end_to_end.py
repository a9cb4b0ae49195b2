"""The whole service, end to end, brought up the way ``make run`` brings it up.

On the session's ministack (integration/conftest.py: on its own loopback port, so ``make
run`` is left alone), or on the running endpoint named by ``LOCALSTACK_ENDPOINT`` /
``AWS_ENDPOINT_URL``: deploy the stage's resources and the app (``chalice package`` +
CloudFormation), then over HTTP create a ``rate(1 minute)`` web-action schedule, see it
become active, see it fire (an execution record through
``GET /api/schedules/{id}/executions``, and the web action's message on the web-actions
topic through a subscribed SQS queue), delete it, and tear everything down.

ministack checks schedules every 10 s and starts a rate schedule's clock at its creation, so
the first execution comes 60-70 s after the schedule is created; the whole test takes about
90 s and must finish within 3 minutes.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import clients
from chalicelib.config import resource_names, settings_for
from integration.deployed import STAGE, eventually, http
from ops import app_stack
from ops import run as local_run

BUDGET_SECONDS = 180
EXAMPLE = json.loads(local_run.EXAMPLE)


@pytest.fixture(scope="module")
def endpoint_url(local_stages) -> Iterator[str]:
    """The session's endpoint that runs Lambda functions (integration/conftest.py), this
    process pointed at it, and the local stage not deployed there: this test brings it up
    and tears it down itself."""
    with local_stages.pointed():
        local_stages.down(STAGE)
        yield local_stages.url


def json_lines(outputs: app_stack.AppOutputs, function: str) -> list[dict[str, Any]]:
    """The JSON log lines one deployed function wrote to CloudWatch Logs, parsed."""
    logs = clients.client("logs", settings_for(STAGE))
    found: list[dict[str, Any]] = []
    request: dict[str, Any] = {"logGroupName": f"/aws/lambda/{outputs.functions[function]}"}
    for _ in range(50):
        try:
            page = logs.filter_log_events(**request)
        except logs.exceptions.ResourceNotFoundException:
            return found
        for event in page.get("events", []):
            for text in event["message"].splitlines():
                try:
                    line = json.loads(text)
                except ValueError:
                    continue
                if isinstance(line, dict):
                    found.append(line)
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    return found


def event_lines(outputs: app_stack.AppOutputs, function: str, event: str, schedule_id: str) -> list[dict[str, Any]]:
    return [
        line for line in json_lines(outputs, function)
        if line.get("event") == event and line.get("schedule_id") == schedule_id
    ]


def test_schedule_created_over_http_fires_and_publishes_its_web_action(endpoint_url, tmp_path):
    state = tmp_path / "stacks"  # the stack command's record of this endpoint's resources
    started = time.monotonic()
    log = io.StringIO()
    settings = settings_for(STAGE)
    torn_down = False
    tap = None
    try:
        outputs = local_run.bring_up(STAGE, log, state)
        up_seconds = time.monotonic() - started
        assert set(outputs.functions) >= {"api_handler", "schedule_command", "schedule_target"}
        base = outputs.base_url
        tap = local_run.topic_tap(STAGE, log)
        tap.start()
        web_actions: list[dict] = []
        tap_poll = lambda: tap.poll(lambda label, message: web_actions.append(message) if label == "web-actions" else None)  # noqa: E731

        status, created = http("POST", f"{base}/api/schedules", EXAMPLE)
        assert status == 202, created
        assert created["status"] == "pending"
        schedule_id = created["id"]
        created_at = time.monotonic()

        def active():
            code, body = http("GET", f"{base}/api/schedules/{schedule_id}")
            return body if code == 200 and body.get("status") == "active" else None

        record = eventually("the schedule becomes active", active, 30, outputs, log)
        assert f"schedule/{resource_names(STAGE).schedule_group}/" in record["eventbridge_arn"]
        assert schedule_id in record["eventbridge_arn"]

        def executed():
            tap_poll()
            code, body = http("GET", f"{base}/api/schedules/{schedule_id}/executions")
            done = [item for item in (body or {}).get("items", []) if item.get("outcome") == "succeeded"]
            return done if code == 200 and done else None

        executions = eventually("an execution is recorded", executed, 110, outputs, log, every=2)
        fired_after = time.monotonic() - created_at
        assert executions[0]["schedule_id"] == schedule_id

        def published():
            tap_poll()
            return [m for m in web_actions if isinstance(m, dict) and m.get("schedule_id") == schedule_id]

        messages = eventually("the web action reaches the web-actions topic", published, 20, outputs, log)
        assert messages[0]["payload"] == EXAMPLE["payload"]
        assert messages[0]["target_type"] == "web_action"
        assert messages[0]["execution_id"] == executions[0]["execution_id"]

        # The functions' CloudWatch logs hold one JSON line per event, all with this schedule id.
        [create_line] = eventually(
            "the create's JSON line in api_handler's logs",
            lambda: [line for line in event_lines(outputs, "api_handler", "api_request", schedule_id)
                     if line.get("method") == "POST"],
            20, outputs, log,
        )
        assert (create_line["route"], create_line["status"]) == ("/api/schedules", 202)
        assert create_line["service"] == "rez-agent-schedules" and create_line["correlation_id"]
        [command_line] = eventually(
            "the command's JSON line in schedule_command's logs",
            lambda: event_lines(outputs, "schedule_command", "command", schedule_id), 20, outputs, log,
        )
        assert (command_line["action"], command_line["version"], command_line["outcome"]) == ("create", 1, "applied")
        recorded = {execution["execution_id"] for execution in executions}
        run_lines = eventually(
            "the execution's JSON line in schedule_target's logs, correlated by its execution id",
            lambda: [line for line in event_lines(outputs, "schedule_target", "execution", schedule_id)
                     if line.get("correlation_id") in recorded],
            30, outputs, log,
        )
        assert {line["outcome"] for line in run_lines} == {"succeeded"}

        status, body = http("DELETE", f"{base}/api/schedules/{schedule_id}")
        assert status == 202, body

        def deleted():
            code, body = http("GET", f"{base}/api/schedules/{schedule_id}")
            return code == 404 or (code == 200 and body.get("status") == "deleted")

        eventually("the schedule is deleted", deleted, 30, outputs, log)
        scheduler = clients.client("scheduler", settings)
        group = resource_names(STAGE).schedule_group
        names = [s["Name"] for s in scheduler.list_schedules(GroupName=group).get("Schedules", [])]
        assert not [name for name in names if schedule_id in name]

        tap.stop()
        tap = None
        local_run.tear_down(STAGE, log, state)
        torn_down = True
        cfn = clients.client("cloudformation", settings)
        assert not [
            s for s in cfn.list_stacks()["StackSummaries"]
            if s["StackName"] == app_stack.stack_name(STAGE) and s["StackStatus"] != "DELETE_COMPLETE"
        ]
        tables = clients.client("dynamodb", settings).list_tables()["TableNames"]
        assert resource_names(STAGE).table not in tables

        elapsed = time.monotonic() - started
        print(f"up in {up_seconds:.1f}s, first execution {fired_after:.1f}s after create, total {elapsed:.1f}s")
        assert elapsed < BUDGET_SECONDS, log.getvalue()
    finally:
        if tap is not None:
            tap.stop()
        if not torn_down:
            try:
                local_run.tear_down(STAGE, log, state)
            except Exception as exc:  # noqa: BLE001 - the test already failed; say so, keep its error
                print(f"tear down failed: {exc}\n{log.getvalue()}")
