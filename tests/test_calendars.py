"""Exclusion calendars (``/api/calendars``), and a schedule that names them: the days are
skipped in the plan (next fire times, preview, timeline) and at fire time (the run recorded
``skipped`` with the calendar's name, nothing dispatched); the .ics import; a calendar in use
is not deleted."""

from __future__ import annotations

import json

import pytest

from tests.support import JSON, deliver_commands, post
from tests.timeline_support import create, fire, results, sweeper, timeline_of

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
    assert results(upcoming)["2026-12-25T11:00:00Z"] == "skipped"
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
    assert (slot["result"], slot["reason"]) == ("skipped", "calendar holidays")
    # AND the next day's slot runs as usual
    assert fire(chalice_client, clock, schedule_id, "2026-12-26T11:00:00Z", "2026-12-26T11:00:02Z")["outcome"] == "succeeded"
    assert len(dispatched(moto_stage, names)) == 1


def test_a_calendar_is_its_owners_and_versioned(chalice_client, moto_stage):
    # GIVEN alice's calendar
    made = ok(send(chalice_client, "post", "/api/calendars", {**HOLIDAYS, "yearly": ["07-04"],
                                                              "ranges": [{"from": "2026-08-01", "to": "2026-08-14"}]}), 201)
    assert (made["version"], made["owner"], made["used_by"]) == (1, "alice", [])
    assert made["ranges"] == [{"from": "2026-08-01", "to": "2026-08-14"}] and made["yearly"] == ["07-04"]
    # THEN bob neither sees nor changes it
    assert send(chalice_client, "get", "/api/calendars/holidays", headers=BOB).status_code == 404
    assert ok(send(chalice_client, "get", "/api/calendars", headers=BOB))["items"] == []
    assert send(chalice_client, "delete", "/api/calendars/holidays", headers=BOB).status_code == 404
    # AND alice lists it, and changes it only at the version she read
    assert [item["name"] for item in ok(send(chalice_client, "get", "/api/calendars"))["items"]] == ["holidays"]
    stale = send(chalice_client, "put", "/api/calendars/holidays", {**HOLIDAYS, "dates": ["2026-12-24"]},
                 headers={**ALICE, "If-Match": '"7"'})
    assert stale.status_code == 409
    changed = ok(send(chalice_client, "put", "/api/calendars/holidays", {**HOLIDAYS, "dates": ["2026-12-24"]},
                      headers={**ALICE, "If-Match": '"1"'}))
    assert (changed["version"], changed["dates"]) == (2, ["2026-12-24"])
    # AND a second calendar of that name is a conflict
    assert send(chalice_client, "post", "/api/calendars", HOLIDAYS).status_code == 409


@pytest.mark.parametrize(("body", "field"), [
    ({**HOLIDAYS, "dates": ["2026-02-30"]}, "dates.0"),
    ({**HOLIDAYS, "dates": ["26-12-25"]}, "dates.0"),
    ({**HOLIDAYS, "yearly": ["13-01"]}, "yearly.0"),
    ({**HOLIDAYS, "ranges": [{"from": "2026-12-31", "to": "2026-12-01"}]}, "ranges.0.to"),
    ({**HOLIDAYS, "timezone": "Mars/Olympus"}, "timezone"),
    ({**HOLIDAYS, "ics": "not a calendar"}, "ics"),
    ({**HOLIDAYS, "ics": "x" * 256_001}, "ics"),
    ({**HOLIDAYS, "ics": HOLIDAYS_ICS.replace("SUMMARY:Christmas Day", "RRULE:FREQ=WEEKLY\r\nSUMMARY:Christmas Day")},
     "ics"),
    ({**HOLIDAYS, "dates": ["2026-01-01"] * 1001}, "dates"),
    ({**HOLIDAYS, "name": "no spaces"}, "name"),
])
def test_a_bad_calendar_is_a_400_naming_the_field(chalice_client, moto_stage, body, field):
    response = send(chalice_client, "post", "/api/calendars", body)
    assert response.status_code == 400, response.json_body
    assert field in [error["field"] for error in response.json_body["Errors"]], response.json_body


def test_a_yearly_ics_event_becomes_a_yearly_day(chalice_client, moto_stage):
    ics = HOLIDAYS_ICS.replace("DTEND;VALUE=DATE:20261226\r\n", "DTEND;VALUE=DATE:20261226\r\nRRULE:FREQ=YEARLY\r\n")
    made = ok(send(chalice_client, "post", "/api/calendars", {"name": "yearly", "ics": ics}), 201)
    assert (made["yearly"], made["dates"]) == (["12-25"], ["2027-01-01"])


