"""Lifecycle of the four SNS topics: created tagged, drift repaired, foreign ones gated; the
results topic's publish policy created as declared and reset when edited out of band."""

from __future__ import annotations

from integration.stack_fixtures import ours

TOPICS = {
    "command_topic": "schedule-creation-topic",
    "web_actions_topic": "web-actions-topic",
    "notifications_topic": "notifications-topic",
    "results_topic": "results-topic",
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


def _publishers(document: dict) -> tuple[list[str], dict]:
    """Who the policy lets publish, and the condition of the statement that denies the rest."""
    statements = {statement["Sid"]: statement for statement in document["Statement"]}
    allowed = statements["WorkersPublishResults"]["Principal"]["AWS"]
    return ([allowed] if isinstance(allowed, str) else sorted(allowed)), statements["NoOtherPublishers"]["Condition"]


def test_the_results_topic_lets_only_its_own_account_publish_and_an_edit_is_reset(scratch, oob):
    # WHEN the stack is deployed
    assert scratch.deploy().exit_code == 0
    name = scratch.names.results_topic

    # THEN the results topic's policy lets the stage's account publish and denies every other
    allowed, denied_unless = _publishers(oob.topic_policy(name))
    assert allowed == [f"arn:aws:iam::{oob.account}:root"]
    assert denied_unless == {"StringNotEquals": {"aws:PrincipalAccount": oob.account}}

    # GIVEN someone opened it to everyone out of band
    oob.set_topic_policy(name, {"Version": "2012-10-17", "Statement": [{
        "Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish",
        "Resource": oob.topic_arn(name)}]})

    # WHEN the stack is deployed again
    again = scratch.deploy()

    # THEN only the results topic was updated, and its policy is the declared one again
    assert again.exit_code == 0, again
    assert {n: action for n, action in again.actions().items() if action != "noop"} == {name: "update"}
    assert _publishers(oob.topic_policy(name)) == (allowed, denied_unless)
    assert "Anyone" not in {statement["Sid"] for statement in oob.topic_policy(name)["Statement"]}


def test_a_results_topic_adopted_gets_the_declared_policy(scratch, oob):
    # GIVEN a results topic someone else created, with the default policy SNS gives a topic
    name = scratch.names.results_topic
    oob.create_topic(name, {"team": "payments"})

    # WHEN the stack adopts it
    adopted = scratch.deploy("--adopt")

    # THEN it is ours, and only the stage's account may publish to it
    assert adopted.exit_code == 0, adopted
    step = next(s for s in adopted.json["steps"] if s["name"] == name)
    assert step["adopt"] is True and "policy" in [change["field"] for change in step["changes"]]
    allowed, denied_unless = _publishers(oob.topic_policy(name))
    assert allowed == [f"arn:aws:iam::{oob.account}:root"]
    assert denied_unless == {"StringNotEquals": {"aws:PrincipalAccount": oob.account}}
