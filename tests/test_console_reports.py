"""The console shows how runs ended as their workers reported them: a run's reported outcome,
how long it took and the worker's message in the executions and the timeline, and the
``running``, ``overdue`` and ``timed_out`` slots and a skipped slot's reason.

The app is served on 127.0.0.1 over moto and read in headless Chromium; the schedule's
executions and timeline are answered with records carrying the fields the API names for them
(``dispatched_at``, ``reported_at``, ``reported_outcome``, ``reported_message``,
``run_duration_ms``; a slot's ``reason``). A screenshot goes to build/test-output/console/.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

import app as app_module
from tests.local_api import local_api
from tests.support import TEE_TIMES

pytestmark = pytest.mark.slow  # the app served on 127.0.0.1, read in headless Chromium

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "build" / "test-output" / "console"
FAILURE = "the tee-time site answered 503"
SKIPPED = "overlap policy skip: the run of 07:00 is still running"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def runs_reported(schedule_id: str, now: datetime) -> tuple[list[dict], list[dict]]:
    """The executions (newest first) and timeline slots (oldest first) of a schedule whose
    worker reports: succeeded, failed, timed out, skipped, overdue, running, then upcoming."""
    def run(hours_ago: float, outcome: str = "succeeded", **fields) -> dict:
        slot = now - timedelta(hours=hours_ago)
        started = slot + timedelta(seconds=1)
        return {"schedule_id": schedule_id, "execution_id": f"run-{hours_ago}", "scheduled_time": iso(slot),
                "started_at": iso(started), "dispatched_at": iso(started), "outcome": outcome, "attempt": 1,
                "trigger": "scheduled", "duration_ms": 40, **fields}

    succeeded = run(5, reported_outcome="succeeded", reported_message="42 tee times found",
                    reported_at=iso(now - timedelta(hours=5)), run_duration_ms=2500)
    failed = run(4, reported_outcome="failed", reported_message=FAILURE, reported_at=iso(now - timedelta(hours=4)),
                 run_duration_ms=95_000)
    timed_out = run(3)
    skipped = {**run(2, outcome="skipped", skip_reason=SKIPPED), "duration_ms": None, "dispatched_at": None}
    overdue = run(0.5)
    running = run(0.02)
    executions = [running, overdue, skipped, timed_out, failed, succeeded]

    def slot(record: dict, result: str, **fields) -> dict:
        execution = {key: value for key, value in record.items() if value is not None and key not in ("schedule_id", "scheduled_time", "trigger", "skip_reason")}
        return {"time": record["scheduled_time"], "trigger": "scheduled", "result": result, "execution": execution, **fields}

    timeline = [
        slot(succeeded, "succeeded"),
        slot(failed, "failed", reason=FAILURE),
        slot(timed_out, "timed_out", reason="no report within max_duration_seconds (60 s)"),
        {"time": skipped["scheduled_time"], "trigger": "scheduled", "result": "skipped", "reason": SKIPPED},
        slot(overdue, "overdue"),
        slot(running, "running"),
        {"time": iso(now + timedelta(hours=1)), "trigger": "scheduled", "result": "upcoming"},
    ]
    return [{k: v for k, v in e.items() if v is not None} for e in executions], timeline


@pytest.fixture(scope="module")
def served():
    with local_api(app_module.app) as api:
        yield api


@pytest.fixture
def page():
    if not CHROMIUM.exists():
        pytest.fail(f"the browser test needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1000})
        finally:
            browser.close()


def answer(route, body: dict) -> None:
    route.fulfill(status=200, content_type="application/json", body=json.dumps(body))


def test_a_person_sees_how_each_run_ended_as_its_worker_reported(served, page):
    # GIVEN a schedule whose runs were reported by its worker
    schedule_id = requests.post(f"{served.url}/api/schedules", json=TEE_TIMES, timeout=30).json()["id"]
    now = datetime.now(UTC).replace(microsecond=0)
    executions, timeline = runs_reported(schedule_id, now)
    page.route(re.compile(rf".*/api/schedules/{schedule_id}/executions.*"),
               lambda route: answer(route, {"items": executions, "next_cursor": None}))
    page.route(re.compile(rf".*/api/schedules/{schedule_id}/timeline.*"), lambda route: answer(route, {
        "schedule_id": schedule_id, "from": iso(now - timedelta(hours=20)), "to": iso(now + timedelta(hours=4)),
        "now": iso(now), "grace_seconds": 120, "items": timeline, "next_cursor": None}))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # WHEN a person opens the schedule
    page.goto(f"{served.url}/#/s/{schedule_id}", wait_until="domcontentloaded")
    rows = page.locator("section[aria-labelledby='exec-title'] tbody tr")
    rows.first.wait_for()

    # THEN each execution says what its worker reported, how long the run took and its message
    reported = [row.locator("td.reported").text_content() for row in rows.all()]
    assert reported[0].startswith("no report since ") and reported[3].startswith("no report since ")
    assert reported[4] == f"✖ failed in 1 min 35 s {FAILURE}"
    assert reported[5] == "✔ succeeded in 2.5 s 42 tee times found"
    # AND a skipped run says why
    assert rows.nth(2).locator("td.error-text").text_content() == f"skipped: {SKIPPED}"

    # AND the timeline's slots say the same, with the skipped slot's reason
    slots = page.locator("ol.slots li")
    by_result = {item.get_attribute("class").split("is-", 1)[1]: item.text_content() for item in slots.all()}
    assert "reported succeeded after 2.5 s: 42 tee times found" in by_result["succeeded"]
    assert f"reported failed after 1 min 35 s: {FAILURE}" in by_result["failed"]
    assert by_result["failed"].count(FAILURE) == 1  # the slot's reason is the worker's message: said once
    assert "no report within max_duration_seconds (60 s)" in by_result["timed_out"]
    assert "no report since" in by_result["overdue"] and "no report since" in by_result["running"]
    assert SKIPPED in by_result["skipped"]
    # AND the day strip names each slot's result, the report included
    cells = page.locator(".strip .cell")
    words = [cells.nth(i).get_attribute("aria-label") for i in range(cells.count())]
    assert any(": failed" in word and "reported failed after 1 min 35 s" in word for word in words)
    assert any(": timed_out" in word for word in words) and any(": overdue" in word for word in words)
    assert any(": skipped" in word and SKIPPED in word for word in words)
    assert errors == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "reported-runs.png"), full_page=True)
    # AND on a phone each run is a card that keeps its report
    page.set_viewport_size({"width": 390, "height": 844})
    assert "failed in 1 min 35 s" in rows.nth(4).locator("td.reported").inner_text()
    page.screenshot(path=str(SHOTS / "reported-runs-phone.png"), full_page=True)
