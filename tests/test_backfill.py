"""Backfill: a schedule's past slots run once each, oldest first, on request (moto)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app as app_module
from chalicelib import clients
from chalicelib.models import ExecutionOutcome
from tests.support import JSON
from tests.timeline_support import (
    HOURLY,
    change,
    create,
    create_target_function,
    fire,
    record_run,
    sweeper,
    timeline_of,
)

OUTAGE = ["2026-03-02T03:00:00Z", "2026-03-02T04:00:00Z", "2026-03-02T05:00:00Z"]
WINDOW = {"from": "2026-03-02T00:30:00Z", "to": "2026-03-02T06:30:00Z"}


@pytest.fixture
def invokes(moto_stage, monkeypatch):
    """The stage's target function exists (moto accepts asynchronous invokes of it); every
    Invoke the app makes is observed. carol is an admin."""
    monkeypatch.setenv("ADMIN_PRINCIPALS", "carol")
    create_target_function()
    seen: list[dict] = []

    def ask(params, **_):
        seen.append({"FunctionName": params["FunctionName"], "InvocationType": params["InvocationType"],
                     "event": json.loads(params["Payload"])})

    clients.client("lambda").meta.events.register("provide-client-params.lambda.Invoke", ask)
    return seen


@pytest.fixture
def dispatched(moto_stage):
    """Every backfill run's message the target function publishes, in the order it publishes them."""
    sent: list[dict] = []

    def publish(params, **_):
        message = json.loads(params["Message"])
        if str(message.get("execution_id", "")).startswith("backfill-"):
            sent.append(message)

    clients.client("sns").meta.events.register("provide-client-params.sns.Publish", publish)
    return sent


def backfill(client, sid, body, principal=None):
    headers = {**JSON, **({"X-Created-By": principal} if principal else {})}
    return client.http.post(f"/api/schedules/{sid}/backfill", headers=headers, body=json.dumps(body))


def outage(client, moto_stage, names, clock, definition=HOURLY) -> str:
    """An hourly schedule created at 00:30 whose 01:00, 02:00 and 06:00 runs happened and
    whose 03:00, 04:00 and 05:00 slots were missed (a 3-hour outage); now 06:30."""
    sid = create(client, moto_stage, names, clock, "2026-03-02T00:30:00Z", definition)
    for hour in (1, 2, 6):
        fire(client, clock, sid, f"2026-03-02T0{hour}:00:00Z", f"2026-03-02T0{hour}:00:03Z")
    clock.set("2026-03-02T06:30:00Z")
    return sid


def walk(client, invokes, index=0) -> dict:
    """The target function runs the walk the API invoked it with, and each continuation
    the walk invoked (Chalice's test context gives an invocation 3 s, so a walk continues
    after each slot). What the invocations ran, added up."""
    ran: dict[str, int] = {}
    pending = [invokes[index]]
    while pending:
        known = len(invokes)
        answer = client.lambda_.invoke("schedule_target", pending.pop(0)["event"]).payload
        for outcome, count in answer["ran"].items():
            ran[outcome] = ran.get(outcome, 0) + count
        pending += invokes[known:]
    return {"ran": ran}


