"""Bulk actions (``POST /api/schedules/bulk``): a selector, a dry run that lists exactly what
would change, a report per schedule, each change the one-schedule route's own write."""

from __future__ import annotations

import json

import pytest

from chalicelib.models import ScheduleStatus
from tests.aws_calls import AwsCalls
from tests.stage import put_back, stage_contents
from tests.support import JSON, TEE_TIMES, deliver_commands, post
from tests.test_listing_cost import store
from tests.timeline_support import create_target_function

ALICE = {"X-Created-By": "alice"}


def bulk(client, body, headers=ALICE):
    return client.http.post("/api/schedules/bulk", headers={**JSON, **headers}, body=json.dumps(body))


def ok(response):
    assert response.status_code == 200, response.json_body
    return response.json_body


def by_result(report, result):
    return sorted(entry["name"] for entry in report["results"] if entry["result"] == result)


@pytest.fixture
def golf_fleet(chalice_client, moto_stage, names):
    """200 of alice's schedules, 30 of them team=golf (created through the API and applied),
    and 20 team=golf schedules of bob's: made once per module (per process), and put back
    as they were made before each test that asks for them (tests/stage.py)."""
    if _FLEET:
        put_back(_FLEET[0])
        return _FLEET[1]
    golf = _make_golf_fleet(chalice_client, moto_stage, names)
    _FLEET[:] = [stage_contents(), golf]
    return golf


_FLEET: list = []  # the fleet's records and schedules as made, and the golf names


def _make_golf_fleet(chalice_client, moto_stage, names):
    golf = [f"golf-{n:02}" for n in range(30)]
    for name in golf:
        body = {**TEE_TIMES, "name": name, "labels": {"team": "golf"}}
        assert post(chalice_client, "/api/schedules", body, ALICE).status_code == 202
    store(170, statuses=[ScheduleStatus.ACTIVE], labels={n: {"team": "tennis"} for n in range(170)})
    store(20, created_by="bob", start=170, statuses=[ScheduleStatus.ACTIVE], labels={n: {"team": "golf"} for n in range(170, 190)})
    deliver_commands(chalice_client, moto_stage, names)
    return golf


def test_bulk_pause_of_a_label_dry_run_then_real_then_again(chalice_client, moto_stage, names, golf_fleet):
    selector = {"labels": {"team": "golf"}}
    # WHEN alice asks for a dry run of pausing team=golf
    dry = ok(bulk(chalice_client, {"selector": selector, "action": "pause", "dry_run": True}))
    # THEN it lists exactly her 30 golf schedules, and changes nothing
    assert by_result(dry, "planned") == golf_fleet and dry["counts"] == {"planned": 30}
    listed = ok(chalice_client.http.get("/api/schedules?label=team=golf&limit=100", headers=ALICE))["items"]
    assert {item["status"] for item in listed} == {"active"}
    # WHEN she runs it for real
    real = ok(bulk(chalice_client, {"selector": selector, "action": "pause", "reason": "incident 42"}))
    deliver_commands(chalice_client, moto_stage, names)
    # THEN those 30 are paused, each with its history entry
    assert by_result(real, "done") == golf_fleet and real["next_cursor"] is None
    for entry in real["results"]:
        record = ok(chalice_client.http.get(f"/api/schedules/{entry['id']}", headers=ALICE))
        assert record["status"] == "paused"
        history = ok(chalice_client.http.get(f"/api/schedules/{entry['id']}/history", headers=ALICE))["items"]
        assert (history[0]["action"], history[0]["by"], history[0].get("reason")) == ("pause", "alice", "incident 42")
    # AND bob's golf schedules are untouched
    bobs = ok(chalice_client.http.get("/api/schedules?label=team=golf&limit=100", headers={"X-Created-By": "bob"}))["items"]
    assert len(bobs) == 20 and {item["status"] for item in bobs} == {"active"}
    # WHEN she repeats it
    calls = AwsCalls().install()
    again = ok(bulk(chalice_client, {"selector": selector, "action": "pause"}))
    # THEN nothing changes: each is skipped as already paused, and nothing was written
    assert by_result(again, "skipped") == golf_fleet
    assert {entry["reason"] for entry in again["results"]} == {"already paused"}
    assert not {call for call in calls.calls if call.split(":")[1] in {"UpdateItem", "PutItem", "TransactWriteItems", "Publish"}}


