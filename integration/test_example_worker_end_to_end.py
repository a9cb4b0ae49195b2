"""The example worker on the deployed app (ministack, as ``make run``): a schedule's run reaches
the worker through the web-actions topic, and the worker's report reaches the results topic.

The local stage as the other deployed tests share it (integration/conftest.py). The run is a
run-now (it executes within seconds; a fired slot takes the same path from the target on). With
the stage's ``handle_results`` function deployed, the run's execution then carries the report.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest

from integration.deployed import STAGE, eventually, http
from ops import run as local_run

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
def test_the_worker_takes_a_run_and_reports_it_on_the_results_topic(endpoint_url, local_stages, flags, outcome):
    outputs = local_stages.up(STAGE)
    log = local_stages.logs[STAGE]
    base = outputs.base_url
    tap = local_run.topic_tap(STAGE, log)
    tap.start()
    try:
        reports: list[dict] = []
        # GIVEN the example worker listening on the web-actions topic, and a web-action schedule
        status, schedule = http("POST", f"{base}/api/schedules", {
            "name": f"worker-{outcome}", "schedule_expression": "rate(1 hour)", "target_type": "web_action",
            "payload": {"action": "check_tee_times"}})
        assert status == 202, schedule
        # (the shared stage has other schedules firing: the worker takes this one's runs only)
        worker = threading.Thread(target=load_worker().main, daemon=True, args=(
            ["--stage", STAGE, "--runs", "1", "--seconds", "1", "--schedule", schedule["id"], *flags],))
        worker.start()
        eventually("the schedule becomes active",
                   lambda: http("GET", f"{base}/api/schedules/{schedule['id']}")[1].get("status") == "active",
                   90, outputs, log)

        # WHEN it runs
        status, run = http("POST", f"{base}/api/schedules/{schedule['id']}/run")
        assert status == 202, run

        # THEN the worker reports that run on the results topic, with its outcome and message
        def reported():
            tap.poll(lambda label, message: reports.append(message) if label == "results" else None)
            return [r for r in reports if isinstance(r, dict) and r.get("execution_id") == run["execution_id"]]

        [report] = eventually("the worker's report on the results topic", reported, 60, outputs, log)
        assert report["outcome"] == outcome and "check_tee_times" in report["message"]
        worker.join(timeout=10)
        assert not worker.is_alive(), "the worker did not stop after its one run"

        # AND, where the stage records reports, the run carries what the worker reported
        if "handle_results" in outputs.functions:
            def recorded():
                items = http("GET", f"{base}/api/schedules/{schedule['id']}/executions")[1].get("items", [])
                return [i for i in items if i["execution_id"] == run["execution_id"] and i.get("reported_outcome")]

            [execution] = eventually("the report recorded on the run", recorded, 60, outputs, log)
            assert execution["reported_outcome"] == outcome and execution["run_duration_ms"] >= 1000
    finally:
        tap.stop()
