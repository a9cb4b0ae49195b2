"""Schedules converge on a real endpoint: create through the service, drift out of band
with the raw SDK, reconcile, assert what the cloud reports, tear down."""

from __future__ import annotations

import uuid

import boto3
import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.identity import Caller
from chalicelib.models import ScheduleDefinition, ScheduleStatus
from tests.support import create_stage_resources


@pytest.fixture
def stage(aws, monkeypatch):
    name = "sl" + uuid.uuid4().hex[:8]
    monkeypatch.setenv("STAGE", name)
    resources = create_stage_resources(name)
    settings = get_settings()
    yield {"settings": settings, **resources}
    raw = boto3.client("scheduler")
    for summary in raw.list_schedules(GroupName=settings.schedule_group_name).get("Schedules", []):
        raw.delete_schedule(Name=summary["Name"], GroupName=settings.schedule_group_name)
    raw.delete_schedule_group(Name=settings.schedule_group_name)


def deploy_schedule(settings, **changes):
    """Create a schedule the way the app does: record + command, then handle it."""
    definition = ScheduleDefinition(
        name="nightly", schedule_expression="cron(0 6 * * ? *)", timezone="America/New_York",
        target_type="web_action", payload={"action": "check"}, **changes,
    )
    schedule = wiring.schedule_service(settings).create(definition, Caller("lifecycle-test"))
    return wiring.command_handler(settings).handle_id(schedule.id)


def test_schedule_drift_is_reset_recreated_and_orphans_pruned(stage):
    settings = stage["settings"]
    group = settings.schedule_group_name
    raw = boto3.client("scheduler")
    # GIVEN two active schedules
    first = deploy_schedule(settings)
    second = deploy_schedule(settings, state="DISABLED")
    assert (first.status, second.status) == (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED)
    reconciler = wiring.reconciler(settings)
    assert {repair.action for repair in reconciler.plan().repairs} == {"noop"}

    # WHEN one is changed out of band (expression, state, target, timezone), the other deleted,
    # and a stray schedule appears in our group
    observed = raw.get_schedule(Name=first.id, GroupName=group)
    raw.update_schedule(
        Name=first.id, GroupName=group, ScheduleExpression="rate(5 minutes)", State="DISABLED",
        ScheduleExpressionTimezone="Asia/Tokyo", FlexibleTimeWindow={"Mode": "OFF"},
        Target={**observed["Target"], "Arn": observed["Target"]["Arn"] + "-elsewhere"},
    )
    raw.delete_schedule(Name=second.id, GroupName=group)
    raw.create_schedule(
        Name="stray", GroupName=group, ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
        Target=observed["Target"],
    )
    plan = reconciler.plan(prune=True)
    actions = {repair.schedule_id: (repair.action, repair.fields) for repair in plan.repairs}
    assert actions[first.id] == ("reset", ["ScheduleExpression", "ScheduleExpressionTimezone", "State", "TargetArn"])
    assert actions[second.id] == ("create", [])
    assert actions["stray"] == ("prune", [])
    reconciler.apply(plan)

    # THEN the cloud reports the records' definitions again, and the orphan is gone
    after = raw.get_schedule(Name=first.id, GroupName=group)
    assert (after["ScheduleExpression"], after["State"], after["ScheduleExpressionTimezone"]) == (
        "cron(0 6 * * ? *)", "ENABLED", "America/New_York")
    assert after["Target"]["Arn"] == observed["Target"]["Arn"]
    assert raw.get_schedule(Name=second.id, GroupName=group)["State"] == "DISABLED"
    names = {s["Name"] for s in raw.list_schedules(GroupName=group)["Schedules"]}
    assert names == {first.id, second.id}
    # AND a second reconcile plans only no-ops
    assert {repair.action for repair in reconciler.plan(prune=True).repairs} == {"noop"}
