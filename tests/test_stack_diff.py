"""Plan logic of the stack, without AWS: tags, ownership, diffs, replace, retire, gates."""

from __future__ import annotations

import json

import pytest

from chalicelib.config import get_settings
from chalicelib.errors import ValidationError
from ops.stack import policies
from ops.stack.engine import NotOwned, Stack
from ops.stack.group import ScheduleGroupProvider
from ops.stack.model import (
    Absent,
    Create,
    Delete,
    Noop,
    Observed,
    Plan,
    Replace,
    Unowned,
    Update,
)
from ops.stack.role import ExecutionRoleProvider
from ops.stack.state import StateStore
from ops.stack.table import TableProvider
from ops.stack.tags import is_owned, tag_changes

ACCOUNT = "111122223333"
SETTINGS = get_settings({"STAGE": "unit", "AWS_ACCOUNT_ID": ACCOUNT, "AWS_REGION": "eu-west-1"})
OURS = {"rez-agent:app": "rez-agent", "rez-agent:stage": "unit", "rez-agent:logical-id": "g"}


def group() -> ScheduleGroupProvider:
    return ScheduleGroupProvider(SETTINGS, "g", "rez-agent-unit")


# -- tags ------------------------------------------------------------------------------------


def test_tag_changes_set_what_differs_and_remove_what_is_extra():
    changes = tag_changes(
        desired={"a": "1", "b": "2", "c": "3"},
        observed={"a": "1", "b": "old", "x": "9", "y": "8"},
    )
    assert changes.to_set == {"b": "2", "c": "3"}
    assert changes.to_remove == ("x", "y")


def test_tag_changes_ignore_aws_reserved_tags():
    changes = tag_changes({"a": "1"}, {"a": "1", "aws:cloudformation:stack-name": "s"})
    assert changes.empty


@pytest.mark.parametrize(
    ("tags", "owned"),
    [
        (OURS, True),
        ({**OURS, "team": "payments"}, True),
        ({**OURS, "rez-agent:stage": "prod"}, False),
        ({k: v for k, v in OURS.items() if k != "rez-agent:app"}, False),
        ({}, False),
    ],
)
def test_ownership_needs_all_three_tags_for_this_stage_and_logical_id(tags, owned):
    assert is_owned(tags, "unit", "g") is owned


# -- diff ------------------------------------------------------------------------------------


def test_absent_resource_is_created():
    provider = group()
    step = provider.diff(provider.desired(), Absent("rez-agent-unit"))
    assert isinstance(step, Create) and step.desired.tags == OURS


def test_matching_resource_is_a_noop():
    provider = group()
    step = provider.diff(provider.desired(), Observed("rez-agent-unit", "arn:g", {"state": "ACTIVE"}, OURS))
    assert isinstance(step, Noop)


def test_tag_drift_is_an_update_diffed_against_the_observed_tags():
    provider = group()
    observed = Observed("rez-agent-unit", "arn:g", {}, {**OURS, "team": "payments"})
    step = provider.diff(provider.desired(), observed)
    assert isinstance(step, Update) and not step.adopt
    [change] = step.changes
    assert (change.field, change.before, change.after) == ("tags", {**OURS, "team": "payments"}, OURS)


def test_unowned_resource_is_an_update_that_needs_adoption():
    provider = group()
    step = provider.diff(provider.desired(), Unowned("rez-agent-unit", "arn:g", {}, {"team": "x"}))
    assert isinstance(step, Update) and step.adopt
    assert [c.field for c in step.changes] == ["tags"]


def table_observed(**overrides) -> Observed:
    provider = TableProvider(SETTINGS, "t", "rez-agent-schedules-unit")
    attrs = json.loads(json.dumps(provider.desired_attrs()))
    attrs.update(overrides)
    tags = {**OURS, "rez-agent:logical-id": "t"}
    return Observed("rez-agent-schedules-unit", "arn:t", attrs, tags)


