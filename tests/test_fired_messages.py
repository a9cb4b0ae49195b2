"""Fired messages carry their owner: the message body names ``created_by``, and on SNS (and
SQS) targets ``created_by`` and ``target_type`` are message attributes that subscribers can
filter on."""

from __future__ import annotations

import json

import boto3

from tests.support import REGION, TEE_TIMES, deliver_commands, post

OWNER = "team-tee"


def fire(client, schedule_id, execution_id="e-1"):
    event = {"schedule_id": schedule_id, "execution_id": execution_id,
             "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"}
    return client.lambda_.invoke("schedule_target", event).payload


def create(client, moto_stage, names, body, owner=OWNER):
    schedule_id = post(client, "/api/schedules", body, {"X-Created-By": owner}).json_body["id"]
    deliver_commands(client, moto_stage, names)
    return schedule_id


def test_a_web_action_names_its_owner(chalice_client, moto_stage, names):
    schedule_id = create(chalice_client, moto_stage, names, TEE_TIMES)
    assert fire(chalice_client, schedule_id)["outcome"] == "succeeded"
    [message] = moto_stage["tap"].drain(names.web_actions_topic)
    assert message["created_by"] == OWNER
    assert message["schedule_id"] == schedule_id


def test_an_sns_subscriber_filters_fired_messages_by_owner(chalice_client, moto_stage, names):
    # GIVEN a custom topic with one subscriber that only wants team-tee's messages
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="rez-agent-custom-dev-shared")["TopicArn"]
    queue = sqs.create_queue(QueueName="team-tee-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={
        "RawMessageDelivery": "true", "FilterPolicy": json.dumps({"created_by": [OWNER]})})
    body = {**TEE_TIMES, "target_type": "custom", "target_arn": topic}
    ours = create(chalice_client, moto_stage, names, body)
    theirs = create(chalice_client, moto_stage, names, body, owner="someone-else")
    # WHEN both fire
    assert fire(chalice_client, ours)["outcome"] == "succeeded"
    assert fire(chalice_client, theirs)["outcome"] == "succeeded"
    # THEN the subscriber got only team-tee's, with the owner as an attribute and in the body
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert [json.loads(m["Body"])["schedule_id"] for m in messages] == [ours]
    attributes = messages[0]["MessageAttributes"]
    assert attributes["created_by"]["StringValue"] == OWNER
    assert attributes["target_type"]["StringValue"] == "custom"


def test_an_sqs_target_gets_the_owner_as_a_message_attribute(chalice_client, moto_stage, names):
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="rez-agent-custom-dev-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    schedule_id = create(chalice_client, moto_stage, names, {**TEE_TIMES, "target_type": "custom", "target_arn": queue_arn})
    assert fire(chalice_client, schedule_id)["outcome"] == "succeeded"
    [message] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"])["created_by"] == OWNER
    assert message["MessageAttributes"]["created_by"]["StringValue"] == OWNER