def test_a_three_hour_outage_is_backfilled_once_oldest_first(chalice_client, moto_stage, names, clock, invokes,
                                                               dispatched):
    # GIVEN an hourly schedule that missed 03:00, 04:00 and 05:00
    sid = outage(chalice_client, moto_stage, names, clock)
    # WHEN the owner asks for a dry run of the missed slots
    dry = backfill(chalice_client, sid, {**WINDOW, "slots": "missed", "dry_run": True})
    # THEN 200 lists exactly the 3 slots it would run, and nothing is invoked
    assert dry.status_code == 200, dry.json_body
    assert [(i["slot"], i["result"], i["run"]) for i in dry.json_body["items"]] == [
        (slot, "missed", "would_start") for slot in OUTAGE]
    assert dry.json_body["counts"] == {"would_start": 3, "already_ran": 0}
    assert invokes == []
    # WHEN the backfill is asked for
    real = backfill(chalice_client, sid, {**WINDOW, "slots": "missed"})
    # THEN 202 lists the same slots, started, each with its slot-derived execution id and a
    # link to watch them in the timeline
    assert real.status_code == 202, real.json_body
    body = real.json_body
    assert [(i["slot"], i["run"]) for i in body["items"]] == [(slot, "started") for slot in OUTAGE]
    assert [i["execution_id"] for i in body["items"]] == [i["execution_id"] for i in dry.json_body["items"]]
    assert all(i["execution_id"].startswith("backfill-") for i in body["items"])
    assert body["links"]["timeline"] == f"/api/schedules/{sid}/timeline?from={WINDOW['from']}&to={WINDOW['to']}"
    # AND one asynchronous invoke of the target function carries the slots, oldest first
    [invoke] = invokes
    assert invoke["InvocationType"] == "Event"
    assert [invoke["event"]["scheduled_time"], *invoke["event"]["backfill_slots"]] == OUTAGE
    # WHEN the target function runs it
    result = walk(chalice_client, invokes)
    # THEN exactly 3 runs were dispatched, oldest first, each with trigger backfill and its
    # slot's own scheduled time
    assert result["ran"] == {"succeeded": 3}
    assert [(m["scheduled_time"], m["trigger"]) for m in dispatched] == [(slot, "backfill") for slot in OUTAGE]
    assert [m["execution_id"] for m in dispatched] == [i["execution_id"] for i in body["items"]]
    # WHEN the same backfill is asked for again
    invoked = len(invokes)
    again = backfill(chalice_client, sid, {**WINDOW, "slots": "missed"})
    # THEN it runs none, and says so of each slot
    assert again.status_code == 202
    assert [(i["slot"], i["run"], i["outcome"]) for i in again.json_body["items"]] == [
        (slot, "already_ran", "succeeded") for slot in OUTAGE]
    assert again.json_body["counts"] == {"started": 0, "already_ran": 3}
    assert len(invokes) == invoked  # nothing invoked
    # AND the timeline shows the three slots succeeded (not late), noting the backfill
    entries = {e["time"]: e for e in timeline_of(clock, sid, WINDOW["from"], WINDOW["to"])["items"]}
    for slot in OUTAGE:
        assert entries[slot]["result"] == "succeeded"
        assert entries[slot]["note"] == "backfilled at 2026-03-02T06:30:00Z"
        assert entries[slot]["trigger"] == "scheduled"
    assert "note" not in entries["2026-03-02T01:00:00Z"]
    # AND the executions list them with trigger backfill
    executions = chalice_client.http.get(f"/api/schedules/{sid}/executions").json_body["items"]
    assert sorted(e["scheduled_time"] for e in executions if e["trigger"] == "backfill") == OUTAGE
    # AND the history says who started which slots, once (the repeat started none)
    history = chalice_client.http.get(f"/api/schedules/{sid}/history").json_body["items"]
    assert [(h["action"], h["by"], h["at"], h.get("reason")) for h in history if h["action"] == "backfill"] == [
        ("backfill", "anonymous", "2026-03-02T06:30:00Z",
         "3 missed slot(s) started, 2026-03-02T03:00:00Z to 2026-03-02T05:00:00Z")]


def test_a_backfill_never_becomes_the_records_last_run(chalice_client, moto_stage, names, clock, invokes):
    # GIVEN the outage backfilled after the 06:00 run
    sid = outage(chalice_client, moto_stage, names, clock)
    assert backfill(chalice_client, sid, WINDOW).status_code == 202
    walk(chalice_client, invokes)
    # WHEN the list and the record are read
    [item] = chalice_client.http.get("/api/schedules").json_body["items"]
    record = chalice_client.http.get(f"/api/schedules/{sid}").json_body
    # THEN the last run is still 06:00's (the backfill ran older slots), so the schedule is
    # healthy, and the backfill runs are counted
    assert item["last_execution"]["scheduled_time"] == "2026-03-02T06:00:00Z"
    assert (item["health"], record["health"]) == ("ok", "ok")
    assert record["executions"]["total"] == 6


