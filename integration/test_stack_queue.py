"""Lifecycle of the stage's dead-letter queue: created tagged with its retention and
visibility, attributes changed out of band reset. (Tag drift, re-creation and foreign queues:
integration/test_stack_ownership.py, with every other resource kind.)"""

from __future__ import annotations

from integration.stack_fixtures import ours

LOGICAL_ID = "dead-letter-queue"
RETENTION = "1209600"  # 14 days
VISIBILITY = "180"  # six times the consumer's 30 s timeout


def test_queue_is_created_with_our_tags_and_attributes_and_deleted(scratch, oob):
    # WHEN the stack is deployed
    deployed = scratch.deploy()

    # THEN the queue exists with our tags and attributes, and its ARN is an output
    assert deployed.exit_code == 0, deployed
    name = scratch.names.dead_letter_queue
    assert oob.queue_tags(name) == ours(scratch.stage, LOGICAL_ID)
    attributes = oob.queue_attributes(name)
    assert (attributes["MessageRetentionPeriod"], attributes["VisibilityTimeout"]) == (RETENTION, VISIBILITY)
    assert deployed.json["outputs"]["dead_letter_queue_arn"] == attributes["QueueArn"]

    # WHEN it is destroyed THEN the queue is gone
    assert scratch.destroy().exit_code == 0
    assert oob.queue_url(name) is None


def test_queue_attributes_changed_out_of_band_are_reset(scratch, oob):
    # GIVEN a deployed stack whose dead-letter queue keeps messages a minute, hides them 5 s
    assert scratch.deploy().exit_code == 0
    name = scratch.names.dead_letter_queue
    oob.set_queue_attributes(name, {"MessageRetentionPeriod": "60", "VisibilityTimeout": "5"})

    # WHEN the stack is deployed again
    again = scratch.deploy()

    # THEN only the queue was updated, and it is as specified again
    assert again.exit_code == 0, again
    assert {n: action for n, action in again.actions().items() if action != "noop"} == {name: "update"}
    attributes = oob.queue_attributes(name)
    assert (attributes["MessageRetentionPeriod"], attributes["VisibilityTimeout"]) == (RETENTION, VISIBILITY)
