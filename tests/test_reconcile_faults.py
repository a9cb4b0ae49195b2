"""The reconcile under faults: a user's change landing during its write, denied calls, a
record in ``error``, and reads that fail."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import aws_errors, errors, wiring
from chalicelib.backoff import ErrorBackoff
from chalicelib.clock import system_clock
from chalicelib.config import get_settings
from chalicelib.models import iso
from tests.support import REGION, TEE_TIMES, deliver_commands, post


def raw_scheduler():
    return boto3.client("scheduler", region_name=REGION)


def cloud(names, schedule_id):
    try:
        return raw_scheduler().get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    except raw_scheduler().exceptions.ResourceNotFoundException:
        return None


def active_schedule(client, moto_stage, names, **changes):
    schedule_id = post(client, "/api/schedules", {**TEE_TIMES, **changes}).json_body["id"]
    deliver_commands(client, moto_stage, names)
    return schedule_id


def scheduler_client():
    return wiring.gateway(get_settings())._client


def fail(operation: str, code: str, message: str = "denied", only=None, times: int = 1):
    """Make the service's scheduler client fail ``operation`` (for ``only`` that schedule)
    ``times`` times, then work again; returns how to undo it."""
    left = {"n": times}

    def hook(params, **_):
        if left["n"] and (only is None or params.get("Name") == only):
            left["n"] -= 1
            raise ClientError({"Error": {"Code": code, "Message": message}}, operation)

    event = f"before-parameter-build.scheduler.{operation}"
    scheduler_client().meta.events.register_first(event, hook)
    return lambda: scheduler_client().meta.events.unregister(event, hook)


def during_first(operation: str, action):
    """Run ``action`` once, just before the service's first ``operation`` call goes out."""
    state = {"done": False}

    def hook(**_):
        if not state["done"]:
            state["done"] = True
            action()

    event = f"before-call.scheduler.{operation}"
    scheduler_client().meta.events.register_first(event, hook)
    return lambda: scheduler_client().meta.events.unregister(event, hook)


def record(client, schedule_id):
    return client.http.get(f"/api/schedules/{schedule_id}").json_body


# --- a user's change landing while the reconcile writes --------------------------------


def test_a_pause_landing_during_the_reconciles_reset_is_not_overwritten(chalice_client, moto_stage, names):
    # GIVEN an active schedule changed out of band, so the reconcile will reset it
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    current = cloud(names, schedule_id)
    raw_scheduler().update_schedule(Name=schedule_id, GroupName=names.schedule_group,
                                    ScheduleExpression="rate(3 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
                                    Target=current["Target"])

    def user_pauses():
        chalice_client.http.post(f"/api/schedules/{schedule_id}/pause")
        deliver_commands(chalice_client, moto_stage, names)

    # WHEN the user pauses it (and that command is applied) just before the reconcile's
    # UpdateSchedule, carrying the definition it read, reaches the cloud
    undo = during_first("UpdateSchedule", user_pauses)
    wiring.reconciler().run()
    undo()
    # THEN the cloud ends paused with the record's expression, and the record says paused
    observed = cloud(names, schedule_id)
    assert (observed["State"], observed["ScheduleExpression"]) == ("DISABLED", "cron(0 6 * * ? *)")
    assert record(chalice_client, schedule_id)["status"] == "paused"


def test_a_delete_landing_during_the_reconciles_re_create_does_not_revive_the_schedule(chalice_client, moto_stage, names):
    # GIVEN an active schedule deleted out of band, so the reconcile will re-create it
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    raw_scheduler().delete_schedule(Name=schedule_id, GroupName=names.schedule_group)

    def user_deletes():
        chalice_client.http.delete(f"/api/schedules/{schedule_id}")
        deliver_commands(chalice_client, moto_stage, names)

    # WHEN the user deletes it (applied) just before the reconcile's CreateSchedule goes out
    undo = during_first("CreateSchedule", user_deletes)
    wiring.reconciler().run()
    undo()
    # THEN no schedule lives on for the deleted record
    assert cloud(names, schedule_id) is None
    assert record(chalice_client, schedule_id)["status"] == "deleted"


# --- denied calls and records in error ---------------------------------------------------


def test_access_denied_is_classified_as_retryable_and_validation_is_not():
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "CreateSchedule")
    invalid = ClientError({"Error": {"Code": "ValidationException", "Message": "bad"}}, "CreateSchedule")
    assert isinstance(aws_errors.translate(denied), errors.UpstreamDenied)
    assert aws_errors.is_retryable(denied) and not aws_errors.is_retryable(invalid)