def test_a_schedule_names_only_existing_calendars_of_its_owner(chalice_client, moto_stage, names):
    ok(send(chalice_client, "post", "/api/calendars", HOLIDAYS), 201)
    # WHEN bob names alice's calendar, or anyone names one that does not exist
    for who, calendars in ((BOB, ["holidays"]), (ALICE, ["holidays", "nope"])):
        response = post(chalice_client, "/api/schedules", {**DAILY_NY, "exclude_calendars": calendars}, who)
        # THEN a 400 names the place of the missing one
        assert response.status_code == 400, response.json_body
        assert response.json_body["Errors"][0]["field"] == f"exclude_calendars.{len(calendars) - 1}"
    too_many = post(chalice_client, "/api/schedules", {**DAILY_NY, "exclude_calendars": [f"c{i}" for i in range(6)]}, ALICE)
    assert too_many.status_code == 400 and too_many.json_body["Errors"][0]["field"] == "exclude_calendars"


def test_a_calendar_a_schedule_names_is_not_deleted(chalice_client, moto_stage, names, clock):
    ok(send(chalice_client, "post", "/api/calendars", HOLIDAYS), 201)
    ok(send(chalice_client, "post", "/api/calendars", {**HOLIDAYS, "name": "summer"}), 201)
    schedule_id = create(chalice_client, moto_stage, names, clock, "2026-03-01T00:00:00Z",
                         {**DAILY_NY, "exclude_calendars": ["holidays"]}, ALICE)
    # WHEN alice deletes the calendar her schedule names
    refused = send(chalice_client, "delete", "/api/calendars/holidays")
    # THEN it is refused, naming the schedule
    assert refused.status_code == 409 and schedule_id in refused.json_body["Message"]
    assert ok(send(chalice_client, "get", "/api/calendars/holidays"))["used_by"] == [schedule_id]
    # WHEN the schedule names another calendar instead
    current = ok(chalice_client.http.get(f"/api/schedules/{schedule_id}", headers=ALICE))
    changed = send(chalice_client, "put", f"/api/schedules/{schedule_id}", {**DAILY_NY, "exclude_calendars": ["summer"]},
                   headers={**ALICE, "If-Match": f'"{current["version"]}"'})
    assert changed.status_code == 202, changed.json_body
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the first calendar can go, and the second cannot
    assert ok(send(chalice_client, "delete", "/api/calendars/holidays"))["deleted"] is True
    assert send(chalice_client, "delete", "/api/calendars/summer").status_code == 409
    # AND once the schedule is deleted, neither blocks
    assert send(chalice_client, "delete", f"/api/schedules/{schedule_id}").status_code == 202
    deliver_commands(chalice_client, moto_stage, names)
    assert ok(send(chalice_client, "delete", "/api/calendars/summer"))["deleted"] is True


def test_a_calendar_changed_later_applies_to_the_slots_not_yet_run(chalice_client, moto_stage, names, clock):
    ok(send(chalice_client, "post", "/api/calendars", {**HOLIDAYS, "dates": []}), 201)
    schedule_id = create(chalice_client, moto_stage, names, clock, "2026-12-20T00:00:00Z",
                         {**DAILY_NY, "exclude_calendars": ["holidays"]}, ALICE)
    assert fire(chalice_client, clock, schedule_id, "2026-12-24T11:00:00Z", "2026-12-24T11:00:01Z")["outcome"] == "succeeded"
    # WHEN the calendar gets 2026-12-25 after the schedule's last run (its definition cached warm)
    clock.set("2026-12-24T12:00:00Z")
    ok(send(chalice_client, "put", "/api/calendars/holidays", HOLIDAYS))
    # THEN the plan and the fire follow it
    assert results(timeline_of(clock, schedule_id, "2026-12-24T00:00:00Z", "2026-12-26T00:00:00Z"))[
        "2026-12-25T11:00:00Z"] == "skipped"
    assert fire(chalice_client, clock, schedule_id, "2026-12-25T11:00:00Z", "2026-12-25T11:00:01Z")["outcome"] == "skipped"


