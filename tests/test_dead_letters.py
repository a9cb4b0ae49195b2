"""Nothing EventBridge Scheduler or Lambda gives up on disappears: both kinds of dead letter
become executions of their schedule (``undelivered``, ``failed``) with the reason, once,
and every schedule names the stage's dead-letter queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from chalicelib import clients, wiring
from chalicelib.dead_letters import read_dead_letter
from chalicelib.scheduler import desired_spec, observed_spec
from tests.aws_rules import enforce_dynamodb_rules
from tests.support import REGION, TEE_TIMES, deliver_commands, post


@pytest.fixture(autouse=True)
def aws_rules(moto_stage):
    """DynamoDB's request rules that moto does not enforce (see tests/aws_rules.py)."""
    enforce_dynamodb_rules()

def scheduler_dead_letter(schedule_id: str, execution_id: str = "b1f0c1de-0000-4000-8000-000000000001") -> tuple[str, dict]:
    """What EventBridge Scheduler sends its DLQ: the target's Input as the body (our event,
    its context attributes substituted) and why, as message attributes."""
    body = json.dumps({"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z",
                       "execution_id": execution_id, "attempt": "3"})
    attributes = {
        "ERROR_CODE": "AWS.Scheduler.ThrottlingException",
        "ERROR_MESSAGE": "Rate exceeded",
        "EXECUTION_ID": execution_id,
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "IS_PAYLOAD_TRUNCATED": "false",
        "RETRY_ATTEMPTS": "2",
        "SCHEDULED_TIME": "2026-11-24T11:00:00Z",
        "SCHEDULE_ARN": f"arn:aws:scheduler:us-east-1:123456789012:schedule/rez-agent-dev/{schedule_id}",
        "TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:rez-agent-schedules-dev-schedule_target",
    }
    return body, {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}


def lambda_failure_record(schedule_id: str, execution_id: str = "exec-9") -> str:
    """Lambda's on-failure destination record for an asynchronous invoke that failed every
    attempt."""
    return json.dumps({
        "version": "1.0",
        "timestamp": "2026-11-24T11:03:05.568Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-4e1e-8880-a18cdf61200e",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:rez-agent-schedules-dev-schedule_target:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z",
                           "execution_id": execution_id, "attempt": "1"},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "UpstreamUnavailable", "errorMessage": "SNS: ThrottlingException: Rate exceeded"},
    })