def test_error_retries_back_off_exponentially_for_a_bounded_time_then_at_the_cap():
    backoff = ErrorBackoff(base_seconds=60, cap_seconds=3600, denied_limit=8)
    denied, invalid = errors.UpstreamDenied("denied"), errors.UpstreamRejected("invalid")
    assert [backoff.delay(denied, n) for n in range(1, 11)] == [0, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert backoff.delay(invalid, 1) == 3600
    failures, at = backoff.next_retry(denied, 2, system_clock())
    assert failures == 3 and at > iso(system_clock() + timedelta(seconds=110))


def test_a_delete_whose_delete_schedule_was_denied_ends_with_the_schedule_gone(chalice_client, moto_stage, names):
    # GIVEN an active schedule, and a DELETE whose DeleteSchedule is denied once
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    assert chalice_client.http.delete(f"/api/schedules/{schedule_id}").status_code == 202
    undo = fail("DeleteSchedule", "AccessDeniedException")
    deliver_commands(chalice_client, moto_stage, names)
    undo()
    # THEN the record is in error, still deleting, and the schedule still exists
    stuck = record(chalice_client, schedule_id)
    assert (stuck["status"], stuck["pending_action"]) == ("error", "delete")
    assert cloud(names, schedule_id) is not None
    # WHEN the reconcile runs (whatever the backoff says: a delete is retried every run)
    report = wiring.reconciler().run()
    # THEN the schedule is gone and the record deleted
    assert report["counts"].get("retry") == 1
    assert cloud(names, schedule_id) is None
    assert record(chalice_client, schedule_id)["status"] == "deleted"


def test_a_denied_create_is_retried_by_the_reconcile_once_its_backoff_is_due(chalice_client, moto_stage, names, monkeypatch):
    # GIVEN a create denied twice (a policy still propagating)
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    undo = fail("CreateSchedule", "AccessDeniedException", times=2)
    deliver_commands(chalice_client, moto_stage, names)
    first = wiring.repository(get_settings()).get(schedule_id)
    assert (first.status.value, first.error_retries) == ("error", 1)
    assert first.next_retry_at <= iso(system_clock())  # the first retry: at the next reconcile
    assert wiring.reconciler().run()["counts"] == {"retry": 1}
    undo()
    # THEN after the second denial the record is in error with its next retry a minute away
    stored = wiring.repository(get_settings()).get(schedule_id)
    assert (stored.status.value, stored.error_retries) == ("error", 2)
    assert iso(system_clock() + timedelta(seconds=50)) < stored.next_retry_at < iso(system_clock() + timedelta(seconds=70))
    # WHEN the reconcile runs before the retry is due THEN it leaves it
    assert wiring.reconciler().run()["counts"] == {"noop": 1}
    assert cloud(names, schedule_id) is None
    # WHEN the retry is due
    table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    table.update_item(Key={"id": schedule_id}, UpdateExpression="SET next_retry_at = :t",
                      ExpressionAttributeValues={":t": iso(system_clock() - timedelta(seconds=1))})
    report = wiring.reconciler().run()
    # THEN it is applied: the schedule exists and the record is active, its retries reset
    assert report["counts"] == {"retry": 1} and report["applied"][0]["ok"] is True
    assert cloud(names, schedule_id)["ScheduleExpression"] == "cron(0 6 * * ? *)"
    settled = wiring.repository(get_settings()).get(schedule_id)
    assert (settled.status.value, settled.error_retries, settled.next_retry_at) == ("active", 0, None)


def test_a_record_denied_again_backs_off_further(chalice_client, moto_stage, names):
    # GIVEN a create denied, and its retry due
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    undo = fail("CreateSchedule", "AccessDeniedException", times=2)
    deliver_commands(chalice_client, moto_stage, names)
    table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    table.update_item(Key={"id": schedule_id}, UpdateExpression="SET next_retry_at = :t",
                      ExpressionAttributeValues={":t": iso(system_clock() - timedelta(seconds=1))})
    # WHEN the reconcile's retry is denied again
    report = wiring.reconciler().run()
    undo()
    # THEN the record stays in error with the next retry a minute away
    assert report["applied"][0]["ok"] is False
    stored = wiring.repository(get_settings()).get(schedule_id)
    assert (stored.status.value, stored.error_retries) == ("error", 2)
    assert iso(system_clock() + timedelta(seconds=50)) < stored.next_retry_at < iso(system_clock() + timedelta(seconds=70))


# --- reads that fail ----------------------------------------------------------------------


def test_one_failed_read_leaves_that_schedule_unchecked_and_the_run_finishes(chalice_client, moto_stage, names):
    # GIVEN three schedules changed out of band, and reading one of them fails
    ids = [active_schedule(chalice_client, moto_stage, names, name=f"s{i}") for i in range(3)]
    for schedule_id in ids:
        current = cloud(names, schedule_id)
        raw_scheduler().update_schedule(Name=schedule_id, GroupName=names.schedule_group,
                                        ScheduleExpression="rate(3 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
                                        Target=current["Target"])
    undo = fail("GetSchedule", "AccessDeniedException", only=ids[1])
    # WHEN reconciled
    report = wiring.reconciler().run()
    undo()
    # THEN the other two are reset, and the failed one is reported as unchecked
    assert report["counts"] == {"reset": 2}
    assert report["unchecked_count"] == 1
    assert report["unchecked"][0]["subject"] == ids[1] and "AccessDenied" in report["unchecked"][0]["reason"]
    assert cloud(names, ids[0])["ScheduleExpression"] == cloud(names, ids[2])["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert cloud(names, ids[1])["ScheduleExpression"] == "rate(3 minutes)"
    # AND the next run checks and repairs it
    assert wiring.reconciler().run()["counts"] == {"noop": 2, "reset": 1}


def test_a_failed_listing_of_the_group_still_finishes_pending_records(chalice_client, moto_stage, names):
    # GIVEN an active schedule, and a create whose command was lost
    active_id = active_schedule(chalice_client, moto_stage, names)
    pending_id = post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": "lost"}).json_body["id"]
    moto_stage["tap"].drain(names.command_topic)
    # WHEN the group cannot be listed during the reconcile
    undo = fail("ListSchedules", "InternalServerException", times=10)
    report = wiring.reconciler().run()
    undo()
    # THEN the pending record is finished, and the active one is reported unchecked
    assert report["counts"] == {"finish": 1}
    assert record(chalice_client, pending_id)["status"] == "active"
    assert {item["subject"] for item in report["unchecked"]} == {"the schedule group's listing", active_id}


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException"])
def test_a_failed_record_read_leaves_that_schedule_unchecked(chalice_client, moto_stage, names, code):
    # GIVEN two schedules deleted out of band (the reconcile reads their records to re-create)
    ids = [active_schedule(chalice_client, moto_stage, names, name=f"s{i}") for i in range(2)]
    for schedule_id in ids:
        raw_scheduler().delete_schedule(Name=schedule_id, GroupName=names.schedule_group)
    repository = wiring.repository(get_settings())
    table_client = repository._table.meta.client

    def hook(params, **_):
        if params.get("Key", {}).get("id") == ids[0]:
            raise ClientError({"Error": {"Code": code, "Message": "no"}}, "GetItem")

    table_client.meta.events.register_first("before-parameter-build.dynamodb.GetItem", hook)
    try:
        report = wiring.reconciler().run()
    finally:
        table_client.meta.events.unregister("before-parameter-build.dynamodb.GetItem", hook)
    # THEN the other is re-created and the failed one is reported
    assert report["counts"] == {"create": 1}
    assert [item["subject"] for item in report["unchecked"]] == [ids[0]]
    assert cloud(names, ids[1]) is not None and cloud(names, ids[0]) is None


def test_the_cli_prints_what_could_not_be_checked_and_exits_1(chalice_client, moto_stage, names):
    import io

    from ops import cli

    # GIVEN a schedule changed out of band whose read fails
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    current = cloud(names, schedule_id)
    raw_scheduler().update_schedule(Name=schedule_id, GroupName=names.schedule_group,
                                    ScheduleExpression="rate(3 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
                                    Target=current["Target"])
    undo = fail("GetSchedule", "ThrottlingException", "Rate exceeded", only=schedule_id)
    # WHEN the operator runs the reconcile
    out = io.StringIO()
    code = cli.main(["reconcile", "--stage", "dev"], out=out, err=io.StringIO())
    undo()
    # THEN the output names the unchecked schedule and why, and the exit status says so
    assert code == 1
    assert f"UNCHECKED {schedule_id}: ThrottlingException: Rate exceeded" in out.getvalue()
    assert "0 schedule(s) in sync, 0 to change, 0 orphan(s), 1 unchecked" in out.getvalue()
