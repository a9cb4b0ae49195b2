"""The schedule console in a real browser (Chromium, headless), against the whole service on
ministack, brought up the way ``make run`` brings it up.

A person's path through the console: open the list, create a schedule through the form (an
invalid expression first: its message appears next to the field), see it become active,
pause and resume it, run it now and see the execution appear, read its timeline, delete it.
A screenshot of each page goes to ``build/test-output/console/``.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ops import run as local_run

STAGE = local_run.LOCAL_STAGE
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "test-output" / "console"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WAIT_MS = 60_000  # the emulator starts a function per cold request: seconds each on a busy machine


@pytest.fixture(scope="module")
def base_url(local_stages) -> Iterator[str]:
    """The local stage deployed on the session's endpoint (integration/conftest.py); the
    API's base URL."""
    with local_stages.pointed():
        yield local_stages.up(STAGE).base_url


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


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def reload_until(page: Any, locator: str, text: str, seconds: float = 30) -> None:
    """Reload the page until ``locator`` shows ``text`` (the console refreshes on its own
    while a change is pending; a run that finished needs a reload)."""
    deadline = time.monotonic() + seconds
    while True:
        if text in (page.locator(locator).first.text_content(timeout=WAIT_MS) or ""):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{locator} never showed {text!r}")
        time.sleep(2)
        page.reload()


def test_a_person_manages_a_schedule_through_the_console(base_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # GIVEN the console at the API's root
    page.goto(f"{base_url}/", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Schedules", exact=True).wait_for()
    assert "Open local stage" in page.locator("#auth").text_content()

    # WHEN a person fills the form with an expression AWS would reject and submits it
    page.get_by_role("link", name="New schedule").click()
    page.get_by_label("Name (required)").fill("console-tee-times")
    page.get_by_label("Schedule expression (required)").fill("cron(61 6 * * ? *)")
    page.get_by_label("Payload (JSON object)").fill('{"action": "check_tee_times"}')
    page.get_by_role("button", name="Create schedule").click()
    # THEN the API's message appears next to the expression field, and nothing was created
    expression_error = page.locator("#field-schedule_expression-error")
    expression_error.filter(has_text="schedule_expression").wait_for()
    assert "out of range 0-59" in expression_error.text_content()
    assert page.get_by_label("Schedule expression (required)").get_attribute("aria-invalid") == "true"
    shot(page, "1-form-rejected-expression")

    # WHEN the expression is corrected
    page.get_by_label("Schedule expression (required)").fill("rate(1 minute)")
    # THEN the preview lists its next fire times
    page.locator(".preview ol li").first.wait_for()
    assert page.locator(".preview ol li").count() == 5
    page.get_by_role("button", name="Create schedule").click()

    # THEN the schedule's page opens and the schedule becomes active on its own
    page.get_by_role("heading", name=re.compile("console-tee-times")).wait_for()
    page.locator("h2 .badge", has_text="active").wait_for(timeout=60_000)
    schedule_url = page.url
    shot(page, "2-schedule-active")

    # AND the list shows it with its status, health and next fire time
    page.get_by_role("link", name="Schedules", exact=True).click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="console-tee-times"))
    row.wait_for()
    assert "active" in row.text_content()
    row.locator(".health .badge").wait_for()  # each row's health comes from the schedule's own read
    assert row.locator(".next-zone").text_content() not in ("…", "—")
    shot(page, "4-list")
    page.goto(schedule_url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Pause").wait_for()

    # WHEN it is paused THEN it shows paused; WHEN resumed THEN active again
    page.get_by_role("button", name="Pause").click()
    page.locator("h2 .badge", has_text="paused").wait_for(timeout=60_000)
    page.get_by_role("button", name="Resume").click()
    page.locator("h2 .badge", has_text="active").wait_for(timeout=60_000)

    # WHEN it is run now THEN the execution appears, marked manual, and succeeded
    page.get_by_role("button", name="Run now").click()
    reload_until(page, "section[aria-labelledby='exec-title'] tbody", "manual", seconds=45)
    reload_until(page, "section[aria-labelledby='exec-title'] tbody", "succeeded", seconds=30)

    # AND its timeline shows the manual run among the planned slots, each state in words
    timeline = page.locator("section.timeline")
    timeline.locator(".slot", has_text="manual run").first.wait_for()
    assert timeline.locator(".slot .badge").count() >= 1
    shot(page, "3-schedule-timeline")

    # AND its change history names the pause and the resume
    history = page.locator("ol.history").text_content()
    assert "pause" in history and "resume" in history

    # WHEN it is deleted (confirming the dialog) THEN the list no longer shows it
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    page.locator("#toast", has_text="Deleting console-tee-times").wait_for()
    page.get_by_role("heading", name="Schedules", exact=True).wait_for()
    deadline = time.monotonic() + 60
    while page.get_by_role("link", name="console-tee-times").count():
        assert time.monotonic() < deadline, "the deleted schedule is still listed"
        time.sleep(2)
        page.reload()
        page.get_by_role("heading", name="Schedules", exact=True).wait_for()
    assert errors == []


def test_the_console_is_usable_by_keyboard_and_at_double_zoom(base_url, browser):
    # GIVEN the console at 200% zoom (half the CSS width of a 1280 px screen)
    page = browser.new_page(viewport={"width": 640, "height": 900}, device_scale_factor=2)
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{base_url}/#/new", wait_until="domcontentloaded")
    page.get_by_role("heading", name="New schedule").wait_for()
    # WHEN a person moves through the form with the keyboard only
    page.keyboard.press("Tab")  # the skip link
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    seen = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.add(page.evaluate("document.activeElement.id || document.activeElement.textContent"))
    # THEN every field of the form can be reached, and every control has a label
    for field in ("field-name", "field-schedule_expression", "field-timezone", "field-payload", "field-state"):
        assert field in seen, field
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select, textarea')]
             .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label'))
             .map((c) => c.id || c.name)"""
    )
    assert unlabelled == []
    # AND nothing is wider than the screen at that zoom
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "5-form-at-200-percent")
