"""Who may see and change a schedule, decided by the service from the ``Caller``.

A caller reads and changes only its own schedules; another owner's schedule answers 404
as if it did not exist, and nothing is written. Admins act on every schedule and list any
owner's. Idempotency keys are per owner. Custom targets live in the stage's own account
and region. One owner holds at most a configured number of live schedules (429 beyond)."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib import wiring
from chalicelib.errors import NotFound, TooManySchedules, ValidationError
from chalicelib.identity import Caller
from chalicelib.models import ScheduleDefinition, ScheduleStatus, is_schedule_id
from tests.support import JSON, REGION, TEE_TIMES, deliver_commands, post

ALICE = {"X-Created-By": "alice"}
MALLORY = {"X-Created-By": "mallory"}
ADMIN = Caller("root-of-ops", is_admin=True)


def table_snapshot(names):
    items = boto3.resource("dynamodb", region_name=REGION).Table(names.table).scan()["Items"]
    return sorted(json.dumps(item, sort_keys=True, default=str) for item in items)


@pytest.fixture
def alices(chalice_client, moto_stage, names):
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES, ALICE).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    return schedule_id


ROUTES = [
    ("get", "", None),
    ("put", "", {**TEE_TIMES, "description": "mine now"}),
    ("post", "/pause", None),
    ("post", "/resume", None),
    ("delete", "", None),
    ("get", "/executions", None),
]


@pytest.mark.parametrize("method,suffix,body", ROUTES)
def test_another_callers_schedule_is_not_found_and_untouched(chalice_client, moto_stage, names, alices, method, suffix, body):
    # GIVEN alice's schedule
    before = table_snapshot(names)
    # WHEN mallory reads or changes it
    kwargs = {"body": json.dumps(body)} if body is not None else {}
    response = getattr(chalice_client.http, method)(
        f"/api/schedules/{alices}{suffix}", headers={**JSON, **MALLORY}, **kwargs
    )
    # THEN it does not exist for mallory, nothing was written and no command was sent
    assert response.status_code == 404, response.json_body
    assert response.json_body["Message"] == f"schedule {alices} does not exist"
    assert table_snapshot(names) == before
    assert moto_stage["tap"].drain(names.command_topic) == []


@pytest.mark.parametrize("method,suffix,body", ROUTES)
def test_the_owner_may_use_every_route(chalice_client, moto_stage, names, alices, method, suffix, body):
    kwargs = {"body": json.dumps(body)} if body is not None else {}
    response = getattr(chalice_client.http, method)(
        f"/api/schedules/{alices}{suffix}", headers={**JSON, **ALICE}, **kwargs
    )
    assert response.status_code in (200, 202), response.json_body


def test_an_admin_acts_on_any_schedule(chalice_client, moto_stage, names, alices):
    # GIVEN alice's schedule and an admin
    service = wiring.schedule_service()
    # WHEN the admin reads and pauses it
    assert service.get(alices, ADMIN).created_by == "alice"
    paused = service.pause(alices, ADMIN)
    # THEN the pause is stored and its command names the admin
    assert paused.pending_action.value == "pause"
    [command] = moto_stage["tap"].drain(names.command_topic)
    assert (command["action"], command["requested_by"]) == ("pause", "root-of-ops")
    # AND the schedule still belongs to alice
    assert service.get(alices, Caller("alice")).created_by == "alice"


def test_the_list_defaults_to_the_callers_own_and_admins_see_all(chalice_client, moto_stage, names):
    # GIVEN schedules of alice and bob
    for creator, name in (("alice", "a1"), ("bob", "b1"), ("alice", "a2")):
        post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": name}, {"X-Created-By": creator})
    service = wiring.schedule_service()
    # WHEN each lists with no filter
    mine = chalice_client.http.get("/api/schedules", headers=ALICE).json_body["items"]
    everyone = service.list(ADMIN)
    # THEN alice sees hers, newest first; the admin sees all
    assert [item["name"] for item in mine] == ["a2", "a1"]
    assert [s.definition.name for s in everyone] == ["a2", "b1", "a1"]
    # AND an admin lists any owner's; anyone else may name only themselves
    assert [s.definition.name for s in service.list(ADMIN, created_by="bob")] == ["b1"]
    refused = chalice_client.http.get("/api/schedules?created_by=bob", headers=ALICE)
    assert (refused.status_code, refused.json_body["Message"].split(":")[0]) == (400, "created_by")
    own = chalice_client.http.get("/api/schedules?created_by=alice", headers=ALICE).json_body["items"]
    assert [item["name"] for item in own] == ["a2", "a1"]


def test_an_empty_created_by_is_a_400_naming_the_field(chalice_client, moto_stage):
    response = chalice_client.http.get("/api/schedules?created_by=", headers=ALICE)
    assert response.status_code == 400
    assert response.json_body["Message"].startswith("created_by:")


def test_idempotency_keys_are_per_owner(chalice_client, moto_stage, names):
    # GIVEN alice created a schedule under a key
    keyed = {"Idempotency-Key": "nightly"}
    first = post(chalice_client, "/api/schedules", TEE_TIMES, {**ALICE, **keyed}).json_body
    # WHEN mallory sends the same key, with another definition
    other = post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": "other"}, {**MALLORY, **keyed})
    # THEN mallory gets a schedule of her own, not alice's nor a conflict
    assert other.status_code == 202
    assert other.json_body["id"] != first["id"]
    assert other.json_body["created_by"] == "mallory"
    # AND alice's retry still answers hers
    again = post(chalice_client, "/api/schedules", TEE_TIMES, {**ALICE, **keyed}).json_body
    assert again["id"] == first["id"]


@pytest.mark.parametrize(
    "arn,words",
    [
        ("arn:aws:sqs:us-west-2:123456789012:rez-agent-custom-dev-inbox", "region us-east-1"),
        ("arn:aws:sqs:us-east-1:999999999999:rez-agent-custom-dev-inbox", "own AWS account"),
        ("arn:aws:sns:us-east-1:123456789012:someone-elses-topic", "must start with"),
    ],
)
def test_a_custom_target_must_be_in_the_stages_account_and_region(chalice_client, moto_stage, names, arn, words):
    before = table_snapshot(names)
    body = {**TEE_TIMES, "target_type": "custom", "target_arn": arn}
    response = post(chalice_client, "/api/schedules", body, ALICE)
    assert response.status_code == 400
    assert response.json_body["Message"].startswith("target_arn:")
    assert words in response.json_body["Message"]
    assert table_snapshot(names) == before


def test_a_custom_target_in_the_stages_account_and_region_is_accepted(chalice_client, moto_stage):
    body = {**TEE_TIMES, "target_type": "custom",
            "target_arn": "arn:aws:sqs:us-east-1:123456789012:rez-agent-custom-dev-inbox"}
    assert post(chalice_client, "/api/schedules", body, ALICE).status_code == 202


@pytest.mark.parametrize(
    "field,value",
    [
        ("name", "nightly\n"),
        ("target_arn", "arn:aws:sqs:us-east-1:123456789012:rez-agent-custom-dev-inbox\n"),
    ],
)
def test_a_trailing_newline_is_not_accepted(chalice_client, moto_stage, field, value):
    body = {**TEE_TIMES, field: value, **({"target_type": "custom"} if field == "target_arn" else {})}
    response = post(chalice_client, "/api/schedules", body, ALICE)
    assert response.status_code == 400
    assert field in response.json_body["Message"]


def test_an_id_with_a_trailing_newline_is_not_an_id(alices):
    assert is_schedule_id(alices)
    assert not is_schedule_id(alices + "\n")


def test_an_owner_at_the_cap_gets_429_until_a_delete_settles(chalice_client, moto_stage, names, monkeypatch):
    # GIVEN a cap of two live schedules per owner, and alice at it
    monkeypatch.setenv("MAX_SCHEDULES_PER_OWNER", "2")
    ids = [post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": f"n{i}"}, ALICE).json_body["id"] for i in range(2)]
    deliver_commands(chalice_client, moto_stage, names)
    before = table_snapshot(names)
    # WHEN she creates a third
    refused = post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": "n2"}, ALICE)
    # THEN it is refused with 429 and a message that says why, and nothing is written
    assert refused.status_code == 429
    assert refused.json_body["Code"] == "TooManySchedules"
    assert "2 schedules" in refused.json_body["Message"] and "delete" in refused.json_body["Message"]
    assert table_snapshot(names) == before
    # AND another owner is not affected
    assert post(chalice_client, "/api/schedules", TEE_TIMES, MALLORY).status_code == 202
    # WHEN one of hers is deleted and the delete settles, THEN she may create again
    chalice_client.http.delete(f"/api/schedules/{ids[0]}", headers=ALICE)
    assert post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": "n3"}, ALICE).status_code == 429
    deliver_commands(chalice_client, moto_stage, names)
    assert post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": "n3"}, ALICE).status_code == 202


def test_the_service_refuses_with_its_own_errors(moto_stage):
    # GIVEN the service with a cap of one
    service = wiring.schedule_service()
    service._max_per_owner = 1
    definition = ScheduleDefinition.model_validate({**TEE_TIMES})
    created = service.create(definition, Caller("carol"))
    # THEN a second create is TooManySchedules, another's get NotFound, a blank filter a ValidationError
    with pytest.raises(TooManySchedules):
        service.create(definition, Caller("carol"))
    with pytest.raises(NotFound):
        service.get(created.id, Caller("dave"))
    with pytest.raises(ValidationError):
        service.list(ADMIN, created_by=" ")
    assert service.get(created.id, ADMIN).status is ScheduleStatus.PENDING
