"""The unit tests' shared stage (tests/stage.py): what one test leaves, the next never sees.

Driven in a moto world of this test's own, with a StageWorld of its own, so the session's
stage is not involved.
"""

from __future__ import annotations

import boto3
from moto import mock_aws

from tests.stage import StageWorld
from tests.support import REGION, STAGE


def _leave_everything_behind(resources: dict, names) -> None:
    """What a test typically leaves: an item, a schedule, a queued and an in-flight message,
    and a queue of its own."""
    boto3.resource("dynamodb", region_name=REGION).Table(names.table).put_item(Item={"id": "left-over"})
    boto3.client("scheduler", region_name=REGION).create_schedule(
        Name="left-over", GroupName=names.schedule_group, ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": resources["topics"][names.web_actions_topic], "RoleArn": resources["role_arn"]},
    )
    sqs = boto3.client("sqs", region_name=REGION)
    queue = resources["queues"][names.command_topic]
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)  # in flight, never deleted
    sqs.create_queue(QueueName="a-test-queue")


def test_the_next_test_finds_the_stage_as_created_and_empty(names):
    with mock_aws():
        world = StageWorld(STAGE)
        resources = world.ready()
        # GIVEN a test that left items, schedules, messages and a queue of its own
        _leave_everything_behind(resources, names)
        # WHEN the next test asks for the stage
        again = world.ready()
        # THEN it was not created again, and nothing of the first test is there
        assert world.created == 1
        assert again["queues"] == resources["queues"]
        assert boto3.client("dynamodb", region_name=REGION).scan(TableName=names.table)["Items"] == []
        assert boto3.client("scheduler", region_name=REGION).list_schedules()["Schedules"] == []
        assert again["tap"].drain(names.command_topic) == []
        attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
            QueueUrl=again["queues"][names.command_topic], AttributeNames=["All"]
        )["Attributes"]
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"  # none comes back later
        queues = boto3.client("sqs", region_name=REGION).list_queues()["QueueUrls"]
        assert not [url for url in queues if url.endswith("/a-test-queue")]


def test_a_stage_a_test_broke_is_created_again(names):
    with mock_aws():
        world = StageWorld(STAGE)
        resources = world.ready()
        # GIVEN a test that deleted one of the stage's topics
        boto3.client("sns", region_name=REGION).delete_topic(TopicArn=resources["topics"][names.notifications_topic])
        # WHEN the next test asks for the stage
        world.ready()
        # THEN it is created again, the topic with it
        assert world.created == 2
        topics = [t["TopicArn"] for t in boto3.client("sns", region_name=REGION).list_topics()["Topics"]]
        assert resources["topics"][names.notifications_topic] in topics


def test_the_next_test_keeps_the_clients_unless_a_hook_was_left_on_them():
    from chalicelib import clients, wiring
    from tests.conftest import _CLIENTS as kept  # the session's: it counts every hook change

    kept.drop()
    kept.start()
    sqs = clients.client("sqs", wiring.get_settings())
    repository = wiring.repository(wiring.get_settings())
    kept.finish()
    # WHEN the next test starts after one that only used its clients
    kept.start()
    # THEN it gets the same client, but what wiring built on it is built again
    assert clients.client("sqs", wiring.get_settings()) is sqs
    assert wiring.repository(wiring.get_settings()) is not repository
    # GIVEN a test that leaves a handler on a client
    sqs.meta.events.register("before-call.sqs.ListQueues", lambda **_: None)
    kept.finish()
    # WHEN the next test starts
    kept.start()
    # THEN its clients are new ones, without that handler
    assert clients.client("sqs", wiring.get_settings()) is not sqs
    kept.drop()
