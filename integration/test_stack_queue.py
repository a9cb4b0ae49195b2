"""Lifecycle of the stage's dead-letter queue: created tagged with its retention and
visibility, drift in tags and attributes repaired, a deleted one re-created, a foreign one
gated behind --adopt and left alone by destroy."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("drift", ["value changed", "ownership tag removed", "several tags added", "retention shortened"])
def test_queue_changed_out_of_band_is_reset(scratch, oob, drift):
    # GIVEN a deployed stack whose dead-letter queue was edited
    assert scratch.deploy().exit_code == 0
    name = scratch.names.dead_letter_queue
    if drift == "value changed":
        oob.tag_queue(name, {"rez-agent:stage": "prod"})
    elif drift == "ownership tag removed":
        oob.untag_queue(name, ["rez-agent:logical-id"])
    elif drift == "several tags added":
        oob.tag_queue(name, {"team": "payments", "env": "x"})
    else:
        oob.set_queue_attributes(name, {"MessageRetentionPeriod": "60"})

    # WHEN the stack is deployed again
    again = scratch.deploy("--adopt")

    # THEN the queue is exactly as specified again
    assert again.exit_code == 0, again
    assert oob.queue_tags(name) == ours(scratch.stage, LOGICAL_ID)
    assert oob.queue_attributes(name)["MessageRetentionPeriod"] == RETENTION


def test_queue_deleted_out_of_band_is_recreated(scratch, oob):
    # GIVEN a deployed stack whose dead-letter queue was deleted
    assert scratch.deploy().exit_code == 0
    oob.delete_queue(scratch.names.dead_letter_queue)

    # WHEN the stack is deployed again
    again = scratch.deploy()

    # THEN only the queue was created, and it is ours
    assert again.exit_code == 0, again
    changed = {n for n, action in again.actions().items() if action != "noop"}
    assert changed == {scratch.names.dead_letter_queue}
    assert oob.queue_tags(scratch.names.dead_letter_queue) == ours(scratch.stage, LOGICAL_ID)


def test_foreign_queue_needs_adopt_and_destroy_leaves_it(scratch, oob, recorder):
    # GIVEN a queue with our name that is someone else's
    name = scratch.names.dead_letter_queue
    oob.create_queue(name, {"team": "payments"})

    # WHEN deployed without --adopt THEN exit 3 naming it, nothing changed
    refused = scratch.deploy()
    assert refused.exit_code == 3, refused
    assert name in refused.err and "--adopt" in refused.err
    assert recorder.mutating == []

    # WHEN destroyed THEN the foreign queue is left alone
    assert scratch.destroy().exit_code == 0
    assert oob.queue_tags(name) == {"team": "payments"}

    # WHEN deployed with --adopt THEN it is ours
    assert scratch.deploy("--adopt").exit_code == 0
    assert oob.queue_tags(name) == ours(scratch.stage, LOGICAL_ID)