def test_an_inline_calendar_previews_without_being_stored(chalice_client, moto_stage):
    preview = ok(post(chalice_client, "/api/expressions/preview", {
        "schedule_expression": "cron(0 6 * * ? *)", "timezone": "America/New_York", "after": "2026-12-24T00:00:00Z",
        "count": 3, "calendars": [{"name": "xmas", "timezone": "America/New_York", "ics": HOLIDAYS_ICS}]}))
    assert preview["next"] == ["2026-12-24T11:00:00Z", "2026-12-26T11:00:00Z"]
    assert preview["skipped"] == [{"time": "2026-12-25T11:00:00Z", "reason": "calendar xmas"}]
    bad = post(chalice_client, "/api/expressions/preview", {"schedule_expression": "rate(1 hour)",
                                                            "exclude_calendars": ["nope"]}, ALICE)
    assert bad.status_code == 400 and bad.json_body["Errors"][0]["field"] == "exclude_calendars.0"
    assert ok(send(chalice_client, "get", "/api/calendars"))["items"] == []


class _Calls:
    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, event_name, **_):
        self.calls.append(event_name.split(".", 1)[1])


def _warm_calls(client, schedule_id: str, clock, warm: str, slot: str) -> tuple[str, list[str]]:
    """The AWS calls of one fire of ``slot`` in a process that ran the schedule's ``warm`` slot
    (the slot before: the alert watch waits for ``slot``)."""
    from chalicelib import clients

    recorded = _Calls()
    clients.reset()
    clients._shared_session()._session.register("before-call", recorded)
    try:
        fire(client, clock, schedule_id, warm, warm.replace(":00Z", ":01Z"))
        recorded.calls.clear()
        outcome = fire(client, clock, schedule_id, slot, slot.replace(":00Z", ":01Z"))["outcome"]
    finally:
        clients._shared_session()._session.unregister("before-call", recorded)
    return outcome, [call for call in recorded.calls if not call.startswith("sts.")]


def test_what_a_fire_costs_with_calendars_and_without(chalice_client, moto_stage, names, clock):
    ok(send(chalice_client, "post", "/api/calendars", HOLIDAYS), 201)
    plain = create(chalice_client, moto_stage, names, clock, "2026-12-23T12:00:00Z", DAILY_NY, ALICE)
    named = create(chalice_client, moto_stage, names, clock, "2026-12-22T12:00:00Z",
                   {**DAILY_NY, "name": "with-holidays", "exclude_calendars": ["holidays"]}, ALICE)
    claim, dispatch, outcome = "dynamodb.TransactWriteItems", "sns.Publish", "dynamodb.TransactWriteItems"
    # a schedule with no calendar pays nothing: the claim, the dispatch, the outcome
    assert _warm_calls(chalice_client, plain, clock, "2026-12-24T11:00:00Z", "2026-12-25T11:00:00Z") == (
        "succeeded", [claim, dispatch, outcome])
    # a schedule with a calendar reads it once per fire (one GetItem), after its claim
    assert _warm_calls(chalice_client, named, clock, "2026-12-23T11:00:00Z", "2026-12-24T11:00:00Z") == (
        "succeeded", [claim, "dynamodb.GetItem", dispatch, outcome])
    # on the calendar's day: no dispatch, the skipped outcome in the write a run makes anyway
    assert _warm_calls(chalice_client, named, clock, "2026-12-24T11:00:00Z", "2026-12-25T11:00:00Z") == (
        "skipped", [claim, "dynamodb.GetItem", outcome])
    # a requested skip is on the record: the calendar is not read
    clock.set("2026-12-25T12:00:00Z")
    ok(send(chalice_client, "post", f"/api/schedules/{named}/skip", {"count": 1}), 202)
    deliver_commands(chalice_client, moto_stage, names)
    sweeper(clock).run()  # a change leaves the alert watch due: the sweep checks it once
    assert _warm_calls(chalice_client, named, clock, "2026-12-25T11:00:00Z", "2026-12-26T11:00:00Z") == (
        "skipped", [claim, outcome])


def test_a_refused_schedule_write_leaves_no_calendar_reference(chalice_client, moto_stage, names, clock):
    ok(send(chalice_client, "post", "/api/calendars", HOLIDAYS), 201)
    schedule_id = create(chalice_client, moto_stage, names, clock, "2026-03-01T00:00:00Z", DAILY_NY, ALICE)
    # WHEN an update naming the calendar is refused (a stale If-Match), or names a missing one too
    stale = send(chalice_client, "put", f"/api/schedules/{schedule_id}", {**DAILY_NY, "exclude_calendars": ["holidays"]},
                 headers={**ALICE, "If-Match": '"9"'})
    missing = send(chalice_client, "put", f"/api/schedules/{schedule_id}",
                   {**DAILY_NY, "exclude_calendars": ["holidays", "nope"]})
    # THEN nothing was left on the calendar
    assert (stale.status_code, missing.status_code) == (409, 400)
    assert ok(send(chalice_client, "get", "/api/calendars/holidays"))["used_by"] == []
