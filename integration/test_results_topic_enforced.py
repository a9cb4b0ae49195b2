"""Who may publish to the results topic, on an emulator that enforces IAM: ministack with its
``AUTH=true`` (every call judged by the identity and resource policies in force) over HTTPS.

The stack's provider deploys the results topic with the policy it declares; then principals of
the stage's own account and of another one publish to it. What AWS decides for each, the
emulator must decide too; where ministack decides otherwise, the test says how (a strict
expected failure).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from ops import emulator, policy
from ops.stack.engine import RESULTS_TOPIC
from ops.stack.model import Observed
from ops.stack.results_topic import ResultsTopicProvider

STAGE = "enforced"
OWN = "000000000000"  # ministack's account for the root credentials "test"
OTHER = "111111111111"  # a 12-digit access key is that account's root on ministack
WORKER_ROLE = "report-runs"
MINISTACK_PRINCIPAL_ARN_IS_THE_SESSION = (
    "ministack: aws:PrincipalArn of an assumed-role session is the session's ARN "
    "(arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION); AWS gives the role's ARN"
)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory) -> Iterator[str]:
    if not emulator.ministack_available():
        pytest.fail("this test needs ministack: run `make ministack-venv`")
    started = emulator.launch_ministack(tmp_path_factory.mktemp("enforced") / "ministack.log", enforce_iam=True)
    try:
        yield started.url
    finally:
        started.stop()


def client(endpoint: str, service: str, key: str = "test", secret: str = "test", token: str | None = None) -> Any:
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", verify=False,
                        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)


def role_session(endpoint: str, account: str, name: str, may_publish: bool) -> Any:
    """An SNS client acting as a session of role ``name`` of ``account`` (created here)."""
    root = "test" if account == OWN else account
    iam = client(endpoint, "iam", root)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    if may_publish:
        iam.put_role_policy(RoleName=name, PolicyName="publish", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}))
    credentials = client(endpoint, "sts", root).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{name}", RoleSessionName="worker")["Credentials"]
    return client(endpoint, "sns", credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])


@pytest.fixture(scope="module")
def results_topic(endpoint) -> str:
    """The stage's results topic, deployed by the stack's provider, declaring one worker role
    of another account as a publisher."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(policy.STAGE_ACCESS, STAGE, policy.StageAccess(
            results_publishers=(f"arn:aws:iam::{OTHER}:role/{WORKER_ROLE}",)))
        settings = get_settings({"STAGE": STAGE, "AWS_REGION": "us-east-1", "AWS_ACCOUNT_ID": OWN})
        provider = ResultsTopicProvider(settings, RESULTS_TOPIC, settings.results_topic_name,
                                        client_factory=lambda service: client(endpoint, service))
        final = provider.apply(provider.diff(provider.desired(), provider.read()))
    assert isinstance(final, Observed), final
    return final.arn


def publishes(sns: Any, topic_arn: str) -> str:
    """"published", or the emulator's refusal."""
    try:
        sns.publish(TopicArn=topic_arn, Message=json.dumps({"execution_id": "e-1", "outcome": "succeeded"}), Subject="report")
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return "published"


def test_the_stages_own_account_publishes_as_its_iam_policies_allow(endpoint, results_topic):
    # GIVEN the account's root, a worker role allowed sns:Publish, and a role with no such grant
    # WHEN each publishes a report
    # THEN the first two are let in and the third is refused: the account's IAM decides
    assert publishes(client(endpoint, "sns"), results_topic) == "published"
    assert publishes(role_session(endpoint, OWN, "own-worker", may_publish=True), results_topic) == "published"
    assert publishes(role_session(endpoint, OWN, "own-idle", may_publish=False), results_topic) == "AuthorizationError"


def test_another_account_is_refused_whatever_its_own_policies_say(endpoint, results_topic):
    # GIVEN another account's root and a role of it allowed sns:Publish, neither declared
    # WHEN each publishes a report THEN the topic's policy refuses both
    assert publishes(client(endpoint, "sns", OTHER), results_topic) == "AuthorizationError"
    assert publishes(role_session(endpoint, OTHER, "something-else", may_publish=True), results_topic) == "AuthorizationError"


@pytest.mark.xfail(strict=True, reason=MINISTACK_PRINCIPAL_ARN_IS_THE_SESSION)
def test_a_declared_worker_role_of_another_account_publishes(endpoint, results_topic):
    # GIVEN the worker role the stage declares in results_publishers, allowed sns:Publish by its account
    # WHEN it publishes a report THEN it is let in
    assert publishes(role_session(endpoint, OTHER, WORKER_ROLE, may_publish=True), results_topic) == "published"