def test_table_key_schema_change_is_a_replace_that_destroys_data():
    provider = TableProvider(SETTINGS, "t", "rez-agent-schedules-unit")
    observed = table_observed(key_schema={"hash": {"attribute": "pk", "type": "S"}})
    step = provider.diff(provider.desired(), observed)
    assert isinstance(step, Replace) and step.in_place and step.destroys_data
    assert "pk (S)" in step.reason and "id (S)" in step.reason


def test_table_index_ttl_and_billing_drift_are_in_place_updates():
    provider = TableProvider(SETTINGS, "t", "rez-agent-schedules-unit")
    desired = provider.desired()
    indexes = dict(desired.attrs["global_secondary_indexes"])
    indexes.pop("created_by-index")
    observed = table_observed(
        billing_mode="PROVISIONED",
        global_secondary_indexes=indexes,
        ttl={"enabled": False, "attribute": None},
    )
    step = provider.diff(desired, observed)
    assert isinstance(step, Update)
    assert [c.field for c in step.changes] == ["billing_mode", "global_secondary_indexes", "ttl"]


def role_observed(trust, inline, managed=()) -> Observed:
    tags = {**OURS, "rez-agent:logical-id": "r"}
    attrs = {"trust_policy": trust, "inline_policies": inline, "managed_policies": list(managed)}
    return Observed("role", "arn:r", attrs, tags)


def test_role_policies_written_differently_but_equivalent_are_a_noop():
    provider = ExecutionRoleProvider(SETTINGS, "r", "role")
    desired = provider.desired()
    trust = json.loads(json.dumps(desired.attrs["trust_policy"]))
    trust["Statement"] = trust["Statement"][0]  # one statement, not a list
    trust["Statement"]["Action"] = ["sts:AssumeRole"]  # a list, not a string
    inline = json.loads(json.dumps(desired.attrs["inline_policies"]))
    inline["invoke-schedule-target"]["Statement"][0]["Resource"].reverse()
    assert isinstance(provider.diff(desired, role_observed(trust, inline)), Noop)


def test_role_trust_policy_targets_only_the_scheduler_for_the_account():
    provider = ExecutionRoleProvider(SETTINGS, "r", "role")
    trust = provider.desired().attrs["trust_policy"]
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    [invoke] = provider.desired().attrs["inline_policies"]["invoke-schedule-target"]["Statement"]
    target = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:rez-agent-schedules-unit-schedule_target"
    assert (invoke["Action"], invoke["Resource"]) == ("lambda:InvokeFunction", [target, f"{target}:*"])


def test_role_policy_drift_is_an_update_of_exactly_the_drifted_fields():
    provider = ExecutionRoleProvider(SETTINGS, "r", "role")
    desired = provider.desired()
    widened = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    observed = role_observed(desired.attrs["trust_policy"], {"invoke-schedule-target": widened}, ["arn:p"])
    step = provider.diff(desired, observed)
    assert [c.field for c in step.changes] == ["inline_policies", "managed_policies"]


def test_canonical_policy_treats_single_values_as_lists():
    assert policies.canonical({"Statement": {"Action": "a"}}) == policies.canonical(
        {"Statement": [{"Action": ["a"]}]}
    )
    assert policies.canonical('{"Version": "2012-10-17"}') == {"Version": "2012-10-17"}


# -- name change and destroy steps -----------------------------------------------------------


def test_name_change_of_an_absent_new_name_is_a_replace_of_the_previous_one():
    provider = group()
    desired = provider.desired()
    previous = Observed("rez-agent-old", "arn:old", {}, OURS)
    [step] = provider.retire(previous, desired, provider.diff(desired, Absent(desired.name)))
    assert isinstance(step, Replace) and not step.in_place
    assert (step.previous_name, step.name, step.destroys_data) == ("rez-agent-old", "rez-agent-unit", False)


