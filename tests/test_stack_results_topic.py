"""The results topic's publish policy: who may report a run is decided by IAM, on the topic.

The policy is read back from the cloud (moto) after the provider created it, and judged the way
IAM judges a resource policy for the calls that matter here: an explicit deny wins; a principal
named in an allow may publish; the account's root named in an allow hands the decision to that
account's own IAM policies.
"""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from chalicelib import clients, errors
from chalicelib.config import get_settings
from ops import policy
from ops.stack.engine import RESULTS_TOPIC, Stack
from ops.stack.results_topic import ResultsTopicProvider
from ops.stack.state import StateStore

ACCOUNT = "123456789012"  # moto's
OTHER_ACCOUNT = "210987654321"
WORKER = f"arn:aws:iam::{OTHER_ACCOUNT}:role/report-runs"
OWN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/nightly-report-worker"
STAGE = "unit"

DENIED = "denied"
ALLOWED = "allowed"
IF_ITS_IAM_ALLOWS = "allowed if its own IAM policy allows"
NOT_ALLOWED = "not allowed"


def _values(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _holds(conditions: dict, context: dict[str, str]) -> bool:
    """Every condition of a statement holds for the request (the operators this policy uses)."""
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            have = context[key]
            if operator in ("StringNotEquals", "ArnNotEquals"):
                holds = have not in _values(wanted)
            elif operator == "Bool":
                holds = have == str(wanted).lower()
            else:
                raise AssertionError(f"this judge does not know the condition operator {operator}")
            if not holds:
                return False
    return True


def judge(document: dict, principal_arn: str, over_tls: bool = True) -> str:
    """What the topic policy decides for ``sns:Publish`` by ``principal_arn``."""
    account = principal_arn.split(":")[4]
    context = {
        "aws:PrincipalAccount": account,
        "aws:PrincipalArn": principal_arn,
        "aws:SecureTransport": "true" if over_tls else "false",
    }
    statements = [s for s in document["Statement"] if "sns:Publish" in _values(s["Action"])]
    if any(s["Effect"] == "Deny" and _holds(s.get("Condition", {}), context) for s in statements):
        return DENIED
    for statement in (s for s in statements if s["Effect"] == "Allow"):
        principals = _values(statement["Principal"]["AWS"])
        if principal_arn in principals:
            return ALLOWED
        if f"arn:aws:iam::{account}:root" in principals:
            return IF_ITS_IAM_ALLOWS
    return NOT_ALLOWED


@pytest.fixture
def cloud(monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCOUNT_ID"):
        monkeypatch.delenv(key, raising=False)
    with mock_aws():
        clients.reset()
        yield boto3.client("sns", region_name="us-east-1")
        clients.reset()


def deployed_policy(sns, monkeypatch, publishers: tuple[str, ...] = ()) -> dict:
    """Deploy the results topic of a stage declaring ``publishers``; its policy as the cloud holds it."""
    monkeypatch.setitem(policy.STAGE_ACCESS, STAGE, policy.StageAccess(results_publishers=publishers))
    settings = get_settings({"STAGE": STAGE, "AWS_REGION": "us-east-1"})
    provider = ResultsTopicProvider(settings, RESULTS_TOPIC, settings.results_topic_name)
    final = provider.apply(provider.diff(provider.desired(), provider.read()))
    attributes = sns.get_topic_attributes(TopicArn=final.arn)["Attributes"]
    return json.loads(attributes["Policy"])


def test_by_default_only_the_stages_own_account_may_publish_and_only_over_tls(cloud, monkeypatch):
    # GIVEN a stage that declares no other publishers, its results topic deployed
    document = deployed_policy(cloud, monkeypatch)

    # THEN a role of the stage's account may publish when its IAM policy lets it
    assert judge(document, OWN_ROLE) == IF_ITS_IAM_ALLOWS
    # AND a role of any other account is refused, whatever its own policies say
    assert judge(document, WORKER) == DENIED
    # AND nobody may publish over plain HTTP
    assert judge(document, OWN_ROLE, over_tls=False) == DENIED


def test_a_declared_worker_role_of_another_account_may_publish_and_its_neighbours_may_not(cloud, monkeypatch):
    # GIVEN a stage that declares one worker role of another account as a publisher
    document = deployed_policy(cloud, monkeypatch, publishers=(WORKER,))

    # THEN that role may publish
    assert judge(document, WORKER) == ALLOWED
    # AND another role of the same account is refused
    assert judge(document, f"arn:aws:iam::{OTHER_ACCOUNT}:role/something-else") == DENIED
    # AND the stage's own account is as before
    assert judge(document, OWN_ROLE) == IF_ITS_IAM_ALLOWS


def test_a_publisher_that_is_not_a_role_or_user_arn_stops_the_deploy_before_any_change(cloud, monkeypatch, tmp_path):
    # GIVEN a stage declaring an account id (not a role) as a publisher
    monkeypatch.setitem(policy.STAGE_ACCESS, STAGE, policy.StageAccess(results_publishers=(OTHER_ACCOUNT,)))
    settings = get_settings({"STAGE": STAGE, "AWS_REGION": "us-east-1"})

    # WHEN its stack is planned THEN it is refused, naming the entry and the rule
    with pytest.raises(errors.ValidationError, match=f"'{OTHER_ACCOUNT}' is not an IAM role or user ARN"):
        Stack(settings, store=StateStore(tmp_path)).plan_deploy()
    # AND nothing was created
    assert cloud.list_topics()["Topics"] == []
    # AND the stage's declaration says the same when packaged
    assert any(OTHER_ACCOUNT in problem for problem in policy.stage_access(STAGE).problems())
