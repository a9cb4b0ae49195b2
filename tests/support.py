"""Test support shared by the unit tests and the integration suite (no side effects)."""

from __future__ import annotations

import json

import boto3

from chalicelib.config import resource_names

STAGE = "dev"
REGION = "us-east-1"


def create_stage_resources(stage: str = STAGE) -> dict:
    """The resources the app needs, created with the raw SDK (moto is active)."""
    names = resource_names(stage)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    index_key = lambda hash_key: [  # noqa: E731
        {"AttributeName": hash_key, "KeyType": "HASH"},
        {"AttributeName": "created_date", "KeyType": "RANGE"},
    ]
    dynamodb.create_table(
        TableName=names.table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("id", "status", "created_date", "created_by")
        ],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "status-created_date-index", "KeySchema": index_key("status"),
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "created_by-index", "KeySchema": index_key("created_by"),
             "Projection": {"ProjectionType": "ALL"}},
        ],
    )
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topics, queues = {}, {}
    for topic in (names.creation_topic, names.web_actions_topic, names.notifications_topic):
        arn = sns.create_topic(Name=topic)["TopicArn"]
        url = sqs.create_queue(QueueName=f"{topic}-tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        topics[topic], queues[topic] = arn, url
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName=names.execution_role,
        AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        }),
    )["Role"]["Arn"]
    boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=names.schedule_group)
    return {"topics": topics, "queues": queues, "role_arn": role}


class Tap:
    """Reads what was published to the stage's topics (through SQS subscriptions)."""

    def __init__(self, queues: dict):
        self._queues = queues
        self._sqs = boto3.client("sqs", region_name=REGION)

    def drain(self, topic: str) -> list[dict]:
        messages = []
        while True:
            batch = self._sqs.receive_message(
                QueueUrl=self._queues[topic], MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._queues[topic], ReceiptHandle=message["ReceiptHandle"])
