"""Lifecycle of the schedule group, and of the stack as a whole.

Every test runs destroy -> deploy -> ... -> destroy on a scratch stage (the ``scratch``
fixture destroys before and after) and asserts against what the cloud reports, read with
the raw SDK. The group cases follow the ScheduleGroup reconciler hardening: defaults,
no-op redeploy, tag drift, out-of-band deletion through a DELETING window, rename,
double destroy, adoption.
"""

from __future__ import annotations

import pytest

from chalicelib import errors
from integration.stack_fixtures import (
    MOTO_DUPLICATE_GROUP_OVERWRITES,
    deviates_on,
    ours,
)

GROUP = "schedule-group"


def test_group_is_created_with_defaults_and_deleted(scratch, oob):
    # GIVEN nothing deployed for the stage
    assert oob.group(scratch.names.schedule_group) is None

    # WHEN the stack is deployed
    deployed = scratch.deploy()

    # THEN the group exists, is ACTIVE and carries exactly our ownership tags
    assert deployed.exit_code == 0, deployed
    group = oob.group(scratch.names.schedule_group)
    assert group["State"] == "ACTIVE"
    assert oob.group_tags(scratch.names.schedule_group) == ours(scratch.stage, GROUP)
    assert deployed.json["outputs"]["schedule_group_arn"] == group["Arn"]
    assert deployed.json["outputs"]["schedule_group_name"] == scratch.names.schedule_group

    # WHEN it is destroyed
    destroyed = scratch.destroy()

    # THEN the group is gone
    assert destroyed.exit_code == 0, destroyed
    assert oob.group(scratch.names.schedule_group) is None


def test_redeploy_with_same_settings_makes_no_mutating_call(scratch, recorder):
    # GIVEN a deployed stack
    assert scratch.deploy().exit_code == 0
    recorder.clear()

    # WHEN it is deployed again
    again = scratch.deploy()

    # THEN every step is a no-op and no mutating AWS call was made
    assert again.exit_code == 0, again
    assert set(again.actions().values()) == {"noop"}
    assert recorder.mutating == []
    assert recorder.calls, "the deploy read the cloud"


def test_plan_prints_the_changes_and_changes_nothing(scratch, recorder, oob):
    # WHEN a fresh stage is planned
    plan = scratch.plan()

    # THEN the plan lists a create per resource, in deploy order, and nothing was created
    assert plan.exit_code == 0, plan
    assert [s["type"] for s in plan.json["steps"]] == [
        "iam-role", "dynamodb-table", "sns-topic", "sns-topic", "sns-topic", "sns-topic", "sqs-queue", "schedule-group",
    ]
    assert {s["action"] for s in plan.json["steps"]} == {"create"}
    assert recorder.mutating == []
    assert oob.group(scratch.names.schedule_group) is None


def test_extra_tag_drift_alone_keeps_the_group_ours_and_needs_no_adopt(scratch, oob):
    # GIVEN a deployed group with one tag added out of band (ownership tags intact)
    assert scratch.deploy().exit_code == 0
    oob.tag_group(scratch.names.schedule_group, {"team": "payments"})

    # WHEN it is deployed without --adopt
    again = scratch.deploy()

    # THEN the step is an update of its tags and the extra tag is gone
    assert again.exit_code == 0, again
    assert again.actions()[scratch.names.schedule_group] == "update"
    assert oob.group_tags(scratch.names.schedule_group) == ours(scratch.stage, GROUP)


def test_group_deleted_out_of_band_is_recreated_through_a_deleting_window(
    scratch, oob, faults, recorder
):
    # GIVEN a deployed group deleted out of band, still DELETING for three attempts
    assert scratch.deploy().exit_code == 0
    oob.delete_group(scratch.names.schedule_group)
    deleting = faults.conflict("CreateScheduleGroup", times=3)
    recorder.clear()

    # WHEN the stack is deployed again
    again = scratch.deploy()

    # THEN the create rode the window (3 conflicts, then success) and the group is back, ours
    assert again.exit_code == 0, again
    assert deleting.injected == 3
    assert recorder.count("CreateScheduleGroup") == 4
    assert oob.group(scratch.names.schedule_group)["State"] == "ACTIVE"
    assert oob.group_tags(scratch.names.schedule_group) == ours(scratch.stage, GROUP)


def test_conflict_retry_is_bounded(scratch, oob, faults, recorder, monkeypatch):
    # GIVEN a group that stays in conflict longer than the configured attempts
    monkeypatch.setenv("CONFLICT_RETRY_ATTEMPTS", "4")
    faults.conflict("CreateScheduleGroup", times=10)

    # WHEN the stack is deployed
    deployed = scratch.deploy()

    # THEN it gave up after exactly 4 attempts, naming the group and the conflict
    assert deployed.exit_code == 1, deployed
    assert recorder.count("CreateScheduleGroup") == 4
    assert "Conflict" in deployed.err and scratch.names.schedule_group in deployed.err
    assert oob.group(scratch.names.schedule_group) is None


@pytest.mark.parametrize(
    "operation", ["CreateScheduleGroup", "TagResource", "UntagResource", "DeleteScheduleGroup"]
)
def test_conflict_retry_covers_create_tag_untag_and_delete(scratch, oob, faults, recorder, operation):
    # GIVEN a stack whose next step on the group calls ``operation``
    assert scratch.deploy().exit_code == 0
    name = scratch.names.schedule_group
    if operation == "CreateScheduleGroup":
        oob.delete_group(name)
    elif operation == "TagResource":
        oob.tag_group(name, {"rez-agent:stage": "other"})
    elif operation == "UntagResource":
        oob.tag_group(name, {"team": "payments"})
    faults.conflict(operation, times=2)
    recorder.clear()

    # WHEN the stack converges (deploy, or destroy for the delete)
    if operation == "DeleteScheduleGroup":
        result = scratch.destroy()
    else:
        result = scratch.deploy("--adopt")

    # THEN the call was retried through the two conflicts and the cloud converged
    assert result.exit_code == 0, result
    assert recorder.count(operation) == 3
    if operation == "DeleteScheduleGroup":
        assert oob.group(name) is None
    else:
        assert oob.group_tags(name) == ours(scratch.stage, GROUP)


