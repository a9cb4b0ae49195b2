"""Calendars, skip and snooze in the console, in a real browser (Chromium, headless), against
the local stage deployed on the session's endpoint: a person imports an .ics file as a
calendar on the Calendars page, names it in a schedule's form, sees the days it skips in the
schedule's plan, skips the next slots and snoozes the schedule from its page. Screenshots go
to ``build/test-output/console/``."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from integration.deployed import http
from integration.test_console_browser import CHROMIUM, STAGE, WAIT_MS, shot

ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Golf Club//Holidays//EN\r
BEGIN:VEVENT\r
UID:christmas@club\r
DTSTAMP:20261101T000000Z\r
DTSTART;VALUE=DATE:20261225\r
RRULE:FREQ=YEARLY\r
SUMMARY:Christmas Day\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:new-year-2027@club\r
DTSTAMP:20261101T000000Z\r
DTSTART;VALUE=DATE:20270101\r
SUMMARY:New Year's Day\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.fixture(scope="module")
def base_url(local_stages) -> Iterator[str]:
    with local_stages.pointed():
        yield local_stages.up(STAGE).base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: `make browser` (or apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def test_a_person_imports_a_calendar_and_skips_and_snoozes_a_schedule(base_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    name = f"holidays-{uuid.uuid4().hex[:6]}"
    ics = tmp_path / "holidays.ics"
    ics.write_text(ICS)

    # GIVEN the Calendars page, WHEN a person imports an .ics file as a new calendar
    page.goto(f"{base_url}/#/calendars", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Calendars", exact=True).wait_for()
    page.get_by_role("link", name="New calendar").click()
    text = page.get_by_label("The calendar (JSON)")
    text.fill(json.dumps({"name": name, "timezone": "America/New_York"}))
    page.get_by_label("Import an .ics file (optional)").set_input_files(str(ics))
    page.wait_for_function("document.getElementById('calendar-json').value.includes('VCALENDAR')")
    page.get_by_role("button", name="Create calendar").click()
    # THEN it is listed with the days read from the file
    row = page.get_by_role("row").filter(has_text=name)
    row.wait_for()
    assert "2027-01-01" in row.text_content() and "every year on 12-25" in row.text_content()
    shot(page, "calendars-1-list")

    # WHEN a schedule names it in the form
    page.get_by_role("link", name="New schedule").click()
    page.get_by_label("Name (required)").fill(f"tee-{name}")
    # hourly: its next slots are in the timeline's window around now
    page.get_by_label("Schedule expression (required)").fill("rate(1 hour)")
    page.get_by_label("Time zone").fill("America/New_York")
    page.get_by_label("Skip the days of these calendars (optional)").fill(name)
    page.get_by_role("button", name="Create schedule").click()
    page.get_by_role("heading", name=re.compile(f"tee-{name}")).wait_for()
    page.locator("h2 .badge", has_text="active").wait_for(timeout=60_000)
    # THEN its page names the calendar
    definition = page.locator("dl.definition")
    assert name in definition.text_content()
    shot(page, "calendars-2-schedule")

    # WHEN the next two slots are skipped THEN the plan shows them skipped, as requested
    page.once("dialog", lambda dialog: dialog.accept("2"))
    page.get_by_role("button", name="Skip next…").click()
    page.get_by_role("button", name="Undo skip").wait_for(timeout=60_000)
    page.locator(".skipped-next li", has_text="requested").first.wait_for(timeout=60_000)
    assert page.locator(".skipped-next li", has_text="requested").count() == 2
    timeline = page.locator("section.timeline")
    timeline.locator(".slot.is-skipped .reason", has_text="requested").first.wait_for()
    shot(page, "calendars-3-skipped")

    # WHEN it is snoozed for an hour THEN the record says until when, and it can be ended
    page.once("dialog", lambda dialog: dialog.accept("1"))
    page.get_by_role("button", name="Snooze…").click()
    page.get_by_role("button", name="End snooze").wait_for(timeout=60_000)
    shown = page.locator("dl.definition").text_content() or ""
    assert "it resumes by itself" in shown and "the slots before" in shown and "[object" not in shown, shown
    shot(page, "calendars-4-snoozed")
    history = page.locator("ol.history").text_content()
    assert "skip" in history and "snooze" in history

    # AND the calendar cannot be deleted while the schedule names it
    page.goto(f"{base_url}/#/calendars", wait_until="domcontentloaded")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#delete-{name}").click()
    page.locator("#toast", has_text="is used by schedule").wait_for()
    schedule_id = re.search(r"[0-9a-f-]{36}", page.locator("#toast").text_content() or "")
    assert schedule_id, page.locator("#toast").text_content()
    http("DELETE", f"{base_url}/api/schedules/{schedule_id.group(0)}")
    assert errors == []
