"""List items say how each schedule is doing from the record alone, and the overview counts
what the listing holds (moto, through the HTTP routes)."""

from __future__ import annotations

from collections import Counter

from chalicelib.models import ExecutionOutcome
from tests.aws_calls import AwsCalls
from tests.support import deliver_commands
from tests.timeline_support import HOURLY, change, create, fire, record_run

ALICE = {"X-Created-By": "alice"}
BOB = {"X-Created-By": "bob"}


def listed(client, headers=None, **params) -> dict[str, dict]:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    response = client.http.get(f"/api/schedules?{query}", headers=headers or {})
    assert response.status_code == 200, response.json_body
    return {item["name"]: item for item in response.json_body["items"]}


def test_a_list_item_carries_health_next_fire_and_last_run(chalice_client, moto_stage, names, clock):
    # GIVEN an hourly schedule created at 00:30 whose 01:00 run succeeded
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    fire(chalice_client, clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:00:04Z")
    # WHEN the list is read at 01:30
    clock.set("2026-03-02T01:30:00Z")
    item = listed(chalice_client)["hourly-report"]
    # THEN the item says it is healthy, when it fires next and how its last run went
    assert item["health"] == "ok"
    assert item["next_fire_time"] == "2026-03-02T02:00:00Z"
    assert item["last_execution"] == {
        "execution_id": "exec-2026-03-02T01:00:00Z", "scheduled_time": "2026-03-02T01:00:00Z", "outcome": "succeeded",
    }
    # WHEN the 02:00 slot passes its deadline (slot + grace) with no run
    clock.set("2026-03-02T02:10:00Z")
    # THEN the item says runs are missing
    assert listed(chalice_client)["hourly-report"]["health"] == "missing"
    # WHEN the 03:00 run fails
    record_run(clock, sid, "2026-03-02T03:00:00Z", "2026-03-02T03:00:02Z", ExecutionOutcome.FAILED)
    # THEN it is failing
    assert listed(chalice_client)["hourly-report"]["health"] == "failing"
    # WHEN the 04:00 run succeeds on time THEN it is healthy again at once
    fire(chalice_client, clock, sid, "2026-03-02T04:00:00Z", "2026-03-02T04:00:01Z")
    assert listed(chalice_client)["hourly-report"]["health"] == "ok"
    # WHEN it is run now at 04:20 THEN it stays healthy (a run-now is a run, not a miss)
    fire(chalice_client, clock, sid, "2026-03-02T04:20:00Z", "2026-03-02T04:20:00Z",
         execution_id="manual-4f2a", trigger="manual")
    assert listed(chalice_client)["hourly-report"]["health"] == "ok"
    # WHEN it is paused THEN its health says paused, with no next fire
    change(chalice_client, moto_stage, names, clock, "2026-03-02T04:30:00Z", "post", f"/api/schedules/{sid}/pause")
    clock.set("2026-03-02T07:00:00Z")
    item = listed(chalice_client)["hourly-report"]
    assert (item["health"], item["next_fire_time"]) == ("paused", None)
    # WHEN it is resumed at 07:00 THEN the slots it was paused through are not missing
    change(chalice_client, moto_stage, names, clock, "2026-03-02T07:00:30Z", "post", f"/api/schedules/{sid}/resume")
    clock.set("2026-03-02T07:30:00Z")
    assert listed(chalice_client)["hourly-report"]["health"] == "ok"


def test_a_run_reported_at_its_floored_minute_covers_its_slot(chalice_client, moto_stage, names, clock):
    # GIVEN a rate(1 hour) schedule created at 00:30:37: AWS's slots are hh:30:37
    body = {**HOURLY, "name": "rate-hourly", "schedule_expression": "rate(1 hour)"}
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:37Z", body)
    # AND an emulator that reports the 01:30:37 slot floored to 01:30:00
    fire(chalice_client, clock, sid, "2026-03-02T01:30:00Z", "2026-03-02T01:30:45Z")
    # WHEN the list is read before the next slot's deadline
    clock.set("2026-03-02T02:00:00Z")
    # THEN the schedule is healthy
    assert listed(chalice_client)["rate-hourly"]["health"] == "ok"


def test_a_rate_schedule_is_not_missing_before_its_first_slot(chalice_client, moto_stage, names, clock):
    # GIVEN a rate(5 minutes) schedule created at 00:30:37.65 (its first slot: 00:35:37)
    body = {**HOURLY, "name": "five-minutely", "schedule_expression": "rate(5 minutes)"}
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:37.650000Z", body)
    # WHEN the list is read three minutes later
    clock.set("2026-03-02T00:33:40Z")
    item = listed(chalice_client)["five-minutely"]
    # THEN nothing is missing yet, and its first slot is next
    assert (item["health"], item["next_fire_time"]) == ("ok", "2026-03-02T00:35:37Z")


def test_the_list_page_reads_one_item_per_item_listed(chalice_client, moto_stage, names, clock):
    # GIVEN 12 of alice's schedules, with runs
    for index in range(12):
        sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z",
                     {**HOURLY, "name": f"s{index}"}, headers=ALICE)
        fire(chalice_client, clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:00:04Z")
    clock.set("2026-03-02T01:30:00Z")
    calls = AwsCalls().install()
    # WHEN she lists them, health and next fire included
    items = listed(chalice_client, ALICE, limit=50)
    # THEN one query read them, at most 1.2 items per item listed, and nothing else was read
    assert len(items) == 12 and {item["health"] for item in items.values()} == {"ok"}
    assert calls.calls["dynamodb:Query"] == 1
    assert calls.items_read <= 1.2 * 12
    assert calls.calls["dynamodb:GetItem"] == 0


def test_the_overview_counts_what_the_list_holds(chalice_client, moto_stage, names, clock):
    # GIVEN alice's schedules: two healthy, one failing, one missing, one paused; and one of bob's
    ids = {}
    for name in ("healthy-a", "healthy-b", "failing", "missing", "paused"):
        ids[name] = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z",
                           {**HOURLY, "name": name}, headers=ALICE)
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", {**HOURLY, "name": "bobs"}, headers=BOB)
    for name in ("healthy-a", "healthy-b", "paused"):
        fire(chalice_client, clock, ids[name], "2026-03-02T01:00:00Z", "2026-03-02T01:00:02Z")
    record_run(clock, ids["failing"], "2026-03-02T01:00:00Z", "2026-03-02T01:00:02Z", ExecutionOutcome.FAILED)
    clock.set("2026-03-02T01:10:00Z")
    assert chalice_client.http.post(f"/api/schedules/{ids['paused']}/pause", headers=ALICE).status_code == 202
    deliver_commands(chalice_client, moto_stage, names)
    clock.set("2026-03-02T01:30:00Z")
    # WHEN alice asks for her overview
    response = chalice_client.http.get("/api/overview", headers=ALICE)
    # THEN it counts her schedules by status and health as her list shows them
    assert response.status_code == 200, response.json_body
    body = response.json_body
    items = listed(chalice_client, ALICE, limit=100).values()
    assert body["total"] == len(items) == 5 and body["complete"] is True
    assert body["by_status"] == dict(Counter(item["status"] for item in items)) == {"active": 4, "paused": 1}
    assert body["by_health"] == dict(Counter(item["health"] for item in items)) == {
        "ok": 2, "failing": 1, "missing": 1, "paused": 1,
    }
    # AND it names the ones needing attention, and the next fires, soonest first
    assert [(item["name"], item["health"]) for item in body["attention"]] == [("failing", "failing"), ("missing", "missing")]
    assert body["attention_total"] == 2
    assert [item["next_fire_time"] for item in body["next_fires"]] == ["2026-03-02T02:00:00Z"] * 4
    assert "bobs" not in {item["name"] for item in body["next_fires"] + body["attention"]}


def test_the_overview_takes_no_parameters(chalice_client, moto_stage):
    response = chalice_client.http.get("/api/overview?status=active")
    assert response.status_code == 400
    assert "status" in response.json_body["Message"]
