"""The alert sweep: one alert per slot and condition, failures, automatic pause, and a cost
that does not grow with healthy schedules (moto)."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from chalicelib import clients
from chalicelib.models import ExecutionOutcome, iso
from tests.timeline_support import (
    HOURLY,
    create,
    fire,
    record_run,
    results,
    sweeper,
    timeline_of,
)


def alerts(moto_stage, names):
    return moto_stage["tap"].drain(names.notifications_topic)


def test_a_missed_slot_alerts_once_however_often_the_sweep_runs(chalice_client, moto_stage, names, clock):
    # GIVEN an hourly schedule created at 00:30 whose 01:00 run never came
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    # WHEN the sweep runs before the deadline (01:00 + 2 min grace), then after it, twice
    clock.set("2026-03-02T01:01:00Z")
    assert sweeper(clock).run().alerts == []
    clock.set("2026-03-02T01:03:00Z")
    sweeper(clock).run()
    sweeper(clock).run()
    clock.set("2026-03-02T01:04:00Z")
    sweeper(clock).run()
    # THEN one alert, in the documented shape
    [alert] = alerts(moto_stage, names)
    assert alert == {
        "kind": "missed",
        "schedule_id": sid,
        "name": "hourly-report",
        "slot": "2026-03-02T01:00:00Z",
        "result": "missed",
        "trigger": "scheduled",
        "reason": "no run started by the slot's deadline",
        "detected_at": "2026-03-02T01:03:00Z",
        "links": {
            "schedule": f"/api/schedules/{sid}",
            "timeline": f"/api/schedules/{sid}/timeline?from=2026-03-02T00:00:00Z&to=2026-03-02T02:00:00Z",
            "executions": f"/api/schedules/{sid}/executions",
            "history": f"/api/schedules/{sid}/history",
        },
    }
    # AND the timeline agrees
    assert results(timeline_of(clock, sid, "2026-03-02T00:00:00Z", "2026-03-02T01:30:00Z")) == {
        "2026-03-02T01:00:00Z": "missed"
    }


def test_concurrent_sweeps_alert_once(chalice_client, moto_stage, names, clock):
    # GIVEN a missed slot, and a second sweep that runs while the first is publishing
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    clock.set("2026-03-02T01:03:00Z")
    second: list = []
    sns = clients.client("sns", single_attempt=True)  # the client the sweep publishes on

    def second_sweep(**_):
        if not second:
            second.append(sweeper(clock).run())

    sns.meta.events.register("before-call.sns.Publish", second_sweep)
    # WHEN both sweeps run
    first = sweeper(clock).run()
    sns.meta.events.unregister("before-call.sns.Publish", second_sweep)
    # THEN the second found the alert claimed and published nothing; one alert in all
    assert (len(first.alerts), len(second[0].alerts)) == (1, 0)
    assert len(alerts(moto_stage, names)) == 1
    # AND a later sweep does not repeat it
    clock.advance(minutes=1)
    sweeper(clock).run()
    assert alerts(moto_stage, names) == []


def test_an_alert_whose_publish_failed_is_published_by_the_next_sweep(chalice_client, moto_stage, names, clock, faults):
    # GIVEN a missed slot, and SNS failing during the first sweep
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    clock.set("2026-03-02T01:03:00Z")
    faults.fail("sns", "Publish", "InternalError", 1_000, "try again")
    failed = sweeper(clock).run()
    faults.clear()
    assert failed.alerts == [] and alerts(moto_stage, names) == []
    # WHEN the next sweep runs
    clock.set("2026-03-02T01:04:00Z")
    sweeper(clock).run()
    # THEN the alert is published, once
    assert [a["slot"] for a in alerts(moto_stage, names)] == ["2026-03-02T01:00:00Z"]


def test_a_claim_left_by_a_sweep_that_died_is_published_after_it_expires(chalice_client, moto_stage, names, clock):
    # GIVEN a sweep that claimed the alert and died before publishing
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    clock.set("2026-03-02T01:03:00Z")
    from chalicelib import wiring
    from chalicelib.config import get_settings

    assert wiring.activity(get_settings()).claim_alert(sid, "2026-03-02T01:00:00Z", "missed", clock.now, 60, 35)
    # WHEN sweeps run while the claim holds, and after it expired
    sweeper(clock).run()
    assert alerts(moto_stage, names) == []
    clock.set("2026-03-02T01:05:00Z")
    sweeper(clock).run()
    # THEN the alert is published once
    assert [a["kind"] for a in alerts(moto_stage, names)] == ["missed"]


def test_failed_runs_alert_and_late_runs_alert_when_asked(chalice_client, moto_stage, names, clock):
    # GIVEN a schedule that wants late alerts and alerts from the second failure on
    body = {**HOURLY, "alerts": {"on_missed": False, "on_late": True, "after_failures": 2}}
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", body)
    # AND runs: 01:00 failed, 02:00 failed, 03:00 late (succeeded), 04:00 missed, 05:00 failed
    record_run(clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:00:02Z", ExecutionOutcome.FAILED)
    record_run(clock, sid, "2026-03-02T02:00:00Z", "2026-03-02T02:00:02Z", ExecutionOutcome.FAILED)
    fire(chalice_client, clock, sid, "2026-03-02T03:00:00Z", "2026-03-02T03:10:00Z")
    record_run(clock, sid, "2026-03-02T05:00:00Z", "2026-03-02T05:00:02Z", ExecutionOutcome.FAILED)
    # WHEN the sweep runs at 05:30
    clock.set("2026-03-02T05:30:00Z")
    sweeper(clock).run()
    # THEN: the second failure in a row, the late run; no missed alert (off), and the 05:00
    # failure is the first after a success (below the threshold)
    got = [(a["kind"], a["slot"]) for a in alerts(moto_stage, names)]
    assert got == [("failed", "2026-03-02T02:00:00Z"), ("late", "2026-03-02T03:00:00Z")]


def test_pause_after_failures_pauses_through_the_normal_path_with_the_reason(chalice_client, moto_stage, names, clock):
    # GIVEN a schedule to pause after 2 consecutive failures, whose runs fail
    body = {**HOURLY, "alerts": {"pause_after_failures": 2}}
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", body)
    record_run(clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:00:02Z", ExecutionOutcome.FAILED)
    clock.set("2026-03-02T01:30:00Z")
    sweeper(clock).run()
    assert chalice_client.http.get(f"/api/schedules/{sid}").json_body["status"] == "active"
    record_run(clock, sid, "2026-03-02T02:00:00Z", "2026-03-02T02:00:02Z", ExecutionOutcome.FAILED)
    # WHEN the sweep runs after the second failure (twice), and the command is applied
    clock.set("2026-03-02T02:30:00Z")
    report = sweeper(clock).run()
    sweeper(clock).run()
    from tests.support import deliver_commands, scheduler

    deliver_commands(chalice_client, moto_stage, names)
    # THEN the schedule is paused, in EventBridge too, and its history says why
    assert report.paused == [sid]
    assert chalice_client.http.get(f"/api/schedules/{sid}").json_body["status"] == "paused"
    assert scheduler().get_schedule(Name=sid, GroupName=names.schedule_group)["State"] == "DISABLED"
    [paused, _created] = chalice_client.http.get(f"/api/schedules/{sid}/history").json_body["items"]
    assert (paused["action"], paused["by"]) == ("pause", "rez-agent:alert-sweep")
    assert paused["reason"] == "paused after 2 consecutive failed runs"
    # AND alerts: each failure, and the pause, once
    assert [(a["kind"], a["slot"]) for a in alerts(moto_stage, names)] == [
        ("failed", "2026-03-02T01:00:00Z"), ("failed", "2026-03-02T02:00:00Z"), ("paused", "2026-03-02T02:00:00Z"),
    ]
    # AND the paused schedule's slots are skipped, not missed, and no longer swept
    clock.set("2026-03-02T05:00:00Z")
    assert sweeper(clock).run().examined == 0
    assert alerts(moto_stage, names) == []
    assert results(timeline_of(clock, sid, "2026-03-02T03:00:00Z", "2026-03-02T04:00:00Z")) == {
        "2026-03-02T03:00:00Z": "skipped", "2026-03-02T04:00:00Z": "skipped",
    }


class CallCounter:
    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, event_name: str, **_):
        self.calls.append(event_name.split(".", 1)[1])


@pytest.fixture
def counter(moto_stage):
    clients.reset()
    counting = CallCounter()
    clients._shared_session()._session.register("before-call", counting)
    return counting


def healthy(chalice_client, moto_stage, names, clock, count: int, runs_until: str) -> list[str]:
    """``count`` schedules firing every 5 minutes from 00:00, every run on time."""
    body = {**HOURLY, "schedule_expression": "rate(5 minutes)"}
    ids = [create(chalice_client, moto_stage, names, clock, "2026-03-02T00:00:00Z", {**body, "name": f"s{n}"})
           for n in range(count)]
    end = clock.set(runs_until).now
    for sid in ids:
        slot = clock.set("2026-03-02T00:00:00Z").now
        while slot <= end:
            slot += timedelta(minutes=5)
            record_run(clock, sid, iso(slot), iso(slot + timedelta(seconds=3)), ExecutionOutcome.SUCCEEDED)
    return ids


@pytest.mark.slow  # 12 schedules through an hour of runs, then sweeps: a cost test
def test_the_sweep_reads_only_schedules_with_a_slot_due(chalice_client, moto_stage, names, clock, counter):
    # GIVEN 12 healthy schedules, all runs on time until 01:00
    healthy(chalice_client, moto_stage, names, clock, 12, "2026-03-02T01:00:00Z")
    # WHEN the first sweep examines the hour since they were created (12 slots each)
    clock.set("2026-03-02T01:03:00Z")
    counter.calls.clear()
    first = sweeper(clock).run()
    hour_calls = list(counter.calls)
    # THEN per schedule: its record, one query of its runs, one watermark update; plus one
    # query for all due schedules; whatever the number of slots
    assert first.examined == 12 and first.slots == 12 * 12 and first.alerts == []
    assert len(hour_calls) == 1 + 3 * 12
    # WHEN the next sweep runs a minute later (no slot due anywhere)
    clock.set("2026-03-02T01:04:00Z")
    counter.calls.clear()
    sweeper(clock).run()
    # THEN it costs one query, however many healthy schedules there are
    assert counter.calls == ["dynamodb.Query"]
    # WHEN one slot each is due (01:05, deadline 01:07)
    clock.set("2026-03-02T01:07:30Z")
    counter.calls.clear()
    one = sweeper(clock).run()
    # THEN the same calls per schedule as for twelve slots
    assert one.slots == 12 and len(counter.calls) == len(hour_calls)
    assert sorted(set(counter.calls)) == ["dynamodb.GetItem", "dynamodb.Query", "dynamodb.UpdateItem"]


@pytest.mark.parametrize(
    "alerts_field, message",
    [
        ({"after_failures": 0}, "alerts.after_failures: Input should be greater than or equal to 1"),
        ({"pause_after_failures": "often"}, "alerts.pause_after_failures: Input should be a valid integer"),
        ({"on_missing": True}, "alerts.on_missing: unknown field"),
    ],
)
def test_bad_alert_settings_are_400s_naming_the_field(chalice_client, moto_stage, names, alerts_field, message):
    from tests.support import post, table_items

    response = post(chalice_client, "/api/schedules", {**HOURLY, "alerts": alerts_field})
    assert response.status_code == 400
    assert message in response.json_body["Message"]
    assert table_items(names) == []


def fire_failing(client, clock, faults, sid: str, slot: str, started: str) -> dict:
    """The target function runs for ``slot`` and its target does not exist (it fails)."""
    faults.fail("sns", "Publish", "NotFound", 1, "Topic does not exist")
    try:
        return fire(client, clock, sid, slot, started)
    finally:
        faults.clear()


def test_a_run_that_starts_after_its_slot_was_judged_missed_still_alerts_when_it_fails(
        chalice_client, moto_stage, names, clock, faults):
    # GIVEN an hourly schedule whose 01:00 run had not started by its deadline (alerted missed)
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    clock.set("2026-03-02T01:03:00Z")
    sweeper(clock).run()
    assert [a["kind"] for a in alerts(moto_stage, names)] == ["missed"]
    # AND the run started at 01:10 and failed
    assert fire_failing(chalice_client, clock, faults, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:10:00Z")[
        "outcome"] == "failed"
    # WHEN the schedule is next examined (its 02:00 slot ran on time), twice
    fire(chalice_client, clock, sid, "2026-03-02T02:00:00Z", "2026-03-02T02:00:02Z")
    clock.set("2026-03-02T02:03:00Z")
    sweeper(clock).run()
    sweeper(clock).run()
    # THEN the failure of the 01:00 slot is alerted, once
    [failed] = alerts(moto_stage, names)
    assert (failed["kind"], failed["slot"], failed["result"]) == ("failed", "2026-03-02T01:00:00Z", "failed")
    assert failed["reason"] == "the run started after the slot's deadline and failed"


def test_a_schedule_from_before_the_alert_watch_is_watched_after_one_reconcile(chalice_client, moto_stage, names, clock):
    # GIVEN an active hourly schedule stored as before the alert sweep existed: no watch item
    import boto3

    from chalicelib.activity import watch_id
    from tests.support import REGION

    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    table.delete_item(Key={"id": watch_id(sid)})
    clock.set("2026-03-02T01:03:00Z")
    assert sweeper(clock).run().examined == 0  # unwatched: its missed slots go unnoticed
    # WHEN the periodic reconcile runs, twice
    event = chalice_client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                    detail={}, resources=[])
    first = chalice_client.lambda_.invoke("reconcile", event).payload
    watch = table.get_item(Key={"id": watch_id(sid)})["Item"]
    second = chalice_client.lambda_.invoke("reconcile", event).payload
    # THEN the first watched it, the second found nothing to do and left the watch as it was
    assert first["watched"] == [sid] and second["watched"] == []
    assert table.get_item(Key={"id": watch_id(sid)})["Item"] == watch
    # AND the sweep now checks it: the 02:00 slot, which never ran, is alerted missed
    clock.set("2026-03-02T02:03:00Z")
    assert sweeper(clock).run().examined == 1
    assert [(a["kind"], a["slot"]) for a in alerts(moto_stage, names)] == [("missed", "2026-03-02T02:00:00Z")]


def test_a_failed_run_alerts_as_it_fails_and_the_sweep_pauses_it(chalice_client, moto_stage, names, clock, faults):
    # GIVEN an hourly schedule to pause after two consecutive failures
    body = {**HOURLY, "alerts": {"pause_after_failures": 2}}
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", body)
    # WHEN its 01:00 run fails (its target refuses), on time
    assert fire_failing(chalice_client, clock, faults, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:00:02Z")[
        "outcome"] == "failed"
    # THEN the failed alert is published at once, before any sweep
    [first] = alerts(moto_stage, names)
    assert (first["kind"], first["slot"], first["consecutive_failures"]) == ("failed", "2026-03-02T01:00:00Z", 1)
    assert "Topic does not exist" in first["error"]
    # AND the sweep after its deadline has nothing left to say about it
    clock.set("2026-03-02T01:03:00Z")
    assert sweeper(clock).run().alerts == []
    # WHEN the 02:00 run fails too
    fire_failing(chalice_client, clock, faults, sid, "2026-03-02T02:00:00Z", "2026-03-02T02:00:02Z")
    [second] = alerts(moto_stage, names)
    assert (second["kind"], second["consecutive_failures"]) == ("failed", 2)
    # THEN the sweep pauses it (the target function may not), once, and alerts that
    clock.set("2026-03-02T02:03:00Z")
    report = sweeper(clock).run()
    assert report.paused == [sid]
    assert [(a["kind"], a["slot"]) for a in alerts(moto_stage, names)] == [("paused", "2026-03-02T02:00:00Z")]


def test_a_record_the_sweep_cannot_read_does_not_stop_the_others_alerts(chalice_client, moto_stage, names, clock):
    # GIVEN two hourly schedules whose 01:00 runs never came, one of whose records was damaged
    # out of band (a target type no version of the app knows)
    damaged = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    healthy = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:31:00Z", {**HOURLY, "name": "other"})
    boto3.resource("dynamodb").Table(names.table).update_item(
        Key={"id": damaged}, UpdateExpression="SET #d.#t = :bad",
        ExpressionAttributeNames={"#d": "definition", "#t": "target_type"}, ExpressionAttributeValues={":bad": "carrier_pigeon"},
    )
    # WHEN the sweep runs after the deadlines
    clock.set("2026-03-02T01:05:00Z")
    report = sweeper(clock).run()
    # THEN the readable schedule is alerted, and the damaged one is reported, not fatal
    assert [alert["schedule_id"] for alert in alerts(moto_stage, names)] == [healthy]
    assert report.errors == [f"{damaged}: its record cannot be read"]
