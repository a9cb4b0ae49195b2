"""Redelivery out of order: SNS delivers each command at least once and in no promised
order. Every command of a burst of changes (and every published create) is delivered
shuffled and repeated; the records and EventBridge converge to the last change of each
schedule, with nothing lost, doubled or orphaned."""

from __future__ import annotations

import json
import random

import pytest

from tests.support import JSON, TEE_TIMES
from tests.test_fault_matrix import World

CHANGED = {**TEE_TIMES, "schedule_expression": "cron(30 7 * * ? *)"}


def api(client, method, path, body=None):
    kwargs = {"headers": JSON, **({"body": json.dumps(body)} if body is not None else {})}
    response = getattr(client.http, method)(path, **kwargs)
    assert response.status_code in (200, 202), response.json_body
    return response.json_body


def sns_create(client, message_id, name):
    event = client.events.generate_sns_event(
        message=json.dumps({"action": "create", "schedule": {**TEE_TIMES, "name": name}}))
    event["Records"][0]["Sns"]["MessageId"] = message_id
    return event


@pytest.mark.parametrize("seed", range(4))
def test_commands_shuffled_and_repeated_converge_to_the_last_change(chalice_client, moto_stage, names, seed):
    rng = random.Random(seed)
    world = World(chalice_client, moto_stage, names)
    # GIVEN a burst of changes made before any command is delivered
    created = [api(chalice_client, "post", "/api/schedules", {**TEE_TIMES, "name": f"s{i}"})["id"] for i in range(4)]
    api(chalice_client, "put", f"/api/schedules/{created[0]}", CHANGED)
    api(chalice_client, "post", f"/api/schedules/{created[1]}/pause")
    api(chalice_client, "post", f"/api/schedules/{created[2]}/pause")
    api(chalice_client, "post", f"/api/schedules/{created[2]}/resume")
    api(chalice_client, "delete", f"/api/schedules/{created[3]}")
    commands = moto_stage["tap"].drain(names.command_topic)
    published = [sns_create(chalice_client, f"m-{i}", f"p{i}") for i in range(2)]
    # WHEN every command and published create is delivered 1-3 times, in a shuffled order
    deliveries = [chalice_client.events.generate_sns_event(message=json.dumps(c)) for c in commands for _ in range(rng.randint(1, 3))]
    deliveries += [event for event in published for _ in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)
    for event in deliveries:
        chalice_client.lambda_.invoke("schedule_command", event)
    for command in moto_stage["tap"].drain(names.command_topic):  # what the published creates caused
        chalice_client.lambda_.invoke("schedule_command", chalice_client.events.generate_sns_event(message=json.dumps(command)))
    # THEN each schedule is at its last change, matches EventBridge, and nothing is doubled
    records = world.records()
    assert world.problems() == []
    assert {schedule_id: records[schedule_id]["status"] for schedule_id in created} == {
        created[0]: "active", created[1]: "paused", created[2]: "active", created[3]: "deleted"}
    assert records[created[0]]["definition"]["schedule_expression"] == CHANGED["schedule_expression"]
    from_sns = [r for r in records.values() if r.get("created_by") == "sns"]
    assert sorted(r["definition"]["name"] for r in from_sns) == ["p0", "p1"]
    assert all(r["status"] == "active" for r in from_sns)
