"""Behaviour at the edges: dates AWS would reject, lost commands, completed schedules,
a missing table, JSON that is not JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib import wiring
from chalicelib.identity import ANONYMOUS
from chalicelib.models import Schedule, ScheduleDefinition, ScheduleStatus, new_id
from chalicelib.scheduler import effective_start
from tests.support import JSON, REGION, TEE_TIMES, post, table_items


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


NOW = datetime.now(UTC)


def test_a_start_date_more_than_five_minutes_ago_is_rejected_before_anything_is_written(chalice_client, moto_stage, names):
    response = post(chalice_client, "/api/schedules", {**TEE_TIMES, "start_date": iso(NOW - timedelta(hours=1))})
    assert response.status_code == 400
    assert response.json_body["Message"].startswith("start_date: must not be more than 5 minutes in the past")
    assert table_items(names) == []


def test_an_end_date_in_the_past_is_rejected(chalice_client, moto_stage, names):
    response = post(chalice_client, "/api/schedules", {**TEE_TIMES, "end_date": iso(NOW - timedelta(minutes=1))})
    assert response.status_code == 400
    assert "end_date" in response.json_body["Message"]


def test_one_time_schedules_ignore_start_and_end_as_aws_does(chalice_client, moto_stage, names):
    body = {**TEE_TIMES, "schedule_expression": "at(2030-01-01T06:00:00)",
            "start_date": iso(NOW - timedelta(days=3))}
    assert post(chalice_client, "/api/schedules", body).status_code == 202


def rate_definition(start: datetime) -> ScheduleDefinition:
    return ScheduleDefinition(name="r", schedule_expression="rate(6 hours)", target_type="web_action", start_date=start)


def test_a_passed_rate_start_moves_to_the_next_time_on_its_own_phase():
    # GIVEN a rate(6 hours) schedule that started 3 days and 1 hour ago
    start = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    # WHEN its request is built now, THEN StartDate is its next fire time, still at 05/11/17/23h
    assert effective_start(rate_definition(start), now) == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    # AND a start that has not passed is sent as it is
    assert effective_start(rate_definition(now + timedelta(days=1)), now) == now + timedelta(days=1)


def test_a_passed_cron_start_is_not_sent():
    definition = ScheduleDefinition(
        name="c", schedule_expression="cron(0 6 * * ? *)", target_type="web_action",
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert effective_start(definition, datetime(2026, 11, 23, tzinfo=UTC)) is None


def test_a_command_that_cannot_be_published_is_finished_by_reconcile(chalice_client, moto_stage, names, faults):
    # GIVEN SNS is failing when the schedule is created
    faults.fail("sns", "Publish", "InternalError", 1_000, "SNS is down")
    response = post(chalice_client, "/api/schedules", TEE_TIMES)
    faults.clear()
    # THEN the request is still accepted (the record is durable) and it stays pending
    assert response.status_code == 202
    schedule_id = response.json_body["id"]
    assert moto_stage["tap"].drain(names.command_topic) == []
    # WHEN the reconcile runs, THEN it finishes the create
    assert wiring.reconciler().run()["counts"] == {"finish": 1}
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["status"] == "active"


def test_a_one_time_schedule_deleted_by_aws_after_its_run_is_not_recreated(chalice_client, moto_stage, names):
    # GIVEN an at() schedule whose time has passed and which AWS deleted after running it
    # (stored active: a past at() is refused by the API, so it was created before its time)
    body = {**TEE_TIMES, "schedule_expression": "at(2026-01-01T06:00:00)", "action_after_completion": "DELETE"}
    schedule = Schedule(
        id=new_id(), created_by=ANONYMOUS, created_date=iso(NOW), updated_date=iso(NOW), status=ScheduleStatus.ACTIVE,
        definition=ScheduleDefinition.model_validate(body),
    )
    wiring.repository(wiring.get_settings()).create(schedule)
    # WHEN reconciled THEN it is complete, not drift: the record says so, nothing is re-created
    [repair] = wiring.reconciler().plan().repairs
    assert (repair.action, repair.reason) == ("complete", "no fire times left")
    wiring.reconciler().run()
    assert chalice_client.http.get(f"/api/schedules/{schedule.id}").json_body["status"] == "completed"
    assert wiring.reconciler().plan().repairs == []
    assert boto3.client("scheduler", region_name=REGION).list_schedules(GroupName=names.schedule_group)["Schedules"] == []


def test_nan_is_not_json(chalice_client, moto_stage, names):
    raw = json.dumps(TEE_TIMES)[:-1] + ', "payload": {"x": NaN}}'
    response = chalice_client.http.post("/api/schedules", headers=JSON, body=raw.replace('"payload": {"action": "check_tee_times"}, ', ""))
    assert response.status_code == 400
    assert "NaN" in response.json_body["Message"]


def test_a_missing_table_is_the_services_fault_not_a_404(chalice_client, moto_stage, names):
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=names.table)
    response = chalice_client.http.get("/api/schedules/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 502
    assert "request id" in response.json_body["Message"]
    assert "ResourceNotFoundException" not in response.json_body["Message"]


def test_a_rejected_expression_names_its_field_once():
    # GIVEN a definition whose cron minutes are out of range
    from chalicelib.errors import ValidationError
    from chalicelib.models import ScheduleDefinition, parse_model

    # WHEN it is validated THEN the message names the part and the rule, the field only once
    with pytest.raises(ValidationError) as raised:
        parse_model(ScheduleDefinition, {
            "name": "x", "schedule_expression": "cron(61 6 * * ? *)", "target_type": "web_action",
        })
    assert raised.value.message == "schedule_expression.minutes: value 61 is out of range 0-59"
