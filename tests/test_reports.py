"""Runs that report back: a worker reports how its run ended (the results topic's consumer,
or POST /api/executions/{id}/report), and the execution, the timeline, the metrics and the
alerts show it; a run that never reports times out; overlap policies and run_if decide a slot
at fire time. Everything goes through the functions' entries: the route by Chalice's test
client, the results consumer and the target by their Lambda entries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import clients
from tests.support import JSON
from tests.timeline_support import HOURLY, create, create_target_function, fire, sweeper, timeline_of

CREATED = "2026-03-01T00:30:00Z"
SLOT_1, SLOT_2, SLOT_3, SLOT_4 = ("2026-03-01T01:00:00Z", "2026-03-01T02:00:00Z", "2026-03-01T03:00:00Z",
                                  "2026-03-01T04:00:00Z")


@pytest.fixture
def emitted(capsys):
    """The metric names in the EMF documents printed since the last read, with their values."""

    def read() -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for line in capsys.readouterr().out.splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if not isinstance(document, dict) or "_aws" not in document:
                continue
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    value = document[metric["Name"]]
                    found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
        return found

    return read


def publish_result(client, body: Any) -> dict:
    """A worker publishes to the results topic; SNS invokes the consumer."""
    text = body if isinstance(body, str) else json.dumps(body)
    return client.lambda_.invoke("handle_results", client.events.generate_sns_event(message=text)).payload


def report_route(client, execution_id: str, body: dict, headers: dict | None = None):
    return client.http.post(f"/api/executions/{execution_id}/report", headers={**JSON, **(headers or {})},
                            body=json.dumps(body))


def execution(client, schedule_id: str, execution_id: str) -> dict:
    items = client.http.get(f"/api/schedules/{schedule_id}/executions").json_body["items"]
    return next(item for item in items if item["execution_id"] == execution_id)


def entry(clock, schedule_id: str, slot: str) -> dict:
    body = timeline_of(clock, schedule_id, "2026-03-01T00:00:00Z", "2026-03-01T06:00:00Z")
    return next(item for item in body["items"] if item["time"] == slot and item["trigger"] == "scheduled")


def notified(moto_stage, names) -> list[dict]:
    return moto_stage["tap"].drain(names.notifications_topic)


def alerts(messages: list[dict], kind: str) -> list[dict]:
    return [message for message in messages if message.get("kind") == kind]


def test_a_run_reported_succeeded_shows_its_duration_in_the_execution_timeline_and_metrics(
        chalice_client, moto_stage, names, clock, emitted):
    # GIVEN an hourly schedule whose runs may take up to 10 minutes, fired at 01:00:01
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED, {**HOURLY, "max_duration_seconds": 600})
    fired = fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    assert fired["outcome"] == "succeeded"
    # AND the worker got what it needs to report
    [message] = moto_stage["tap"].drain(names.web_actions_topic)
    assert message["execution_id"] == f"exec-{SLOT_1}" and message["schedule_id"] == schedule_id
    assert message["report"]["topic_arn"].endswith(f":{names.results_topic}")
    assert message["report"]["path"] == f"/api/executions/exec-{SLOT_1.replace(':', '%3A')}/report"
    # AND until it reports, its slot is running
    clock.set("2026-03-01T01:03:00Z")
    assert entry(clock, schedule_id, SLOT_1)["result"] == "running"
    emitted()
    # WHEN it publishes its result to the results topic five minutes after its dispatch
    clock.set("2026-03-01T01:05:01Z")
    answer = publish_result(chalice_client, {"schedule_id": schedule_id, "execution_id": message["execution_id"],
                                             "outcome": "succeeded", "details": {"rows": 12}})
    # THEN the execution keeps the report and the run's duration
    assert answer["outcome"] == "recorded"
    run = execution(chalice_client, schedule_id, message["execution_id"])
    assert (run["reported_outcome"], run["run_duration_ms"], run["reported_details"]) == ("succeeded", 300_000, {"rows": 12})
    assert (run["dispatched_at"], run["reported_at"]) == ("2026-03-01T01:00:01Z", "2026-03-01T01:05:01Z")
    # AND the timeline shows the slot succeeded, with the duration
    slot = entry(clock, schedule_id, SLOT_1)
    assert (slot["result"], slot["execution"]["run_duration_ms"]) == ("succeeded", 300_000)
    # AND RunDuration is measured
    assert emitted()["RunDuration"] == [300_000.0]


def test_a_run_reported_failed_alerts_once_and_a_duplicate_changes_nothing(chalice_client, moto_stage, names, clock):
    # GIVEN a dispatched run of a schedule that awaits reports
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED, {**HOURLY, "max_duration_seconds": 600})
    fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    notified(moto_stage, names)
    report = {"schedule_id": schedule_id, "outcome": "failed", "message": "disk full"}
    # WHEN its owner reports it failed
    clock.set("2026-03-01T01:02:00Z")
    answer = report_route(chalice_client, f"exec-{SLOT_1}", report)
    # THEN it is recorded, and alerted once with the worker's message
    assert answer.status_code == 200, answer.json_body
    assert answer.json_body["recorded"] is True
    [alert] = alerts(notified(moto_stage, names), "failed")
    assert (alert["slot"], alert["reported_message"]) == ("2026-03-01T01:00:00Z", "disk full")
    # AND the timeline shows the slot failed, saying why
    slot = entry(clock, schedule_id, SLOT_1)
    assert (slot["result"], slot["reason"]) == ("failed", "disk full")
    # AND the record's health says failing
    assert chalice_client.http.get(f"/api/schedules/{schedule_id}").json_body["health"] == "failing"
    stored = execution(chalice_client, schedule_id, f"exec-{SLOT_1}")
    # WHEN the same report arrives again, on the route and on the topic
    again = report_route(chalice_client, f"exec-{SLOT_1}", report)
    topic = publish_result(chalice_client, {**report, "execution_id": f"exec-{SLOT_1}"})
    # THEN it answers the stored report and changes nothing, and no alert is repeated
    assert (again.status_code, again.json_body["recorded"]) == (200, False)
    assert topic["outcome"] == "duplicate"
    assert execution(chalice_client, schedule_id, f"exec-{SLOT_1}") == stored
    clock.set("2026-03-01T01:10:00Z")
    sweeper(clock).run()
    assert alerts(notified(moto_stage, names), "failed") == []


def test_a_contradicting_report_and_another_owners_report_are_refused_and_change_nothing(
        chalice_client, moto_stage, names, clock):
    # GIVEN a run reported succeeded
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED, HOURLY)
    fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    run_id = f"exec-{SLOT_1}"
    first = report_route(chalice_client, run_id, {"schedule_id": schedule_id, "outcome": "succeeded"})
    assert first.status_code == 200, first.json_body
    stored = execution(chalice_client, schedule_id, run_id)
    notified(moto_stage, names)
    # WHEN a second report says it failed
    contradiction = report_route(chalice_client, run_id, {"schedule_id": schedule_id, "outcome": "failed"})
    # THEN it is refused naming the field
    assert contradiction.status_code == 409
    assert contradiction.json_body["Message"].startswith("outcome:")
    # WHEN someone else reports on it
    stranger = report_route(chalice_client, run_id, {"schedule_id": schedule_id, "outcome": "succeeded"},
                            headers={"X-Created-By": "mallory"})
    # THEN it does not exist for them
    assert stranger.status_code == 404
    # WHEN the results topic carries a contradiction, an unknown run and a malformed report
    refused = [
        publish_result(chalice_client, {"schedule_id": schedule_id, "execution_id": run_id, "outcome": "failed"}),
        publish_result(chalice_client, {"schedule_id": schedule_id, "execution_id": "nope", "outcome": "failed"}),
        publish_result(chalice_client, {"schedule_id": schedule_id, "execution_id": run_id, "outcome": "maybe"}),
        publish_result(chalice_client, "not json"),
    ]
    # THEN each is rejected to the notifications topic with its reason (never raised, never retried)
    assert [answer["outcome"] for answer in refused] == ["rejected"] * 4
    rejections = [message for message in notified(moto_stage, names) if message.get("event") == "rejected"]
    assert [(event["source"], event["code"]) for event in rejections] == [
        ("handle_results", "Conflict"), ("handle_results", "NotFound"), ("handle_results", "ValidationError"),
        ("handle_results", "ValidationError")]
    assert "outcome" in rejections[2]["reason"]
    # AND nothing changed
    assert execution(chalice_client, schedule_id, run_id) == stored


def test_a_run_that_never_reports_times_out_alerted_once_and_a_late_report_still_counts(
        chalice_client, moto_stage, names, clock):
    # GIVEN a schedule whose runs must report within 60 seconds, and a run dispatched at 01:00:01
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED, {**HOURLY, "max_duration_seconds": 60})
    fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    notified(moto_stage, names)
    # WHEN no report has come at 01:05 and the sweep runs, twice
    clock.set("2026-03-01T01:05:00Z")
    sweeper(clock).run()
    clock.set("2026-03-01T01:10:00Z")
    sweeper(clock).run()
    # THEN the slot is timed_out, alerted once
    assert entry(clock, schedule_id, SLOT_1)["result"] == "timed_out"
    [alert] = alerts(notified(moto_stage, names), "timed_out")
    assert alert["slot"] == "2026-03-01T01:00:00Z"
    # WHEN the worker reports at last
    clock.set("2026-03-01T01:20:00Z")
    assert publish_result(chalice_client, {"schedule_id": schedule_id, "execution_id": f"exec-{SLOT_1}",
                                           "outcome": "succeeded"})["outcome"] == "recorded"
    # THEN its outcome stands, with its duration
    slot = entry(clock, schedule_id, SLOT_1)
    assert (slot["result"], slot["execution"]["run_duration_ms"]) == ("succeeded", 1_199_000)


def test_overlap_skip_skips_a_slot_while_the_previous_run_is_unreported(chalice_client, moto_stage, names, clock):
    # GIVEN a schedule that skips a slot while its previous run goes on, and a run still going
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED,
                         {**HOURLY, "overlap_policy": "skip", "max_duration_seconds": 3 * 3600})
    fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    # WHEN the next slot fires before it reports
    answer = fire(chalice_client, clock, schedule_id, SLOT_2, "2026-03-01T02:00:01Z")
    # THEN that slot is skipped, and says why, in its execution and in the timeline
    assert answer["outcome"] == "skipped"
    skipped = execution(chalice_client, schedule_id, f"exec-{SLOT_2}")
    assert skipped["outcome"] == "skipped"
    assert skipped["skip_reason"] == f"overlap_policy skip: run exec-{SLOT_1} has not reported yet"
    slot = entry(clock, schedule_id, SLOT_2)
    assert (slot["result"], slot["reason"]) == ("skipped", skipped["skip_reason"])
    # AND only the first run's message went out
    assert [m["execution_id"] for m in moto_stage["tap"].drain(names.web_actions_topic)] == [f"exec-{SLOT_1}"]
    # WHEN the first run reports, THEN the next slot runs
    report_route(chalice_client, f"exec-{SLOT_1}", {"schedule_id": schedule_id, "outcome": "succeeded"})
    assert fire(chalice_client, clock, schedule_id, SLOT_3, "2026-03-01T03:00:01Z")["outcome"] == "succeeded"


def test_buffer_one_runs_exactly_one_waiting_slot_after_the_report(chalice_client, moto_stage, names, clock):
    create_target_function()
    invoked: list[dict] = []
    lam = clients.client("lambda")

    def seen(params: dict, **_: Any) -> None:
        invoked.append(json.loads(params["Payload"]))

    lam.meta.events.register("before-parameter-build.lambda.Invoke", seen, "reports-buffer")
    try:
        # GIVEN a buffer_one schedule whose first run goes on for hours
        schedule_id = create(chalice_client, moto_stage, names, clock, CREATED,
                             {**HOURLY, "overlap_policy": "buffer_one", "max_duration_seconds": 4 * 3600})
        fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
        # WHEN two slots fire during it
        second = fire(chalice_client, clock, schedule_id, SLOT_2, "2026-03-01T02:00:01Z")
        third = fire(chalice_client, clock, schedule_id, SLOT_3, "2026-03-01T03:00:01Z")
        # THEN the first waits and the second is skipped
        assert second["outcome"] == "skipped" and second["reason"].startswith("buffered")
        assert third["outcome"] == "skipped"
        assert entry(clock, schedule_id, SLOT_2)["result"] == "upcoming"
        assert entry(clock, schedule_id, SLOT_3)["result"] == "skipped"
        # WHEN the first run reports
        clock.set("2026-03-01T03:30:00Z")
        report_route(chalice_client, f"exec-{SLOT_1}", {"schedule_id": schedule_id, "outcome": "succeeded"})
        # THEN exactly the waiting slot is sent to the target function, and runs
        assert [(p["execution_id"], p["scheduled_time"]) for p in invoked] == [(f"exec-{SLOT_2}", SLOT_2)]
        assert chalice_client.lambda_.invoke("schedule_target", invoked[0]).payload["outcome"] == "succeeded"
    finally:
        lam.meta.events.unregister("before-parameter-build.lambda.Invoke", unique_id="reports-buffer")
    sent = [m["execution_id"] for m in moto_stage["tap"].drain(names.web_actions_topic)]
    assert sent == [f"exec-{SLOT_1}", f"exec-{SLOT_2}"]
    assert entry(clock, schedule_id, SLOT_2)["result"] == "running"


def test_run_if_previous_succeeded_skips_after_a_reported_failure(chalice_client, moto_stage, names, clock):
    # GIVEN a schedule that runs only after a success, and a run reported failed
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED,
                         {**HOURLY, "run_if": "previous_succeeded", "max_duration_seconds": 600})
    fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    report_route(chalice_client, f"exec-{SLOT_1}", {"schedule_id": schedule_id, "outcome": "failed"})
    # WHEN the next slot fires
    answer = fire(chalice_client, clock, schedule_id, SLOT_2, "2026-03-01T02:00:01Z")
    # THEN it is skipped, naming the condition
    assert answer["outcome"] == "skipped"
    slot = entry(clock, schedule_id, SLOT_2)
    assert (slot["result"], slot["reason"]) == ("skipped", f"run_if previous_succeeded: run exec-{SLOT_1} reported failed")


def test_a_report_for_a_schedule_that_awaits_none_is_recorded_and_its_runs_do_not_stay_running(
        chalice_client, moto_stage, names, clock):
    # GIVEN a schedule that asks for no reports, and a dispatched run
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED, HOURLY)
    fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    # THEN its slot is succeeded at once (not running while nobody reports)
    assert entry(clock, schedule_id, SLOT_1)["result"] == "succeeded"
    # WHEN a worker reports it failed all the same, THEN that is recorded and shown
    clock.set("2026-03-01T01:00:31Z")
    assert report_route(chalice_client, f"exec-{SLOT_1}", {"schedule_id": schedule_id, "outcome": "failed"}
                        ).status_code == 200
    slot = entry(clock, schedule_id, SLOT_1)
    assert (slot["result"], slot["execution"]["run_duration_ms"]) == ("failed", 30_000)


@pytest.mark.parametrize("body, field", [
    ({"outcome": "succeeded"}, "schedule_id"),
    ({"schedule_id": "00000000-0000-4000-8000-000000000000", "outcome": "done"}, "outcome"),
    ({"schedule_id": "00000000-0000-4000-8000-000000000000", "outcome": "failed", "details": {"x": "y" * 5000}},
     "details"),
    ({"schedule_id": "00000000-0000-4000-8000-000000000000", "outcome": "failed", "execution_id": "other"},
     "execution_id"),
    ({"schedule_id": "00000000-0000-4000-8000-000000000000", "outcome": "failed", "extra": 1}, "extra"),
])
def test_a_bad_report_is_a_400_naming_the_field(chalice_client, moto_stage, names, body, field):
    answer = report_route(chalice_client, "exec-1", body)
    assert answer.status_code == 400, answer.json_body
    assert field in json.dumps(answer.json_body)


def test_bad_run_settings_are_400s_naming_the_field(chalice_client, moto_stage, names):
    for bad, field in (({"overlap_policy": "replace"}, "overlap_policy"), ({"run_if": "always"}, "run_if"),
                       ({"max_duration_seconds": 0}, "max_duration_seconds")):
        answer = chalice_client.http.post("/api/schedules", headers=JSON, body=json.dumps({**HOURLY, **bad}))
        assert answer.status_code == 400, answer.json_body
        assert field in json.dumps(answer.json_body)


def test_a_run_whose_dispatch_failed_does_not_hold_the_next_slot_back(chalice_client, moto_stage, names, clock):
    # GIVEN a schedule that skips slots while a run goes on, whose target does not exist
    gone = "arn:aws:sns:us-east-1:123456789012:rez-agent-custom-dev-gone"
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED,
                         {**HOURLY, "target_type": "custom", "target_arn": gone, "overlap_policy": "skip",
                          "max_duration_seconds": 3 * 3600})
    # WHEN a run's dispatch fails (no report will ever come) and the next slot fires
    assert fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")["outcome"] == "failed"
    answer = fire(chalice_client, clock, schedule_id, SLOT_2, "2026-03-01T02:00:01Z")
    # THEN the next slot is tried, not skipped
    assert answer["outcome"] == "failed", answer
    assert execution(chalice_client, schedule_id, f"exec-{SLOT_2}")["outcome"] == "failed"


class Calls:
    """The AWS calls made from here on (botocore's before-call, on the clients' session)."""

    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, event_name, **_):
        self.calls.append(event_name.split(".", 1)[1])

    def take(self) -> list[str]:
        taken, self.calls = [c for c in self.calls if not c.startswith("sts.")], []
        return taken


def test_what_a_guarded_fire_and_a_report_cost(chalice_client, moto_stage, names, clock):
    # GIVEN a schedule that skips slots while a run goes on, in a warm target function
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED,
                         {**HOURLY, "overlap_policy": "skip", "max_duration_seconds": 3 * 3600})
    recorded = Calls()
    clients.reset()
    clients._shared_session()._session.register("before-call", recorded)
    try:
        fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
        recorded.take()
        # WHEN a slot is skipped, the run reports, and the next slot runs
        assert fire(chalice_client, clock, schedule_id, SLOT_2, "2026-03-01T02:00:01Z")["outcome"] == "skipped"
        skip = recorded.take()
        report_route(chalice_client, f"exec-{SLOT_1}", {"schedule_id": schedule_id, "outcome": "succeeded"})
        report = recorded.take()
        assert fire(chalice_client, clock, schedule_id, SLOT_3, "2026-03-01T03:00:01Z")["outcome"] == "succeeded"
        run = recorded.take()
    finally:
        clients._shared_session()._session.unregister("before-call", recorded)
    # THEN a run costs what an allow run costs: the claim (which decides), the dispatch, the outcome
    assert run == ["dynamodb.TransactWriteItems", "sns.Publish", "dynamodb.TransactWriteItems"]
    # AND a skip is the refused claim and the skipped execution's write
    assert skip == ["dynamodb.TransactWriteItems", "dynamodb.UpdateItem"]
    # AND a report reads the record and the execution, and writes both at once
    assert report == ["dynamodb.GetItem", "dynamodb.GetItem", "dynamodb.TransactWriteItems"]


def test_what_buffering_a_slot_costs(chalice_client, moto_stage, names, clock):
    # GIVEN a buffer_one schedule whose run goes on, in a warm target function
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED,
                         {**HOURLY, "overlap_policy": "buffer_one", "max_duration_seconds": 4 * 3600})
    recorded = Calls()
    clients.reset()
    clients._shared_session()._session.register("before-call", recorded)
    try:
        fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
        recorded.take()
        # WHEN a slot is buffered, and the next one finds the buffer taken
        fire(chalice_client, clock, schedule_id, SLOT_2, "2026-03-01T02:00:01Z")
        buffered = recorded.take()
        fire(chalice_client, clock, schedule_id, SLOT_3, "2026-03-01T03:00:01Z")
        full = recorded.take()
    finally:
        clients._shared_session()._session.unregister("before-call", recorded)
    # THEN buffering is the refused claim and one write of the record and the waiting slot
    assert buffered == ["dynamodb.TransactWriteItems", "dynamodb.TransactWriteItems"]
    # AND a slot skipped for a full buffer adds the refused buffer write and the skip
    assert full == ["dynamodb.TransactWriteItems", "dynamodb.TransactWriteItems", "dynamodb.UpdateItem"]


def test_a_failure_reported_after_the_sweep_looked_alerts_at_once_and_once(chalice_client, moto_stage, names, clock):
    # GIVEN a long run the sweep has already found still running past its slot's deadline
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED, {**HOURLY, "max_duration_seconds": 1800})
    fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    clock.set("2026-03-01T01:05:00Z")
    sweeper(clock).run()
    assert notified(moto_stage, names) == []
    # WHEN the worker reports it failed
    clock.set("2026-03-01T01:06:00Z")
    publish_result(chalice_client, {"schedule_id": schedule_id, "execution_id": f"exec-{SLOT_1}",
                                    "outcome": "failed", "message": "upstream 500"})
    # THEN it is alerted at once, not at the next sweep
    [alert] = alerts(notified(moto_stage, names), "failed")
    assert alert["reported_message"] == "upstream 500"
    # AND the sweeps after it do not alert it again
    for minute in ("01:10", "01:15"):
        clock.set(f"2026-03-01T{minute}:00Z")
        sweeper(clock).run()
    assert alerts(notified(moto_stage, names), "failed") == []


def test_a_failure_reported_after_the_timeout_alerts_as_failed_too(chalice_client, moto_stage, names, clock):
    # GIVEN a run alerted timed_out
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED, {**HOURLY, "max_duration_seconds": 60})
    fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    clock.set("2026-03-01T01:05:00Z")
    sweeper(clock).run()
    assert len(alerts(notified(moto_stage, names), "timed_out")) == 1
    # WHEN it reports failed at last
    clock.set("2026-03-01T01:30:00Z")
    publish_result(chalice_client, {"schedule_id": schedule_id, "execution_id": f"exec-{SLOT_1}", "outcome": "failed"})
    # THEN its slot is failed, and that is alerted once
    assert entry(clock, schedule_id, SLOT_1)["result"] == "failed"
    assert len(alerts(notified(moto_stage, names), "failed")) == 1


def test_a_run_now_runs_whatever_the_condition_and_a_success_lets_the_slots_run_again(
        chalice_client, moto_stage, names, clock):
    create_target_function()
    invoked: list[dict] = []
    lam = clients.client("lambda")
    lam.meta.events.register("before-parameter-build.lambda.Invoke",
                             lambda params, **_: invoked.append(json.loads(params["Payload"])), "reports-run-now")
    try:
        # GIVEN a previous_succeeded schedule held back by a reported failure
        schedule_id = create(chalice_client, moto_stage, names, clock, CREATED,
                             {**HOURLY, "run_if": "previous_succeeded", "max_duration_seconds": 600})
        fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
        report_route(chalice_client, f"exec-{SLOT_1}", {"schedule_id": schedule_id, "outcome": "failed"})
        assert fire(chalice_client, clock, schedule_id, SLOT_2, "2026-03-01T02:00:01Z")["outcome"] == "skipped"
        # WHEN its owner runs it by hand, and that run reports succeeded
        clock.set("2026-03-01T02:10:00Z")
        assert chalice_client.http.post(f"/api/schedules/{schedule_id}/run").status_code == 202
        [manual] = invoked
        assert chalice_client.lambda_.invoke("schedule_target", manual).payload["outcome"] == "succeeded"
        report_route(chalice_client, manual["execution_id"], {"schedule_id": schedule_id, "outcome": "succeeded"})
    finally:
        lam.meta.events.unregister("before-parameter-build.lambda.Invoke", unique_id="reports-run-now")
    # THEN the next slot runs again
    assert fire(chalice_client, clock, schedule_id, SLOT_3, "2026-03-01T03:00:01Z")["outcome"] == "succeeded"


def test_a_slot_buffered_as_the_run_in_progress_reports_is_claimed_again_not_skipped(
        chalice_client, moto_stage, names, clock):
    from datetime import timedelta

    from chalicelib import runs, wiring
    from chalicelib.config import get_settings
    from chalicelib.models import ExecutionTrigger

    # GIVEN a buffer_one schedule's record as a target function read it while run 1 went on
    schedule_id = create(chalice_client, moto_stage, names, clock, CREATED,
                         {**HOURLY, "overlap_policy": "buffer_one", "max_duration_seconds": 4 * 3600})
    fire(chalice_client, clock, schedule_id, SLOT_1, "2026-03-01T01:00:01Z")
    store = wiring.run_store(get_settings())
    seen = store.load(schedule_id)
    assert seen is not None and seen.current_run is not None
    # WHEN run 1 reports before that function's buffer write lands
    report_route(chalice_client, f"exec-{SLOT_1}", {"schedule_id": schedule_id, "outcome": "succeeded"})
    invocation = runs.Invocation(schedule_id=schedule_id, scheduled_time=SLOT_2, execution_id=f"exec-{SLOT_2}",
                                 attempt=1, trigger=ExecutionTrigger.SCHEDULED)
    claim = runs.Claim(token="t" * 32, request_id=None, started_at=clock.now, expires_at=clock.now + timedelta(seconds=40))
    # THEN the buffer write is refused as moved on (the caller claims again), and nothing waits
    assert store.buffer(seen, invocation, claim) == runs.BUFFER_MOVED
    assert store.get_execution(schedule_id, f"exec-{SLOT_2}") is None
    # AND through the target, the slot simply runs
    assert fire(chalice_client, clock, schedule_id, SLOT_2, "2026-03-01T02:00:01Z")["outcome"] == "succeeded"
