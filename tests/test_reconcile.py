"""Schedules converge to their records (moto in process)."""

from __future__ import annotations

import boto3

from chalicelib import wiring
from tests.support import REGION, TEE_TIMES, deliver_commands, post


def scheduler():
    return boto3.client("scheduler", region_name=REGION)


def active_schedule(client, moto_stage, names, **changes):
    schedule_id = post(client, "/api/schedules", {**TEE_TIMES, **changes}).json_body["id"]
    deliver_commands(client, moto_stage, names)
    return schedule_id


def test_in_sync_schedules_plan_only_noops(chalice_client, moto_stage, names):
    active_schedule(chalice_client, moto_stage, names)
    plan = wiring.reconciler().plan()
    assert [repair.action for repair in plan.repairs] == ["noop"]


def test_changed_out_of_band_is_reset_and_noted_on_the_record(chalice_client, moto_stage, names):
    # GIVEN an active schedule changed out of band (expression, timezone, state)
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    current = scheduler().get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    scheduler().update_schedule(
        Name=schedule_id, GroupName=names.schedule_group, ScheduleExpression="rate(3 minutes)",
        ScheduleExpressionTimezone="Europe/Paris", State="DISABLED",
        FlexibleTimeWindow={"Mode": "OFF"}, Target=current["Target"],
    )
    # WHEN reconciled
    reconciler = wiring.reconciler()
    plan = reconciler.plan()
    [repair] = plan.repairs
    assert (repair.action, repair.fields) == ("reset", ["ScheduleExpression", "ScheduleExpressionTimezone", "State"])
    reconciler.apply(plan)
    # THEN the cloud has the record's definition again, and a second plan is all no-ops
    observed = scheduler().get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    assert (observed["ScheduleExpression"], observed["ScheduleExpressionTimezone"], observed["State"]) == (
        "cron(0 6 * * ? *)", "America/New_York", "ENABLED")
    assert [r.action for r in reconciler.plan().repairs] == ["noop"]
    record = chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body
    assert record["last_drift"] == ["changed out of band: ScheduleExpression, ScheduleExpressionTimezone, State"]


def test_deleted_out_of_band_is_recreated(chalice_client, moto_stage, names):
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    scheduler().delete_schedule(Name=schedule_id, GroupName=names.schedule_group)
    report = wiring.reconciler().run()
    assert report["counts"] == {"create": 1}
    assert report["applied"][0]["ok"] is True
    assert scheduler().get_schedule(Name=schedule_id, GroupName=names.schedule_group)["ScheduleExpression"] == "cron(0 6 * * ? *)"


def test_orphans_are_reported_and_pruned_only_on_request(chalice_client, moto_stage, names):
    # GIVEN a schedule in our group with no record
    scheduler().create_schedule(
        Name="stray", GroupName=names.schedule_group, ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:x", "RoleArn": moto_stage["role_arn"]},
    )
    reconciler = wiring.reconciler()
    # WHEN reconciled without prune THEN it is reported and left
    report = reconciler.run()
    assert report["counts"] == {"orphan": 1}
    assert scheduler().get_schedule(Name="stray", GroupName=names.schedule_group)
    # WHEN reconciled with prune THEN it is deleted
    assert reconciler.run(prune=True)["counts"] == {"prune": 1}
    assert scheduler().list_schedules(GroupName=names.schedule_group)["Schedules"] == []


def test_schedules_outside_our_group_are_never_touched(chalice_client, moto_stage, names):
    scheduler().create_schedule(
        Name="someone-elses", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:x", "RoleArn": moto_stage["role_arn"]},
    )
    report = wiring.reconciler().run(prune=True)
    assert report["steps"] == []
    assert scheduler().get_schedule(Name="someone-elses")


def test_stuck_pending_is_finished(chalice_client, moto_stage, names):
    # GIVEN a create whose command was lost
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    moto_stage["tap"].drain(names.command_topic)
    # WHEN reconciled
    report = wiring.reconciler().run()
    # THEN the schedule exists and the record is active
    assert report["counts"] == {"finish": 1}
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["status"] == "active"
    assert scheduler().get_schedule(Name=schedule_id, GroupName=names.schedule_group)


def test_a_deleted_record_whose_schedule_came_back_is_deleted(chalice_client, moto_stage, names):
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    target = scheduler().get_schedule(Name=schedule_id, GroupName=names.schedule_group)["Target"]
    chalice_client.http.delete(f"/api/schedules/{schedule_id}")
    deliver_commands(chalice_client, moto_stage, names)
    scheduler().create_schedule(Name=schedule_id, GroupName=names.schedule_group, ScheduleExpression="rate(1 hour)",
                                FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
    assert wiring.reconciler().run()["counts"] == {"delete": 1}
    assert scheduler().list_schedules(GroupName=names.schedule_group)["Schedules"] == []


def test_dry_run_changes_nothing(chalice_client, moto_stage, names):
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    scheduler().delete_schedule(Name=schedule_id, GroupName=names.schedule_group)
    report = wiring.reconciler().run(dry_run=True)
    assert report["counts"] == {"create": 1} and report["applied"] == []
    assert scheduler().list_schedules(GroupName=names.schedule_group)["Schedules"] == []


def test_the_periodic_reconcile_function_repairs_drift(chalice_client, moto_stage, names):
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    scheduler().delete_schedule(Name=schedule_id, GroupName=names.schedule_group)
    result = chalice_client.lambda_.invoke("reconcile", chalice_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert result.payload["counts"] == {"create": 1}
    assert scheduler().get_schedule(Name=schedule_id, GroupName=names.schedule_group)