def test_a_walk_delivered_twice_runs_each_slot_once(chalice_client, moto_stage, names, clock, invokes, dispatched):
    # GIVEN a backfill of the outage, started
    sid = outage(chalice_client, moto_stage, names, clock)
    assert backfill(chalice_client, sid, WINDOW).status_code == 202
    # WHEN Lambda delivers its walk twice
    first, second = walk(chalice_client, invokes), walk(chalice_client, invokes)
    # THEN the second finds every slot already run
    assert first["ran"] == {"succeeded": 3} and second["ran"] == {"duplicate": 3}
    assert len(dispatched) == 3


def test_a_walk_that_meets_a_slot_another_walk_is_running_leaves_the_rest_to_it(chalice_client, moto_stage, names,
                                                                                 clock, invokes, dispatched):
    # GIVEN a backfill whose first slot another walk is running now (the request sent twice,
    # or a continuation delivered twice)
    sid = outage(chalice_client, moto_stage, names, clock)
    assert backfill(chalice_client, sid, WINDOW).status_code == 202
    event = invokes[0]["event"]
    record_run(clock, sid, OUTAGE[0], "2026-03-02T06:30:00Z", ExecutionOutcome.STARTED,
               execution_id=event["execution_id"])
    # WHEN this walk runs
    answer = chalice_client.lambda_.invoke("schedule_target", event).payload
    # THEN it stops there, so no later slot runs before the first one is done
    assert (answer["outcome"], answer["stopped_at"]) == ("left to another walk", OUTAGE[0])
    assert dispatched == [] and len(invokes) == 1


