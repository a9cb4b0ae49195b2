"""Concurrency between handlers, the reconciler and users; hostile input."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from chalicelib import wiring
from chalicelib.clock import system_clock
from chalicelib.errors import UpstreamUnavailable
from chalicelib.models import Action, Schedule, ScheduleDefinition, ScheduleStatus, iso, new_id
from tests.support import JSON, REGION, TEE_TIMES, deliver_commands, post


def cloud(names, schedule_id):
    return boto3.client("scheduler", region_name=REGION).get_schedule(Name=schedule_id, GroupName=names.schedule_group)


def test_an_older_command_finishing_last_does_not_leave_its_definition_in_the_cloud(chalice_client, moto_stage, names):
    # GIVEN a create whose handler read the record (v1) and then stalled
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    stale = wiring.repository(wiring.get_settings()).get(schedule_id)
    # AND meanwhile the user changed the expression and that command was applied
    changed = {**TEE_TIMES, "schedule_expression": "cron(30 7 * * ? *)"}
    chalice_client.http.put(f"/api/schedules/{schedule_id}", headers=JSON, body=json.dumps(changed))
    moto_stage["tap"].drain(names.command_topic)
    wiring.command_handler().handle_id(schedule_id)
    # WHEN the stalled handler resumes and writes its older definition
    wiring.command_handler().converge(stale)
    # THEN the cloud ends with the newest record's definition, and the record is active at v2
    assert cloud(names, schedule_id)["ScheduleExpression"] == "cron(30 7 * * ? *)"
    record = chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body
    assert (record["status"], record["version"]) == ("active", 2)


def test_a_stale_create_after_a_delete_does_not_revive_the_schedule(chalice_client, moto_stage, names):
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    stale = wiring.repository(wiring.get_settings()).get(schedule_id)
    chalice_client.http.delete(f"/api/schedules/{schedule_id}")
    moto_stage["tap"].drain(names.command_topic)
    wiring.command_handler().handle_id(schedule_id)
    wiring.command_handler().converge(stale)
    assert boto3.client("scheduler", region_name=REGION).list_schedules(GroupName=names.schedule_group)["Schedules"] == []


def test_reconcile_skips_a_plan_the_user_overtook(chalice_client, moto_stage, names):
    # GIVEN a plan to re-create a schedule deleted out of band
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    boto3.client("scheduler", region_name=REGION).delete_schedule(Name=schedule_id, GroupName=names.schedule_group)
    reconciler = wiring.reconciler()
    plan = reconciler.plan()
    # WHEN the user deletes it before the plan is applied
    chalice_client.http.delete(f"/api/schedules/{schedule_id}")
    deliver_commands(chalice_client, moto_stage, names)
    [outcome] = reconciler.apply(plan)
    # THEN the repair is skipped: nothing is re-created and the record stays deleted
    assert outcome.detail == "skipped: the record changed since the plan"
    assert boto3.client("scheduler", region_name=REGION).list_schedules(GroupName=names.schedule_group)["Schedules"] == []
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["status"] == "deleted"


def test_one_broken_schedule_does_not_stop_the_reconcile_of_the_others(chalice_client, moto_stage, names, monkeypatch):
    ids = [post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": f"s{i}"}).json_body["id"] for i in range(2)]
    deliver_commands(chalice_client, moto_stage, names)
    raw = boto3.client("scheduler", region_name=REGION)
    for schedule_id in ids:
        raw.delete_schedule(Name=schedule_id, GroupName=names.schedule_group)
    gateway = wiring.gateway(wiring.get_settings())
    original = gateway.upsert

    def broken_for_the_first(schedule, repair=False):
        if schedule.id == ids[0]:
            raise OverflowError("date value out of range")
        return original(schedule, repair=repair)

    monkeypatch.setattr(gateway, "upsert", broken_for_the_first)
    report = wiring.reconciler().run()
    outcomes = {a["schedule_id"]: a for a in report["applied"]}
    assert outcomes[ids[0]]["ok"] is False and "OverflowError" in outcomes[ids[0]]["detail"]
    assert outcomes[ids[1]]["ok"] is True
    assert cloud(names, ids[1])


def test_a_put_that_keeps_a_passed_start_date_is_accepted(chalice_client, moto_stage, names):
    # GIVEN a schedule whose start date passed yesterday
    started = system_clock() - timedelta(days=1)
    now = iso(system_clock())
    schedule = Schedule(
        id=new_id(), created_by="x", created_date=now, updated_date=now, status=ScheduleStatus.ACTIVE,
        definition=ScheduleDefinition(name="old", schedule_expression="rate(1 hour)", target_type="web_action", start_date=started),
    )
    wiring.repository(wiring.get_settings()).create(schedule)
    body = {"name": "old", "schedule_expression": "rate(1 hour)", "target_type": "web_action",
            "start_date": iso(started), "description": "now described"}
    # WHEN its owner PUTs it back with only a new description, THEN it is accepted
    owner = {**JSON, "X-Created-By": "x"}
    response = chalice_client.http.put(f"/api/schedules/{schedule.id}", headers=owner, body=json.dumps(body))
    assert response.status_code == 202, response.json_body
    # AND moving the start to another past date is still refused
    body["start_date"] = iso(started - timedelta(days=1))
    response = chalice_client.http.put(f"/api/schedules/{schedule.id}", headers=owner, body=json.dumps(body))
    assert response.status_code == 400


def test_a_lambda_retry_of_a_failed_run_runs_again(chalice_client, moto_stage, names, faults):
    # GIVEN a run that failed (Lambda retries the same event: same execution id and attempt)
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    faults.timeout("sns", "Publish")
    event = {"schedule_id": schedule_id, "execution_id": "x1", "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"}
    with pytest.raises(UpstreamUnavailable):
        chalice_client.lambda_.invoke("schedule_target", event)
    # WHEN the same event arrives again THEN it runs and succeeds
    assert chalice_client.lambda_.invoke("schedule_target", event).payload["outcome"] == "succeeded"
    assert len(moto_stage["tap"].drain(names.web_actions_topic)) == 1


def test_a_run_that_died_long_ago_is_claimed_again_but_a_recent_one_is_not(chalice_client, moto_stage, names):
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    item_id = f"{schedule_id}#execution#x2"
    base = {"id": item_id, "record_type": "execution", "status": f"execution#{schedule_id}",
            "created_date": "2026-11-24T11:00:00Z", "schedule_id": schedule_id, "execution_id": "x2",
            "scheduled_time": "2026-11-24T11:00:00Z", "attempt": 1, "outcome": "started"}
    event = {"schedule_id": schedule_id, "execution_id": "x2", "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"}
    table.put_item(Item={**base, "started_at": iso(system_clock() - timedelta(seconds=20))})
    assert chalice_client.lambda_.invoke("schedule_target", event).payload["outcome"] == "duplicate"
    table.put_item(Item={**base, "started_at": iso(system_clock() - timedelta(minutes=30))})
    assert chalice_client.lambda_.invoke("schedule_target", event).payload["outcome"] == "succeeded"


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/schedules", "[" * 5000 + "]" * 5000),
        ("/api/schedules", json.dumps({**TEE_TIMES, "payload": {"a": 1e999}}).replace("Infinity", "1e999")),
        ("/api/schedules", json.dumps({**TEE_TIMES, "start_date": "9999-12-31T23:00:00-12:00"})),
        ("/api/schedules", json.dumps({**TEE_TIMES, "end_date": "0001-01-01T00:00:00+05:00"})),
        ("/api/expressions/preview", json.dumps({"schedule_expression": "rate(1 hour)", "after": "9999-12-31T23:59:00-05:00"})),
        ("/api/expressions/preview", json.dumps({"schedule_expression": "rate(1 hour)", "after": "0001-01-01T00:00:00+05:00"})),
    ],
    ids=["deeply nested", "infinite number", "start past 9999", "end before year 1", "preview after 9999", "preview before year 1"],
)
def test_hostile_bodies_get_400(chalice_client, moto_stage, names, path, body):
    response = chalice_client.http.post(path, headers=JSON, body=body)
    assert response.status_code == 400, response.body


@pytest.mark.parametrize(
    "query",
    [
        "cursor=" + "W" * 5000,
        "cursor=eyJhY3RpdmUiOiJ4In0",  # {"active":"x"}
        "status=active&cursor=eyJpZCI6MS41fQ",  # {"id":1.5}
        "created_by=anonymous&cursor=eyJpZCI6IngifQ",  # {"id":"x"}
    ],
)
def test_forged_cursors_get_400(chalice_client, moto_stage, query):
    response = chalice_client.http.get(f"/api/schedules?{query}")
    assert response.status_code == 400, response.body
    assert "cursor" in response.json_body["Message"]


def test_creator_and_status_filters_combine_and_the_last_page_has_no_cursor(chalice_client, moto_stage, names):
    ids = [post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": f"n{i}"}, {"X-Created-By": "carol"}).json_body["id"] for i in range(4)]
    deliver_commands(chalice_client, moto_stage, names)
    carol = {"X-Created-By": "carol"}
    chalice_client.http.post(f"/api/schedules/{ids[0]}/pause", headers=carol)
    chalice_client.http.delete(f"/api/schedules/{ids[1]}", headers=carol)
    deliver_commands(chalice_client, moto_stage, names)
    active = chalice_client.http.get("/api/schedules?created_by=carol&status=active&limit=5", headers=carol).json_body
    assert [item["name"] for item in active["items"]] == ["n3", "n2"]
    assert active["next_cursor"] is None  # exactly two: no empty page after them
    deleted = chalice_client.http.get("/api/schedules?created_by=carol&status=deleted", headers=carol).json_body
    assert [item["id"] for item in deleted["items"]] == [ids[1]]
    paused = chalice_client.http.get("/api/schedules?status=paused&limit=5", headers=carol).json_body
    assert [item["id"] for item in paused["items"]] == [ids[0]]
    assert paused["next_cursor"] is None


def test_a_repair_create_does_not_reuse_the_original_client_token(chalice_client, moto_stage, names):
    gateway = wiring.gateway(wiring.get_settings())
    now = iso(system_clock())
    schedule = Schedule(
        id=new_id(), created_by="x", created_date=now, updated_date=now, status=ScheduleStatus.PENDING,
        pending_action=Action.CREATE,
        definition=ScheduleDefinition(name="t", schedule_expression="rate(1 hour)", target_type="web_action"),
    )
    tokens = []
    client = gateway._client
    client.meta.events.register("before-parameter-build.scheduler.CreateSchedule",
                                lambda params, **_: tokens.append(params["ClientToken"]))
    gateway.create(schedule)
    gateway.delete(schedule.id)
    gateway.create(schedule, repair=True)
    assert tokens[0] == f"{schedule.id}-v1"
    assert tokens[1] != tokens[0] and tokens[1].startswith(f"{schedule.id}-v1-r")
