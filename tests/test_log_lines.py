"""``make run``'s stream: the functions' JSON lines rendered one readable line per event."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from chalicelib import observability
from ops.log_lines import RED, render
from tests.support import TEE_TIMES, post

TS = 1_795_969_371_490


@pytest.fixture
def written():
    stream = io.StringIO()
    observability.configure(stream=stream)
    yield lambda: [line for line in stream.getvalue().splitlines() if line.strip()]
    observability.configure()


def shown(lines: list[str], label: str, **options: Any) -> list[str]:
    return [text for text in (render(line, label, TS, **options) for line in lines) if text is not None]


def test_each_event_is_one_readable_line_with_function_event_schedule_and_outcome(chalice_client, moto_stage, names, written):
    # GIVEN a schedule created, its command applied, and one run
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    [command] = moto_stage["tap"].drain(names.command_topic)
    chalice_client.lambda_.invoke("schedule_command", chalice_client.events.generate_sns_event(message=json.dumps(command)))
    chalice_client.lambda_.invoke(
        "schedule_target", {"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z", "execution_id": "e-1", "attempt": "1"}
    )
    # WHEN the stream is rendered
    lines = shown(written(), "label")
    # THEN one line per event, each naming the function, the event, the schedule and the outcome
    short = f"schedule {schedule_id[:8]}"
    [api] = [line for line in lines if "POST /api/schedules 202" in line]
    [applied] = [line for line in lines if "command create v1 -> applied" in line]
    [run] = [line for line in lines if "run of the 11:00:00 slot, attempt 1 -> succeeded" in line]
    assert api.split()[1] == "api_handler" and short in api
    assert applied.split()[1] == "schedule_command" and short in applied
    assert run.split()[1] == "schedule_target" and short in run
    assert len(lines) == 3


def test_failures_are_marked_and_red_on_a_terminal(chalice_client, moto_stage, written):
    post(chalice_client, "/api/schedules", {**TEE_TIMES, "schedule_expression": "rate(0 minutes)"})
    [plain] = shown(written(), "api_handler")
    [colored] = shown(written(), "api_handler", color=True)
    assert "!! POST /api/schedules 400" in plain and "schedule_expression" in plain
    assert colored.startswith(RED)


def test_successes_and_skips_are_never_marked_as_failures(chalice_client, moto_stage, names, written):
    # GIVEN a create message in the published SNS format, applied, then paused, then fired
    event = chalice_client.events.generate_sns_event(message=json.dumps({"action": "create", "schedule": TEE_TIMES}))
    schedule_id = chalice_client.lambda_.invoke("schedule_command", event).payload["schedule_id"]
    for _ in range(2):
        for command in moto_stage["tap"].drain(names.command_topic):
            chalice_client.lambda_.invoke(
                "schedule_command", chalice_client.events.generate_sns_event(message=json.dumps(command)))
        chalice_client.http.post(f"/api/schedules/{schedule_id}/pause", headers={"X-Created-By": "sns"})
    chalice_client.lambda_.invoke(
        "schedule_target", {"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z", "execution_id": "e-1"})
    # WHEN the stream is rendered
    lines = shown(written(), "label")
    # THEN the accepted message, the applied commands and the skipped run are plain lines
    assert any("command create -> accepted" in line for line in lines), lines
    assert any("-> skipped" in line for line in lines), lines
    assert [line for line in lines if "!!" in line] == []
    assert not any("vNone" in line for line in lines)


def test_platform_lines_and_metrics_are_hidden_unless_verbose():
    noise = [
        "START RequestId: 1 Version: $LATEST",
        "END RequestId: 1",
        "REPORT RequestId: 1\tDuration: 3.1 ms\tBilled Duration: 4 ms",
        json.dumps({"_aws": {"Timestamp": TS, "CloudWatchMetrics": []}, "stage": "local"}),
        json.dumps({"level": "INFO", "event": "reconcile", "counts": {"noop": 4}, "function_name": "reconcile"}),
    ]
    assert shown(noise, "api_handler") == []
    verbose = shown(noise, "api_handler", verbose=True)
    assert len(verbose) == len(noise)
    assert json.loads(verbose[3].split("] ", 1)[1])["stage"] == "local"


def test_a_reconcile_that_repaired_something_is_shown():
    line = json.dumps({"level": "INFO", "event": "reconcile", "counts": {"noop": 3, "create": 1}, "function_name": "reconcile"})
    [text] = shown([line], "reconcile")
    assert "reconcile: 1 create" in text


def test_a_report_shows_what_the_worker_reported_and_how_long_the_run_took():
    # GIVEN the results handler's line for a run reported failed after 2.5 s (the fields the
    # execution carries: reported_outcome, reported_message, run_duration_ms)
    line = json.dumps({
        "level": "INFO", "event": "report", "function_name": "handle_results", "outcome": "recorded",
        "schedule_id": "0b1c2d3e-aaaa", "slot": "2026-11-24T11:00:00Z", "reported_outcome": "failed",
        "reported_message": "the tee-time site answered 503", "run_duration_ms": 2500,
    })
    # WHEN it is rendered
    [text] = shown([line], "handle_results")
    # THEN one line says the slot, the reported outcome, the duration and the worker's message
    assert text.split()[1] == "handle_results"
    assert "report of the 11:00:00 slot -> recorded, run failed after 2500 ms  schedule 0b1c2d3e" in text
    assert text.endswith(": the tee-time site answered 503")
    # AND a recorded failure of the work is not a failure of the handler
    assert "!!" not in text


def test_a_refused_report_is_marked_with_its_reason():
    line = json.dumps({"level": "WARNING", "event": "report", "function_name": "handle_results",
                       "outcome": "refused", "reason": "no run e-9 in this stage"})
    [text] = shown([line], "handle_results")
    assert "!! report -> refused" in text and text.endswith("(no run e-9 in this stage)")