def through_the_queue(names, body: str, attributes: dict | None = None) -> dict:
    """Send the message to the stage's dead-letter queue and read it back as the Lambda SQS
    event the consumer gets (SQS's own casing for attributes, as Lambda delivers them)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=names.dead_letter_queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=body, **({"MessageAttributes": attributes} if attributes else {}))
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    return {"Records": [{
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "eventSource": "aws:sqs", "attributes": {},
        "messageAttributes": {
            name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        },
    }]}


def executions(client, schedule_id):
    return {item["execution_id"]: item for item in
            client.http.get(f"/api/schedules/{schedule_id}/executions").json_body["items"]}


def summary(client, schedule_id):
    shown = client.http.get(f"/api/schedules/{schedule_id}").json_body["executions"]
    return shown["total"], shown["failed"]


@pytest.fixture
def schedule_id(chalice_client, moto_stage, names):
    created = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    return created


def test_a_scheduler_dead_letter_is_an_undelivered_execution_recorded_once(chalice_client, moto_stage, names, schedule_id):
    # GIVEN EventBridge Scheduler could not invoke the target and dead-lettered the run
    body, attributes = scheduler_dead_letter(schedule_id)
    event = through_the_queue(names, body, attributes)
    # WHEN the consumer gets it, twice (SQS delivers at least once)
    first = chalice_client.lambda_.invoke("dead_letters", event).payload
    chalice_client.lambda_.invoke("dead_letters", event)
    # THEN the schedule shows one undelivered execution with the reason
    assert first["recorded"][0]["outcome"] == "undelivered"
    [record] = executions(chalice_client, schedule_id).values()
    assert (record["execution_id"], record["outcome"], record["scheduled_time"]) == (
        "b1f0c1de-0000-4000-8000-000000000001", "undelivered", "2026-11-24T11:00:00Z")
    assert "AWS.Scheduler.ThrottlingException" in record["error"] and "Rate exceeded" in record["error"]
    assert "MaximumRetryAttempts" in record["error"]
    # AND it counts once, as a run that did not work
    assert summary(chalice_client, schedule_id) == (1, 1)


def test_a_lambda_failure_record_fails_the_run_that_was_claimed(chalice_client, moto_stage, names, schedule_id):
    # GIVEN a run whose function was stopped after claiming it (the claim says started)
    table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    publish = clients.client("sns")

    def stopped(**_):
        raise KeyboardInterrupt  # the runtime ending the invocation: nothing after it runs

    publish.meta.events.register("before-call.sns.Publish", stopped)
    with pytest.raises(KeyboardInterrupt):
        chalice_client.lambda_.invoke("schedule_target", json.loads(lambda_failure_record(schedule_id))["requestPayload"])
    publish.meta.events.unregister("before-call.sns.Publish", stopped)
    assert table.get_item(Key={"id": f"{schedule_id}#execution#exec-9"})["Item"]["outcome"] == "started"
    # WHEN Lambda's on-failure record for it arrives (twice)
    event = through_the_queue(names, lambda_failure_record(schedule_id))
    chalice_client.lambda_.invoke("dead_letters", event)
    chalice_client.lambda_.invoke("dead_letters", event)
    # THEN the run is failed, with why, counted once
    record = executions(chalice_client, schedule_id)["exec-9"]
    assert record["outcome"] == "failed"
    assert record["error"].startswith("the target function gave up (RetriesExhausted after 3 attempts)")
    assert "ThrottlingException" in record["error"]
    assert summary(chalice_client, schedule_id) == (1, 1)


def test_a_dead_letter_for_a_run_that_succeeded_changes_nothing(chalice_client, moto_stage, names, schedule_id):
    event = {"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z", "execution_id": "exec-9", "attempt": "1"}
    assert chalice_client.lambda_.invoke("schedule_target", event).payload["outcome"] == "succeeded"
    chalice_client.lambda_.invoke("dead_letters", through_the_queue(names, lambda_failure_record(schedule_id)))
    assert executions(chalice_client, schedule_id)["exec-9"]["outcome"] == "succeeded"
    assert summary(chalice_client, schedule_id) == (1, 0)


def test_a_message_about_no_run_of_ours_is_rejected_and_leaves_the_queue(chalice_client, moto_stage, names):
    result = chalice_client.lambda_.invoke("dead_letters", through_the_queue(names, "hello")).payload
    assert result["recorded"][0]["outcome"] == "rejected"
    assert result["batchItemFailures"] == []
    [event] = moto_stage["tap"].drain(names.notifications_topic)
    assert (event["event"], event["source"], event["request"]) == ("rejected", "dead_letters", "hello")


def test_the_scheduler_shape_is_read_from_its_attributes_when_the_body_is_not_ours():
    # GIVEN a dead letter whose body is not our JSON (a truncated payload)
    _, attributes = scheduler_dead_letter("0b0e6f4a-8a1b-4c59-9a55-d7d1f9f8e111", "exec-x")
    letter = read_dead_letter("{truncated", attributes, datetime.now(UTC))
    # THEN the schedule, execution and slot come from the attributes
    assert letter is not None
    assert (letter.invocation.schedule_id, letter.invocation.execution_id, letter.invocation.scheduled_time) == (
        "0b0e6f4a-8a1b-4c59-9a55-d7d1f9f8e111", "exec-x", "2026-11-24T11:00:00Z")
    assert letter.outcome.value == "undelivered"


def test_every_schedule_dead_letters_to_the_stage_queue_and_losing_it_is_drift(chalice_client, moto_stage, names, schedule_id):
    scheduler = boto3.client("scheduler", region_name=REGION)
    queue_arn = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=boto3.client("sqs", region_name=REGION).get_queue_url(QueueName=names.dead_letter_queue)["QueueUrl"],
        AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # THEN the schedule AWS holds names the stage's dead-letter queue
    observed = scheduler.get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    assert observed["Target"]["DeadLetterConfig"] == {"Arn": queue_arn}
    # WHEN it is removed out of band
    target = {key: value for key, value in observed["Target"].items() if key != "DeadLetterConfig"}
    scheduler.update_schedule(Name=schedule_id, GroupName=names.schedule_group, Target=target,
                              ScheduleExpression=observed["ScheduleExpression"], FlexibleTimeWindow={"Mode": "OFF"},
                              ScheduleExpressionTimezone=observed["ScheduleExpressionTimezone"])
    # THEN the reconcile names it as drift and puts it back
    [repair] = wiring.reconciler().plan().repairs
    assert repair.action == "reset" and "DeadLetterArn" in repair.fields
    wiring.reconciler().run()
    repaired = scheduler.get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    assert repaired["Target"]["DeadLetterConfig"] == {"Arn": queue_arn}
    gateway = wiring.gateway(wiring.get_settings())
    record = wiring.repository(wiring.get_settings()).get(schedule_id)
    assert observed_spec(repaired) == desired_spec(gateway.request_for(record))
