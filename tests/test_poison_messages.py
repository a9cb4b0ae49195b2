"""Poison never loops: every message the command handler, the results consumer, the
dead-letter consumer and the target function can be given is applied or rejected, through each function's Lambda entry,
with one bounded ``rejected`` event (the original cut to fit SNS's 262,144 bytes), nothing
written, and nothing raised for Lambda or SQS to retry."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support import TEE_TIMES, table_items
from tests.test_dead_letters import through_the_queue
from tests.test_sns_messages import sns_event

SNS_LIMIT = 262_144
SCHEDULE_ID = "0b0e6f4a-8a1b-4c59-9a55-d7d1f9f8e111"


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_text(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_text(depth: int) -> str:
    return '{"a":' * depth + '{"leaf":1}' + "}" * depth


def create_with_payload(payload_text: str) -> str:
    """A create whose payload is ``payload_text`` (spliced as text: too deep for json.dumps)."""
    marker = '"PAYLOAD"'
    return json.dumps({"action": "create", "schedule": {**TEE_TIMES, "payload": "PAYLOAD"}}).replace(marker, payload_text)


POISON = {
    "not JSON": "not json",
    "a JSON array": "[1, 2]",
    "nested 5,000 deep": deep_text(5000),
    "nested 1,000 deep": deep_text(1000),
    "a payload nested 256 deep": create_with_payload(nested_text(256)),
    "a payload nested 985 deep": create_with_payload(nested_text(985)),
    "a version of 39 digits": f'{{"action": "pause", "schedule_id": "{SCHEDULE_ID}", "version": {"9" * 39}}}',
    "a schedule_id of 39 digits": f'{{"action": "pause", "schedule_id": {"1" * 39}}}',
    "200,000 double quotes": '"' * 200_000,
    "100,000 é": "é" * 100_000,
    "an exponent of 400 digits": '{"action": "pause", "schedule_id": "x", "version": 1e' + "9" * 400 + "}",
}


def target_event(text: str):
    """The event Lambda would hand the target for this text (its JSON, else the text)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def assert_one_bounded_rejection(moto_stage, names, source: str | None = None) -> dict:
    events = moto_stage["tap"].drain(names.notifications_topic)
    assert [event["event"] for event in events] == ["rejected"]
    [event] = events
    assert len(json.dumps(event).encode()) <= SNS_LIMIT
    if source:
        assert event["source"] == source
    return event


@pytest.mark.parametrize("text", POISON.values(), ids=POISON.keys())
def test_the_command_handler_rejects_poison_once(chalice_client, moto_stage, names, text):
    # WHEN the message arrives on the command topic
    event = sns_event(chalice_client, text, message_id=str(uuid.uuid4()))
    result = chalice_client.lambda_.invoke("schedule_command", event).payload
    # THEN it is rejected with a reason, told once and within SNS's size, and nothing is written
    assert result["outcome"] == "rejected", result
    assert result["reason"]
    rejected = assert_one_bounded_rejection(moto_stage, names)
    assert rejected["reason"] == result["reason"]
    assert table_items(names) == []


@pytest.mark.parametrize("text", POISON.values(), ids=POISON.keys())
def test_the_results_consumer_rejects_poison_once(chalice_client, moto_stage, names, text):
    # WHEN the message arrives on the results topic
    event = sns_event(chalice_client, text, message_id=str(uuid.uuid4()))
    result = chalice_client.lambda_.invoke("handle_results", event).payload
    # THEN it is rejected with a reason, told once and within SNS's size, and nothing is written
    assert result["outcome"] == "rejected", result
    rejected = assert_one_bounded_rejection(moto_stage, names, "handle_results")
    assert rejected["reason"] == result["reason"]
    assert table_items(names) == []


@pytest.mark.parametrize("text", POISON.values(), ids=POISON.keys())
def test_the_dead_letter_consumer_rejects_poison_and_never_returns_the_batch(chalice_client, moto_stage, names, text):
    # WHEN the poison arrives in a batch beside a dead letter of no schedule of ours
    event = through_the_queue(names, text)
    result = chalice_client.lambda_.invoke("dead_letters", event).payload
    # THEN it is rejected, leaves the queue (no batch item failure), and is told once
    assert [record["outcome"] for record in result["recorded"]] == ["rejected"]
    assert result["batchItemFailures"] == []
    assert_one_bounded_rejection(moto_stage, names, "dead_letters")
    assert table_items(names) == []


TARGET_POISON = {
    # (a version is no field of an invocation: that case is an invocation of no schedule, skipped)
    **{name: target_event(text) for name, text in POISON.items() if name != "a version of 39 digits"},
    "no schedule_id": {"scheduled_time": "2026-11-24T11:00:00Z"},
    "a schedule_id that is no id": {"schedule_id": "x" * 5000},
    "a schedule_id that is an object": {"schedule_id": {"S": SCHEDULE_ID}},
    "an attempt of 39 digits": {"schedule_id": SCHEDULE_ID, "attempt": int("9" * 39)},
    "an execution id of 10,000 characters": {"schedule_id": SCHEDULE_ID, "execution_id": "e" * 10_000},
    "a record nested 2,000 deep": {"schedule_id": SCHEDULE_ID, "record": nested(2000)},
    "an object nested 5,000 deep": nested(5000),
}


@pytest.mark.parametrize("event", TARGET_POISON.values(), ids=TARGET_POISON.keys())
def test_the_target_rejects_poison_instead_of_failing_into_retries(chalice_client, moto_stage, names, event):
    result = chalice_client.lambda_.invoke("schedule_target", event).payload
    assert result["outcome"] == "rejected", result
    assert_one_bounded_rejection(moto_stage, names, "schedule_target")
    assert table_items(names) == []


def test_a_transient_failure_returns_only_its_own_record(chalice_client, moto_stage, names, faults):
    # GIVEN two dead letters in one batch, and DynamoDB failing once for the first
    first = through_the_queue(names, json.dumps({"requestContext": {"condition": "RetriesExhausted"},
                                                 "requestPayload": {"schedule_id": SCHEDULE_ID, "execution_id": "e-1"}}))
    second = through_the_queue(names, "not ours")
    batch = {"Records": first["Records"] + second["Records"]}
    faults.fail("dynamodb", "GetItem", "InternalServerError", times=1)
    # WHEN the consumer runs
    result = chalice_client.lambda_.invoke("dead_letters", batch).payload
    # THEN only the first comes back; the second is rejected and gone
    assert result["batchItemFailures"] == [{"itemIdentifier": first["Records"][0]["messageId"]}]
    assert [record["outcome"] for record in result["recorded"]] == ["rejected"]
