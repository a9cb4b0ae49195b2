"""Inputs held to their documented limits: a clear 4xx, never a 500, for every malformed
header, cursor and body; IANA-only time zones; signed cursors that keep their limits."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib import cursors
from tests.support import JSON, TEE_TIMES, deliver_commands, post, table_items

UNKNOWN = "8f7c1a52-0f53-4c1e-9d53-5b8a3f0f0e11"  # a schedule id no one created


def created(client, moto_stage, names) -> dict:
    body = post(client, "/api/schedules", TEE_TIMES).json_body
    deliver_commands(client, moto_stage, names)
    return body


@pytest.mark.parametrize(
    "if_match",
    ["²", "9" * 39, "1" * 16, '"1', '1"', '""1""', 'W/"1"', '"1", "2"', "1 2", "", "-1", "0", "+1", "٣", "0x1"],
)
def test_a_malformed_if_match_is_a_400_naming_the_header(chalice_client, moto_stage, names, if_match):
    schedule = created(chalice_client, moto_stage, names)
    response = chalice_client.http.post(f"/api/schedules/{schedule['id']}/pause", headers={"If-Match": if_match})
    assert response.status_code == 400, response.json_body
    assert "If-Match" in response.json_body["Message"]


@pytest.mark.parametrize("if_match", ['"1"', "1", "*", ' "1" '])
def test_the_etag_as_given_or_a_star_is_accepted(chalice_client, moto_stage, names, if_match):
    schedule = created(chalice_client, moto_stage, names)
    response = chalice_client.http.post(f"/api/schedules/{schedule['id']}/pause", headers={"If-Match": if_match})
    assert response.status_code == 202, response.json_body


@pytest.mark.parametrize("key", ["k" * 257, "k" * 8000, "tab\there", "é-key"])
def test_an_idempotency_key_past_its_documented_limit_is_a_400(chalice_client, moto_stage, names, key):
    response = post(chalice_client, "/api/schedules", TEE_TIMES, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json_body["Message"]
    assert table_items(names) == []


def test_an_idempotency_key_of_256_characters_is_accepted(chalice_client, moto_stage):
    assert post(chalice_client, "/api/schedules", TEE_TIMES, headers={"Idempotency-Key": "k" * 256}).status_code == 202


def nested_payload_body(depth: int) -> str:
    marker = '"PAYLOAD"'
    text = '{"a":' * depth + "1" + "}" * depth
    return json.dumps({**TEE_TIMES, "payload": "PAYLOAD"}).replace(marker, text)


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (nested_payload_body(256), "nested more than 64 levels"),
        (nested_payload_body(985), "nested more than 64 levels"),
        ("[" * 5000 + "]" * 5000, "nested more than 64 levels"),
        (json.dumps({**TEE_TIMES, "payload": {"n": 1}}).replace('"n": 1', '"n": ' + "9" * 39), "more than 38 digits"),
        (json.dumps({**TEE_TIMES, "payload": {"n": 1}}).replace('"n": 1', '"n": 1e99999'), "exponent"),
        (json.dumps({**TEE_TIMES, "payload": {"n": 1}}).replace('"n": 1', '"n": 1e400'), "finite"),
    ],
    ids=["payload 256 deep", "payload 985 deep", "5000 deep", "39 digits", "huge exponent", "infinite"],
)
def test_a_body_past_the_parsers_bounds_is_a_400(chalice_client, moto_stage, names, body, rule):
    response = chalice_client.http.post("/api/schedules", headers=JSON, body=body)
    assert response.status_code == 400, response.json_body
    assert rule in response.json_body["Message"]
    assert table_items(names) == []


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "right/UTC", "posix/UTC", "Factory", "right/America/New_York"])
def test_only_iana_time_zone_names_are_accepted(chalice_client, moto_stage, names, zone):
    response = post(chalice_client, "/api/schedules", {**TEE_TIMES, "timezone": zone})
    assert response.status_code == 400
    assert "timezone" in response.json_body["Message"]
    preview = post(chalice_client, "/api/expressions/preview", {"schedule_expression": "rate(1 hour)", "timezone": zone})
    assert preview.status_code == 400


def forged(state) -> str:
    """A cursor as the service issued them before they were signed: base64url JSON."""
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        forged({"after": "9999-12-31T23:59:59Z", "to": "9999-12-31T23:59:59Z"}),
        forged({"after": "2026-01-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"}),
        cursors.encode({"after": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59Z"}, key=b"another stage"),
        cursors.encode({"after": "9999-12-31T23:59:59+14:00", "to": "9999-12-31T23:59:59Z"}),
        cursors.encode({"after": "2026-01-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"}),
        cursors.encode({"after": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        cursors.encode({"after": [], "to": {}}),
        "x" * 5000,
        "é.é",
        "a.b.c",
    ],
    ids=["forged overflow", "forged span", "other key", "overflow", "a year", "backwards", "wrong types",
         "too long", "not base64", "three parts"],
)
def test_a_timeline_cursor_the_service_did_not_issue_or_past_its_limits_is_a_400(chalice_client, moto_stage, names, cursor):
    schedule = created(chalice_client, moto_stage, names)
    response = chalice_client.http.get(f"/api/schedules/{schedule['id']}/timeline?cursor={cursor}")
    assert response.status_code == 400, response.json_body
    assert "cursor" in response.json_body["Message"]


def test_a_forged_list_cursor_is_a_400(chalice_client, moto_stage):
    unsigned = forged({"created_date": "2026-01-01", "id": UNKNOWN})
    response = chalice_client.http.get(f"/api/schedules?cursor={unsigned}")
    assert response.status_code == 400
    assert "cursor" in response.json_body["Message"]


def test_a_signed_cursor_pages_on(chalice_client, moto_stage, names):
    for index in range(3):
        post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": f"s{index}"})
    first = chalice_client.http.get("/api/schedules?limit=2").json_body
    assert "." in first["next_cursor"]
    second = chalice_client.http.get(f"/api/schedules?limit=2&cursor={first['next_cursor']}").json_body
    assert len(first["items"]) + len(second["items"]) == 3
