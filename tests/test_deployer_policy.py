"""The deployer's IAM policy in docs/deploy.md grants every call the stack engine makes: a
stage deployed, deployed again and destroyed on moto, each call recorded and looked up in the
policy the page shows. (What CloudFormation calls for the app's stack is checked by AWS, not
here.)"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from moto import mock_aws

from chalicelib import clients, config
from integration.recorder import STACK_SERVICES, CallRecorder
from ops import cli
from ops.stack.group import ENV_CONFLICT_RETRY_DELAY
from ops.stack.state import ENV_STACK_STATE_DIR

pytestmark = pytest.mark.slow  # deploys the stage's whole stack on moto

DEPLOY_PAGE = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"
STAGE = "docs"
# Needs no permission (AWS: "No permissions are required to perform this operation").
UNGATED = {"sts:GetCallerIdentity"}


def documented_actions() -> set[str]:
    block = re.search(r"```json\n(.*?)\n```", DEPLOY_PAGE.read_text(), re.S)
    assert block, "docs/deploy.md lost the deployer's policy"
    actions: set[str] = set()
    for statement in json.loads(block.group(1))["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


@pytest.fixture
def moto(monkeypatch, tmp_path):
    for key in ("STAGE", *config.NAME_OVERRIDES.values()):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(ENV_STACK_STATE_DIR, str(tmp_path))
    monkeypatch.setenv(ENV_CONFLICT_RETRY_DELAY, "0")
    with mock_aws():
        clients.reset()
        yield
        clients.reset()


def test_the_documented_deployer_policy_grants_every_stack_call(moto):
    # GIVEN the stack engine's clients, recorded
    settings = config.get_settings()
    for service in STACK_SERVICES:
        clients.client(service, settings)
    recorder = CallRecorder().attach()
    # WHEN a stage is deployed, deployed again and destroyed
    for command in ("deploy", "deploy", "destroy"):
        assert cli.main(["stack", command, "--stage", STAGE], out=io.StringIO(), err=io.StringIO()) == 0
    # THEN the policy in docs/deploy.md allows every call made
    made = {f"{call.service}:{call.operation}" for call in recorder.calls} - UNGATED
    assert len(made) > 20, sorted(made)
    missing = sorted(made - documented_actions())
    assert not missing, f"docs/deploy.md's deployer policy lacks {missing}"
