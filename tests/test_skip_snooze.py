"""Skip and snooze on one schedule: ``POST /api/schedules/{id}/skip`` holds the next n slots
(or the slots before a time), shown ``skipped`` with reason ``requested`` in the plan and
recorded skipped when they fire; ``POST /api/schedules/{id}/snooze`` is a pause that resumes
itself (EventBridge holds the schedule until then: its StartDate), visible in the record, the
history and the timeline, and never alerted as missed."""

from __future__ import annotations

import json

import boto3

from chalicelib.config import get_settings
from tests.support import JSON, REGION, deliver_commands
from tests.timeline_support import at, create, fire, results, sweeper, timeline_of

ALICE = {"X-Created-By": "alice"}
EVERY_5 = {"name": "on-call-reminder", "schedule_expression": "rate(5 minutes)", "target_type": "web_action",
           "payload": {"action": "remind"}}


def ok(response, status=200):
    assert response.status_code == status, response.json_body
    return response.json_body


def send(client, method, path, body=None, headers=ALICE):
    kwargs = {"body": json.dumps(body)} if body is not None else {}
    return getattr(client.http, method)(path, headers={**JSON, **headers}, **kwargs)


def dispatched(moto_stage, names) -> list:
    return moto_stage["tap"].drain(names.web_actions_topic)


def eventbridge_schedule(schedule_id: str) -> dict:
    return boto3.client("scheduler", region_name=REGION).get_schedule(
        Name=schedule_id, GroupName=get_settings().schedule_group_name)


def test_skip_two_slots_of_a_rate_schedule_then_the_third_runs(chalice_client, moto_stage, names, clock):
    # GIVEN a rate(5 minutes) schedule created at 09:00:00 (slots 09:05, 09:10, 09:15, ...)
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T09:00:00Z", EVERY_5, ALICE)
    # WHEN the next two slots are skipped
    clock.set("2026-03-02T09:01:00Z")
    skipped = ok(send(chalice_client, "post", f"/api/schedules/{sid}/skip", {"count": 2}), 202)
    deliver_commands(chalice_client, moto_stage, names)
    assert skipped["skip"]["count"] == 2 and skipped["skip"]["until"] == "2026-03-02T09:10:01Z"
    # THEN the plan shows them skipped (requested), and the third as the next fire
    shown = ok(chalice_client.http.get(f"/api/schedules/{sid}", headers=ALICE))
    assert shown["skipped_fire_times"] == [{"time": "2026-03-02T09:05:00Z", "reason": "requested"},
                                           {"time": "2026-03-02T09:10:00Z", "reason": "requested"}]
    assert shown["next_fire_times"][0] == shown["next_fire_time"] == "2026-03-02T09:15:00Z"
    # AND when they fire, the first two are recorded skipped and dispatch nothing; the third runs
    dispatched(moto_stage, names)
    outcomes = [fire(chalice_client, clock, sid, slot, slot.replace(":00Z", ":02Z"))["outcome"]
                for slot in ("2026-03-02T09:05:00Z", "2026-03-02T09:10:00Z", "2026-03-02T09:15:00Z")]
    assert outcomes == ["skipped", "skipped", "succeeded"]
    assert len(dispatched(moto_stage, names)) == 1
    timeline = timeline_of(clock, sid, "2026-03-02T09:00:00Z", "2026-03-02T09:16:00Z")
    assert results(timeline) == {"2026-03-02T09:05:00Z": "skipped", "2026-03-02T09:10:00Z": "skipped",
                                "2026-03-02T09:15:00Z": "succeeded"}
    assert [entry.get("reason") for entry in timeline["items"]] == ["requested", "requested", None]
    # AND the alert sweep calls none of them missed
    clock.set("2026-03-02T09:30:00Z")
    report = sweeper(clock).run()
    assert [alert["slot"] for alert in report.alerts if alert["kind"] == "missed"] == [
        "2026-03-02T09:20:00Z", "2026-03-02T09:25:00Z"]
    # AND the history says who skipped what
    history = ok(chalice_client.http.get(f"/api/schedules/{sid}/history", headers=ALICE))["items"]
    assert history[0]["action"] == "skip" and "next 2 slot(s)" in history[0]["reason"]


