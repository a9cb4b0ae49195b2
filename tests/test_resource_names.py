"""Names declared once: renaming a resource renames it for every consumer.

Each resource's name can be overridden by its environment variable (``SCHEDULE_GROUP_NAME``
and friends, see chalicelib.config). The functions, the IAM policies, the execution role,
the packaged template and the stack all read names through ``resource_names``, so an
override must reach every one of them; a consumer that kept the stage-derived name would
deploy a broken stage (a policy scoped to a group that does not exist).
"""

from __future__ import annotations

import json
import os
import re

import pytest

from chalicelib import config, names
from chalicelib.config import get_settings, settings_for
from ops import app_stack, policy
from ops.stack.engine import stage_providers

STAGE = "dev"
RENAMES = {
    config.ENV_TABLE: "team-schedules-table",
    config.ENV_COMMAND_TOPIC: "team-schedule-commands",
    config.ENV_WEB_ACTIONS_TOPIC: "team-web-actions",
    config.ENV_NOTIFICATIONS_TOPIC: "team-notifications",
    config.ENV_EXECUTION_ROLE: "team-scheduler-role",
    config.ENV_GROUP: "team-schedule-group",
}


def chalice_template() -> dict:
    function = {"Type": app_stack.SERVERLESS_FUNCTION, "Properties": {"CodeUri": "./deployment.zip"}}
    return {
        "Transform": app_stack.SAM_TRANSFORM,
        "Resources": {"APIHandler": json.loads(json.dumps(function)), "ScheduleTarget": function},
    }


@pytest.mark.parametrize("variable", sorted(RENAMES))
def test_a_renamed_resource_is_renamed_for_every_consumer(variable, monkeypatch):
    # GIVEN one resource renamed through its environment variable
    new_name = RENAMES[variable]
    monkeypatch.setenv(variable, new_name)

    # THEN the functions' settings use the new name
    settings = get_settings({**os.environ, config.ENV_STAGE: STAGE})
    assert new_name in settings.names.environment().values()

    # AND the IAM policies grant on the new name (and no longer on the old one)
    old_name = config.ResourceNames(STAGE).environment()[variable]
    documents = json.dumps([policy.policy_for(STAGE, function) for function in policy.FUNCTIONS])
    assert new_name in documents
    assert not re.search(rf"[:/]{re.escape(old_name)}(?=[\"/*:])", documents)

    # AND the stage's Chalice config and every packaged function carry it
    assert policy.stage_config(STAGE)["environment_variables"][variable] == new_name
    prepared = app_stack.prepare_template(chalice_template(), STAGE, "bucket", "dev/code.zip")
    for resource in prepared["Resources"].values():
        if resource["Type"] != app_stack.SERVERLESS_FUNCTION:
            continue  # the alarms, their topic and the dashboard
        assert resource["Properties"]["Environment"]["Variables"][variable] == new_name

    # AND the stack converges the resource under the new name
    provider_names = {provider.name for provider in stage_providers(settings_for(STAGE))}
    assert new_name in provider_names and old_name not in provider_names


def test_the_execution_role_lets_the_scheduler_invoke_the_packaged_target(monkeypatch):
    # GIVEN the stage's names (function names are not overridable: Chalice derives them)
    monkeypatch.setenv(config.ENV_ACCOUNT_ID, "123456789012")
    settings = settings_for(STAGE)
    (role,) = [p for p in stage_providers(settings) if p.kind == "iam-role"]
    # THEN the role's policy names exactly the function the template deploys
    prepared = app_stack.prepare_template(chalice_template(), STAGE, "bucket", "dev/code.zip")
    deployed = app_stack.functions_of(prepared)[names.SCHEDULE_TARGET]
    assert role.target_function_arn().endswith(f":function:{deployed}")
