"""The IAM policy files are generated from one declaration and grant least privilege."""

from __future__ import annotations

import json

import pytest

from ops import policy

CONFIG = json.loads((policy.CHALICE_DIR / "config.json").read_text())


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
@pytest.mark.parametrize("function", policy.FUNCTIONS)
def test_committed_policy_files_match_the_declaration(stage, function):
    # GIVEN the committed file for this stage and function
    path = policy.CHALICE_DIR / policy.policy_filename(stage, function)
    # THEN it is exactly what the declaration renders (regenerate with --write)
    assert path.read_text() == policy.render(policy.policy_for(stage, function)), (
        f"{path.name} is stale: run python -m ops.policy --stage {stage} --write"
    )


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_committed_stage_config_matches_the_declaration(stage):
    assert CONFIG["stages"][stage] == policy.stage_config(stage)


def test_a_new_stage_gets_its_files_once(tmp_path):
    # GIVEN a project with only the dev stage
    (tmp_path / "config.json").write_text(json.dumps({"version": "2.0", "stages": {"dev": {}}}))
    # WHEN a new stage's files are brought in line, twice
    written = policy.write_if_changed("prod", tmp_path)
    again = policy.write_if_changed("prod", tmp_path)
    # THEN its policy files and config entry exist, written once, and dev is untouched
    assert len(written) == len(policy.FUNCTIONS) + 1 and again == []
    stages = json.loads((tmp_path / "config.json").read_text())["stages"]
    assert stages["prod"] == policy.stage_config("prod") and stages["dev"] == {}
    assert json.loads((tmp_path / "policy-prod-schedule_command.json").read_text()) == policy.policy_for("prod", "schedule_command")


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_chalice_config_points_each_function_at_its_own_policy(stage):
    config = CONFIG["stages"][stage]
    assert config["autogen_policy"] is False
    assert config["iam_policy_file"] == policy.policy_filename(stage, policy.API)
    for function in (policy.COMMAND, policy.TARGET, policy.RECONCILE):
        assert config["lambda_functions"][function]["iam_policy_file"] == policy.policy_filename(stage, function)


def _statements(stage, function):
    return policy.policy_for(stage, function)["Statement"]


def _actions(stage, function):
    found = set()
    for statement in _statements(stage, function):
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def test_no_wildcard_actions_and_resources_only_where_aws_allows_none():
    for function in policy.FUNCTIONS:
        for statement in _statements("dev", function):
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            assert all("*" not in action for action in actions)
            if statement["Resource"] == "*":
                assert actions == ["scheduler:ListSchedules"]


def test_every_resource_is_scoped_to_the_stage():
    for function in policy.FUNCTIONS:
        for statement in _statements("dev", function):
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for resource in resources:
                assert resource == "*" or "-dev" in resource, resource


def test_the_api_cannot_touch_schedules_and_the_target_cannot_pass_roles():
    assert not any(a.startswith("scheduler:") for a in _actions("dev", policy.API))
    assert "iam:PassRole" not in _actions("dev", policy.API)
    assert "iam:PassRole" not in _actions("dev", policy.TARGET)
    assert not any(a.startswith("scheduler:") for a in _actions("dev", policy.TARGET))


def test_pass_role_is_only_for_the_execution_role_and_only_to_the_scheduler():
    [statement] = [s for s in _statements("dev", policy.COMMAND) if s["Action"] == "iam:PassRole"]
    assert statement["Resource"].endswith(":role/rez-agent-eventbridge-scheduler-execution-role-dev")
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_scheduler_actions_are_limited_to_the_stage_group():
    [statement] = [s for s in _statements("dev", policy.COMMAND) if s["Sid"] == "ManageSchedulesInGroup"]
    assert statement["Resource"] == "arn:aws:scheduler:*:*:schedule/rez-agent-dev/*"
