"""The timeline: every expected slot, planned against the runs recorded for it (moto)."""

from __future__ import annotations

import pytest

from chalicelib.models import ExecutionOutcome
from tests.timeline_support import (
    HOURLY,
    change,
    create,
    fire,
    record_run,
    results,
    timeline_of,
)


def test_every_slot_result_from_plan_runs_and_history(chalice_client, moto_stage, names, clock):
    # GIVEN an hourly schedule created at 00:30
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    # AND runs: 01:00 on time, 02:00 failed, 03:00 started 5 minutes late, 04:00 none,
    # paused from 04:30 to 05:30, 06:00 and 07:00 on time, 08:00 still running
    fire(chalice_client, clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:00:04Z")
    record_run(clock, sid, "2026-03-02T02:00:00Z", "2026-03-02T02:00:03Z", ExecutionOutcome.FAILED)
    fire(chalice_client, clock, sid, "2026-03-02T03:00:00Z", "2026-03-02T03:05:00Z")
    change(chalice_client, moto_stage, names, clock, "2026-03-02T04:30:00Z", "post", f"/api/schedules/{sid}/pause")
    change(chalice_client, moto_stage, names, clock, "2026-03-02T05:30:00Z", "post", f"/api/schedules/{sid}/resume")
    fire(chalice_client, clock, sid, "2026-03-02T06:00:00Z", "2026-03-02T06:00:02Z")
    fire(chalice_client, clock, sid, "2026-03-02T06:30:00Z", "2026-03-02T06:30:00Z",
         execution_id="manual-7d3f", trigger="manual")
    fire(chalice_client, clock, sid, "2026-03-02T07:00:00Z", "2026-03-02T07:00:01Z")
    record_run(clock, sid, "2026-03-02T08:00:00Z", "2026-03-02T08:00:02Z", ExecutionOutcome.STARTED)
    # WHEN the timeline is read at 08:05 with the default range (24 h back, 24 h ahead)
    clock.set("2026-03-02T08:05:00Z")
    body = timeline_of(clock, sid)
    # THEN each slot has its one result, and nothing before the schedule existed is a slot
    got = results(body)
    assert min(got) == "2026-03-02T01:00:00Z"
    assert [got[f"2026-03-02T0{h}:00:00Z"] for h in range(1, 10)] == [
        "succeeded", "failed", "late", "missed", "skipped", "succeeded", "succeeded", "running", "upcoming",
    ]
    assert body["from"] == "2026-03-01T08:05:00Z" and body["to"] == "2026-03-03T08:05:00Z"
    assert len(got) == 32  # 01:00 to 08:00 tomorrow
    # AND the manual run is an entry of its own
    [manual] = [e for e in body["items"] if e["trigger"] == "manual"]
    assert manual["time"] == "2026-03-02T06:30:00Z"
    assert (manual["result"], manual["execution"]["execution_id"]) == ("succeeded", "manual-7d3f")
    # AND a failed slot names its error
    [failed] = [e for e in body["items"] if e["time"] == "2026-03-02T02:00:00Z"]
    assert failed["execution"]["error"] == "the target answered 500"


def test_the_record_shows_last_execution_next_fire_time_and_health(chalice_client, moto_stage, names, clock):
    # GIVEN an hourly schedule whose 01:00 run succeeded and whose 02:00 run failed
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    fire(chalice_client, clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:00:04Z")
    record_run(clock, sid, "2026-03-02T02:00:00Z", "2026-03-02T02:00:03Z", ExecutionOutcome.FAILED)
    # WHEN the record is read at 02:30
    clock.set("2026-03-02T02:30:00Z")
    record = chalice_client.http.get(f"/api/schedules/{sid}").json_body
    # THEN it shows the last run, the next slot and that it is failing
    assert record["last_execution"]["outcome"] == "failed"
    assert record["last_execution"]["scheduled_time"] == "2026-03-02T02:00:00Z"
    assert record["next_fire_time"] == "2026-03-02T03:00:00Z"
    assert record["health"] == "failing"
    # WHEN the 03:00 slot passes without a run
    clock.set("2026-03-02T03:10:00Z")
    # THEN the record says runs are missing
    assert chalice_client.http.get(f"/api/schedules/{sid}").json_body["health"] == "missing"
    # WHEN the next runs succeed on time (the failure and the miss leave the last 10 slots)
    for hour in range(4, 14):
        slot = f"2026-03-02T{hour:02d}:00:00Z"
        fire(chalice_client, clock, sid, slot, slot.replace(":00Z", ":03Z"))
    clock.set("2026-03-02T13:30:00Z")
    # THEN it is healthy again
    assert chalice_client.http.get(f"/api/schedules/{sid}").json_body["health"] == "ok"


def test_a_spring_forward_slot_aws_skips_is_not_a_slot(chalice_client, moto_stage, names, clock):
    # GIVEN a daily 02:30 New York schedule (02:30 does not exist on 2026-03-08)
    body = {**HOURLY, "schedule_expression": "cron(30 2 * * ? *)", "timezone": "America/New_York"}
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-01T00:30:00Z", body)
    # AND its runs on the days around the change
    fire(chalice_client, clock, sid, "2026-03-07T07:30:00Z", "2026-03-07T07:30:02Z")
    fire(chalice_client, clock, sid, "2026-03-09T06:30:00Z", "2026-03-09T06:30:02Z")
    # WHEN the timeline of those three days is read
    clock.set("2026-03-10T12:00:00Z")
    got = results(timeline_of(clock, sid, "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z"))
    # THEN the skipped day has no slot (nothing missed), the others ran
    assert got == {"2026-03-07T07:30:00Z": "succeeded", "2026-03-09T06:30:00Z": "succeeded"}


def test_a_fall_back_slot_fires_once(chalice_client, moto_stage, names, clock):
    # GIVEN a daily 01:30 New York schedule (01:30 happens twice on 2026-11-01)
    body = {**HOURLY, "schedule_expression": "cron(30 1 * * ? *)", "timezone": "America/New_York"}
    sid = create(chalice_client, moto_stage, names, clock, "2026-10-30T00:30:00Z", body)
    fire(chalice_client, clock, sid, "2026-11-01T05:30:00Z", "2026-11-01T05:30:02Z")
    # WHEN the timeline of the change day is read
    clock.set("2026-11-02T12:00:00Z")
    got = results(timeline_of(clock, sid, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"))
    # THEN the day has one slot, at the first 01:30 (EDT), and it ran; the second 01:30 is
    # not a missed slot
    assert got == {"2026-11-01T05:30:00Z": "succeeded"}


def test_slots_while_paused_are_skipped_and_after_delete_are_gone(chalice_client, moto_stage, names, clock):
    # GIVEN an hourly schedule paused from 02:10 to 05:10 and deleted at 07:10, no runs
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    change(chalice_client, moto_stage, names, clock, "2026-03-02T02:10:00Z", "post", f"/api/schedules/{sid}/pause")
    change(chalice_client, moto_stage, names, clock, "2026-03-02T05:10:00Z", "post", f"/api/schedules/{sid}/resume")
    change(chalice_client, moto_stage, names, clock, "2026-03-02T07:10:00Z", "delete", f"/api/schedules/{sid}")
    # WHEN the timeline is read later that day
    clock.set("2026-03-02T12:00:00Z")
    got = results(timeline_of(clock, sid, "2026-03-02T00:00:00Z", "2026-03-02T12:00:00Z"))
    # THEN the paused hours are skipped, the others missed, and after the delete no slot
    assert got == {
        "2026-03-02T01:00:00Z": "missed", "2026-03-02T02:00:00Z": "missed",
        "2026-03-02T03:00:00Z": "skipped", "2026-03-02T04:00:00Z": "skipped",
        "2026-03-02T05:00:00Z": "skipped", "2026-03-02T06:00:00Z": "missed",
        "2026-03-02T07:00:00Z": "missed",
    }


def test_a_flexible_window_moves_the_deadline(chalice_client, moto_stage, names, clock):
    # GIVEN an hourly schedule with a 15-minute flexible window
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", {**HOURLY, "flexible_window_minutes": 15})
    # AND the 01:00 run started at 01:14 (inside the window), the 02:00 run at 02:20
    fire(chalice_client, clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:14:00Z")
    fire(chalice_client, clock, sid, "2026-03-02T02:00:00Z", "2026-03-02T02:20:00Z")
    # WHEN the timeline is read at 03:10 (03:00 is still inside window + grace)
    clock.set("2026-03-02T03:10:00Z")
    got = results(timeline_of(clock, sid, "2026-03-02T00:00:00Z", "2026-03-02T03:30:00Z"))
    # THEN on time, late, and not yet missed
    assert got == {
        "2026-03-02T01:00:00Z": "succeeded", "2026-03-02T02:00:00Z": "late", "2026-03-02T03:00:00Z": "upcoming",
    }


def test_long_ranges_page_by_1000_slots_with_a_cursor(chalice_client, moto_stage, names, clock):
    # GIVEN a schedule firing every minute (created before the day: its creation second is no slot)
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-01T23:59:30Z",
                 {**HOURLY, "schedule_expression": "cron(* * * * ? *)"})
    clock.set("2026-03-02T00:00:30Z")
    # WHEN a day of it is read over HTTP
    first = chalice_client.http.get(
        f"/api/schedules/{sid}/timeline?from=2026-03-02T00:00:00Z&to=2026-03-02T23:59:59Z").json_body
    # THEN the first page has 1,000 slots and a cursor; following it reads the rest
    assert len(first["items"]) == 1000 and first["next_cursor"]
    second = chalice_client.http.get(f"/api/schedules/{sid}/timeline?cursor={first['next_cursor']}").json_body
    times = [e["time"] for e in first["items"] + second["items"]]
    assert len(times) == len(set(times)) == 1440
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2026-03-01T00:00:00Z&to=2026-04-02T00:00:00Z", "to"),
        ("from=yesterday", "from"),
        ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "to"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("since=2026-03-01T00:00:00Z", "query"),
    ],
)
def test_bad_timeline_queries_are_400s_naming_the_field(chalice_client, moto_stage, names, clock, query, field):
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:00:00Z", HOURLY)
    response = chalice_client.http.get(f"/api/schedules/{sid}/timeline?{query}")
    assert response.status_code == 400
    assert response.json_body["Message"].startswith(f"{field}:")


def test_the_timeline_of_an_unknown_schedule_is_404(chalice_client):
    response = chalice_client.http.get("/api/schedules/00000000-0000-4000-8000-000000000000/timeline")
    assert response.status_code == 404


def test_a_paused_schedules_health_says_paused_never_missing(chalice_client, moto_stage, names, clock):
    # GIVEN an hourly schedule paused at 00:40, whose slots pass while it is paused
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    change(chalice_client, moto_stage, names, clock, "2026-03-02T00:40:00Z", "post", f"/api/schedules/{sid}/pause")
    clock.set("2026-03-02T05:00:00Z")
    # WHEN its page is read
    body = chalice_client.http.get(f"/api/schedules/{sid}").json_body
    # THEN its health says paused, and its slots are skipped, not missed
    assert body["health"] == "paused"
    assert set(results(timeline_of(clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T04:00:00Z")).values()) == {"skipped"}
