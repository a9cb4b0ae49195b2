"""Schedules that can never fire again: refused when asked for, shown as ``completed`` when
they become so, listed by that status, and neither drift nor re-created by the reconcile."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib import wiring
from chalicelib.completion import has_fires_left
from chalicelib.identity import ANONYMOUS
from chalicelib.models import Schedule, ScheduleDefinition, ScheduleStatus, iso, new_id
from tests.aws_rules import enforce_dynamodb_rules
from tests.support import REGION, TEE_TIMES, deliver_commands, post, table_items


@pytest.fixture(autouse=True)
def aws_rules(moto_stage):
    """DynamoDB's request rules that moto does not enforce (see tests/aws_rules.py)."""
    enforce_dynamodb_rules()

NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    "change, field, rule",
    [
        ({"schedule_expression": "at(2020-01-01T06:00:00)"}, "schedule_expression", "at() time must be in the future"),
        ({"schedule_expression": f"at({(NOW - timedelta(hours=2)).strftime('%Y-%m-%dT%H:%M:%S')})", "timezone": "UTC"},
         "schedule_expression", "at() time must be in the future"),
        ({"end_date": iso(NOW - timedelta(minutes=1))}, "end_date", "end date has passed never fires"),
        ({"schedule_expression": "cron(0 6 * * ? 2020)"}, "schedule_expression", "no fire time left"),
    ],
    ids=["past at", "at earlier today", "passed end date", "cron whose years are over"],
)
def test_a_schedule_that_would_never_fire_is_refused_on_create_and_update(chalice_client, moto_stage, names, change, field, rule):
    # WHEN created, THEN 400 naming the field and the rule, and nothing written
    response = post(chalice_client, "/api/schedules", {**TEE_TIMES, **change})
    assert response.status_code == 400, response.json_body
    assert response.json_body["Message"].startswith(f"{field}:") and rule in response.json_body["Message"]
    assert table_items(names) == []
    # GIVEN a live schedule, WHEN updated to never fire, THEN the same 400 and the record is unchanged
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    response = chalice_client.http.put(
        f"/api/schedules/{schedule_id}", headers={"Content-Type": "application/json"},
        body=json.dumps({**TEE_TIMES, **change}),
    )
    assert response.status_code == 400 and rule in response.json_body["Message"]
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["status"] == "active"


def stored(status: ScheduleStatus, expression: str, **definition) -> Schedule:
    """A record written before its time passed (the API refuses a past one now)."""
    schedule = Schedule(
        id=new_id(), created_by=ANONYMOUS, created_date=iso(NOW), updated_date=iso(NOW), status=status,
        definition=ScheduleDefinition.model_validate({**TEE_TIMES, "schedule_expression": expression, **definition}),
    )
    wiring.repository(wiring.get_settings()).create(schedule)
    return schedule


def test_an_active_schedule_with_no_fire_left_becomes_completed_and_stays_so(chalice_client, moto_stage, names):
    # GIVEN an at() schedule that ran (still in its group: ActionAfterCompletion NONE) and a live one
    done = stored(ScheduleStatus.ACTIVE, "at(2026-01-01T06:00:00)")
    wiring.gateway(wiring.get_settings()).create(done)
    live = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN the reconcile runs
    report = wiring.reconciler().run()
    # THEN the finished one is completed (its version unchanged), the live one untouched
    assert report["counts"].get("complete") == 1
    shown = chalice_client.http.get(f"/api/schedules/{done.id}").json_body
    assert (shown["status"], shown["version"]) == ("completed", done.version)
    assert "next_fire_times" not in shown
    # AND it is listed by that status and by default
    assert [item["id"] for item in chalice_client.http.get("/api/schedules?status=completed").json_body["items"]] == [done.id]
    assert {item["id"] for item in chalice_client.http.get("/api/schedules").json_body["items"]} == {done.id, live}
    # AND the next reconcile sees no drift and re-creates nothing, even when AWS removed it
    boto3.client("scheduler", region_name=REGION).delete_schedule(Name=done.id, GroupName=names.schedule_group)
    plan = wiring.reconciler().plan()
    assert plan.changes == []
    assert all(repair.schedule_id != done.id for repair in plan.repairs)


def test_resuming_a_schedule_whose_time_has_passed_settles_it_as_completed(chalice_client, moto_stage, names):
    # GIVEN a paused one-time schedule whose time passed while paused
    paused = stored(ScheduleStatus.PAUSED, "at(2026-01-01T06:00:00)", state="DISABLED")
    # WHEN resumed
    response = chalice_client.http.post(f"/api/schedules/{paused.id}/resume")
    assert response.status_code == 202
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the command handler shows it completed, not active
    assert chalice_client.http.get(f"/api/schedules/{paused.id}").json_body["status"] == "completed"


def test_has_fires_left_is_the_one_rule():
    future = ScheduleDefinition.model_validate({**TEE_TIMES, "schedule_expression": "at(2199-01-01T00:00:00)"})
    past = ScheduleDefinition.model_validate({**TEE_TIMES, "schedule_expression": "at(2001-01-01T00:00:00)"})
    ended = ScheduleDefinition.model_validate({**TEE_TIMES, "end_date": "2001-01-01T00:00:00Z"})
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert (has_fires_left(future, now), has_fires_left(past, now), has_fires_left(ended, now)) == (True, False, False)