def test_name_change_when_the_new_name_exists_deletes_the_previous_one():
    provider = group()
    desired = provider.desired()
    current = Observed(desired.name, "arn:new", {}, OURS)
    previous = Observed("rez-agent-old", "arn:old", {}, OURS)
    steps = provider.retire(previous, desired, provider.diff(desired, current))
    assert [type(s) for s in steps] == [Noop, Delete]
    assert steps[1].name == "rez-agent-old"


@pytest.mark.parametrize("previous", [Absent("rez-agent-old"), Unowned("rez-agent-old", "arn", {}, {})])
def test_a_previous_name_that_is_gone_or_not_ours_is_left_alone(previous):
    provider = group()
    desired = provider.desired()
    create = provider.diff(desired, Absent(desired.name))
    assert provider.retire(previous, desired, create) == [create]


def test_destroy_deletes_only_what_is_ours():
    provider = group()
    assert isinstance(provider.delete_step(Observed("n", "arn", {}, OURS)), Delete)
    gone = provider.delete_step(Absent("n"))
    foreign = provider.delete_step(Unowned("n", "arn", {}, {}))
    assert isinstance(gone, Noop) and gone.note == "already gone"
    assert isinstance(foreign, Noop) and "not ours" in foreign.note


# -- plans and gates -------------------------------------------------------------------------


def test_a_plan_is_plain_data_that_prints_as_json_and_text():
    provider = group()
    desired = provider.desired()
    plan = Plan(
        "unit",
        "deploy",
        (
            provider.diff(desired, Unowned(desired.name, "arn:g", {}, {"team": "x"})),
            Delete("t", "sns-topic", "old-topic", arn="arn:t", reason="renamed"),
        ),
    )
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["changes"] is True
    assert data["steps"][0]["action"] == "update" and data["steps"][0]["adopt"] is True
    assert data["steps"][0]["changes"][0]["after"] == OURS
    assert "update   schedule-group rez-agent-unit: adopt and change tags" in plan.render()
    assert "delete   sns-topic old-topic: renamed" in plan.render()


class RefusingProvider(ScheduleGroupProvider):
    """Fails the test if anything is applied."""

    def apply(self, step):  # pragma: no cover - must not run
        raise AssertionError(f"applied {step}")


def test_deploy_refuses_an_unowned_resource_before_changing_anything(tmp_path):
    provider = RefusingProvider(SETTINGS, "g", "rez-agent-unit")
    desired = provider.desired()
    stack = Stack(SETTINGS, providers=[provider], store=_store(tmp_path))
    plan = Plan("unit", "deploy", (provider.diff(desired, Unowned(desired.name, "arn", {}, {})),))
    with pytest.raises(NotOwned, match=r"schedule-group rez-agent-unit.*--adopt"):
        stack.deploy(plan)


def test_deploy_refuses_to_replace_a_table_that_is_not_ours_even_if_data_loss_is_allowed(tmp_path):
    provider = TableProvider(SETTINGS, "t", "rez-agent-schedules-unit")
    other_key = {"key_schema": {"hash": {"attribute": "pk", "type": "S"}}}
    foreign = Unowned("rez-agent-schedules-unit", "arn:t", other_key, {})
    step = provider.diff(provider.desired(), foreign)
    assert isinstance(step, Replace) and step.adopt
    stack = Stack(SETTINGS, providers=[provider], store=_store(tmp_path))
    with pytest.raises(NotOwned, match="--adopt"):
        stack.deploy(Plan("unit", "deploy", (step,)), allow_data_loss=True)


def test_deploy_refuses_a_replace_that_loses_data_unless_allowed(tmp_path):
    provider = TableProvider(SETTINGS, "t", "rez-agent-schedules-unit")
    observed = table_observed(key_schema={"hash": {"attribute": "pk", "type": "S"}})
    step = provider.diff(provider.desired(), observed)
    stack = Stack(SETTINGS, providers=[provider], store=_store(tmp_path))
    with pytest.raises(ValidationError, match="--allow-data-loss"):
        stack.deploy(Plan("unit", "deploy", (step,)))


def _store(tmp_path) -> StateStore:
    return StateStore(tmp_path)
