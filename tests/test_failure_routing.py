"""Where failures go: the stage's dead-letter queue exists, owned and tagged, the execution
role may send to it, and the packaged target function's on-failure destination is it."""

from __future__ import annotations

import json

import boto3

from ops import app_stack
from tests.support import REGION


def test_the_stage_has_its_dead_letter_queue_owned_and_kept_two_weeks(moto_stage, names):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=names.dead_letter_queue)["QueueUrl"]
    assert names.dead_letter_queue == "rez-agent-dead-letters-dev"
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["MessageRetentionPeriod"], attributes["VisibilityTimeout"]) == ("1209600", "180")
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
        "rez-agent:app": "rez-agent", "rez-agent:stage": "dev", "rez-agent:logical-id": "dead-letter-queue"}


def test_the_execution_role_may_send_dead_letters_to_that_queue_only(moto_stage, names):
    iam = boto3.client("iam", region_name=REGION)
    document = iam.get_role_policy(RoleName=names.execution_role, PolicyName="send-dead-letters")["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    [statement] = document["Statement"]
    assert (statement["Action"], statement["Resource"]) == (
        "sqs:SendMessage", f"arn:aws:sqs:us-east-1:123456789012:{names.dead_letter_queue}")


def test_the_packaged_target_gives_up_after_two_retries_into_the_queue():
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
        name: {"Type": "AWS::Serverless::Function", "Properties": {}}
        for name in ("APIHandler", "ScheduleTarget", "ScheduleCommand", "DeadLetters")}}
    prepared = app_stack.prepare_template(template, "dev", "bucket", "dev/code.zip")
    resources = prepared["Resources"]
    assert resources["ScheduleTarget"]["Properties"]["EventInvokeConfig"] == {
        "MaximumRetryAttempts": 2,
        "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": {
            "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:rez-agent-dead-letters-dev"}}},
    }
    # only the target is invoked asynchronously by the scheduler
    assert [name for name, resource in resources.items() if "EventInvokeConfig" in resource["Properties"]] == ["ScheduleTarget"]


def test_the_packaged_dead_letter_consumer_reports_batch_item_failures():
    # GIVEN the SQS event source Chalice writes for the dead-letter consumer
    source = {"Type": "SQS", "Properties": {"Queue": "arn:aws:sqs:us-east-1:123456789012:rez-agent-dead-letters-dev", "BatchSize": 10}}
    template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
        "DeadLetters": {"Type": "AWS::Serverless::Function", "Properties": {"Events": {"DeadLettersSqsEventSource": source}}},
        "APIHandler": {"Type": "AWS::Serverless::Function", "Properties": {}}}}
    # WHEN it is prepared for CloudFormation
    prepared = app_stack.prepare_template(template, "dev", "bucket", "dev/code.zip")
    # THEN the mapping reports batch item failures, so one bad record never returns its batch
    events = prepared["Resources"]["DeadLetters"]["Properties"]["Events"]
    assert events["DeadLettersSqsEventSource"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
