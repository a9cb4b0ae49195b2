"""Shared by the timeline, history, run-now and alert tests: a clock the service reads, and
schedules and runs made at chosen times through the app's own paths."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import runs, wiring
from chalicelib.alerts import AlertSweep
from chalicelib.config import get_settings
from chalicelib.models import ExecutionOutcome, ExecutionTrigger
from tests.support import JSON, deliver_commands, post

# the schedule most timeline, history and alert tests use: a web action at the top of each hour
HOURLY = {
    "name": "hourly-report",
    "schedule_expression": "cron(0 * * * ? *)",
    "timezone": "UTC",
    "target_type": "web_action",
    "payload": {"action": "report"},
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class Clock:
    """The one clock the service reads (``wiring.use_clock``), set by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> Clock:
        self.now = at(text)
        return self

    def advance(self, **delta: float) -> Clock:
        self.now = self.now + timedelta(**delta)
        return self


@pytest.fixture
def clock():
    fake = Clock(at("2026-03-01T00:30:00Z"))
    wiring.use_clock(fake)
    yield fake
    wiring.use_clock(None)


def create(client, moto_stage, names, clock: Clock, when: str, body: dict[str, Any], headers=None) -> str:
    """Create a schedule at ``when`` and let the command handler apply it."""
    clock.set(when)
    response = post(client, "/api/schedules", body, headers)
    assert response.status_code == 202, response.json_body
    deliver_commands(client, moto_stage, names)
    return response.json_body["id"]


def change(client, moto_stage, names, clock: Clock, when: str, method: str, path: str, body=None) -> dict:
    clock.set(when)
    kwargs = {"body": json.dumps(body)} if body is not None else {}
    response = getattr(client.http, method)(path, headers=JSON, **kwargs)
    assert response.status_code == 202, response.json_body
    deliver_commands(client, moto_stage, names)
    return response.json_body


def fire(client, clock: Clock, schedule_id: str, slot: str, started: str, execution_id: str | None = None,
         trigger: str | None = None) -> dict:
    """The target function runs for ``slot``, starting at ``started`` (it succeeds)."""
    clock.set(started)
    event = {"schedule_id": schedule_id, "scheduled_time": slot,
             "execution_id": execution_id or f"exec-{slot}", "attempt": 1}
    if trigger:
        event["trigger"] = trigger
    return client.lambda_.invoke("schedule_target", event).payload


def record_run(clock: Clock, schedule_id: str, slot: str, started: str, outcome: ExecutionOutcome,
               execution_id: str | None = None, error: str = "the target answered 500") -> None:
    """A run the target recorded: claimed at ``started`` and (unless still started)
    finished with ``outcome``, through the run store's claim and finish, as the target does."""
    clock.set(started)
    store = wiring.run_store(get_settings())
    schedule = store.load(schedule_id)
    assert schedule is not None
    invocation = runs.Invocation(
        schedule_id=schedule_id, scheduled_time=slot, execution_id=execution_id or f"exec-{slot}",
        attempt=1, trigger=ExecutionTrigger.SCHEDULED,
    )
    claim = runs.Claim(token=uuid.uuid4().hex, request_id=None, started_at=clock.now,
                       expires_at=clock.now + timedelta(seconds=40))
    claimed = store.claim(schedule, invocation, claim)
    assert isinstance(claimed, runs.Claimed), claimed
    if outcome is not ExecutionOutcome.STARTED:
        failure = error if outcome is ExecutionOutcome.FAILED else None
        assert store.finish(claimed.record, claim, outcome, 10, failure)


def timeline_of(clock: Clock, schedule_id: str, start: str | None = None, end: str | None = None,
                cursor: str | None = None) -> dict:
    settings = get_settings()
    schedule = wiring.repository(settings).get(schedule_id)
    assert schedule is not None
    assert wiring.clock() is clock
    return wiring.timeline_service(settings).timeline(schedule, start, end, cursor)


def results(body: dict) -> dict[str, str]:
    return {entry["time"]: entry["result"] for entry in body["items"] if entry["trigger"] == "scheduled"}


def sweeper(clock: Clock) -> AlertSweep:
    assert wiring.clock() is clock
    return wiring.alert_sweep(get_settings())


def create_target_function() -> str:
    """The stage's target function, in moto (which accepts asynchronous invokes of it)."""
    iam = boto3.client("iam", region_name=get_settings().region)
    role = iam.create_role(RoleName="target-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return boto3.client("lambda", region_name=get_settings().region).create_function(
        FunctionName=get_settings().names.function("schedule_target"), Runtime="python3.11", Role=role,
        Handler="app.handler", Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
