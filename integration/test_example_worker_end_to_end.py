"""The example worker on the deployed app (ministack, as ``make run``): a schedule's fired run
reaches the worker through the web-actions topic, the worker's report reaches the results
topic, ``handle_results`` records it on the run (outcome, duration), the timeline shows the
slot as the worker said, and a reported failure is alerted once.

The local stage as the other deployed tests share it (integration/conftest.py).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import boto3
import pytest

from integration.deployed import STAGE, eventually, http
from ops import run as local_run
from tests.support import REGION

WORKER = Path(__file__).resolve().parent.parent / "examples" / "worker.py"


def load_worker():
    spec = importlib.util.spec_from_file_location("example_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def endpoint_url(local_stages):
    """This process pointed at the session's endpoint (integration/conftest.py)."""
    with local_stages.pointed():
        yield local_stages.url


@pytest.mark.parametrize(("flags", "outcome"), [([], "succeeded"), (["--fail"], "failed")])
def test_the_worker_reports_a_fired_run_and_the_timeline_shows_it(endpoint_url, local_stages, flags, outcome):
    outputs = local_stages.up(STAGE)
    log = local_stages.logs[STAGE]
    base = outputs.base_url
    tap = local_run.topic_tap(STAGE, log)
    tap.start()
    seen: dict[str, list[dict]] = {"results": [], "notifications": []}

    def poll() -> None:
        tap.poll(lambda label, message: seen[label].append(message) if label in seen and isinstance(message, dict) else None)

    status, schedule = http("POST", f"{base}/api/schedules", {
        "name": f"worker-{outcome}", "schedule_expression": "rate(1 minute)", "target_type": "web_action",
        "payload": {"action": "check_tee_times"}})
    assert status == 202, schedule
    try:
        # GIVEN the example worker taking this schedule's runs (the shared stage fires others)
        worker = threading.Thread(target=load_worker().main, daemon=True, args=(
            ["--stage", STAGE, "--runs", "1", "--seconds", "1", "--schedule", schedule["id"], *flags],))
        worker.start()
        sns = boto3.client("sns", endpoint_url=endpoint_url, region_name=REGION)
        web_actions = next(t["TopicArn"] for t in sns.list_topics()["Topics"]
                           if t["TopicArn"].endswith(f":rez-agent-web-actions-{STAGE}"))
        eventually("the worker subscribed", lambda: [
            each for each in sns.list_subscriptions_by_topic(TopicArn=web_actions)["Subscriptions"]
            if "rez-agent-example-worker" in each["Endpoint"]], 30, outputs, log)

        # WHEN the schedule fires (within a minute and the emulator's tick)
        def reported():
            poll()
            return [r for r in seen["results"] if r.get("schedule_id") == schedule["id"]]

        [report] = eventually("the worker's report on the results topic", reported, 150, outputs, log)
        assert report["outcome"] == outcome and "check_tee_times" in report["message"]
        worker.join(timeout=10)
        assert not worker.is_alive(), "the worker did not stop after its one run"

        # THEN the run carries what the worker reported, with how long it ran
        def recorded():
            items = http("GET", f"{base}/api/schedules/{schedule['id']}/executions")[1].get("items", [])
            return [i for i in items if i["execution_id"] == report["execution_id"] and i.get("reported_outcome")]

        [execution] = eventually("the report recorded on the run", recorded, 60, outputs, log)
        assert execution["reported_outcome"] == outcome and execution["run_duration_ms"] >= 1000
        # AND the timeline shows the slot as the worker said, with the duration
        slots = http("GET", f"{base}/api/schedules/{schedule['id']}/timeline")[1]["items"]
        [slot] = [e for e in slots if (e.get("execution") or {}).get("execution_id") == report["execution_id"]]
        assert slot["result"] == outcome and slot["execution"]["run_duration_ms"] >= 1000
        # AND a reported failure is alerted once (a success not at all)
        def alerts():
            poll()
            return [m for m in seen["notifications"] if m.get("schedule_id") == schedule["id"] and m.get("kind") == "failed"]

        if outcome == "failed":
            eventually("the failure's alert", alerts, 60, outputs, log)
        time.sleep(5)
        assert len(alerts()) == (1 if outcome == "failed" else 0), alerts()
    finally:
        http("DELETE", f"{base}/api/schedules/{schedule['id']}")
        tap.stop()
