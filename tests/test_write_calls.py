"""A change is two AWS calls, and a write whose response was lost still answers 202.

PUT, pause, resume and delete are one conditional UpdateItem (which answers the record as
it was when its condition fails) and one Publish; create is one transaction (the record
and its owner's count) and one Publish. A conditional write that botocore sends again after
its first attempt committed recognises its own request token and carries on."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib import wiring
from chalicelib.identity import Caller
from tests.aws_calls import AwsCalls, lose_first_response
from tests.support import JSON, REGION, TEE_TIMES, deliver_commands, post

ALICE = {"X-Created-By": "alice"}


@pytest.fixture
def calls(moto_stage):
    return AwsCalls().install()


def stored(names, schedule_id):
    table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    return table.get_item(Key={"id": schedule_id})["Item"]


def an_active_schedule(chalice_client, moto_stage, names):
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES, ALICE).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    return schedule_id


@pytest.mark.parametrize(
    "method,suffix,body",
    [
        ("put", "", {**TEE_TIMES, "description": "changed"}),
        ("post", "/pause", None),
        ("post", "/resume", None),
        ("delete", "", None),
    ],
)
def test_a_change_is_one_conditional_update_and_one_publish(chalice_client, moto_stage, names, calls, method, suffix, body):
    # GIVEN an active schedule
    schedule_id = an_active_schedule(chalice_client, moto_stage, names)
    calls.reset()
    # WHEN its owner changes it
    kwargs = {"body": json.dumps(body)} if body is not None else {}
    response = getattr(chalice_client.http, method)(
        f"/api/schedules/{schedule_id}{suffix}", headers={**JSON, **ALICE}, **kwargs
    )
    # THEN it is accepted after exactly two AWS calls: no read before the write
    assert response.status_code == 202, response.json_body
    assert dict(calls.calls) == {"dynamodb:UpdateItem": 1, "sns:Publish": 1}
    assert response.json_body["version"] == 2


def test_a_create_is_one_transaction_and_one_publish(chalice_client, moto_stage, names, calls):
    # WHEN a schedule is created
    response = post(chalice_client, "/api/schedules", TEE_TIMES, ALICE)
    # THEN the record and its owner's count are one transaction, then the command
    assert response.status_code == 202
    per_request = {call: n for call, n in calls.calls.items() if call != "sts:GetCallerIdentity"}
    assert per_request == {"dynamodb:TransactWriteItems": 1, "sns:Publish": 1}  # (STS: once a process)


@pytest.mark.parametrize(
    "method,suffix,body,action",
    [
        ("put", "", {**TEE_TIMES, "description": "changed"}, "update"),
        ("post", "/pause", None, "pause"),
        ("delete", "", None, "delete"),
    ],
)
def test_a_change_whose_response_was_lost_still_answers_202_and_sends_its_command(
    chalice_client, moto_stage, names, calls, method, suffix, body, action
):
    # GIVEN an active schedule, and a connection that drops the next UpdateItem's response
    schedule_id = an_active_schedule(chalice_client, moto_stage, names)
    attempts = lose_first_response("UpdateItem")
    # WHEN its owner changes it (botocore sends the committed write again)
    kwargs = {"body": json.dumps(body)} if body is not None else {}
    response = getattr(chalice_client.http, method)(
        f"/api/schedules/{schedule_id}{suffix}", headers={**JSON, **ALICE}, **kwargs
    )
    # THEN the write was sent twice, and the second attempt recognised the first as its own
    assert len(attempts) == 2
    assert response.status_code == 202, response.json_body
    assert response.json_body["pending_action"] == action
    # AND the change is stored once (one version step) and its command was sent
    assert int(stored(names, schedule_id)["version"]) == 2
    commands = deliver_commands(chalice_client, moto_stage, names)
    assert [(c["action"], c["version"]) for c in commands] == [(action, 2)]


def test_a_create_whose_response_was_lost_answers_202_and_counts_once(chalice_client, moto_stage, names, calls):
    # GIVEN a connection that drops the next transaction's response
    attempts = lose_first_response("TransactWriteItems")
    # WHEN a schedule is created (botocore sends the committed transaction again)
    response = post(chalice_client, "/api/schedules", TEE_TIMES, ALICE)
    # THEN it is accepted, its command sent, and the owner's count moved by one
    assert len(attempts) == 2
    assert response.status_code == 202, response.json_body
    commands = deliver_commands(chalice_client, moto_stage, names)
    assert [(c["action"], c["schedule_id"]) for c in commands] == [("create", response.json_body["id"])]
    assert wiring.repository(wiring.get_settings()).live_count("alice") == 1


def test_a_retried_create_with_an_idempotency_key_and_a_lost_response_is_one_schedule(chalice_client, moto_stage, names, calls):
    # GIVEN a connection that drops the next transaction's response
    lose_first_response("TransactWriteItems")
    headers = {**ALICE, "Idempotency-Key": "k-1"}
    # WHEN the client sends the same keyed request twice
    first = post(chalice_client, "/api/schedules", TEE_TIMES, headers)
    second = post(chalice_client, "/api/schedules", TEE_TIMES, headers)
    # THEN both answers name the same schedule, counted once
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json_body["id"] == second.json_body["id"]
    assert wiring.repository(wiring.get_settings()).live_count("alice") == 1


def test_a_settled_delete_whose_response_was_lost_leaves_the_count_right(chalice_client, moto_stage, names, calls):
    # GIVEN an active schedule, deleted
    schedule_id = an_active_schedule(chalice_client, moto_stage, names)
    chalice_client.http.delete(f"/api/schedules/{schedule_id}", headers=ALICE)
    # WHEN the handler settles it and the transaction's response is lost
    lose_first_response("TransactWriteItems")
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the record is deleted and the owner's count went down once
    service = wiring.schedule_service()
    assert service.get(schedule_id, Caller("alice")).status.value == "deleted"
    assert wiring.repository(wiring.get_settings()).live_count("alice") == 0


def test_a_put_with_a_stale_if_match_is_a_version_conflict_after_one_call(chalice_client, moto_stage, names, calls):
    # GIVEN an active schedule at version 1, changed once (now version 2)
    schedule_id = an_active_schedule(chalice_client, moto_stage, names)
    chalice_client.http.post(f"/api/schedules/{schedule_id}/pause", headers=ALICE)
    calls.reset()
    # WHEN a PUT still names version 1
    response = chalice_client.http.put(
        f"/api/schedules/{schedule_id}", headers={**JSON, **ALICE, "If-Match": '"1"'},
        body=json.dumps(TEE_TIMES),
    )
    # THEN it is a 409 VersionConflict, told apart from the failed write alone, and nothing is sent
    assert response.status_code == 409
    assert response.json_body["Code"] == "VersionConflict"
    assert dict(calls.calls) == {"dynamodb:UpdateItem": 1}


def test_a_change_of_a_deleted_schedule_is_409_and_a_second_delete_answers_it(chalice_client, moto_stage, names, calls):
    # GIVEN a deleted schedule
    schedule_id = an_active_schedule(chalice_client, moto_stage, names)
    chalice_client.http.delete(f"/api/schedules/{schedule_id}", headers=ALICE)
    deliver_commands(chalice_client, moto_stage, names)
    calls.reset()
    # WHEN it is paused, and deleted again
    paused = chalice_client.http.post(f"/api/schedules/{schedule_id}/pause", headers=ALICE)
    deleted = chalice_client.http.delete(f"/api/schedules/{schedule_id}", headers=ALICE)
    # THEN the pause is a 409, the delete answers the record as it is, each after one call
    assert (paused.status_code, paused.json_body["Code"]) == (409, "Conflict")
    assert (deleted.status_code, deleted.json_body["status"]) == (202, "deleted")
    assert dict(calls.calls) == {"dynamodb:UpdateItem": 2}


def test_a_put_that_moves_the_start_into_the_past_is_400_and_writes_nothing(chalice_client, moto_stage, names):
    # GIVEN an active schedule starting in the future
    body = {**TEE_TIMES, "start_date": "2099-01-01T00:00:00Z"}
    schedule_id = post(chalice_client, "/api/schedules", body, ALICE).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN a PUT moves the start to a passed date
    response = chalice_client.http.put(
        f"/api/schedules/{schedule_id}", headers={**JSON, **ALICE},
        body=json.dumps({**TEE_TIMES, "start_date": "2020-01-01T00:00:00Z"}),
    )
    # THEN it is refused naming the field, and the record is unchanged
    assert response.status_code == 400
    assert response.json_body["Message"].startswith("start_date:")
    assert stored(names, schedule_id)["definition"]["start_date"] == "2099-01-01T00:00:00Z"
    assert int(stored(names, schedule_id)["version"]) == 1
