"""POST /api/expressions/preview answers fire times and warnings, or a 400 naming the rule."""

from __future__ import annotations

import json

import pytest

JSON = {"Content-Type": "application/json"}


def preview(client, body):
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.http.post("/api/expressions/preview", headers=JSON, body=raw)


def test_preview_lists_utc_fire_times_and_warns_about_the_spring_forward_gap(offline_client):
    # GIVEN a 02:30 New York cron previewed across the 2027 spring-forward day
    response = preview(offline_client, {
        "schedule_expression": "cron(30 2 * * ? *)", "timezone": "America/New_York",
        "after": "2027-03-13T00:00:00Z", "count": 3,
    })
    # THEN the skipped day is missing from the fire times and named in a warning
    assert response.status_code == 200
    body = response.json_body
    assert body["valid"] is True
    assert body["next"] == ["2027-03-13T07:30:00Z", "2027-03-15T06:30:00Z", "2027-03-16T06:30:00Z"]
    assert any("2027-03-14" in warning for warning in body["warnings"])


def test_preview_defaults_to_utc_now_and_ten(offline_client):
    body = preview(offline_client, {"schedule_expression": "rate(1 hour)"}).json_body
    assert body["timezone"] == "UTC"
    assert len(body["next"]) == 10
    assert all(moment.endswith("Z") for moment in body["next"])


def test_preview_without_after_starts_at_the_service_clock(offline_client, clock):
    # GIVEN the service's clock at 2026-03-01T00:30:00Z, half a second in
    clock.set("2026-03-01T00:30:00.500Z")
    # WHEN a minutely rate is previewed with no `after`
    body = preview(offline_client, {"schedule_expression": "rate(1 minute)"}).json_body
    # THEN its fire times follow that clock, from its second on
    assert body["next"][:2] == ["2026-03-01T00:31:00Z", "2026-03-01T00:32:00Z"]


def test_preview_warns_about_an_at_in_the_past(offline_client):
    body = preview(offline_client, {"schedule_expression": "at(2020-01-01T00:00:00)"}).json_body
    assert body["next"] == []
    assert body["warnings"]


@pytest.mark.parametrize(
    "body, words",
    [
        ({"schedule_expression": "cron(0 6 * * * *)"}, "day-of-week"),
        ({"schedule_expression": "cron(61 6 * * ? *)"}, "minutes"),
        ({"schedule_expression": "rate(1 fortnight)"}, "schedule_expression"),
        ({"schedule_expression": "rate(1 hour)", "timezone": "Europe/Atlantis"}, "timezone"),
        ({"schedule_expression": "rate(1 hour)", "count": 0}, "count"),
        ({"schedule_expression": "rate(1 hour)", "count": 367}, "count"),
        ({"schedule_expression": "rate(1 hour)", "after": "yesterday"}, "after"),
        ({"schedule_expression": "rate(1 hour)", "start_date": "2027-01-02T00:00:00Z", "end_date": "2027-01-01T00:00:00Z"}, "start_date"),
        ({"schedule_expression": "rate(1 hour)", "colour": "red"}, "colour"),
        ({}, "schedule_expression"),
        ({"schedule_expression": 5}, "schedule_expression"),
        ('{"schedule_expression": ', "JSON"),
    ],
)
def test_invalid_previews_get_400_naming_the_part(offline_client, body, words):
    response = preview(offline_client, body)
    assert response.status_code == 400, response.body
    assert words.lower() in response.json_body["Message"].lower()
