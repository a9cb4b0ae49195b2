"""``python -m ops stack ...`` end to end on moto in process (fast)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib import clients, config
from integration.faults import FaultInjector
from ops import cli
from ops.stack.group import ENV_CONFLICT_RETRY_DELAY
from ops.stack.state import ENV_STACK_STATE_DIR

pytestmark = pytest.mark.slow  # deploys the stage's whole stack on moto per test

STAGE = "unit"
GROUP = f"rez-agent-{STAGE}"


@pytest.fixture
def moto(monkeypatch, tmp_path):
    for key in ("STAGE", config.ENV_TABLE, config.ENV_COMMAND_TOPIC, config.ENV_WEB_ACTIONS_TOPIC,
                config.ENV_NOTIFICATIONS_TOPIC, config.ENV_RESULTS_TOPIC, config.ENV_EXECUTION_ROLE, config.ENV_GROUP, config.ENV_DEAD_LETTER_QUEUE):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(ENV_STACK_STATE_DIR, str(tmp_path))
    monkeypatch.setenv(ENV_CONFLICT_RETRY_DELAY, "0")
    with mock_aws():
        clients.reset()
        yield tmp_path
        clients.reset()


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_plan_deploy_redeploy_destroy_round_trip(moto):
    # WHEN a fresh stage is planned THEN it lists eight creates and creates nothing
    code, out, _ = run("stack", "plan", "--stage", STAGE, "--json")
    assert code == 0
    assert [s["action"] for s in json.loads(out)["steps"]] == ["create"] * 8
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        boto3.client("scheduler", region_name="us-east-1").get_schedule_group(Name=GROUP)

    # WHEN it is deployed THEN it prints the plan, what it did and the outputs
    code, out, _ = run("stack", "deploy", "--stage", STAGE)
    assert code == 0, out
    assert f"create   schedule-group {GROUP} -> ours" in out
    assert f"schedule_group_name = {GROUP}" in out
    assert "execution_role_arn = arn:aws:iam::123456789012:role/" in out
    assert (moto / f"{STAGE}.json").exists()

    # WHEN it is deployed again THEN nothing changes
    code, out, _ = run("stack", "deploy", "--stage", STAGE)
    assert code == 0 and "done: nothing changed" in out

    # WHEN it is destroyed twice THEN both succeed and the state file is gone
    assert run("stack", "destroy", "--stage", STAGE)[0] == 0
    code, out, _ = run("stack", "destroy", "--stage", STAGE)
    assert code == 0 and "already gone" in out
    assert not (moto / f"{STAGE}.json").exists()


def test_deploy_over_a_foreign_group_exits_3_naming_it_and_adopt_takes_it_over(moto):
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    scheduler.create_schedule_group(Name=GROUP, Tags=[{"Key": "team", "Value": "payments"}])

    code, _, err = run("stack", "deploy", "--stage", STAGE)
    assert code == cli.EXIT_NOT_OWNED
    assert GROUP in err and "--adopt" in err

    code, out, _ = run("stack", "plan", "--stage", STAGE)
    assert code == 0 and f"note: schedule-group {GROUP} is not ours: deploy needs --adopt" in out

    code, _, _ = run("stack", "deploy", "--stage", STAGE, "--adopt")
    assert code == 0
    arn = scheduler.get_schedule_group(Name=GROUP)["Arn"]
    tags = {t["Key"]: t["Value"] for t in scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags == {
        "rez-agent:app": "rez-agent",
        "rez-agent:stage": STAGE,
        "rez-agent:logical-id": "schedule-group",
    }


def test_an_aws_error_exits_1_with_a_message(moto):
    # GIVEN IAM refuses to create the role
    faults = FaultInjector()
    faults.fail("iam", "CreateRole", "AccessDenied", message="not allowed")

    # WHEN deployed THEN exit 1 with the translated error, not a traceback
    try:
        code, _, err = run("stack", "deploy", "--stage", STAGE)
    finally:
        faults.clear()
    assert code == cli.EXIT_FAILED
    assert err.startswith("error: UpstreamRejected:") and "Traceback" not in err
    assert "not allowed" in err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["stack", "deploy"], out=io.StringIO(), err=io.StringIO())
    assert exit_info.value.code == 2