def test_a_selection_pages_by_cursor(chalice_client, moto_stage, names, golf_fleet):
    seen, cursor, calls = [], None, 0
    while True:
        report = ok(bulk(chalice_client, {"selector": {"labels": {"team": "golf"}}, "action": "pause",
                                          "dry_run": True, "limit": 12, "cursor": cursor}))
        calls += 1
        assert len(report["results"]) <= 12
        seen += [entry["name"] for entry in report["results"]]
        cursor = report["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == golf_fleet and calls == 3


def test_another_owners_selection_is_for_admins_only(chalice_client, moto_stage, names, golf_fleet, monkeypatch):
    # a non-admin may not name another owner
    response = bulk(chalice_client, {"selector": {"owner": "bob"}, "action": "pause", "dry_run": True})
    assert response.status_code == 400 and response.json_body["Message"].startswith("selector.owner")
    # an admin may, and touches only that owner's schedules
    monkeypatch.setenv("ADMIN_PRINCIPALS", "ops")
    report = ok(bulk(chalice_client, {"selector": {"owner": "bob", "labels": {"team": "golf"}}, "action": "pause",
                                      "dry_run": True}, {"X-Created-By": "ops"}))
    assert by_result(report, "planned") == [f"s{n}" for n in range(170, 190)]


def test_a_schedule_changed_since_it_was_selected_fails_alone(chalice_client, moto_stage, names, golf_fleet, monkeypatch):
    # GIVEN one golf schedule that changes between selection and write
    from chalicelib import bulk as bulk_module

    select = bulk_module.BulkService.select

    def select_then_change(self, *args, **kwargs):
        selection = select(self, *args, **kwargs)
        first = selection.schedules[0]
        chalice_client.http.post(f"/api/schedules/{first.id}/pause", headers=ALICE)
        return selection

    monkeypatch.setattr(bulk_module.BulkService, "select", select_then_change)
    report = ok(bulk(chalice_client, {"selector": {"labels": {"team": "golf"}}, "action": "pause"}))
    # THEN that one fails with a version conflict (it is not written twice); the others are paused
    failed = [entry for entry in report["results"] if entry["result"] == "failed"]
    assert len(failed) == 1 and failed[0]["code"] == "VersionConflict"
    assert report["counts"] == {"failed": 1, "done": 29}


def test_bulk_run_with_an_idempotency_key_runs_each_once(chalice_client, moto_stage, names):
    # GIVEN three golf schedules and the stage's target function
    create_target_function()
    for n in range(3):
        post(chalice_client, "/api/schedules", {**TEE_TIMES, "name": f"r{n}", "labels": {"team": "golf"}}, ALICE)
    deliver_commands(chalice_client, moto_stage, names)
    body = {"selector": {"labels": {"team": "golf"}}, "action": "run"}
    # WHEN the same bulk run is sent twice with one Idempotency-Key
    first = ok(bulk(chalice_client, body, {**ALICE, "Idempotency-Key": "k1"}))
    second = ok(bulk(chalice_client, body, {**ALICE, "Idempotency-Key": "k1"}))
    # THEN each schedule ran once: the second call answers the first call's runs
    assert first["counts"] == {"done": 3}
    for entry in first["results"]:
        executions = ok(chalice_client.http.get(f"/api/schedules/{entry['id']}/history", headers=ALICE))["items"]
        assert [item["action"] for item in executions].count("run") == 1
    assert sorted(e["execution_id"] for e in first["results"]) == sorted(e["execution_id"] for e in second["results"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"selector": {}, "action": "pause"}, "selector"),
        ({"selector": {"labels": {"team": "golf"}}, "action": "explode"}, "action"),
        ({"selector": {"labels": {"bad key": "x"}}, "action": "pause"}, "selector.labels.bad key"),
        ({"selector": {"status": "active"}, "action": "pause", "limit": 1001}, "limit"),
    ],
)
def test_a_bad_bulk_request_is_a_400_naming_the_field(chalice_client, moto_stage, body, field):
    response = bulk(chalice_client, body)
    assert response.status_code == 400
    assert response.json_body["Message"].startswith(field), response.json_body


def test_a_selection_by_ids_touches_exactly_those_and_only_the_callers_own(chalice_client, moto_stage, names, golf_fleet):
    # GIVEN three of alice's golf schedules and one of bob's, named by id
    mine = ok(chalice_client.http.get("/api/schedules?label=team=golf&limit=3", headers=ALICE))["items"]
    bobs = ok(chalice_client.http.get("/api/schedules?limit=1", headers={"X-Created-By": "bob"}))["items"]
    ids = [item["id"] for item in mine] + [bobs[0]["id"]]
    # WHEN alice asks for a dry run, then the real pause, of those ids
    dry = ok(bulk(chalice_client, {"selector": {"ids": ids}, "action": "pause", "dry_run": True}))
    real = ok(bulk(chalice_client, {"selector": {"ids": ids}, "action": "pause"}))
    deliver_commands(chalice_client, moto_stage, names)
    # THEN both list exactly her three, in the order given; bob's is as absent as on its own route
    assert [entry["id"] for entry in dry["results"]] == ids[:3] and dry["counts"] == {"planned": 3}
    assert [entry["id"] for entry in real["results"]] == ids[:3] and real["counts"] == {"done": 3}
    for item in mine:
        assert ok(chalice_client.http.get(f"/api/schedules/{item['id']}", headers=ALICE))["status"] == "paused"
    assert ok(chalice_client.http.get(f"/api/schedules/{bobs[0]['id']}", headers={"X-Created-By": "bob"}))["status"] == "active"
    # AND the selector's other fields narrow the ids: a status that none of them has picks none
    none = ok(bulk(chalice_client, {"selector": {"ids": ids, "status": "active"}, "action": "pause", "dry_run": True}))
    assert none["results"] == []


@pytest.mark.parametrize(
    ("selector", "extra", "field"),
    [
        ({"ids": []}, {}, "selector.ids"),
        ({"ids": ["not-an-id"]}, {}, "selector.ids.0"),
        ({"ids": ["0b0c5b8e-1111-4222-8333-444455556666"] * 2}, {}, "selector.ids"),
        ({"ids": [f"0b0c5b8e-1111-4222-8333-{n:012}" for n in range(1001)]}, {}, "selector.ids"),
        ({"ids": ["0b0c5b8e-1111-4222-8333-444455556666"]}, {"cursor": "abc"}, "cursor"),
    ],
)
def test_a_bad_ids_selector_is_a_400_naming_the_field(chalice_client, moto_stage, selector, extra, field):
    response = bulk(chalice_client, {"selector": selector, "action": "pause", **extra})
    assert response.status_code == 400
    assert response.json_body["Message"].startswith(f"{field}:"), response.json_body
