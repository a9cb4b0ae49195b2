"""Each function declares its own outcome and counts its own metrics, read through its Lambda
entry (Chalice's test client, the middleware included): the log level says whether something
failed, the EMF documents say what happened, and every alarm in the packaged template watches
a metric that one of these paths emits."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest

from chalicelib import observability, wiring
from chalicelib.config import ENV_DEAD_LETTER_QUEUE
from ops import monitoring
from tests.support import REGION, STAGE, TEE_TIMES, deliver_commands, post
from tests.timeline_support import HOURLY, create


@pytest.fixture
def lines():
    stream = io.StringIO()
    observability.configure(stream=stream)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield read
    observability.configure()


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
                assert directive["Namespace"] == observability.NAMESPACE
                for metric in directive["Metrics"]:
                    value = document[metric["Name"]]
                    found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
        return found

    return read


def summary(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == kind]


def sns_create(client, created_by: str | None = None) -> dict[str, Any]:
    attributes = {"created_by": {"Type": "String", "Value": created_by}} if created_by else {}
    event = client.events.generate_sns_event(
        message=json.dumps({"action": "create", "schedule": TEE_TIMES}), message_attributes=attributes)
    event["Records"][0]["Sns"]["MessageId"] = str(uuid.uuid4())
    return event


def sweep_event(client) -> dict[str, Any]:
    return client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                           resources=[])


def test_an_applied_sns_create_is_a_success_with_no_error_line_and_no_failed_command(
        chalice_client, moto_stage, names, lines, emitted):
    # GIVEN a create message in the published format
    # WHEN the command handler's Lambda entry takes it, and then the command it queued
    answer = chalice_client.lambda_.invoke("schedule_command", sns_create(chalice_client)).payload
    deliver_commands(chalice_client, moto_stage, names)
    # THEN it was accepted, then applied, and nothing was logged as a failure
    assert answer["outcome"] == "accepted"
    written = lines()
    assert [line["level"] for line in written if line["level"] in ("ERROR", "CRITICAL")] == []
    accepted, applied = summary(written, "command")
    assert (accepted["outcome"], accepted["level"]) == ("accepted", "INFO")
    assert (applied["outcome"], applied["level"]) == ("applied", "INFO")
    # AND counted as a success, never as a failed command
    found = emitted()
    assert found["CommandsAccepted"] == [1.0] and found["CommandsApplied"] == [1.0]
    assert "CommandsFailed" not in found


def test_a_rejected_message_is_a_warning_and_not_a_failed_command(chalice_client, moto_stage, lines, emitted):
    event = chalice_client.events.generate_sns_event(message=json.dumps({"action": "explode"}))
    chalice_client.lambda_.invoke("schedule_command", event)
    [line] = summary(lines(), "command")
    assert (line["outcome"], line["level"]) == ("rejected", "WARNING")
    found = emitted()
    assert found["CommandsRejected"] == [1.0] and "CommandsFailed" not in found


def test_a_skipped_firing_is_not_a_succeeded_execution_and_has_no_dispatch(
        chalice_client, moto_stage, names, lines, emitted):
    # GIVEN a paused schedule
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    chalice_client.http.post(f"/api/schedules/{schedule_id}/pause")
    deliver_commands(chalice_client, moto_stage, names)
    lines(), emitted()
    # WHEN EventBridge fires it anyway (a firing already on its way)
    answer = chalice_client.lambda_.invoke("schedule_target", {
        "schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z", "execution_id": "e-1", "attempt": 1,
    }).payload
    # THEN it is a skip: an INFO line, counted as skipped, no dispatch measured
    assert answer["outcome"] == "skipped"
    [line] = summary(lines(), "execution")
    assert (line["outcome"], line["level"], line["reason"]) == ("skipped", "INFO", "the schedule is paused")
    found = emitted()
    assert found["ExecutionsSkipped"] == [1.0]
    for never in ("ExecutionsSucceeded", "DispatchDuration", "StartLatency"):
        assert never not in found


def test_a_missed_slot_emits_the_metric_the_missed_runs_alarm_watches(
        chalice_client, moto_stage, names, clock, lines, emitted):
    # GIVEN an hourly schedule whose 01:00 run never came
    create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    emitted()
    # WHEN the alert sweep's Lambda entry runs after the slot's deadline
    clock.set("2026-03-02T01:03:00Z")
    chalice_client.lambda_.invoke("alert_sweep", sweep_event(chalice_client))
    # THEN the missed run and its alert are counted, under the alarm's metric name
    found = emitted()
    assert found[observability.MISSED_RUNS] == [1.0]
    assert found[observability.ALERTS_RAISED] == [1.0]
    alarm = monitoring.alarms(STAGE)["MissedRunsAlarm"]["Properties"]
    assert alarm["MetricName"] == observability.MISSED_RUNS
    [line] = summary(lines(), "invocation")
    assert (line["outcome"], line["level"]) == ("ok", "INFO")


def drive_every_alarmed_path(client, moto_stage, names, clock) -> None:
    """The paths that should make an alarm fire: a failed run, a missed slot, a command the
    cloud rejects, an API 5xx."""
    missing = f"arn:aws:sns:{REGION}:123456789012:rez-agent-custom-{STAGE}-missing"
    broken = create(client, moto_stage, names, clock, "2026-03-02T00:30:00Z",
                    {**HOURLY, "name": "broken", "target_type": "custom", "target_arn": missing})
    client.lambda_.invoke("schedule_target", {"schedule_id": broken, "scheduled_time": "2026-03-02T01:00:00Z",
                                              "execution_id": "e-1", "attempt": 1})
    clock.set("2026-03-02T03:03:00Z")
    client.lambda_.invoke("alert_sweep", sweep_event(client))
    scheduler = wiring.clients.client("scheduler")

    def reject(**_: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ValidationException", "Message": "Invalid target"}}, "CreateSchedule")

    post(client, "/api/schedules", {**TEE_TIMES, "name": "rejected"})
    scheduler.meta.events.register("before-call.scheduler.CreateSchedule", reject)
    try:
        deliver_commands(client, moto_stage, names)
    finally:
        scheduler.meta.events.unregister("before-call.scheduler.CreateSchedule", reject)
    original = wiring.schedule_service
    try:
        wiring.schedule_service = lambda *_: (_ for _ in ()).throw(RuntimeError("down"))  # type: ignore[assignment]
        assert client.http.get("/api/schedules").status_code == 500
    finally:
        wiring.schedule_service = original  # type: ignore[assignment]


def test_every_alarm_watches_a_metric_a_tested_path_emits(chalice_client, moto_stage, names, clock, emitted):
    # GIVEN the packaged template's alarms
    alarms = monitoring.alarms(STAGE)
    # WHEN every path that should page is driven through the functions' entries
    emitted()
    drive_every_alarmed_path(chalice_client, moto_stage, names, clock)
    found = emitted()
    # THEN each alarm on the app's own namespace watches a metric that was emitted
    own = {logical: alarm["Properties"]["MetricName"] for logical, alarm in alarms.items()
           if alarm["Properties"]["Namespace"] == observability.NAMESPACE}
    assert own, "no alarm on the app's metrics"
    silent = {logical: metric for logical, metric in own.items() if metric not in found}
    assert silent == {}, f"alarms on metrics no tested path emits: {silent}"
    # AND the dead-letter alarm watches the queue the stage really uses
    dead_letters = alarms["DeadLettersAlarm"]["Properties"]["Dimensions"]
    assert dead_letters == [{"Name": "QueueName", "Value": names.dead_letter_queue}]


def test_the_dead_letter_alarm_follows_an_overridden_queue_name(monkeypatch):
    # GIVEN a stage whose dead-letter queue has its own name
    monkeypatch.setenv(ENV_DEAD_LETTER_QUEUE, "team-dlq-7")
    # THEN the alarm and the dashboard watch that queue
    [dimension] = monitoring.alarms(STAGE)["DeadLettersAlarm"]["Properties"]["Dimensions"]
    assert dimension == {"Name": "QueueName", "Value": "team-dlq-7"}
    assert "team-dlq-7" in json.dumps(monitoring.dashboard_body(STAGE))
