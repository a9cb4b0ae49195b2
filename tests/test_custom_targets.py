"""Custom targets by AWS's own rules: only an SNS topic, SQS queue or Lambda function ARN the
target function can deliver to, in this stage's partition, region and account, named with
this stage's prefix, which no other stage's prefix can cover."""

from __future__ import annotations

import json

import pytest

from chalicelib import config
from ops import policy
from tests.support import TEE_TIMES, table_items

ACCOUNT = "123456789012"
PREFIX = "rez-agent-custom-dev-"


def create(client, target_arn):
    body = {**TEE_TIMES, "target_type": "custom", "target_arn": target_arn}
    return client.http.post("/api/schedules", headers={"Content-Type": "application/json"}, body=json.dumps(body))


@pytest.mark.parametrize(
    ("target_arn", "rule"),
    [
        (f"arn:aws-cn:sns:us-east-1:{ACCOUNT}:{PREFIX}x", "partition aws"),
        (f"arn:aws-us-gov:sqs:us-east-1:{ACCOUNT}:{PREFIX}x", "partition aws"),
        (f"arn:aws-iso:sns:us-east-1:{ACCOUNT}:{PREFIX}x", "must be the ARN of"),
        (f"arn:aws:sns:us-east-1:{ACCOUNT}:function:{PREFIX}x", "SNS topic's name"),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:function:{PREFIX}x", "SQS queue's name"),
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:{PREFIX}x", "function:<name>"),
        (f"arn:aws:sns:us-east-1:{ACCOUNT}:{PREFIX}x.fifo", "FIFO topics are not supported"),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:{PREFIX}x.fifo", "FIFO queues are not supported"),
        (f"arn:aws:sns:us-east-1:{ACCOUNT}:{PREFIX}{'x' * 240}", "1-256"),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:{PREFIX}{'x' * 70}", "1-80"),
        (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{PREFIX}{'x' * 50}", "1-64"),
        (f"arn:aws:sns:eu-west-1:{ACCOUNT}:{PREFIX}x", "region us-east-1"),
        (f"arn:aws:sns:us-east-1:210987654321:{PREFIX}x", "own AWS account"),
        (f"arn:aws:sns:us-east-1:{ACCOUNT}:rez-agent-custom-prod-x", f"start with '{PREFIX}'"),
    ],
)
def test_a_target_that_can_never_be_delivered_or_is_not_this_stages_is_refused(
    chalice_client, moto_stage, names, target_arn, rule
):
    response = create(chalice_client, target_arn)
    assert response.status_code == 400, response.json_body
    assert rule in response.json_body["Message"]
    assert "target_arn" in response.json_body["Message"]
    assert table_items(names, "schedule") == []


@pytest.mark.parametrize(
    "target_arn",
    [
        f"arn:aws:sns:us-east-1:{ACCOUNT}:{PREFIX}alerts",
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:{PREFIX}inbox",
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{PREFIX}worker",
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{PREFIX}worker:live",
    ],
)
def test_this_stages_own_targets_are_accepted(chalice_client, moto_stage, target_arn):
    assert create(chalice_client, target_arn).status_code == 202


@pytest.mark.parametrize("stage", ["dev-eu", "dev-2", "-", "a" * 17, "dev.eu", "1dev"])
def test_a_stage_name_that_would_share_a_prefix_with_another_stage_is_refused(stage):
    # GIVEN stage dev, whose custom targets are rez-agent-custom-dev-*
    # WHEN an operator names a stage dev-eu (whose prefix rez-agent-custom-dev-eu- dev's covers)
    # THEN the name is refused wherever a stage's names are made
    with pytest.raises(ValueError, match="stage"):
        config.resource_names(stage, {})
    with pytest.raises(ValueError, match="stage"):
        config.get_settings({"STAGE": stage})


def test_the_policy_grants_exactly_this_stages_targets():
    statements = {s["Sid"]: s for s in policy.policy_for("dev", policy.TARGET)["Statement"]}
    own = {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}
    region = config.settings_for("dev").region
    assert statements["PublishToCustomTopics"]["Resource"] == f"arn:aws:sns:{region}:*:{PREFIX}*"
    assert statements["SendToCustomQueues"]["Resource"] == f"arn:aws:sqs:{region}:*:{PREFIX}*"
    assert statements["InvokeCustomFunctions"]["Resource"] == f"arn:aws:lambda:{region}:*:function:{PREFIX}*"
    for sid in ("PublishToCustomTopics", "SendToCustomQueues", "InvokeCustomFunctions"):
        assert statements[sid]["Condition"] == own
    assert statements["NoFifoTargets"]["Effect"] == "Deny"