def test_a_skip_until_a_time_is_undone_by_its_delete(chalice_client, moto_stage, names, clock):
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T09:00:00Z", EVERY_5, ALICE)
    clock.set("2026-03-02T09:01:00Z")
    ok(send(chalice_client, "post", f"/api/schedules/{sid}/skip", {"until": "2026-03-02T09:12:00Z"}), 202)
    deliver_commands(chalice_client, moto_stage, names)
    assert ok(chalice_client.http.get(f"/api/schedules/{sid}", headers=ALICE))["next_fire_time"] == "2026-03-02T09:15:00Z"
    # WHEN the skip is deleted
    undone = ok(send(chalice_client, "delete", f"/api/schedules/{sid}/skip"), 202)
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the slots run again
    assert "skip" not in undone
    shown = ok(chalice_client.http.get(f"/api/schedules/{sid}", headers=ALICE))
    assert shown["next_fire_time"] == "2026-03-02T09:05:00Z" and "skipped_fire_times" not in shown
    assert fire(chalice_client, clock, sid, "2026-03-02T09:05:00Z", "2026-03-02T09:05:01Z")["outcome"] == "succeeded"


def test_a_bad_skip_is_a_400_naming_the_field(chalice_client, moto_stage, names, clock):
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T09:00:00Z", EVERY_5, ALICE)
    for body, field in (({}, "count"), ({"count": 1, "until": "2026-03-03T00:00:00Z"}, "count"),
                        ({"count": 0}, "count"), ({"until": "2026-03-01T00:00:00Z"}, "until"), ({"count": "x"}, "count")):
        response = send(chalice_client, "post", f"/api/schedules/{sid}/skip", body)
        assert response.status_code == 400, (body, response.json_body)
        assert response.json_body["Errors"][0]["field"] == field, response.json_body
    assert send(chalice_client, "post", f"/api/schedules/{sid}/skip", {"count": 1},
                headers={"X-Created-By": "bob"}).status_code == 404


def test_a_snooze_holds_the_schedule_in_eventbridge_until_it_ends(chalice_client, moto_stage, names, clock):
    # GIVEN a rate(5 minutes) schedule
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T09:00:00Z", EVERY_5, ALICE)
    # WHEN it is snoozed until 09:22
    clock.set("2026-03-02T09:01:00Z")
    snoozed = ok(send(chalice_client, "post", f"/api/schedules/{sid}/snooze", {"until": "2026-03-02T09:22:00Z"}), 202)
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the record says so, the schedule stays enabled in EventBridge with its StartDate at its
    # first slot on its own phase after the snooze (so AWS resumes it on time, on its own)
    assert snoozed["snoozed_until"] == "2026-03-02T09:22:00Z"
    shown = ok(chalice_client.http.get(f"/api/schedules/{sid}", headers=ALICE))
    assert (shown["status"], shown["snoozed_until"], shown["next_fire_time"]) == (
        "active", "2026-03-02T09:22:00Z", "2026-03-02T09:25:00Z")
    cloud = eventbridge_schedule(sid)
    assert cloud["State"] == "ENABLED" and cloud["StartDate"] == at("2026-03-02T09:25:00Z")
    # AND the plan shows the slots before it skipped, the history names the snooze
    timeline = timeline_of(clock, sid, "2026-03-02T09:00:00Z", "2026-03-02T09:26:00Z")
    assert [entry.get("reason") for entry in timeline["items"]][:4] == ["snoozed until 2026-03-02T09:22:00Z"] * 4
    history = ok(chalice_client.http.get(f"/api/schedules/{sid}/history", headers=ALICE))["items"]
    assert (history[0]["action"], history[0]["reason"]) == ("snooze", "until 2026-03-02T09:22:00Z")
    # AND no slot held by the snooze is alerted missed
    clock.set("2026-03-02T09:24:00Z")
    assert [alert for alert in sweeper(clock).run().alerts if alert["kind"] == "missed"] == []
    # AND the reconcile sees no drift in the snooze's StartDate
    from chalicelib import wiring

    report = wiring.reconciler(get_settings()).run(prune=False)
    assert set(report["counts"]) == {"noop"}, report
    assert eventbridge_schedule(sid)["StartDate"] == at("2026-03-02T09:25:00Z")
    settings = get_settings()
    assert wiring.gateway(settings).matches(wiring.repository(settings).get(sid), eventbridge_schedule(sid))


