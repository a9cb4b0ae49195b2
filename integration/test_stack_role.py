"""Lifecycle of the execution role: trusted by EventBridge Scheduler only, may only invoke
the stage's target function; policy drift is reset."""

from __future__ import annotations

from integration.stack_fixtures import ours


ROLE = "execution-role"


def expected_trust(account: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }


def expected_policies(oob, stage: str) -> dict:
    function = (
        f"arn:aws:lambda:us-east-1:{oob.account}:function:"
        f"rez-agent-schedules-{stage}-schedule_target"
    )
    return {
        "invoke-schedule-target": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "InvokeScheduleTarget",
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": [function, f"{function}:*"],
                }
            ],
        },
        "send-dead-letters": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SendDeadLetters",
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": f"arn:aws:sqs:us-east-1:{oob.account}:rez-agent-dead-letters-{stage}",
                }
            ],
        },
    }


def assert_role_as_specified(oob, name: str, stage: str) -> None:
    assert oob.trust_policy(name) == expected_trust(oob.account)
    assert oob.inline_policies(name) == expected_policies(oob, stage)
    assert oob.attached_policies(name) == []
    assert oob.role_tags(name) == ours(stage, ROLE)


def test_role_is_created_as_specified_and_deleted(scratch, oob):
    # WHEN the stack is deployed
    deployed = scratch.deploy()

    # THEN the role trusts only the scheduler for this account, may only invoke the target
    assert deployed.exit_code == 0, deployed
    name = scratch.names.execution_role
    assert_role_as_specified(oob, name, scratch.stage)
    assert deployed.json["outputs"]["execution_role_arn"] == oob.role(name)["Arn"]

    # WHEN it is destroyed THEN the role is gone
    assert scratch.destroy().exit_code == 0
    assert oob.role(name) is None


def test_trust_policy_changed_out_of_band_is_reset(scratch, oob):
    # GIVEN a deployed role that now also trusts Lambda
    assert scratch.deploy().exit_code == 0
    name = scratch.names.execution_role
    widened = expected_trust(oob.account)
    widened["Statement"].append(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    oob.set_trust_policy(name, widened)

    # WHEN the stack is deployed again
    again = scratch.deploy()

    # THEN only the trust policy changed, back to the scheduler alone
    assert again.exit_code == 0, again
    step = next(s for s in again.json["steps"] if s["name"] == name)
    assert [c["field"] for c in step["changes"]] == ["trust_policy"]
    assert_role_as_specified(oob, name, scratch.stage)


def test_inline_policy_changed_or_added_out_of_band_is_reset(scratch, oob):
    # GIVEN a deployed role whose policy was widened and which got a second inline policy
    assert scratch.deploy().exit_code == 0
    name = scratch.names.execution_role
    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    oob.put_inline_policy(name, "invoke-schedule-target", everything)
    oob.put_inline_policy(name, "extra", everything)

    # WHEN the stack is deployed again
    assert scratch.deploy().exit_code == 0

    # THEN the role has its one narrow policy again
    assert_role_as_specified(oob, name, scratch.stage)


def test_managed_policy_attached_out_of_band_is_detached(scratch, oob):
    # GIVEN a deployed role with a managed policy attached out of band
    assert scratch.deploy().exit_code == 0
    name = scratch.names.execution_role
    oob.attach_new_policy(
        name,
        f"extra-{scratch.stage}",
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
    )

    # WHEN the stack is deployed again THEN the policy is detached
    assert scratch.deploy().exit_code == 0
    assert_role_as_specified(oob, name, scratch.stage)


def test_role_deleted_out_of_band_is_recreated(scratch, oob):
    # GIVEN a deployed role deleted out of band
    assert scratch.deploy().exit_code == 0
    oob.delete_role(scratch.names.execution_role)

    # WHEN the stack is deployed again THEN the role is back as specified
    assert scratch.deploy().exit_code == 0
    assert_role_as_specified(oob, scratch.names.execution_role, scratch.stage)


def test_adopting_a_foreign_role_resets_its_policies(scratch, oob):
    # GIVEN a role with our name that is someone else's (it trusts Lambda)
    name = scratch.names.execution_role
    oob.create_role(name, {"team": "payments"})

    # WHEN deployed with --adopt THEN the role is ours and as specified
    assert scratch.deploy("--adopt").exit_code == 0
    assert_role_as_specified(oob, name, scratch.stage)
