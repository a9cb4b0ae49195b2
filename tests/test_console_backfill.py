"""The console's backfill form and its marks, in a real browser (Chromium, headless), against
the app served on 127.0.0.1 over moto's server (tests/local_api.py).

moto runs no function: the test plays Lambda's part in this process (the command handler for
each published command, the target function for each invoke the app made), through the
functions' own entries. Screenshots go to ``build/test-output/console/``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice.local import LambdaContext
from chalice.test import TestEventsClient as EventsClient

import app as app_module
from chalicelib import clients, wiring
from chalicelib.clock import system_clock
from chalicelib.config import resource_names
from tests.local_api import LocalApi, local_api
from tests.support import JSON, STAGE

pytestmark = pytest.mark.slow  # a browser and the app served over moto's server

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "test-output" / "console"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOURLY = {"name": "console-backfill", "schedule_expression": "rate(1 hour)", "target_type": "web_action",
          "payload": {"action": "report"}}


@pytest.fixture(scope="module")
def served() -> Iterator[LocalApi]:
    with local_api(app_module.app) as api:
        yield api


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: `make browser` (or apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def lambda_runs(function: str, event: dict) -> Any:
    """One invocation of the app's function through its entry, with a minute to run."""
    return app_module.app.handler_map[function](event, LambdaContext(function, 256, max_runtime_ms=60_000))


def deliver_commands(served: LocalApi) -> None:
    events = EventsClient(app_module.app)
    for command in served.resources["tap"].drain(resource_names(STAGE).command_topic):
        lambda_runs("schedule_command", events.generate_sns_event(message=json.dumps(command)))


def outage(served: LocalApi) -> str:
    """An hourly schedule created 3 h 30 min ago that never ran: three slots missed."""
    import requests

    then = system_clock() - timedelta(hours=3, minutes=30)
    wiring.use_clock(lambda: then)
    try:
        created = requests.post(f"{served.url}/api/schedules", headers=JSON, data=json.dumps(HOURLY), timeout=30)
        assert created.status_code == 202, created.text
        deliver_commands(served)
    finally:
        wiring.use_clock(None)
    return str(created.json()["id"])


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_person_backfills_an_outage_from_the_schedules_page(served, browser):
    # GIVEN a schedule whose last three slots were missed, and every invoke the app makes seen
    schedule_id = outage(served)
    invokes: list[dict] = []
    clients.client("lambda").meta.events.register(
        "provide-client-params.lambda.Invoke", lambda params, **_: invokes.append(json.loads(params["Payload"])))
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{served.url}/#/s/{schedule_id}", wait_until="domcontentloaded")
    page.get_by_role("heading", name="console-backfill").wait_for()
    assert page.locator(".strip .cell.is-missed").count() == 3

    # WHEN the person opens the backfill form and asks for a dry run of the missed slots
    page.get_by_role("button", name="Backfill…").click()
    page.get_by_label("Which slots").select_option("missed")
    page.get_by_role("button", name="Dry run").click()
    # THEN the three slots are listed, nothing ran
    answer = page.locator(".backfill-answer")
    answer.get_by_text("Dry run: nothing ran").wait_for()
    assert answer.locator("tbody tr").count() == 3
    assert answer.locator("tbody").text_content().count("would start") == 3
    assert invokes == []
    shot(page, "backfill-1-dry-run")

    # WHEN the person runs the backfill
    page.get_by_role("button", name="Backfill", exact=True).click()
    answer.get_by_text("3 started").wait_for()
    # AND the target function runs the walk the app invoked it with (and its continuations)
    for event in invokes:
        lambda_runs("schedule_target", event)

    # THEN after a refresh the three slots show succeeded, marked as backfilled, and the
    # executions say backfill
    page.get_by_role("button", name="Close").click()
    page.reload(wait_until="domcontentloaded")
    page.locator(".strip .cell.is-succeeded.backfilled").nth(2).wait_for()
    assert page.locator(".strip .cell.is-missed").count() == 0
    tags = page.locator("section.timeline .slot .tag.backfill")
    assert tags.count() == 3 and tags.first.text_content() == "↺ backfilled"
    assert tags.first.get_attribute("title").startswith("backfilled at ")
    executions = page.locator("section[aria-labelledby='exec-title'] tbody")
    assert executions.text_content().count("↺ backfill") == 3
    shot(page, "backfill-2-timeline")

    # WHEN the same backfill is asked for again THEN it runs none and says so
    page.get_by_role("button", name="Backfill…").click()
    page.get_by_role("button", name="Backfill", exact=True).click()
    page.locator(".backfill-answer").get_by_text("3 already ran").wait_for()
    assert len(invokes) == 1
    assert errors == []
