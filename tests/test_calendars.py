"""Exclusion calendars (``/api/calendars``), and a schedule that names them: the days are
skipped in the plan (next fire times, preview, timeline) and at fire time (the run recorded
``skipped`` with the calendar's name, nothing dispatched); the .ics import; a calendar in use
is not deleted."""

from __future__ import annotations

import json

import pytest

from tests.support import JSON, post
from tests.timeline_support import create, fire, states, timeline_of

ALICE = {"X-Created-By": "alice"}
BOB = {"X-Created-By": "bob"}
HOLIDAYS = {"name": "holidays", "timezone": "America/New_York", "dates": ["2026-12-25", "2027-01-01"]}
DAILY_NY = {
    "name": "tee-times",
    "schedule_expression": "cron(0 6 * * ? *)",
    "timezone": "America/New_York",
    "target_type": "web_action",
    "payload": {"action": "check_tee_times"},
}
HOLIDAYS_ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Golf Club//Holidays//EN\r
BEGIN:VEVENT\r
UID:christmas-2026@club\r
DTSTAMP:20261101T000000Z\r
DTSTART;VALUE=DATE:20261225\r
DTEND;VALUE=DATE:20261226\r
SUMMARY:Christmas Day\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:new-year-2027@club\r
DTSTAMP:20261101T000000Z\r
DTSTART;VALUE=DATE:20270101\r
SUMMARY:New Year's Day\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:members-meeting@club\r
DTSTAMP:20261101T000000Z\r
DTSTART:20261210T180000Z\r
DTEND:20261210T200000Z\r
SUMMARY:Members' meeting (timed: not a day off)\r
END:VEVENT\r
END:VCALENDAR\r
"""


def ok(response, status=200):
    assert response.status_code == status, response.json_body
    return response.json_body


def send(client, method, path, body=None, headers=ALICE):
    kwargs = {"body": json.dumps(body)} if body is not None else {}
    return getattr(client.http, method)(path, headers={**JSON, **headers}, **kwargs)


def dispatched(moto_stage, names) -> list[dict]:
    return [json.loads(message) if isinstance(message, str) else message
            for message in moto_stage["tap"].drain(names.web_actions_topic)]


@pytest.mark.parametrize("calendar", [HOLIDAYS, {"name": "holidays", "timezone": "America/New_York",
                                                 "ics": HOLIDAYS_ICS}], ids=["dates", "ics"])
def test_a_daily_schedule_skips_the_calendars_days_in_the_plan_and_when_it_fires(
        chalice_client, moto_stage, names, clock, calendar):
    # GIVEN a calendar with 2026-12-25 and 2027-01-01 (as dates, or imported from an .ics file)
    clock.set("2026-03-01T00:00:00Z")
    made = ok(send(chalice_client, "post", "/api/calendars", calendar), 201)
    assert made["dates"] == ["2026-12-25", "2027-01-01"]
    # AND a cron(0 6 * * ? *) New York schedule that excludes it
    schedule_id = create(chalice_client, moto_stage, names, clock, "2026-03-01T00:00:00Z",
                         {**DAILY_NY, "exclude_calendars": ["holidays"]}, ALICE)
    # WHEN the preview looks over the year
    preview = ok(post(chalice_client, "/api/expressions/preview", {
        "schedule_expression": "cron(0 6 * * ? *)", "timezone": "America/New_York",
        "after": "2026-03-01T00:00:00Z", "count": 365, "exclude_calendars": ["holidays"]}, ALICE))
    # THEN both days are skipped with the calendar's name, and 363 other fires remain
    assert preview["skipped"] == [{"time": "2026-12-25T11:00:00Z", "reason": "calendar holidays"},
                                  {"time": "2027-01-01T11:00:00Z", "reason": "calendar holidays"}]
    assert len(preview["next"]) == 363
    # AND the schedule's own plan shows the skip before it happens
    clock.set("2026-12-22T12:00:00Z")
    shown = ok(chalice_client.http.get(f"/api/schedules/{schedule_id}", headers=ALICE))
    assert shown["skipped_fire_times"] == [{"time": "2026-12-25T11:00:00Z", "reason": "calendar holidays"}]
    assert "2026-12-25T11:00:00Z" not in shown["next_fire_times"]
    assert shown["next_fire_times"][:3] == ["2026-12-23T11:00:00Z", "2026-12-24T11:00:00Z", "2026-12-26T11:00:00Z"]
    upcoming = timeline_of(clock, schedule_id, "2026-12-24T00:00:00Z", "2026-12-27T00:00:00Z")
    assert states(upcoming)["2026-12-25T11:00:00Z"] == "skipped"
    dispatched(moto_stage, names)
    # WHEN EventBridge fires the 2026-12-25 06:00 New York slot
    answer = fire(chalice_client, clock, schedule_id, "2026-12-25T11:00:00Z", "2026-12-25T11:00:03Z")
    # THEN nothing is dispatched, and the run is recorded skipped with the calendar's name
    assert answer["outcome"] == "skipped" and answer["reason"] == "calendar holidays"
    assert dispatched(moto_stage, names) == []
    runs = ok(chalice_client.http.get(f"/api/schedules/{schedule_id}/executions", headers=ALICE))["items"]
    assert [(run["outcome"], run.get("skip_reason")) for run in runs] == [("skipped", "calendar holidays")]
    slot = next(entry for entry in timeline_of(clock, schedule_id, "2026-12-25T00:00:00Z", "2026-12-26T00:00:00Z")["items"]
                if entry["time"] == "2026-12-25T11:00:00Z")
    assert (slot["state"], slot["reason"]) == ("skipped", "calendar holidays")
    # AND the next day's slot runs as usual
    assert fire(chalice_client, clock, schedule_id, "2026-12-26T11:00:00Z", "2026-12-26T11:00:02Z")["outcome"] == "succeeded"
    assert len(dispatched(moto_stage, names)) == 1
