"""The SNS command topic's identity model (docs/security.md, "The SNS command topic"): its
publishers act as the stage's principal ``sns``; ``created_by`` names a namespace inside it
(``sns:<name>``), never an API caller. A message touches only schedules created over SNS in
its own namespace; each namespace has its own cap."""

from __future__ import annotations

import json

import pytest

from tests.support import TEE_TIMES, deliver_commands, table_items
from tests.test_sns_messages import publish, rejected_events

API_USER = "arn:aws:iam::123456789012:user/alice"
COGNITO_SUB = "4f1c2a9e-0b7d-4c52-9a61-2f3e8d7c6b5a"


def api_create(client, owner):
    response = client.http.post(
        "/api/schedules",
        headers={"Content-Type": "application/json", "X-Created-By": owner},
        body=json.dumps(TEE_TIMES),
    )
    assert response.status_code == 202, response.json_body
    return response.json_body


def record(names, schedule_id):
    [item] = [item for item in table_items(names, "schedule") if item["id"] == schedule_id]
    return item


@pytest.mark.parametrize("owner", [API_USER, COGNITO_SUB, "sns:", "arn:aws:sts::123456789012:assumed-role/r/s"])
@pytest.mark.parametrize("action", ["update", "pause", "delete"])
def test_a_message_naming_an_api_callers_identity_changes_nothing_and_is_rejected(
    chalice_client, moto_stage, names, owner, action
):
    # GIVEN a schedule an API caller created (the local stage names callers by X-Created-By)
    api_owner = COGNITO_SUB if owner == COGNITO_SUB else API_USER
    created = api_create(chalice_client, api_owner)
    deliver_commands(chalice_client, moto_stage, names)
    before = record(names, created["id"])
    # WHEN a topic publisher sends a change naming that caller in created_by
    message = {"action": action, "schedule_id": created["id"]}
    if action == "update":
        message["schedule"] = {**TEE_TIMES, "payload": {"hijacked": True}}
    result = publish(chalice_client, message, created_by=owner)
    # THEN it is rejected with a reason, published as a rejected event, and nothing changed
    assert result["outcome"] == "rejected"
    assert result["reason"]
    [event] = rejected_events(moto_stage, names)
    assert event["reason"] == result["reason"]
    assert event["request"] == message
    assert record(names, created["id"]) == before
    assert moto_stage["tap"].drain(names.command_topic) == []


def test_two_namespaces_cannot_touch_each_others_schedules(chalice_client, moto_stage, names):
    # GIVEN a schedule created over SNS in namespace team-a
    created = publish(chalice_client, {"action": "create", "schedule": TEE_TIMES}, created_by="team-a")
    deliver_commands(chalice_client, moto_stage, names)
    before = record(names, created["schedule_id"])
    assert before["created_by"] == "sns:team-a"
    # WHEN namespace team-b, and the topic's bare principal, try to pause and delete it
    results = [
        publish(chalice_client, {"action": verb, "schedule_id": created["schedule_id"]}, created_by=who)
        for who in ("team-b", "sns:team-b", None)
        for verb in ("pause", "delete")
    ]
    # THEN every attempt is rejected (it does not exist for them) and the schedule is as it was
    assert [result["outcome"] for result in results] == ["rejected"] * 6
    assert all("does not exist" in result["reason"] for result in results)
    assert record(names, created["schedule_id"]) == before
    # AND its own namespace may change it
    own = publish(chalice_client, {"action": "pause", "schedule_id": created["schedule_id"]}, created_by="sns:team-a")
    assert own["outcome"] == "accepted"


def test_an_sns_publisher_cannot_touch_an_api_callers_schedule_even_without_created_by(
    chalice_client, moto_stage, names
):
    created = api_create(chalice_client, API_USER)
    result = publish(chalice_client, {"action": "delete", "schedule_id": created["id"]})
    assert result["outcome"] == "rejected"
    assert record(names, created["id"])["status"] != "deleted"


def test_an_admin_acts_on_schedules_created_over_sns(chalice_client, moto_stage, names, monkeypatch):
    monkeypatch.setenv("ADMIN_PRINCIPALS", "ops-admin")
    created = publish(chalice_client, {"action": "create", "schedule": TEE_TIMES}, created_by="team-a")
    response = chalice_client.http.post(
        f"/api/schedules/{created['schedule_id']}/pause", headers={"X-Created-By": "ops-admin"}
    )
    assert response.status_code == 202
    assert response.json_body["created_by"] == "sns:team-a"


def test_each_namespace_has_its_own_cap_and_never_fills_an_api_callers(chalice_client, moto_stage, names, monkeypatch):
    # GIVEN a cap of two live schedules per owner
    monkeypatch.setenv("MAX_SCHEDULES_PER_OWNER", "2")
    # WHEN namespace team-a creates three, and names the API user in a fourth
    outcomes = [
        publish(chalice_client, {"action": "create", "schedule": TEE_TIMES}, created_by="team-a")["outcome"]
        for _ in range(3)
    ]
    named = publish(chalice_client, {"action": "create", "schedule": TEE_TIMES}, created_by=API_USER)
    # THEN team-a is capped at two, team-b still has room, and the API user's creates still pass
    assert outcomes == ["accepted", "accepted", "rejected"]
    assert named["outcome"] == "rejected"
    assert publish(chalice_client, {"action": "create", "schedule": TEE_TIMES}, created_by="team-b")["outcome"] == "accepted"
    api_create(chalice_client, API_USER)
    api_create(chalice_client, API_USER)
