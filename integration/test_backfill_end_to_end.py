"""Backfill end to end, the app deployed the way ``make run`` deploys it: the API invokes the
target function asynchronously, the function runs the walk's slots one after another (and
continues in a new invocation of itself when its time runs low), each through its own claim,
dispatch and outcome.

An outage: the schedule's EventBridge schedule is deleted out of band right after it becomes
active, so its slots pass unfired; once three are past their deadline (slot + the 120 s late
grace) they are backfilled. About six minutes, most of it waiting for those deadlines.

On the session's ministack (integration/conftest.py), or on the endpoint named by
``LOCALSTACK_ENDPOINT`` / ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import clients
from chalicelib.config import resource_names, settings_for
from integration.deployed import eventually, http
from ops import run as local_run

STAGE = local_run.LOCAL_STAGE
EXAMPLE = json.loads(local_run.EXAMPLE)
GRACE = timedelta(seconds=120)  # the local stage's late grace (LATE_GRACE_SECONDS)


@pytest.fixture(scope="module")
def deployed(local_stages) -> Any:
    with local_stages.pointed():
        yield local_stages.up(STAGE), local_stages.logs[STAGE]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_outage_is_backfilled_once_oldest_first_on_the_emulator(deployed):
    outputs, log = deployed
    base = outputs.base_url
    # GIVEN a schedule every minute whose EventBridge schedule vanished right after it became
    # active (an outage: its slots pass unfired)
    status, created = http("POST", f"{base}/api/schedules", {**EXAMPLE, "name": "backfill-e2e",
                                                              "schedule_expression": "rate(1 minute)"})
    assert status == 202, created
    schedule_id = created["id"]
    created_at = datetime.fromisoformat(created["created_date"].replace("Z", "+00:00"))
    eventually("the schedule becomes active",
               lambda: http("GET", f"{base}/api/schedules/{schedule_id}")[1].get("status") == "active",
               60, outputs, log, every=2)
    clients.client("scheduler", settings_for(STAGE)).delete_schedule(
        Name=schedule_id, GroupName=resource_names(STAGE).schedule_group)
    # AND three of its slots are past their deadline
    window = {"from": iso(created_at), "to": iso(created_at + timedelta(minutes=3, seconds=30))}
    wait = (created_at + timedelta(minutes=3, seconds=30) + GRACE - datetime.now(UTC)).total_seconds()
    time.sleep(max(0.0, wait) + 5)

    # WHEN the missed slots are backfilled, a dry run first
    status, dry = http("POST", f"{base}/api/schedules/{schedule_id}/backfill", {**window, "dry_run": True})
    assert status == 200, dry
    slots = [item["slot"] for item in dry["items"]]
    assert len(slots) == 3 and all(item["result"] == "missed" for item in dry["items"]), dry
    status, started = http("POST", f"{base}/api/schedules/{schedule_id}/backfill", window)
    assert status == 202, started
    assert [(item["slot"], item["run"]) for item in started["items"]] == [(slot, "started") for slot in slots]

    # THEN the target function runs each exactly once, oldest first, with trigger backfill
    def backfill_runs():
        code, page = http("GET", f"{base}/api/schedules/{schedule_id}/executions?limit=50")
        runs = [run for run in page.get("items", []) if run.get("trigger") == "backfill"] if code == 200 else []
        return runs if len(runs) >= 3 and all(run["outcome"] == "succeeded" for run in runs) else None

    runs = eventually("the three backfill runs succeed", backfill_runs, 120, outputs, log, every=3)
    assert sorted(run["scheduled_time"] for run in runs) == slots
    assert [run["scheduled_time"] for run in sorted(runs, key=lambda run: run["started_at"])] == slots
    assert {run["execution_id"] for run in runs} == {item["execution_id"] for item in started["items"]}

    # WHEN the same backfill is asked for again THEN it runs none
    status, again = http("POST", f"{base}/api/schedules/{schedule_id}/backfill", window)
    assert status == 202 and [item["run"] for item in again["items"]] == ["already_ran"] * 3, again
    time.sleep(5)
    assert len(backfill_runs() or []) == 3

    # AND the timeline shows the three slots succeeded, noting the backfill
    status, timeline = http("GET", f"{base}{started['links']['timeline']}")
    assert status == 200, timeline
    shown = {entry["time"]: entry for entry in timeline["items"]}
    for slot in slots:
        assert shown[slot]["result"] == "succeeded" and shown[slot]["note"].startswith("backfilled at "), shown[slot]
