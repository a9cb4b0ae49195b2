"""The SNS command handler: permanent rejections, transient failures, stale commands."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.errors import UpstreamUnavailable
from tests.support import REGION, TEE_TIMES, deliver_commands, post

ALWAYS = 1_000  # a fault that lasts until cleared


def test_a_permanent_rejection_puts_the_record_in_error_with_the_reason(chalice_client, moto_stage, names, faults):
    # GIVEN EventBridge Scheduler rejects the schedule
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    faults.fail("scheduler", "CreateSchedule", "ValidationException", ALWAYS, "Invalid Schedule Expression")
    # WHEN the command is handled
    deliver_commands(chalice_client, moto_stage, names)
    faults.clear()
    # THEN the record says error, with AWS's reason, and no schedule exists
    record = chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body
    assert record["status"] == "error"
    assert "Invalid Schedule Expression" in record["last_error"]
    schedules = boto3.client("scheduler", region_name=REGION).list_schedules(GroupName=names.schedule_group)
    assert schedules["Schedules"] == []


def test_a_transient_failure_raises_so_lambda_retries_and_the_retry_finishes(chalice_client, moto_stage, names, faults):
    # GIVEN EventBridge Scheduler is throttling
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    [command] = moto_stage["tap"].drain(names.command_topic)
    event = chalice_client.events.generate_sns_event(message=json.dumps(command))
    faults.throttle("scheduler", "CreateSchedule", ALWAYS)
    # WHEN the command is handled, THEN the handler raises and the record stays pending
    with pytest.raises(UpstreamUnavailable):
        chalice_client.lambda_.invoke("schedule_command", event)
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["status"] == "pending"
    # WHEN Lambda retries after the throttling ends
    faults.clear()
    chalice_client.lambda_.invoke("schedule_command", event)
    # THEN the schedule is active
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["status"] == "active"


def test_a_stale_command_applies_the_current_record(chalice_client, moto_stage, names):
    # GIVEN a schedule created and then updated before any command was delivered
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    changed = {**TEE_TIMES, "schedule_expression": "rate(5 minutes)"}
    chalice_client.http.put(
        f"/api/schedules/{schedule_id}", headers={"Content-Type": "application/json"}, body=json.dumps(changed)
    )
    # WHEN both commands arrive, in reverse order
    commands = moto_stage["tap"].drain(names.command_topic)
    for command in reversed(commands):
        chalice_client.lambda_.invoke("schedule_command", chalice_client.events.generate_sns_event(message=json.dumps(command)))
    # THEN EventBridge has the latest definition and the record is active
    observed = boto3.client("scheduler", region_name=REGION).get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    assert observed["ScheduleExpression"] == "rate(5 minutes)"
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["status"] == "active"


def test_a_command_for_an_unknown_schedule_is_a_no_op(chalice_client):
    command = {
        "action": "create",
        "schedule_id": "00000000-0000-4000-8000-000000000000",
        "request_id": "r",
        "requested_by": "x",
        "requested_at": "2026-11-23T00:00:00Z",
        "version": 1,
    }
    result = chalice_client.lambda_.invoke(
        "schedule_command", chalice_client.events.generate_sns_event(message=json.dumps(command))
    )
    assert result.payload == {"outcome": "applied", "status": None}


def test_a_create_whose_schedule_exists_already_converges_to_the_record(chalice_client, moto_stage, names):
    # GIVEN a schedule already in EventBridge with a different expression (a retried create)
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    boto3.client("scheduler", region_name=REGION).create_schedule(
        Name=schedule_id, GroupName=names.schedule_group, ScheduleExpression="rate(9 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:x", "RoleArn": moto_stage["role_arn"]},
    )
    # WHEN the create command is handled
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the schedule has the record's definition
    observed = boto3.client("scheduler", region_name=REGION).get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    assert observed["ScheduleExpression"] == "cron(0 6 * * ? *)"


def test_create_rides_out_execution_role_propagation(chalice_client, moto_stage, names, monkeypatch, faults):
    # GIVEN a new execution role the scheduler cannot assume for the first two attempts
    monkeypatch.setenv("ROLE_PROPAGATION_RETRY_DELAY_SECONDS", "0")
    not_yet = faults.fail("scheduler", "CreateSchedule", "ValidationException", 2,
                          "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.")
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    # WHEN the command is handled
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the create was retried and the schedule is active
    assert (not_yet.injected, not_yet.remaining) == (2, 0)
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["status"] == "active"


def test_other_validation_errors_are_not_retried(chalice_client, moto_stage, names, faults):
    reject = faults.fail("scheduler", "CreateSchedule", "ValidationException", ALWAYS, "Invalid target")
    post(chalice_client, "/api/schedules", TEE_TIMES)
    deliver_commands(chalice_client, moto_stage, names)
    assert reject.injected == 1
