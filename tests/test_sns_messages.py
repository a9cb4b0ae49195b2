"""The command topic's published contract: create, update, pause, resume and
delete by message, validated as the API validates, idempotent under redelivery, and never
silently dropped."""

from __future__ import annotations

import json
import uuid

import boto3

from tests.support import REGION, TEE_TIMES, deliver_commands, table_items


def sns_event(client, message, message_id=None, created_by=None):
    text = message if isinstance(message, str) else json.dumps(message)
    attributes = {"created_by": {"Type": "String", "Value": created_by}} if created_by else {}
    event = client.events.generate_sns_event(message=text, message_attributes=attributes)
    event["Records"][0]["Sns"]["MessageId"] = message_id or str(uuid.uuid4())
    return event


def publish(client, message, message_id=None, created_by=None):
    return client.lambda_.invoke("schedule_command", sns_event(client, message, message_id, created_by)).payload


def get(client, schedule_id, owner="sns"):
    """The record, read as its owner (a caller sees only its own schedules)."""
    return client.http.get(f"/api/schedules/{schedule_id}", headers={"X-Created-By": owner}).json_body


def schedules_in_eventbridge(names):
    scheduler = boto3.client("scheduler", region_name=REGION)
    return scheduler.list_schedules(GroupName=names.schedule_group)["Schedules"]


def test_a_create_message_becomes_a_schedule_owned_by_sns(chalice_client, moto_stage, names):
    # GIVEN the original design's create message
    # WHEN it is delivered to the handler, and the command it causes after it
    result = publish(chalice_client, {"action": "create", "schedule": TEE_TIMES})
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the schedule exists, is active, and was created by "sns"
    assert result["outcome"] == "accepted"
    record = get(chalice_client, result["schedule_id"])
    assert record["status"] == "active"
    assert record["created_by"] == "sns"
    assert record["schedule_expression"] == TEE_TIMES["schedule_expression"]
    assert [s["Name"] for s in schedules_in_eventbridge(names)] == [result["schedule_id"]]


def test_the_created_by_attribute_names_a_namespace_of_the_topic(chalice_client, moto_stage):
    result = publish(chalice_client, {"action": "create", "schedule": TEE_TIMES}, created_by="pipeline-7")
    record = get(chalice_client, result["schedule_id"], owner="sns:pipeline-7")
    assert record["created_by"] == "sns:pipeline-7"


def test_a_redelivered_create_makes_one_schedule(chalice_client, moto_stage, names):
    # GIVEN one SNS message delivered three times (same message id)
    message = {"action": "create", "schedule": TEE_TIMES}
    results = [publish(chalice_client, message, message_id="m-1") for _ in range(3)]
    deliver_commands(chalice_client, moto_stage, names)
    # THEN one schedule exists, and every delivery answered its id
    assert len({result["schedule_id"] for result in results}) == 1
    schedules = [item for item in table_items(names) if item.get("record_type") == "schedule"]
    assert len(schedules) == 1
    assert len(schedules_in_eventbridge(names)) == 1


def test_two_messages_with_the_same_body_are_two_schedules(chalice_client, moto_stage, names):
    message = {"action": "create", "schedule": TEE_TIMES}
    first = publish(chalice_client, message)
    second = publish(chalice_client, message)
    assert first["schedule_id"] != second["schedule_id"]


