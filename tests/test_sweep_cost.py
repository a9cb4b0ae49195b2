"""What the alert sweep and the command handler cost, in AWS calls, through the functions'
entries on moto: a healthy fleet costs the sweep one query (each on-time run moved its own
watch in the write it already made), a missed slot costs only its own alert, and a create
command is four calls."""

from __future__ import annotations

import pytest

from chalicelib import clients
from chalicelib.config import ENV_LATE_GRACE_SECONDS, get_settings
from tests.fleet import seed_healthy_fleet
from tests.support import deliver_commands, post
from tests.timeline_support import HOURLY, at, fire

FLEET = 200
EVERY_MINUTE = {**HOURLY, "schedule_expression": "rate(1 minute)"}


class Calls:
    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self, event_name: str, **_: object) -> None:
        self.made.append(event_name.split(".", 1)[1])

    def take(self) -> list[str]:
        made, self.made = self.made, []
        return made


@pytest.fixture
def calls(moto_stage):
    clients.reset()
    counting = Calls()
    clients._shared_session()._session.register("before-call", counting)
    return counting


@pytest.fixture
def short_grace(monkeypatch):
    monkeypatch.setenv(ENV_LATE_GRACE_SECONDS, "20")


def sweep(client) -> dict:
    return client.lambda_.invoke("alert_sweep", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])).payload


def alerts(moto_stage, names) -> list[dict]:
    return moto_stage["tap"].drain(names.notifications_topic)


def test_a_create_command_is_four_calls(chalice_client, moto_stage, names, calls):
    # GIVEN a create accepted by the API
    post(chalice_client, "/api/schedules", EVERY_MINUTE)
    calls.take()
    # WHEN the command handler applies it
    deliver_commands(chalice_client, moto_stage, names)
    # THEN: the record, the schedule created and read back, and one transaction that settles
    # the record with its history entry and its alert watch
    assert calls.take() == [
        "dynamodb.GetItem", "scheduler.CreateSchedule", "scheduler.GetSchedule", "dynamodb.TransactWriteItems",
    ]


def test_a_healthy_fleet_costs_the_sweep_one_query_and_a_silent_schedule_only_its_alert(
        chalice_client, moto_stage, names, clock, calls, short_grace):
    # GIVEN every-minute schedules created at 00:00:30.250 (so their slots fall at :30), with
    # the late grace shortened to 20 s: four through the API whose 00:01:30 slot runs through
    # the target function, two reported as AWS does (the exact slot), two as the local
    # emulator does (the slot floored to its minute), and one whose run never comes
    clock.set("2026-03-02T00:00:30.250Z")
    ids = []
    for n in range(5):
        ids.append(post(chalice_client, "/api/schedules", {**EVERY_MINUTE, "name": f"s{n}"}).json_body["id"])
        deliver_commands(chalice_client, moto_stage, names)
    *fired, silent = ids
    for n, schedule_id in enumerate(fired):
        reported = "2026-03-02T00:01:30Z" if n % 2 else "2026-03-02T00:01:00Z"
        assert fire(chalice_client, clock, schedule_id, reported, "2026-03-02T00:01:31Z")["outcome"] == "succeeded"
    # AND 200 more as the same paths leave them after an on-time run of that slot
    seeded = seed_healthy_fleet(get_settings(), FLEET, at("2026-03-02T00:00:30Z"), at("2026-03-02T00:01:30Z"))
    assert len(seeded) == FLEET
    alerts(moto_stage, names)
    calls.take()
    # WHEN the sweep runs after the slot's deadline (00:01:50)
    clock.set("2026-03-02T00:01:55Z")
    first = sweep(chalice_client)
    cost = calls.take()
    # THEN it read only the silent schedule: at most 12 calls in all
    assert first["examined"] == 1
    assert len(cost) <= 12, cost
    assert cost.count("dynamodb.Query") == 2  # the due watches, the silent one's runs
    # AND the silent schedule is alerted missed, once, however often the sweep runs
    clock.set("2026-03-02T00:02:05Z")
    again = sweep(chalice_client)
    assert again["examined"] == 0 and calls.take() == ["dynamodb.Query"]
    [missed] = alerts(moto_stage, names)
    assert (missed["kind"], missed["schedule_id"], missed["slot"]) == ("missed", silent, "2026-03-02T00:01:30Z")
    # AND the timeline of a schedule whose run was reported at the floored minute shows that
    # minute once, as the slot, succeeded; its health is ok
    timeline = chalice_client.http.get(
        f"/api/schedules/{fired[0]}/timeline?from=2026-03-02T00:00:00Z&to=2026-03-02T00:02:00Z").json_body
    assert [(entry["time"], entry["result"]) for entry in timeline["items"]] == [
        ("2026-03-02T00:01:30Z", "succeeded")]
    assert timeline["items"][0]["execution"]["outcome"] == "succeeded"
    assert chalice_client.http.get(f"/api/schedules/{fired[0]}").json_body["health"] == "ok"
    assert chalice_client.http.get(f"/api/schedules/{silent}").json_body["health"] == "missing"
