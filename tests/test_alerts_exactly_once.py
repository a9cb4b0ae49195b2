"""Alerts exactly once: a publish whose answer is lost is not sent again, a publish refused is
sent again by the next sweep, and a sweep that runs exactly at a slot's deadline loses no
alert (moto, faults injected on the sweep's own client)."""

from __future__ import annotations

from tests.timeline_support import HOURLY, create, sweeper


def alerts(moto_stage, names):
    return moto_stage["tap"].drain(names.notifications_topic)


def test_a_publish_whose_answer_is_lost_alerts_once(chalice_client, moto_stage, names, clock, faults):
    # GIVEN a missed slot, and the alert's publish carried out by SNS with its answer lost
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    clock.set("2026-03-02T01:03:00Z")
    lost = faults.lose_response("sns", "Publish")
    # WHEN the sweep runs, and again later
    sweeper(clock).run()
    clock.set("2026-03-02T01:05:00Z")
    sweeper(clock).run()
    clock.set("2026-03-02T01:07:00Z")
    sweeper(clock).run()
    # THEN the request reached SNS once, and one alert was published in all
    assert lost.injected == 1 and not lost.resent
    assert [(a["kind"], a["slot"]) for a in alerts(moto_stage, names)] == [("missed", "2026-03-02T01:00:00Z")]


def test_a_publish_that_timed_out_before_it_was_sent_is_sent_by_the_next_sweep(
    chalice_client, moto_stage, names, clock, faults
):
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    clock.set("2026-03-02T01:03:00Z")
    faults.timeout("sns", "Publish", connect=True)
    assert sweeper(clock).run().alerts == []
    clock.set("2026-03-02T01:04:00Z")
    sweeper(clock).run()
    assert [a["kind"] for a in alerts(moto_stage, names)] == ["missed"]


def test_a_sweep_exactly_at_the_deadline_loses_no_alert(chalice_client, moto_stage, names, clock):
    # GIVEN an hourly schedule whose 01:00 run never came (deadline 01:02: 2 minutes' grace)
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    # WHEN a sweep runs at 01:02:00 exactly, then the next one a minute later
    clock.set("2026-03-02T01:02:00Z")
    at_deadline = sweeper(clock).run()
    clock.set("2026-03-02T01:03:00Z")
    after = sweeper(clock).run()
    # THEN the slot is alerted missed once, by the sweep after the deadline
    assert (len(at_deadline.alerts), len(after.alerts)) == (0, 1)
    assert [(a["kind"], a["slot"]) for a in alerts(moto_stage, names)] == [("missed", "2026-03-02T01:00:00Z")]


def test_an_alert_sent_whose_marking_failed_is_not_sent_again_after_its_claim_expires(
    chalice_client, moto_stage, names, clock, faults
):
    # GIVEN a missed slot; SNS takes the alert, then marking it published fails once
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    clock.set("2026-03-02T01:03:00Z")
    faults.fail("dynamodb", "UpdateItem", "InternalServerError", times=1)
    sweeper(clock).run()
    # WHEN later sweeps run, well after the claim would have expired
    for later in ("2026-03-02T01:10:00Z", "2026-03-02T01:20:00Z"):
        clock.set(later)
        sweeper(clock).run()
    # THEN the alert went out once
    assert [a["kind"] for a in alerts(moto_stage, names)] == ["missed"]


def test_two_faults_on_the_alert_path_still_alert_once(chalice_client, moto_stage, names, clock, faults):
    # GIVEN the publish's answer lost AND the marking of it failing once
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    clock.set("2026-03-02T01:03:00Z")
    faults.lose_response("sns", "Publish")
    faults.fail("dynamodb", "UpdateItem", "ThrottlingException", times=1)
    sweeper(clock).run()
    for later in ("2026-03-02T01:10:00Z", "2026-03-02T02:10:00Z"):
        clock.set(later)
        sweeper(clock).run()
    # THEN the 01:00 slot alerted once (and 02:00, missed too, once)
    slots = [a["slot"] for a in alerts(moto_stage, names) if a["kind"] == "missed"]
    assert slots == ["2026-03-02T01:00:00Z", "2026-03-02T02:00:00Z"]