def test_throttling_is_not_retried_by_the_conflict_retry(scratch, oob, faults, recorder):
    # GIVEN CreateScheduleGroup answers ThrottlingException (botocore's own retries aside)
    faults.throttle("scheduler", "CreateScheduleGroup", times=1)

    # WHEN the stack is deployed
    deployed = scratch.deploy()

    # THEN it fails at once as "upstream unavailable", with a single attempt
    assert deployed.exit_code == 1, deployed
    assert recorder.count("CreateScheduleGroup") == 1
    assert errors.UpstreamUnavailable.code in deployed.err

    # AND a later deploy converges
    assert scratch.deploy().exit_code == 0
    assert oob.group_tags(scratch.names.schedule_group) == ours(scratch.stage, GROUP)


def test_group_name_change_replaces_and_deletes_the_old_group(scratch, oob, monkeypatch):
    # GIVEN a deployed group
    assert scratch.deploy().exit_code == 0
    old_name = scratch.names.schedule_group
    new_name = f"{old_name}-renamed"

    # WHEN the group's name changes and the stack is deployed
    monkeypatch.setenv("SCHEDULE_GROUP_NAME", new_name)
    renamed = scratch.deploy()

    # THEN the plan replaced it: the new group is ours and the old one is gone
    assert renamed.exit_code == 0, renamed
    step = next(s for s in renamed.json["steps"] if s["type"] == "schedule-group")
    assert (step["action"], step["previous_name"], step["name"]) == ("replace", old_name, new_name)
    assert oob.group(old_name) is None
    assert oob.group_tags(new_name) == ours(scratch.stage, GROUP)
    assert renamed.json["outputs"]["schedule_group_name"] == new_name

    # AND destroy removes the renamed group
    assert scratch.destroy().exit_code == 0
    assert oob.group(new_name) is None


def test_destroying_an_already_deleted_group_is_a_noop(scratch, oob, recorder):
    # GIVEN a deployed stack whose group was deleted out of band
    assert scratch.deploy().exit_code == 0
    oob.delete_group(scratch.names.schedule_group)

    # WHEN it is destroyed twice
    first = scratch.destroy()
    recorder.clear()
    second = scratch.destroy()

    # THEN both succeed, the group step is a no-op and the second run changed nothing
    assert first.exit_code == 0, first
    assert first.actions()[scratch.names.schedule_group] == "noop"
    assert second.exit_code == 0, second
    assert set(second.actions().values()) == {"noop"}
    assert recorder.mutating == []


def test_a_group_deleted_between_plan_and_delete_is_a_noop(scratch, oob, faults):
    # GIVEN a destroy plan that deletes the group, and the group deleted before it runs
    # (AWS then answers ResourceNotFoundException; moto answers HTTP 500, so it is injected)
    assert scratch.deploy().exit_code == 0
    stack = scratch.api()
    plan = stack.plan_destroy()
    oob.delete_group(scratch.names.schedule_group)
    faults.fail("scheduler", "DeleteScheduleGroup", "ResourceNotFoundException")

    # WHEN the plan is carried out
    result = stack.destroy(plan)

    # THEN the delete counted as done and the whole stack is gone
    assert result.converged
    assert oob.group(scratch.names.schedule_group) is None
    assert oob.role(scratch.names.execution_role) is None


def test_a_group_created_by_someone_else_after_the_plan_is_a_conflict(
    scratch, oob, aws, request, monkeypatch
):
    deviates_on(request, aws.kind, MOTO_DUPLICATE_GROUP_OVERWRITES)
    # GIVEN a plan that creates the group, and someone else creating it before it runs
    monkeypatch.setenv("CONFLICT_RETRY_ATTEMPTS", "2")
    stack = scratch.api()
    plan = stack.plan_deploy()
    name = scratch.names.schedule_group
    oob.create_group(name, {"team": "payments"})

    # WHEN the plan is carried out
    # THEN creating the group fails with a Conflict (no silent take-over), tags untouched
    try:
        with pytest.raises(errors.Conflict):
            stack.deploy(plan)
        assert oob.group_tags(name) == {"team": "payments"}
    finally:
        oob.delete_group(name)


def test_stack_destroy_twice_removes_everything_then_is_a_noop(scratch, oob, recorder):
    # GIVEN a deployed stack
    assert scratch.deploy().exit_code == 0
    names = scratch.names

    # WHEN it is destroyed
    first = scratch.destroy()

    # THEN the group went first and the role last, and nothing is left
    assert first.exit_code == 0, first
    assert [s["type"] for s in first.json["steps"]] == [
        "schedule-group", "sqs-queue", "sns-topic", "sns-topic", "sns-topic", "sns-topic", "dynamodb-table", "iam-role",
    ]
    assert oob.group(names.schedule_group) is None
    assert oob.table(names.table) is None
    assert not any(
        oob.topic_exists(t)
        for t in (names.command_topic, names.web_actions_topic, names.notifications_topic, names.results_topic)
    )
    assert oob.role(names.execution_role) is None

    # WHEN it is destroyed again
    recorder.clear()
    second = scratch.destroy()

    # THEN nothing changes
    assert second.exit_code == 0, second
    assert recorder.mutating == []
