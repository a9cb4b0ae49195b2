"""The schedule API end to end on moto: HTTP -> record + command -> handler -> EventBridge
Scheduler -> target function."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.errors import UpstreamUnavailable
from tests.support import JSON, REGION, TEE_TIMES, deliver_commands, post, scheduler, table_items


def test_create_becomes_an_eventbridge_schedule_and_a_record(chalice_client, moto_stage, names):
    # GIVEN a valid definition
    # WHEN it is posted
    response = post(chalice_client, "/api/schedules", TEE_TIMES, {"X-Created-By": "team-golf"})
    # THEN the API accepts it as pending, with a Location
    assert response.status_code == 202
    body = response.json_body
    assert body["status"] == "pending"
    assert response.headers["Location"].endswith(f"/api/schedules/{body['id']}")
    assert body["created_by"] == "team-golf"

    # WHEN the published command reaches the handler
    commands = deliver_commands(chalice_client, moto_stage, names)
    assert [c["action"] for c in commands] == ["create"]

    # THEN the schedule exists in the stage's group as defined
    observed = scheduler().get_schedule(Name=body["id"], GroupName=names.schedule_group)
    assert observed["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert observed["ScheduleExpressionTimezone"] == "America/New_York"
    assert observed["Target"]["Arn"].endswith(":function:rez-agent-schedules-dev-schedule_target")
    assert observed["Target"]["RoleArn"] == moto_stage["role_arn"]
    assert json.loads(observed["Target"]["Input"])["schedule_id"] == body["id"]
    # AND the record is active with the ARN
    record = chalice_client.http.get(f"/api/schedules/{body['id']}", headers={"X-Created-By": "team-golf"}).json_body
    assert record["status"] == "active"
    assert record["eventbridge_arn"] == observed["Arn"]
    assert len(record["next_fire_times"]) == 5


def test_redelivered_create_changes_nothing(chalice_client, moto_stage, names):
    # GIVEN a created schedule whose command is delivered three times
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names, times=3)
    # THEN there is one schedule and one record, active, at version 1
    listed = scheduler().list_schedules(GroupName=names.schedule_group)["Schedules"]
    assert [s["Name"] for s in listed] == [schedule_id]
    assert len(table_items(names, "schedule")) == 1
    record = chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body
    assert (record["status"], record["version"]) == ("active", 1)


def test_delete_removes_the_schedule_and_marks_the_record(chalice_client, moto_stage, names):
    # GIVEN an active schedule
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN it is deleted, twice, and the commands are delivered
    first = chalice_client.http.delete(f"/api/schedules/{schedule_id}")
    second = chalice_client.http.delete(f"/api/schedules/{schedule_id}")
    deliver_commands(chalice_client, moto_stage, names, times=2)
    # THEN both answers are 202, the schedule is gone and the record is deleted with a ttl
    assert (first.status_code, second.status_code) == (202, 202)
    assert scheduler().list_schedules(GroupName=names.schedule_group)["Schedules"] == []
    record = chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body
    assert record["status"] == "deleted"
    [item] = table_items(names, "schedule")
    assert int(item["ttl"]) > 0
    # AND a third delete is still not an error
    assert chalice_client.http.delete(f"/api/schedules/{schedule_id}").status_code == 202


def test_pause_resume_and_update_reach_eventbridge(chalice_client, moto_stage, names):
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)

    # WHEN paused
    assert chalice_client.http.post(f"/api/schedules/{schedule_id}/pause").status_code == 202
    deliver_commands(chalice_client, moto_stage, names)
    # THEN disabled in EventBridge and paused in the record
    observed = scheduler().get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    assert observed["State"] == "DISABLED"
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["status"] == "paused"

    # WHEN resumed, then updated with a new expression
    chalice_client.http.post(f"/api/schedules/{schedule_id}/resume")
    deliver_commands(chalice_client, moto_stage, names)
    changed = {**TEE_TIMES, "schedule_expression": "rate(2 hours)", "timezone": "UTC"}
    response = chalice_client.http.put(
        f"/api/schedules/{schedule_id}", headers=JSON, body=json.dumps(changed)
    )
    assert response.status_code == 202
    deliver_commands(chalice_client, moto_stage, names)
    # THEN EventBridge has the new definition, enabled
    observed = scheduler().get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    assert (observed["ScheduleExpression"], observed["State"]) == ("rate(2 hours)", "ENABLED")
    record = chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body
    assert (record["status"], record["version"]) == ("active", 4)


def test_stale_if_match_is_a_conflict(chalice_client, moto_stage, names):
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    response = chalice_client.http.post(f"/api/schedules/{schedule_id}/pause", headers={"If-Match": "7"})
    assert response.status_code == 409
    assert response.json_body["Code"] == "VersionConflict"


def test_idempotency_key_returns_the_same_schedule(chalice_client, moto_stage, names):
    # GIVEN the same request sent twice with one Idempotency-Key
    headers = {"Idempotency-Key": "order-42"}
    first = post(chalice_client, "/api/schedules", TEE_TIMES, headers).json_body
    second = post(chalice_client, "/api/schedules", TEE_TIMES, headers).json_body
    # THEN one record answers both
    assert first["id"] == second["id"]
    assert len(table_items(names, "schedule")) == 1
    # AND the same key with another definition is a conflict
    other = post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": "other"}, headers)
    assert other.status_code == 409


def test_list_filters_and_pages_newest_first(chalice_client, moto_stage, names):
    # GIVEN five schedules from two creators, one of them deleted
    ids = []
    for index in range(5):
        creator = "alice" if index % 2 == 0 else "bob"
        body = {**TEE_TIMES, "name": f"s{index}"}
        ids.append(post(chalice_client, "/api/schedules", body, {"X-Created-By": creator}).json_body["id"])
    deliver_commands(chalice_client, moto_stage, names)
    alice = {"X-Created-By": "alice"}
    chalice_client.http.delete(f"/api/schedules/{ids[0]}", headers=alice)
    deliver_commands(chalice_client, moto_stage, names)

    # WHEN alice lists hers one at a time
    seen, cursor = [], None
    while True:
        path = "/api/schedules?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = chalice_client.http.get(path, headers=alice).json_body
        seen.extend(item["name"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    # THEN each of her live schedules appears once, newest first, the deleted one not at all
    assert seen == ["s4", "s2"]
    by_alice = chalice_client.http.get("/api/schedules?created_by=alice", headers=alice).json_body["items"]
    assert [item["name"] for item in by_alice] == ["s4", "s2"]
    deleted = chalice_client.http.get("/api/schedules?status=deleted", headers=alice).json_body["items"]
    assert [item["id"] for item in deleted] == [ids[0]]


def test_list_pages_across_statuses_without_losing_any(chalice_client, moto_stage, names):
    # GIVEN schedules spread over pending, active and paused
    ids = [post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": f"n{i}"}).json_body["id"] for i in range(7)]
    deliver_commands(chalice_client, moto_stage, names)
    for schedule_id in ids[:3]:
        chalice_client.http.post(f"/api/schedules/{schedule_id}/pause")
    deliver_commands(chalice_client, moto_stage, names)
    post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": "n7"})  # stays pending
    # WHEN listed three at a time
    seen, cursor = [], None
    for _ in range(10):
        path = "/api/schedules?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = chalice_client.http.get(path).json_body
        seen.extend(item["name"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    # THEN all eight come back once, newest first
    assert seen == [f"n{i}" for i in range(7, -1, -1)]


BAD_REQUESTS = [
    # (description, body or raw text, headers, expected status, words the message must contain)
    ("malformed JSON", '{"name": ', None, 400, "not valid JSON"),
    ("JSON array", "[1, 2]", None, 400, "JSON object"),
    ("empty body", "", None, 400, "empty"),
    ("wrong content type", "name=x", {"Content-Type": "text/plain"}, 415, "application/json"),
    ("unknown field", {**TEE_TIMES, "owner": "me"}, None, 400, "owner: unknown field"),
    ("missing name", {k: v for k, v in TEE_TIMES.items() if k != "name"}, None, 400, "name: required"),
    ("missing expression", {k: v for k, v in TEE_TIMES.items() if k != "schedule_expression"}, None, 400, "schedule_expression: required"),
    ("missing target type", {k: v for k, v in TEE_TIMES.items() if k != "target_type"}, None, 400, "target_type: required"),
    ("empty name", {**TEE_TIMES, "name": ""}, None, 400, "name"),
    ("name too long", {**TEE_TIMES, "name": "x" * 65}, None, 400, "1-64"),
    ("name with space", {**TEE_TIMES, "name": "tee times"}, None, 400, "name"),
    ("name with slash", {**TEE_TIMES, "name": "a/b"}, None, 400, "name"),
    ("name not a string", {**TEE_TIMES, "name": 5}, None, 400, "name"),
    ("expression of no kind", {**TEE_TIMES, "schedule_expression": "every day"}, None, 400, "schedule_expression"),
    ("cron with five fields", {**TEE_TIMES, "schedule_expression": "cron(0 6 * * ?)"}, None, 400, "schedule_expression"),
    ("rate of zero", {**TEE_TIMES, "schedule_expression": "rate(0 minutes)"}, None, 400, "schedule_expression"),
    ("at with a bad date", {**TEE_TIMES, "schedule_expression": "at(2027-02-30T10:00:00)"}, None, 400, "schedule_expression"),
    ("unknown timezone", {**TEE_TIMES, "timezone": "Mars/Olympus"}, None, 400, "timezone"),
    ("bad target type", {**TEE_TIMES, "target_type": "email"}, None, 400, "target_type"),
    ("payload not an object", {**TEE_TIMES, "payload": [1, 2]}, None, 400, "payload"),
    ("payload too large", {**TEE_TIMES, "payload": {"blob": "x" * 260_000}}, None, 413, "payload"),
    ("body too large", {**TEE_TIMES, "payload": {"blob": "x" * 400_000}}, None, 413, "limit"),
    ("description too long", {**TEE_TIMES, "description": "d" * 513}, None, 400, "description"),
    ("start after end", {**TEE_TIMES, "start_date": "2027-01-02T00:00:00Z", "end_date": "2027-01-01T00:00:00Z"}, None, 400, "start_date"),
    ("start not a date", {**TEE_TIMES, "start_date": "tomorrow"}, None, 400, "start_date"),
    ("flexible window zero", {**TEE_TIMES, "flexible_window_minutes": 0}, None, 400, "flexible_window_minutes"),
    ("flexible window too wide", {**TEE_TIMES, "flexible_window_minutes": 1441}, None, 400, "flexible_window_minutes"),
    ("retry attempts too many", {**TEE_TIMES, "retry_policy": {"maximum_retry_attempts": 186}}, None, 400, "retry_policy.maximum_retry_attempts"),
    ("retry age too short", {**TEE_TIMES, "retry_policy": {"maximum_event_age_in_seconds": 59}}, None, 400, "retry_policy.maximum_event_age_in_seconds"),
    ("retry policy unknown field", {**TEE_TIMES, "retry_policy": {"tries": 3}}, None, 400, "retry_policy.tries"),
    ("bad state", {**TEE_TIMES, "state": "ON"}, None, 400, "state"),
    ("bad action after completion", {**TEE_TIMES, "action_after_completion": "ARCHIVE"}, None, 400, "action_after_completion"),
    ("custom target without ARN", {**TEE_TIMES, "target_type": "custom"}, None, 400, "target_arn"),
    ("target ARN on a web action", {**TEE_TIMES, "target_arn": "arn:aws:sns:us-east-1:123456789012:rez-agent-custom-dev-x"}, None, 400, "target_arn"),
    ("custom target outside the stage prefix", {**TEE_TIMES, "target_type": "custom", "target_arn": "arn:aws:sns:us-east-1:123456789012:someone-elses"}, None, 400, "rez-agent-custom-dev-"),
    ("custom target not an ARN", {**TEE_TIMES, "target_type": "custom", "target_arn": "my-topic"}, None, 400, "target_arn"),
]


@pytest.mark.parametrize(
    "body, headers, status, words",
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
def test_bad_requests_get_a_4xx_naming_the_problem_and_write_nothing(
    chalice_client, moto_stage, names, body, headers, status, words
):
    # GIVEN a bad request
    raw = body if isinstance(body, str) else json.dumps(body)
    # WHEN it is posted
    response = chalice_client.http.post("/api/schedules", headers=headers or JSON, body=raw)
    # THEN it gets the expected 4xx, a JSON error naming the problem, and nothing is stored or sent
    assert response.status_code == status, response.body
    assert set(response.json_body) == ({"Code", "Message", "Errors"} if status == 400 else {"Code", "Message"})
    assert words.lower() in response.json_body["Message"].lower()
    assert table_items(names) == []
    assert moto_stage["tap"].drain(names.command_topic) == []


@pytest.mark.parametrize(
    "path, status",
    [
        ("/api/schedules/00000000-0000-4000-8000-000000000000", 404),
        ("/api/schedules/not-an-id", 404),
        ("/api/schedules?status=sleeping", 400),
        ("/api/schedules?limit=0", 400),
        ("/api/schedules?limit=many", 400),
        ("/api/schedules?cursor=garbage!!", 400),
        ("/api/schedules?colour=red", 400),
    ],
)
def test_bad_reads_get_4xx(chalice_client, path, status):
    response = chalice_client.http.get(path)
    assert response.status_code == status
    assert response.json_body["Code"]


def test_target_function_records_one_execution_and_publishes_to_web_actions(chalice_client, moto_stage, names):
    # GIVEN an active web-action schedule
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    event = {
        "schedule_id": schedule_id,
        "scheduled_time": "2026-11-24T11:00:00Z",
        "execution_id": "exec-1",
        "attempt": "1",
    }
    # WHEN the scheduler invokes the target twice with the same execution id
    first = chalice_client.lambda_.invoke("schedule_target", event).payload
    second = chalice_client.lambda_.invoke("schedule_target", event).payload
    # THEN one execution is recorded and one message published to web-actions
    assert (first["outcome"], second["outcome"]) == ("succeeded", "duplicate")
    executions = chalice_client.http.get(f"/api/schedules/{schedule_id}/executions").json_body["items"]
    assert len(executions) == 1
    assert executions[0]["scheduled_time"] == "2026-11-24T11:00:00Z"
    assert executions[0]["attempt"] == 1
    assert executions[0]["outcome"] == "succeeded"
    assert executions[0]["duration_ms"] >= 0
    [message] = moto_stage["tap"].drain(names.web_actions_topic)
    assert message["payload"] == {"action": "check_tee_times"}
    assert message["execution_id"] == "exec-1"
    assert moto_stage["tap"].drain(names.notifications_topic) == []
    # AND the schedule's summary counts it
    summary = chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["executions"]
    assert (summary["total"], summary["last_outcome"]) == (1, "succeeded")


def test_notification_schedules_publish_to_the_notifications_topic(chalice_client, moto_stage, names):
    body = {**TEE_TIMES, "target_type": "notification", "payload": {"text": "hi"}}
    schedule_id = post(chalice_client, "/api/schedules", body).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    chalice_client.lambda_.invoke(
        "schedule_target", {"schedule_id": schedule_id, "execution_id": "e", "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"}
    )
    [message] = moto_stage["tap"].drain(names.notifications_topic)
    assert message["payload"] == {"text": "hi"}
    assert moto_stage["tap"].drain(names.web_actions_topic) == []


def test_custom_target_receives_the_message(chalice_client, moto_stage, names):
    # GIVEN a custom SQS target named with the stage's custom prefix
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="rez-agent-custom-dev-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    body = {**TEE_TIMES, "target_type": "custom", "target_arn": arn}
    schedule_id = post(chalice_client, "/api/schedules", body).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN it fires
    chalice_client.lambda_.invoke(
        "schedule_target", {"schedule_id": schedule_id, "execution_id": "e1", "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"}
    )
    # THEN the queue has the payload
    [message] = sqs.receive_message(QueueUrl=url).get("Messages", [])
    assert json.loads(message["Body"])["payload"] == {"action": "check_tee_times"}


def test_retry_after_a_failed_attempt_is_recorded_again(chalice_client, moto_stage, names, faults):
    # GIVEN a schedule whose first publish is throttled
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    faults.fail("sns", "Publish", "ThrottlingException", message="slow down")
    event = {"schedule_id": schedule_id, "execution_id": "x", "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"}
    # WHEN the target runs: it fails so that the scheduler retries
    with pytest.raises(UpstreamUnavailable):
        chalice_client.lambda_.invoke("schedule_target", event)
    failed = chalice_client.http.get(f"/api/schedules/{schedule_id}/executions").json_body["items"]
    assert (failed[0]["outcome"], failed[0]["error"]) == ("failed", "ThrottlingException: slow down")
    # WHEN the scheduler retries with attempt 2 and publishing works again
    result = chalice_client.lambda_.invoke("schedule_target", {**event, "attempt": "2"}).payload
    # THEN the retry succeeds and is what the record shows
    assert result["outcome"] == "succeeded"
    [execution] = chalice_client.http.get(f"/api/schedules/{schedule_id}/executions").json_body["items"]
    assert (execution["attempt"], execution["outcome"]) == (2, "succeeded")
    assert "error" not in execution
    assert len(moto_stage["tap"].drain(names.web_actions_topic)) == 1


def test_a_command_that_does_not_parse_is_dropped(chalice_client):
    result = chalice_client.lambda_.invoke(
        "schedule_command", chalice_client.events.generate_sns_event(message="not json")
    )
    assert result.payload["outcome"] == "rejected"
