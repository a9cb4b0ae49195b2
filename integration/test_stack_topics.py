"""Lifecycle of the three SNS topics: created tagged, drift repaired, foreign ones gated."""

from __future__ import annotations

from integration.stack_fixtures import ours

TOPICS = {
    "command_topic": "schedule-creation-topic",
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
