"""Lifecycle of the three SNS topics: created tagged, drift repaired, foreign ones gated."""

from __future__ import annotations

import pytest

from integration.stack_fixtures import ours

TOPICS = {
    "creation_topic": "schedule-creation-topic",
    "web_actions_topic": "web-actions-topic",
    "notifications_topic": "notifications-topic",
}


def test_topics_are_created_with_our_tags_and_deleted(scratch, oob):
    # WHEN the stack is deployed
    deployed = scratch.deploy()

    # THEN each topic exists with our tags, and its ARN is an output
    assert deployed.exit_code == 0, deployed
    for attribute, logical_id in TOPICS.items():
        name = getattr(scratch.names, attribute)
        assert oob.topic_tags(name) == ours(scratch.stage, logical_id)
        assert deployed.json["outputs"][f"{attribute}_arn"] == oob.topic_arn(name)

    # WHEN it is destroyed THEN the topics are gone
    assert scratch.destroy().exit_code == 0
    assert not any(oob.topic_exists(getattr(scratch.names, a)) for a in TOPICS)


@pytest.mark.parametrize("drift", ["value changed", "ownership tag removed", "several tags added"])
def test_topic_tags_changed_out_of_band_are_reset(scratch, oob, drift):
    # GIVEN a deployed stack whose notifications topic's tags were edited
    assert scratch.deploy().exit_code == 0
    name = scratch.names.notifications_topic
    if drift == "value changed":
        oob.tag_topic(name, {"rez-agent:stage": "prod"})
    elif drift == "ownership tag removed":
        oob.untag_topic(name, ["rez-agent:logical-id"])
    else:
        oob.tag_topic(name, {"team": "payments", "env": "x"})

    # WHEN the stack is deployed again
    again = scratch.deploy("--adopt")

    # THEN the topic carries exactly our tags again
    assert again.exit_code == 0, again
    assert oob.topic_tags(name) == ours(scratch.stage, "notifications-topic")


def test_topic_deleted_out_of_band_is_recreated(scratch, oob):
    # GIVEN a deployed stack whose web-actions topic was deleted
    assert scratch.deploy().exit_code == 0
    oob.delete_topic(scratch.names.web_actions_topic)

    # WHEN the stack is deployed again
    again = scratch.deploy()

    # THEN only that topic was created, and it is ours
    assert again.exit_code == 0, again
    changed = {n for n, action in again.actions().items() if action != "noop"}
    assert changed == {scratch.names.web_actions_topic}
    assert oob.topic_tags(scratch.names.web_actions_topic) == ours(scratch.stage, "web-actions-topic")


def test_foreign_topic_needs_adopt_and_destroy_leaves_it(scratch, oob, recorder):
    # GIVEN a topic with our name that is someone else's
    name = scratch.names.creation_topic
    oob.create_topic(name, {"team": "payments"})

    # WHEN deployed without --adopt THEN exit 3 naming it, nothing changed
    refused = scratch.deploy()
    assert refused.exit_code == 3, refused
    assert name in refused.err and "--adopt" in refused.err
    assert recorder.mutating == []

    # WHEN destroyed THEN the foreign topic is left alone
    assert scratch.destroy().exit_code == 0
    assert oob.topic_tags(name) == {"team": "payments"}

    # WHEN deployed with --adopt THEN it is ours
    assert scratch.deploy("--adopt").exit_code == 0
    assert oob.topic_tags(name) == ours(scratch.stage, "schedule-creation-topic")