def test_resume_ends_a_snooze_and_a_past_or_at_snooze_is_refused(chalice_client, moto_stage, names, clock):
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T09:00:00Z", EVERY_5, ALICE)
    clock.set("2026-03-02T09:01:00Z")
    assert send(chalice_client, "post", f"/api/schedules/{sid}/snooze", {"until": "2026-03-02T08:00:00Z"}).status_code == 400
    ok(send(chalice_client, "post", f"/api/schedules/{sid}/snooze", {"until": "2026-03-02T10:00:00Z"}), 202)
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN it is resumed early
    resumed = ok(send(chalice_client, "post", f"/api/schedules/{sid}/resume"), 202)
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the snooze is gone, in the record and in EventBridge
    assert "snoozed_until" not in resumed
    assert "StartDate" not in eventbridge_schedule(sid)
    once = create(chalice_client, moto_stage, names, clock, "2026-03-02T09:02:00Z",
                  {**EVERY_5, "name": "once", "schedule_expression": "at(2026-03-05T09:00:00)"}, ALICE)
    refused = send(chalice_client, "post", f"/api/schedules/{once}/snooze", {"until": "2026-03-03T00:00:00Z"})
    assert refused.status_code == 400 and refused.json_body["Errors"][0]["field"] == "until"


def test_a_skip_is_honoured_when_the_input_states_the_record(chalice_client, moto_stage, names, clock):
    # GIVEN a skip applied, and a cold target function that reads the schedule from the Input
    # EventBridge sends (the record as applied), not from the table
    from chalicelib import clients

    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T09:00:00Z", EVERY_5, ALICE)
    clock.set("2026-03-02T09:01:00Z")
    ok(send(chalice_client, "post", f"/api/schedules/{sid}/skip", {"count": 1}), 202)
    deliver_commands(chalice_client, moto_stage, names)
    stated = json.loads(eventbridge_schedule(sid)["Target"]["Input"])
    assert stated["record"]["skip"]["until"] == "2026-03-02T09:05:01Z"
    clients.reset()
    # WHEN the skipped slot fires with that Input
    clock.set("2026-03-02T09:05:02Z")
    event = {**stated, "scheduled_time": "2026-03-02T09:05:00Z", "execution_id": "stated-1", "attempt": 1}
    answer = chalice_client.lambda_.invoke("schedule_target", event).payload
    # THEN it is skipped as requested, and nothing is dispatched
    assert (answer["outcome"], answer["reason"]) == ("skipped", "requested")
    assert dispatched(moto_stage, names) == []
    # AND an Input that leaves the skip out is not believed: the record decides
    forged = {**event, "execution_id": "forged-1", "record": {k: v for k, v in stated["record"].items() if k != "skip"}}
    clients.reset()
    assert chalice_client.lambda_.invoke("schedule_target", forged).payload["outcome"] == "skipped"


def test_the_list_shows_a_snoozed_schedule_healthy_with_its_next_fire_after_the_snooze(
        chalice_client, moto_stage, names, clock):
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T09:00:00Z", EVERY_5, ALICE)
    clock.set("2026-03-02T09:01:00Z")
    ok(send(chalice_client, "post", f"/api/schedules/{sid}/snooze", {"until": "2026-03-02T09:22:00Z"}), 202)
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN the list is read while its slots are held (none of them ran)
    clock.set("2026-03-02T09:16:00Z")
    [item] = ok(chalice_client.http.get("/api/schedules", headers=ALICE))["items"]
    # THEN it is not missing, and its next fire is the first after the snooze
    assert (item["health"], item["next_fire_time"]) == ("ok", "2026-03-02T09:25:00Z")
