"""Every function writes JSON log lines and CloudWatch EMF metrics (chalicelib.observability).

The log lines are read from the Powertools logger's stream and the EMF documents from
stdout; both are parsed as JSON, never matched as text.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import boto3
import pytest

from chalicelib import observability, wiring
from tests.support import REGION, STAGE, TEE_TIMES, post


@pytest.fixture
def lines():
    """The JSON log lines written during the test, parsed."""
    stream = io.StringIO()
    observability.configure(stream=stream)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield read
    observability.configure()


@pytest.fixture
def emf(capsys):
    """The EMF documents printed to stdout during the test, parsed, by metric name."""

    def read() -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for line in capsys.readouterr().out.splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if not isinstance(document, dict) or "_aws" not in document:
                continue
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    found.setdefault(metric["Name"], []).append(
                        {
                            "namespace": directive["Namespace"],
                            "unit": metric["Unit"],
                            "dimensions": directive["Dimensions"],
                            "document": document,
                        }
                    )
        return found

    return read


def events(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == kind]


def command_event(client, moto_stage, names) -> tuple[dict[str, Any], dict[str, Any]]:
    [command] = moto_stage["tap"].drain(names.command_topic)
    return command, client.events.generate_sns_event(message=json.dumps(command))


def assert_metric(found, name: str, unit: str, dimensions: list[list[str]]) -> list[dict[str, Any]]:
    assert name in found, sorted(found)
    for entry in found[name]:
        assert entry["namespace"] == "RezAgent/Schedules"
        assert entry["unit"] == unit
        assert entry["dimensions"] == dimensions
        assert entry["document"]["stage"] == STAGE
    return found[name]


def test_an_api_request_is_one_line_with_route_status_schedule_and_duration(chalice_client, moto_stage, lines, emf):
    # WHEN a schedule is created over the API
    created = post(chalice_client, "/api/schedules", TEE_TIMES).json_body
    # THEN one api_request line says what happened, with the invocation's keys
    [line] = events(lines(), "api_request")
    assert line["level"] == "INFO"
    assert (line["method"], line["route"], line["status"]) == ("POST", "/api/schedules", 202)
    assert line["schedule_id"] == created["id"]
    assert isinstance(line["duration_ms"], int) and line["duration_ms"] >= 0
    assert line["service"] == "rez-agent-schedules"
    assert line["function_name"] == "api_handler"
    assert isinstance(line["cold_start"], bool)
    assert line["correlation_id"]
    # AND the request is counted by route and status class
    [metric] = assert_metric(emf(), "ApiRequests", "Count", [["stage", "route", "status_class"]])
    assert metric["document"]["route"] == "/api/schedules"
    assert metric["document"]["status_class"] == "2xx"
    assert metric["document"]["ApiRequests"] == [1.0]


def test_a_client_error_is_a_warning_with_the_reason(chalice_client, moto_stage, lines):
    post(chalice_client, "/api/schedules", {**TEE_TIMES, "schedule_expression": "rate(0 minutes)"})
    [line] = events(lines(), "api_request")
    assert (line["level"], line["status"]) == ("WARNING", 400)
    assert "schedule_expression" in line["reason"]


def test_a_500_names_the_request_id_its_error_lines_carry(chalice_client, moto_stage, lines, emf, monkeypatch):
    # GIVEN the service fails unexpectedly
    def broken(*_args: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(wiring, "schedule_service", broken)
    # WHEN a request reaches it
    response = chalice_client.http.get("/api/schedules")
    # THEN the answer names a request id and nothing internal
    assert response.status_code == 500
    message = response.json_body["Message"]
    assert "disk on fire" not in message
    # AND that id is the correlation id of the ERROR lines, which carry the reason
    written = lines()
    [summary] = events(written, "api_request")
    assert summary["level"] == "ERROR" and summary["status"] == 500
    assert summary["correlation_id"] in message
    [exception] = [line for line in written if line.get("exception")]
    assert exception["correlation_id"] == summary["correlation_id"]
    assert "disk on fire" in exception["exception"]
    # AND the 5xx is counted for the alarm
    assert_metric(emf(), "ApiServerErrors", "Count", [["stage"]])


def test_a_command_line_has_action_schedule_version_outcome_and_the_sns_message_id(chalice_client, moto_stage, names, lines, emf):
    created = post(chalice_client, "/api/schedules", TEE_TIMES).json_body
    _, event = command_event(chalice_client, moto_stage, names)
    # WHEN the command handler applies it
    chalice_client.lambda_.invoke("schedule_command", event)
    # THEN one command line says so, correlated by the SNS message id
    [line] = events(lines(), "command")
    assert line["level"] == "INFO"
    assert (line["action"], line["schedule_id"], line["version"], line["outcome"]) == (
        "create", created["id"], 1, "applied",
    )
    assert line["correlation_id"] == event["Records"][0]["Sns"]["MessageId"]
    assert line["function_name"] == "schedule_command"
    assert_metric(emf(), "CommandsApplied", "Count", [["stage"]])


def test_a_command_aws_rejects_is_an_error_with_the_reason(chalice_client, moto_stage, names, lines, emf):
    post(chalice_client, "/api/schedules", TEE_TIMES)
    _, event = command_event(chalice_client, moto_stage, names)
    client = wiring.clients.client("scheduler")

    def reject(**_: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ValidationException", "Message": "Invalid target"}}, "CreateSchedule")

    client.meta.events.register("before-call.scheduler.CreateSchedule", reject)
    try:
        chalice_client.lambda_.invoke("schedule_command", event)
    finally:
        client.meta.events.unregister("before-call.scheduler.CreateSchedule", reject)
    [line] = events(lines(), "command")
    assert (line["level"], line["outcome"], line["status"]) == ("ERROR", "failed", "error")
    assert "Invalid target" in line["reason"]
    assert_metric(emf(), "CommandsFailed", "Count", [["stage"]])


def test_the_retry_logger_writes_json_lines_with_the_command_correlation_id(chalice_client, moto_stage, names, lines, monkeypatch):
    # GIVEN the execution role has not propagated for the first attempt
    monkeypatch.setenv("ROLE_PROPAGATION_RETRY_DELAY_SECONDS", "0")
    client = wiring.clients.client("scheduler")
    left = {"n": 1}

    def not_yet(**_: Any) -> None:
        from botocore.exceptions import ClientError

        if left["n"]:
            left["n"] -= 1
            raise ClientError({"Error": {"Code": "ValidationException", "Message":
                "The execution role you provide must allow AWS EventBridge Scheduler to assume the role."}},
                "CreateSchedule")

    client.meta.events.register("before-call.scheduler.CreateSchedule", not_yet)
    post(chalice_client, "/api/schedules", TEE_TIMES)
    _, event = command_event(chalice_client, moto_stage, names)
    # WHEN the command handler retries the create
    chalice_client.lambda_.invoke("schedule_command", event)
    # THEN chalicelib.retry's line is a JSON line of the same invocation
    written = lines()
    [retry] = [line for line in written if "attempt 1 of" in line["message"]]
    [command] = events(written, "command")
    assert retry["correlation_id"] == command["correlation_id"]
    assert retry["schedule_id"] == command["schedule_id"]


def active_schedule(client, moto_stage, names, body=TEE_TIMES) -> str:
    schedule_id = post(client, "/api/schedules", body).json_body["id"]
    _, event = command_event(client, moto_stage, names)
    client.lambda_.invoke("schedule_command", event)
    return schedule_id


def test_an_execution_line_has_slot_attempt_outcome_and_duration(chalice_client, moto_stage, names, lines, emf):
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    lines(), emf()
    event = {"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z", "execution_id": "exec-1", "attempt": "2"}
    # WHEN the schedule fires, twice with the same execution id
    chalice_client.lambda_.invoke("schedule_target", event)
    chalice_client.lambda_.invoke("schedule_target", event)
    # THEN one execution line per invocation, correlated by the execution id
    first, second = events(lines(), "execution")
    assert (first["schedule_id"], first["slot"], first["attempt"], first["outcome"]) == (
        schedule_id, "2026-11-24T11:00:00Z", 2, "succeeded",
    )
    assert first["correlation_id"] == "exec-1" and first["function_name"] == "schedule_target"
    assert isinstance(first["duration_ms"], int)
    assert first["start_latency_ms"] > 0
    assert second["outcome"] == "duplicate"
    # AND the metrics count each outcome and time the run
    found = emf()
    assert_metric(found, "ExecutionsSucceeded", "Count", [["stage"]])
    assert_metric(found, "ExecutionsDuplicate", "Count", [["stage"]])
    [latency] = assert_metric(found, "StartLatency", "Milliseconds", [["stage"]])
    assert latency["document"]["StartLatency"][0] >= first["start_latency_ms"]
    assert_metric(found, "DispatchDuration", "Milliseconds", [["stage"]])


def test_a_run_without_substituted_ids_is_correlated_by_the_id_its_record_gets(chalice_client, moto_stage, names, lines):
    # GIVEN an emulator that passes the scheduler's placeholders through unsubstituted
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    event = {"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z",
             "execution_id": "<aws.scheduler.execution-id>", "attempt": "<aws.scheduler.attempt-number>"}
    # WHEN it fires
    chalice_client.lambda_.invoke("schedule_target", event)
    # THEN the line's correlation id is the execution id the record shows
    [record] = chalice_client.http.get(f"/api/schedules/{schedule_id}/executions").json_body["items"]
    [line] = events(lines(), "execution")
    assert line["correlation_id"] == record["execution_id"] == line["execution_id"]


def test_a_failed_execution_is_an_error_line_with_the_reason(chalice_client, moto_stage, names, lines, emf):
    # GIVEN a custom target that points at a topic that does not exist
    missing = f"arn:aws:sns:{REGION}:123456789012:rez-agent-custom-{STAGE}-missing"
    schedule_id = active_schedule(chalice_client, moto_stage, names, {**TEE_TIMES, "target_type": "custom", "target_arn": missing})
    lines(), emf()
    # WHEN it fires
    chalice_client.lambda_.invoke(
        "schedule_target", {"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z", "execution_id": "e-1", "attempt": "1"}
    )
    # THEN the execution line is an ERROR naming why
    [line] = events(lines(), "execution")
    assert (line["level"], line["outcome"], line["schedule_id"]) == ("ERROR", "failed", schedule_id)
    assert "does not exist" in line["reason"]
    assert_metric(emf(), "ExecutionsFailed", "Count", [["stage"]])


def test_a_drift_repair_is_one_line_and_counted(chalice_client, moto_stage, names, lines, emf):
    # GIVEN an active schedule deleted out of band
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    boto3.client("scheduler", region_name=REGION).delete_schedule(Name=schedule_id, GroupName=names.schedule_group)
    lines(), emf()
    # WHEN the periodic reconcile runs
    chalice_client.lambda_.invoke("reconcile", chalice_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    # THEN one drift_repair line names the schedule, and a reconcile line sums up
    written = lines()
    [repair] = events(written, "drift_repair")
    assert (repair["schedule_id"], repair["action"], repair["outcome"]) == (schedule_id, "create", "repaired")
    [summary] = events(written, "reconcile")
    assert summary["counts"]["create"] == 1
    [metric] = assert_metric(emf(), "DriftRepaired", "Count", [["stage"]])
    assert metric["document"]["DriftRepaired"] == [1.0]


def test_timeline_counts_have_named_helpers(lines, emf):
    # WHEN the timeline reports missed and late runs and alerts, and the invocation ends
    observability.missed_runs(2)
    observability.late_runs()
    observability.alerts_raised(3)
    observability.flush_metrics()
    # THEN one EMF document carries the three counts
    found = emf()
    for name, value in (("MissedRuns", 2.0), ("LateRuns", 1.0), ("AlertsRaised", 3.0)):
        [metric] = assert_metric(found, name, "Count", [["stage"]])
        assert metric["document"][name] == [value]


def test_every_app_logger_writes_through_the_one_handler(chalice_client, moto_stage, lines):
    post(chalice_client, "/api/schedules", TEE_TIMES)
    # WHEN any of the app's stdlib loggers writes, before or after the first event
    for name in ("chalicelib.retry", "rez_agent.schedules", "rez-agent-schedules", "chalicelib.anything.new"):
        logging.getLogger(name).info("hello from %s", name)
    # THEN each is one JSON line of the service
    written = {line["message"]: line for line in lines()}
    for name in ("chalicelib.retry", "rez_agent.schedules", "rez-agent-schedules", "chalicelib.anything.new"):
        assert written[f"hello from {name}"]["service"] == "rez-agent-schedules"


def test_off_lambda_there_is_no_tracer_and_xray_is_never_imported(chalice_client, moto_stage, lines):
    import sys

    post(chalice_client, "/api/schedules", TEE_TIMES)
    assert observability.tracer() is None
    assert "aws_xray_sdk" not in sys.modules
