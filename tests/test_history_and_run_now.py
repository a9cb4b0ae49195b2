"""The change history and run-now (moto)."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib import clients, wiring
from chalicelib.config import get_settings
from tests.support import JSON, REGION, deliver_commands, scheduler
from tests.timeline_support import (
    HOURLY,
    change,
    create,
    create_target_function,
    timeline_of,
)


def history(client, sid, query="", principal=None):
    headers = {"X-Created-By": principal} if principal else {}
    response = client.http.get(f"/api/schedules/{sid}/history{query}", headers=headers)
    assert response.status_code == 200, response.json_body
    return response.json_body


def test_every_change_is_in_the_history_newest_first_with_who_and_when(chalice_client, moto_stage, names, clock, monkeypatch):
    # GIVEN a schedule created by alice, updated, paused, resumed and deleted by bob (an admin)
    monkeypatch.setenv("ADMIN_PRINCIPALS", "bob")
    clock.set("2026-03-02T00:30:00Z")
    sid = chalice_client.http.post(
        "/api/schedules", headers={**JSON, "X-Created-By": "alice"}, body=json.dumps(HOURLY)
    ).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    steps = [
        ("2026-03-02T01:00:00Z", "put", f"/api/schedules/{sid}", {**HOURLY, "description": "d", "timezone": "Europe/Paris"}),
        ("2026-03-02T02:00:00Z", "post", f"/api/schedules/{sid}/pause", None),
        ("2026-03-02T03:00:00Z", "post", f"/api/schedules/{sid}/resume", None),
        ("2026-03-02T04:00:00Z", "delete", f"/api/schedules/{sid}", None),
    ]
    for when, method, path, body in steps:
        clock.set(when)
        kwargs = {"body": json.dumps(body)} if body is not None else {}
        assert getattr(chalice_client.http, method)(path, headers={**JSON, "X-Created-By": "bob"}, **kwargs).status_code == 202
        deliver_commands(chalice_client, moto_stage, names, times=2)  # a redelivery writes nothing twice
    # WHEN the history is read
    items = history(chalice_client, sid, principal="alice")["items"]
    # THEN every change is there once, newest first, with who, when, version and fields
    assert [(i["action"], i["by"], i["at"]) for i in items] == [
        ("delete", "bob", "2026-03-02T04:00:00Z"),
        ("resume", "bob", "2026-03-02T03:00:00Z"),
        ("pause", "bob", "2026-03-02T02:00:00Z"),
        ("update", "bob", "2026-03-02T01:00:00Z"),
        ("create", "alice", "2026-03-02T00:30:00Z"),
    ]
    assert items[3]["fields"] == ["description", "timezone"]
    assert items[2]["fields"] == ["state"] and items[2]["state"] == "DISABLED"
    assert [i["version"] for i in items] == [5, 4, 3, 2, 1]
    # AND it pages with a cursor
    first = history(chalice_client, sid, "?limit=2", principal="alice")
    second = history(chalice_client, sid, f"?limit=2&cursor={first['next_cursor']}", principal="alice")
    assert [i["action"] for i in first["items"] + second["items"]] == ["delete", "resume", "pause", "update"]


def test_history_entries_expire_with_a_deleted_record(chalice_client, moto_stage, names, clock):
    # GIVEN a deleted schedule
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    change(chalice_client, moto_stage, names, clock, "2026-03-02T01:00:00Z", "delete", f"/api/schedules/{sid}")
    table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    record = table.get_item(Key={"id": sid})["Item"]
    entries = table.query(
        IndexName="status-created_date-index", KeyConditionExpression="#s = :p",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":p": f"history#{sid}"},
    )["Items"]
    # THEN the delete entry expires with the record, and no entry outlives the history retention
    [deleted] = [e for e in entries if e["action"] == "delete"]
    assert abs(int(deleted["ttl"]) - int(record["ttl"])) <= 5
    assert all(int(e["ttl"]) > 0 for e in entries)


def test_a_drift_repair_is_in_the_history(chalice_client, moto_stage, names, clock):
    # GIVEN a schedule disabled out of band
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    observed = scheduler().get_schedule(Name=sid, GroupName=names.schedule_group)
    scheduler().update_schedule(
        Name=sid, GroupName=names.schedule_group, ScheduleExpression=observed["ScheduleExpression"],
        FlexibleTimeWindow=observed["FlexibleTimeWindow"], Target=observed["Target"], State="DISABLED",
    )
    # WHEN the periodic reconcile repairs it
    clock.set("2026-03-02T01:30:00Z")
    chalice_client.lambda_.invoke("reconcile", chalice_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    # THEN the history says what was repaired, by whom
    [repair, created] = history(chalice_client, sid)["items"]
    assert (repair["action"], repair["by"], repair["fields"]) == ("repair", "rez-agent:reconcile", ["State"])
    assert created["action"] == "create"


@pytest.fixture
def target_function(moto_stage, monkeypatch):
    """The stage's target function exists (moto accepts asynchronous invokes of it), and
    every Invoke the app makes is observed. carol and dave are admins (they may run anyone's
    schedule)."""
    monkeypatch.setenv("ADMIN_PRINCIPALS", "carol,dave")
    create_target_function()
    invokes: list[dict] = []
    asked: list[dict] = []

    def ask(params, **_):
        asked.append({"FunctionName": params["FunctionName"], "InvocationType": params["InvocationType"],
                      "event": json.loads(params["Payload"])})

    def accepted(http_response, **_):
        if http_response.status_code == 202:  # Lambda queued the event
            invokes.append(asked[-1])

    events = clients.client("lambda").meta.events
    events.register("provide-client-params.lambda.Invoke", ask)
    events.register("after-call.lambda.Invoke", accepted)
    return invokes


def run_now(client, sid, key=None, principal="carol"):
    headers = {"X-Created-By": principal, **({"Idempotency-Key": key} if key else {})}
    return client.http.post(f"/api/schedules/{sid}/run", headers=headers)


def test_run_now_invokes_the_target_at_once_and_the_run_is_recorded(chalice_client, moto_stage, names, clock, target_function):
    # GIVEN an active schedule
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    # WHEN carol asks to run it now
    clock.set("2026-03-02T00:40:00Z")
    response = run_now(chalice_client, sid)
    # THEN 202 with the run's id, trigger, time and links
    assert response.status_code == 202
    body = response.json_body
    assert body["execution_id"].startswith("manual-") and body["trigger"] == "manual"
    assert body["requested_at"] == "2026-03-02T00:40:00Z"
    assert body["links"]["executions"] == f"/api/schedules/{sid}/executions"
    # AND the stage's target function was invoked asynchronously with the manual event
    [invoke] = target_function
    assert invoke["FunctionName"] == wiring.target_function_arn(get_settings())
    assert invoke["InvocationType"] == "Event"
    assert invoke["event"] == {"schedule_id": sid, "scheduled_time": "2026-03-02T00:40:00Z",
                               "execution_id": body["execution_id"], "attempt": 1, "trigger": "manual"}
    # WHEN the target runs that event
    chalice_client.lambda_.invoke("schedule_target", invoke["event"])
    # THEN the run is recorded as manual, dispatched as manual, in the history, and on the timeline
    [execution] = chalice_client.http.get(f"/api/schedules/{sid}/executions").json_body["items"]
    assert (execution["execution_id"], execution["trigger"], execution["outcome"]) == (body["execution_id"], "manual", "succeeded")
    [message] = moto_stage["tap"].drain(names.web_actions_topic)
    assert message["trigger"] == "manual"
    assert history(chalice_client, sid)["items"][0] | {} == {
        "action": "run", "by": "carol", "at": "2026-03-02T00:40:00Z", "version": 1, "fields": [],
        "state": "ENABLED", "previous_state": "ENABLED", "execution_id": body["execution_id"],
    }
    [entry] = [e for e in timeline_of(clock, sid)["items"] if e["trigger"] == "manual"]
    assert entry["result"] == "succeeded"


def test_a_retried_run_now_with_the_same_idempotency_key_runs_once(chalice_client, moto_stage, names, clock, target_function):
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    # WHEN the same request is sent three times with one Idempotency-Key, a minute apart
    answers = []
    for minute in (40, 41, 42):
        clock.set(f"2026-03-02T00:{minute}:00Z")
        answers.append(run_now(chalice_client, sid, key="nightly-rerun-7"))
    # THEN every answer names the same run, requested at the first time, and it was invoked once
    assert {a.status_code for a in answers} == {202}
    assert {a.json_body["execution_id"] for a in answers} == {answers[0].json_body["execution_id"]}
    assert {a.json_body["requested_at"] for a in answers} == {"2026-03-02T00:40:00Z"}
    assert len(target_function) == 1
    # AND another caller with the same key, or another key, is another run
    assert run_now(chalice_client, sid, key="nightly-rerun-7", principal="dave").json_body["execution_id"] != answers[0].json_body["execution_id"]
    assert run_now(chalice_client, sid, key="other").json_body["execution_id"] != answers[0].json_body["execution_id"]
    assert len(target_function) == 3


def test_run_now_is_allowed_on_a_paused_schedule(chalice_client, moto_stage, names, clock, target_function):
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    change(chalice_client, moto_stage, names, clock, "2026-03-02T00:35:00Z", "post", f"/api/schedules/{sid}/pause")
    response = run_now(chalice_client, sid)
    assert response.status_code == 202
    chalice_client.lambda_.invoke("schedule_target", target_function[0]["event"])
    [execution] = chalice_client.http.get(f"/api/schedules/{sid}/executions").json_body["items"]
    assert execution["outcome"] == "succeeded"


def test_run_now_of_a_deleted_schedule_is_409_and_of_an_unknown_one_404(chalice_client, moto_stage, names, clock, target_function):
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    change(chalice_client, moto_stage, names, clock, "2026-03-02T00:35:00Z", "delete", f"/api/schedules/{sid}")
    assert run_now(chalice_client, sid).status_code == 409
    assert run_now(chalice_client, "00000000-0000-4000-8000-000000000000").status_code == 404
    assert target_function == []


def test_a_failed_invoke_is_not_remembered_so_the_retry_runs(chalice_client, moto_stage, names, clock, target_function, faults):
    # GIVEN Lambda throttles the first invoke
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    faults.fail("lambda", "Invoke", "TooManyRequestsException", 1_000, "Rate exceeded")
    first = run_now(chalice_client, sid, key="k1")
    faults.clear()
    # THEN the request fails with 503 and the retry with the same key runs it
    assert first.status_code == 503
    second = run_now(chalice_client, sid, key="k1")
    assert second.status_code == 202
    assert len(target_function) == 1
    assert [i["action"] for i in history(chalice_client, sid)["items"]] == ["run", "create"]


def test_run_now_of_someone_elses_schedule_is_404(chalice_client, moto_stage, names, clock, target_function):
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    assert run_now(chalice_client, sid, principal="mallory").status_code == 404
    assert chalice_client.http.get(f"/api/schedules/{sid}/timeline", headers={"X-Created-By": "mallory"}).status_code == 404
    assert chalice_client.http.get(f"/api/schedules/{sid}/history", headers={"X-Created-By": "mallory"}).status_code == 404
    assert target_function == []