def test_failed_picks_the_slots_whose_run_failed_and_all_every_due_slot(chalice_client, moto_stage, names, clock,
                                                                       invokes):
    # GIVEN an hourly schedule: 01:00 succeeded, 02:00 failed, 03:00 missed, paused from
    # 03:30 to 04:30 (04:00 skipped), 05:00 succeeded late; read at 06:01 (06:00 not due)
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    fire(chalice_client, clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:00:03Z")
    record_run(clock, sid, "2026-03-02T02:00:00Z", "2026-03-02T02:00:03Z", ExecutionOutcome.FAILED)
    change(chalice_client, moto_stage, names, clock, "2026-03-02T03:30:00Z", "post", f"/api/schedules/{sid}/pause")
    change(chalice_client, moto_stage, names, clock, "2026-03-02T04:30:00Z", "post", f"/api/schedules/{sid}/resume")
    fire(chalice_client, clock, sid, "2026-03-02T05:00:00Z", "2026-03-02T05:10:00Z")
    clock.set("2026-03-02T06:01:00Z")
    window = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-02T06:01:00Z", "dry_run": True}

    def picked(kind):
        response = backfill(chalice_client, sid, {**window, "slots": kind})
        assert response.status_code == 200, response.json_body
        return [(i["slot"][11:16], i["result"]) for i in response.json_body["items"]]

    # THEN failed picks 02:00; missed 03:00; all every due slot the schedule was enabled for
    assert picked("failed") == [("02:00", "failed")]
    assert picked("missed") == [("03:00", "missed")]
    assert picked("all") == [("01:00", "succeeded"), ("02:00", "failed"), ("03:00", "missed"), ("05:00", "late")]
    assert invokes == []


def test_a_failed_backfill_run_is_run_again_by_the_next_backfill(chalice_client, moto_stage, names, clock, invokes,
                                                                  faults):
    # GIVEN a backfill of the outage whose dispatches fail every time Lambda delivers its walk
    sid = outage(chalice_client, moto_stage, names, clock)
    assert backfill(chalice_client, sid, WINDOW).status_code == 202
    faults.fail("sns", "Publish", "InternalError", 1_000, "SNS is down")
    for _ in range(3):  # Lambda's asynchronous invoke: the event and its two retries
        with pytest.raises(Exception):  # noqa: B017 - the invocation fails, so Lambda retries it
            walk(chalice_client, invokes)
    faults.clear()
    # THEN the first slot's run is recorded failed and the walk stopped there: nothing after it ran
    runs = {e["scheduled_time"]: e for e in chalice_client.http.get(f"/api/schedules/{sid}/executions").json_body["items"]
            if e["trigger"] == "backfill"}
    assert list(runs) == [OUTAGE[0]] and runs[OUTAGE[0]]["outcome"] == "failed"
    # WHEN the backfill is asked for again
    again = backfill(chalice_client, sid, WINDOW)
    # THEN all three start (the failed one again, under its same execution id) and run once
    assert [(i["run"], i.get("outcome")) for i in again.json_body["items"]] == [
        ("started", "failed"), ("started", None), ("started", None)]
    assert walk(chalice_client, invokes, 1)["ran"] == {"succeeded": 3}
    assert again.json_body["items"][0]["execution_id"] == backfill(chalice_client, sid, WINDOW).json_body["items"][0]["execution_id"]


def test_a_walk_lambda_gave_up_on_records_its_slot_failed_and_the_next_backfill_runs_it(
        chalice_client, moto_stage, names, clock, invokes):
    # GIVEN a backfill whose walk Lambda gave up on (every attempt of its first slot failed):
    # the stage's dead-letter queue gets Lambda's on-failure record of it
    sid = outage(chalice_client, moto_stage, names, clock)
    assert backfill(chalice_client, sid, WINDOW).status_code == 202
    record = {"requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
              "requestPayload": invokes[0]["event"],
              "responsePayload": {"errorType": "UpstreamUnavailable", "errorMessage": "SNS is down"}}
    # WHEN the dead-letter consumer reads it
    chalice_client.lambda_.invoke("dead_letters", chalice_client.events.generate_sqs_event(
        message_bodies=[json.dumps(record)]))
    # THEN the slot it stopped at is recorded failed, with why; the slots after it did not run
    runs = [e for e in chalice_client.http.get(f"/api/schedules/{sid}/executions").json_body["items"]
            if e["trigger"] == "backfill"]
    assert [(e["scheduled_time"], e["outcome"]) for e in runs] == [(OUTAGE[0], "failed")]
    assert "SNS is down" in runs[0]["error"]
    # AND the next backfill runs all three, the failed one under its same execution id
    again = backfill(chalice_client, sid, WINDOW).json_body
    assert [(i["run"], i.get("outcome")) for i in again["items"]] == [
        ("started", "failed"), ("started", None), ("started", None)]
    assert again["items"][0]["execution_id"] == runs[0]["execution_id"]


class Context:
    """A Lambda context whose remaining time drops by ``per_call`` at each look."""

    invoked_function_arn = None

    def __init__(self, remaining_ms: int, per_call: int):
        self.remaining = remaining_ms
        self.per_call = per_call
        self.aws_request_id = "walk-request"

    def get_remaining_time_in_millis(self) -> int:
        self.remaining -= self.per_call
        return self.remaining


def test_a_walk_short_of_time_continues_in_a_new_invocation_in_order(chalice_client, moto_stage, names, clock,
                                                                      invokes, dispatched):
    # GIVEN a backfill of the outage
    sid = outage(chalice_client, moto_stage, names, clock)
    assert backfill(chalice_client, sid, WINDOW).status_code == 202
    # WHEN its walk runs in an invocation with time for only its first slot
    result = app_module.schedule_target(invokes[0]["event"], Context(remaining_ms=15_000, per_call=5_000))
    # THEN it ran that slot and invoked the target function again with the two slots left
    assert result["outcome"] == "continued" and result["continues_from"] == OUTAGE[1]
    continuation = invokes[1]["event"]
    assert [continuation["scheduled_time"], *continuation["backfill_slots"]] == OUTAGE[1:]
    # AND that invocation runs them, in order: each slot ran once, oldest first
    walk(chalice_client, invokes, 1)
    assert [m["scheduled_time"] for m in dispatched] == OUTAGE


ALERTING = {**HOURLY, "alerts": {"on_missed": True, "on_late": True, "after_failures": 1}}


def test_a_backfilled_slot_is_never_alerted_again(chalice_client, moto_stage, names, clock, invokes):
    # GIVEN an outage the sweep judged: three missed alerts (late runs alert too)
    sid = outage(chalice_client, moto_stage, names, clock, ALERTING)
    sweeper(clock).run()
    missed = [a for a in moto_stage["tap"].drain(names.notifications_topic) if a.get("kind")]
    assert sorted((a["kind"], a["slot"]) for a in missed) == [("missed", slot) for slot in OUTAGE]
    # WHEN the slots are backfilled (long after their deadline) and the sweep runs again
    assert backfill(chalice_client, sid, WINDOW).status_code == 202
    walk(chalice_client, invokes)
    clock.set("2026-03-02T07:05:00Z")  # when the watch is next due
    sweeper(clock).run()
    # THEN no alert is raised for them (not late, not missed again): only the new slot's
    assert [(a["kind"], a["slot"]) for a in moto_stage["tap"].drain(names.notifications_topic) if a.get("kind")] == [
        ("missed", "2026-03-02T07:00:00Z")]


def test_a_failed_backfill_of_an_alerted_slot_is_not_alerted_again(chalice_client, moto_stage, names, clock,
                                                                    invokes, faults):
    # GIVEN an outage the sweep judged (three missed alerts), then a backfill of its last
    # slot (within the hour the sweep looks back for late runs) whose run fails
    sid = outage(chalice_client, moto_stage, names, clock, ALERTING)
    sweeper(clock).run()
    assert len([a for a in moto_stage["tap"].drain(names.notifications_topic) if a.get("kind")]) == 3
    last = {"from": "2026-03-02T04:30:00Z", "to": WINDOW["to"]}
    assert [i["slot"] for i in backfill(chalice_client, sid, last).json_body["items"]] == OUTAGE[2:]
    faults.fail("sns", "Publish", "InternalError", 1_000, "SNS is down")
    with pytest.raises(Exception):  # noqa: B017 - the invocation fails
        walk(chalice_client, invokes)
    faults.clear()
    # WHEN the sweep runs again, when the watch is next due
    clock.set("2026-03-02T07:05:00Z")
    sweeper(clock).run()
    # THEN the slot is not alerted a second time (its backfill's outcome is in the timeline):
    # only the new slot is
    assert [(a["kind"], a["slot"]) for a in moto_stage["tap"].drain(names.notifications_topic) if a.get("kind")] == [
        ("missed", "2026-03-02T07:00:00Z")]
    [entry] = [e for e in timeline_of(clock, sid, WINDOW["from"], WINDOW["to"])["items"] if e["time"] == OUTAGE[2]]
    assert entry["result"] == "failed" and entry["note"].startswith("backfilled at")


def test_slots_backfilled_before_the_sweep_judged_them_are_not_alerted(chalice_client, moto_stage, names, clock,
                                                                        invokes):
    # GIVEN an outage backfilled before any sweep ran
    sid = outage(chalice_client, moto_stage, names, clock, ALERTING)
    assert backfill(chalice_client, sid, WINDOW).status_code == 202
    walk(chalice_client, invokes)
    # WHEN the sweep runs
    report = sweeper(clock).run()
    # THEN it judges them succeeded: no alert
    assert report.slots >= 3
    assert [a for a in moto_stage["tap"].drain(names.notifications_topic) if a.get("kind")] == []


@pytest.mark.parametrize(("body", "field", "rule"), [
    ({"from": "2026-03-02T05:00:00Z", "to": "2026-03-02T05:00:00Z"}, "to", "must be after from"),
    ({"from": "2026-03-02T05:00:00Z", "to": "2026-03-02T04:00:00Z"}, "to", "must be after from"),
    ({"from": "2026-01-01T00:00:00Z", "to": "2026-03-02T04:00:00Z"}, "to", "must be at most 31 days after from"),
    ({"from": "2026-03-02T05:00:00Z", "to": "2026-03-02T07:00:00Z"}, "to", "must not be in the future"),
    ({"from": "yesterday", "to": "2026-03-02T05:00:00Z"}, "from", "valid datetime"),
    ({"to": "2026-03-02T05:00:00Z"}, "from", "required field is missing"),
    ({**WINDOW, "slots": "some"}, "slots", "'missed', 'failed' or 'all'"),
    ({**WINDOW, "dry_run": "maybe"}, "dry_run", "valid boolean"),
    ({**WINDOW, "limit": 3}, "limit", "unknown field"),
    ({"from": "1960-01-01T00:00:00Z", "to": "2026-03-02T05:00:00Z"}, "from", "between 1970-01-01 and 2199-12-31"),
])
def test_bad_input_is_a_400_naming_the_field_and_the_rule(chalice_client, moto_stage, names, clock, invokes,
                                                          body, field, rule):
    sid = outage(chalice_client, moto_stage, names, clock)
    response = backfill(chalice_client, sid, body)
    assert response.status_code == 400, response.json_body
    assert any(e["field"] == field and rule in e["message"] for e in response.json_body["Errors"]), response.json_body
    assert invokes == []


def test_a_window_of_more_than_1000_slots_is_refused_naming_where_to_end_it(chalice_client, moto_stage, names, clock,
                                                                           invokes):
    # GIVEN a schedule every minute, two days old
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-01T00:00:30Z",
                 {**HOURLY, "schedule_expression": "rate(1 minute)"})
    clock.set("2026-03-03T00:00:00Z")
    # WHEN a day (1,440 slots) is backfilled
    response = backfill(chalice_client, sid, {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"})
    # THEN 400 on to, naming the 1,000th slot; 1,000 slots are fine
    assert response.status_code == 400
    [error] = response.json_body["Errors"]
    assert error["field"] == "to" and "end it at 2026-03-01T16:40:30Z" in error["message"]
    fits = backfill(chalice_client, sid, {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T16:40:30Z", "dry_run": True})
    assert fits.status_code == 200 and len(fits.json_body["items"]) == 1000
    assert invokes == []


def test_deleted_unknown_and_someone_elses_schedules(chalice_client, moto_stage, names, clock, invokes):
    sid = outage(chalice_client, moto_stage, names, clock)
    assert backfill(chalice_client, sid, WINDOW, principal="mallory").status_code == 404
    assert backfill(chalice_client, sid, {**WINDOW, "dry_run": True}, principal="carol").status_code == 200
    assert backfill(chalice_client, "00000000-0000-4000-8000-000000000000", WINDOW).status_code == 404
    change(chalice_client, moto_stage, names, clock, "2026-03-02T06:31:00Z", "delete", f"/api/schedules/{sid}")
    deleted = backfill(chalice_client, sid, WINDOW)
    assert deleted.status_code == 409 and "deleted" in deleted.json_body["Message"]
    assert invokes == []


def test_a_paused_schedule_backfills_the_slots_it_missed_while_enabled(chalice_client, moto_stage, names, clock,
                                                                       invokes, dispatched):
    # GIVEN the outage, then the schedule paused
    sid = outage(chalice_client, moto_stage, names, clock)
    change(chalice_client, moto_stage, names, clock, "2026-03-02T06:31:00Z", "post", f"/api/schedules/{sid}/pause")
    # WHEN it is backfilled
    response = backfill(chalice_client, sid, WINDOW)
    # THEN the missed slots run (a backfill is asked for by hand, like a run-now)
    assert [i["slot"] for i in response.json_body["items"]] == OUTAGE
    walk(chalice_client, invokes)
    assert [m["scheduled_time"] for m in dispatched] == OUTAGE


def test_without_a_target_function_a_backfill_is_501_and_its_dry_run_works(chalice_client, moto_stage, names, clock):
    # GIVEN the stage has no target function (make local on embedded moto)
    sid = outage(chalice_client, moto_stage, names, clock)
    # THEN the dry run answers, and the backfill says why it cannot run here
    assert backfill(chalice_client, sid, {**WINDOW, "dry_run": True}).status_code == 200
    response = backfill(chalice_client, sid, WINDOW)
    assert response.status_code == 501
    assert response.json_body["Code"] == "NotAvailableHere"
    assert "backfill needs this stage's target function" in response.json_body["Message"]
    # AND nothing is remembered: the history holds no backfill
    history = chalice_client.http.get(f"/api/schedules/{sid}/history").json_body["items"]
    assert "backfill" not in [h["action"] for h in history]


def test_a_throttled_invoke_is_a_503_that_leaves_nothing_and_the_retry_starts_the_slots(
        chalice_client, moto_stage, names, clock, invokes, faults):
    sid = outage(chalice_client, moto_stage, names, clock)
    faults.fail("lambda", "Invoke", "TooManyRequestsException", 1_000, "Rate exceeded")
    first = backfill(chalice_client, sid, WINDOW)
    faults.clear()
    assert first.status_code == 503
    history = chalice_client.http.get(f"/api/schedules/{sid}/history").json_body["items"]
    assert "backfill" not in [h["action"] for h in history]
    second = backfill(chalice_client, sid, WINDOW)
    assert second.status_code == 202 and second.json_body["counts"]["started"] == 3


@pytest.mark.parametrize(("event", "rule"), [
    ({"trigger": "backfill", "backfill_slots": "03:00"}, "must be a list"),
    ({"trigger": "backfill", "backfill_slots": ["not a time"]}, "ISO 8601"),
    ({"trigger": "scheduled", "backfill_slots": []}, "only a backfill"),
    ({"trigger": "backfill", "backfill_slots": ["2026-03-02T04:00:00Z"] * 1000}, "at most 999"),
])
def test_a_walk_that_cannot_be_one_is_rejected_not_run(chalice_client, moto_stage, names, clock, dispatched,
                                                       event, rule):
    sid = outage(chalice_client, moto_stage, names, clock)
    answer = chalice_client.lambda_.invoke("schedule_target", {
        "schedule_id": sid, "scheduled_time": OUTAGE[0], **event}).payload
    assert answer["outcome"] == "rejected" and rule in answer["reason"]
    assert dispatched == []


TIMES = st.one_of(
    st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2230, 1, 1)).map(lambda moment: moment.isoformat()),
    st.sampled_from(["2026-03-02T03:00:00Z", "2026-03-02T06:30:00Z", "2026-03-02T06:30:00+14:00", "2026-03-02",
                     "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "now", "", "2026-02-30T00:00:00Z"]),
    st.integers(), st.none(), st.booleans(), st.lists(st.integers(), max_size=2),
)
BODIES = st.fixed_dictionaries({}, optional={
    "from": TIMES, "to": TIMES,
    "slots": st.one_of(st.sampled_from(["missed", "failed", "all", "MISSED", ""]), st.integers(), st.none()),
    "dry_run": st.one_of(st.booleans(), st.sampled_from(["true", "no", 1, 0, None])),
    "extra": st.integers(),
})


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES)
def test_no_input_is_a_5xx(chalice_client, moto_stage, names, clock, invokes, body):
    # GIVEN the outage's schedule (made once), WHEN any body is sent, THEN never a 5xx
    global _FUZZED
    if _FUZZED is None or _FUZZED[0] is not moto_stage:
        _FUZZED = (moto_stage, outage(chalice_client, moto_stage, names, clock))
    clock.set("2026-03-02T06:30:00Z")
    response = backfill(chalice_client, _FUZZED[1], body)
    assert response.status_code in (200, 202, 400), (body, response.json_body)


_FUZZED: tuple | None = None