def test_update_pause_resume_and_delete_by_message(chalice_client, moto_stage, names):
    # GIVEN a schedule created by message
    schedule_id = publish(chalice_client, {"action": "create", "schedule": TEE_TIMES})["schedule_id"]
    deliver_commands(chalice_client, moto_stage, names)
    scheduler = boto3.client("scheduler", region_name=REGION)

    def observed():
        return scheduler.get_schedule(Name=schedule_id, GroupName=names.schedule_group)

    # WHEN it is updated, paused, resumed, then deleted by message
    changed = {**TEE_TIMES, "schedule_expression": "rate(5 minutes)"}
    assert publish(chalice_client, {"action": "update", "schedule_id": schedule_id, "schedule": changed})["outcome"] == "accepted"
    deliver_commands(chalice_client, moto_stage, names)
    assert observed()["ScheduleExpression"] == "rate(5 minutes)"
    publish(chalice_client, {"action": "pause", "schedule_id": schedule_id})
    deliver_commands(chalice_client, moto_stage, names)
    assert observed()["State"] == "DISABLED"
    publish(chalice_client, {"action": "resume", "schedule_id": schedule_id, "version": 3})
    deliver_commands(chalice_client, moto_stage, names)
    assert observed()["State"] == "ENABLED"
    result = publish(chalice_client, {"action": "delete", "schedule_id": schedule_id})
    deliver_commands(chalice_client, moto_stage, names)
    # THEN EventBridge followed each, and the schedule is gone
    assert result["outcome"] == "accepted"
    assert schedules_in_eventbridge(names) == []
    assert get(chalice_client, schedule_id)["status"] == "deleted"


def rejected_events(moto_stage, names):
    return [event for event in moto_stage["tap"].drain(names.notifications_topic) if event.get("event") == "rejected"]


def test_an_invalid_definition_is_rejected_with_the_api_rule_and_writes_nothing(chalice_client, moto_stage, names):
    # GIVEN a create whose expression the API would refuse
    bad = {"action": "create", "schedule": {**TEE_TIMES, "schedule_expression": "cron(0 6 * * * *)"}}
    # WHEN it is delivered
    result = publish(chalice_client, bad, message_id="m-bad")
    # THEN it is rejected with the same rule the API names, published for the sender, nothing written
    api = chalice_client.http.post(
        "/api/schedules", headers={"Content-Type": "application/json"}, body=json.dumps(bad["schedule"])
    )
    assert api.status_code == 400
    assert result["outcome"] == "rejected"
    assert result["reason"] == "schedule." + api.json_body["Message"]
    [event] = rejected_events(moto_stage, names)
    assert event["request"] == bad
    assert event["message_id"] == "m-bad"
    assert "schedule.schedule_expression" in event["reason"]
    assert table_items(names) == []
    assert moto_stage["tap"].drain(names.command_topic) == []


def test_messages_that_break_the_contract_are_rejected_naming_the_rule(chalice_client, moto_stage, names):
    unknown = str(uuid.uuid4())
    cases = [
        ("not json", "not valid JSON"),
        ('{"action": "create", "action": "delete"}', "'action' appears more than once"),
        ({"action": "create"}, "schedule: required when action is create"),
        ({"action": "delete"}, "schedule_id: required when action is delete"),
        ({"action": "create", "schedule": TEE_TIMES, "schedule_id": unknown}, "schedule_id: not allowed"),
        ({"action": "pause", "schedule_id": "abc"}, "schedule_id: must be a schedule id"),
        ({"action": "explode", "schedule_id": unknown}, "action: Input should be"),
        ({"action": "delete", "schedule_id": unknown}, f"schedule {unknown} does not exist"),
    ]
    for message, rule in cases:
        result = publish(chalice_client, message)
        assert result["outcome"] == "rejected", message
        assert rule in result["reason"], (message, result)
    events = rejected_events(moto_stage, names)
    assert len(events) == len(cases)
    assert events[0]["request"] == "not json"
    assert table_items(names) == []


def test_a_stale_version_is_rejected_as_a_conflict(chalice_client, moto_stage, names):
    schedule_id = publish(chalice_client, {"action": "create", "schedule": TEE_TIMES})["schedule_id"]
    result = publish(chalice_client, {"action": "pause", "schedule_id": schedule_id, "version": 9})
    assert result["outcome"] == "rejected"
    assert result["code"] == "VersionConflict"
    assert rejected_events(moto_stage, names)[0]["code"] == "VersionConflict"
