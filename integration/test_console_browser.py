"""The schedule console in a real browser (Chromium, headless), against the whole service on
ministack, brought up the way ``make run`` brings it up.

A person's path through the console: open the list, create a schedule through the form (an
invalid expression first: its message appears next to the field), see it become active,
pause and resume it, run it now and see the execution appear, read its timeline, delete it.
A screenshot of each page goes to ``build/test-output/console/``.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
import uuid
from collections import Counter
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


def shot(page: Any, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


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

    # GIVEN the console at the API's root: the overview first
    page.goto(f"{base_url}/", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Overview", exact=True).wait_for()
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
    row.locator(".health .badge").wait_for()  # from the list item itself: no request per row
    assert row.locator(".next-fire").text_content() not in ("…", "—")
    shot(page, "4-list")
    page.goto(schedule_url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Pause").wait_for()

    # WHEN it is paused THEN it shows paused; WHEN resumed THEN active again
    page.get_by_role("button", name="Pause").click()
    # the status badge (the health badge of a paused schedule says paused too)
    page.locator("h2 .badge.is-paused", has_text="paused").wait_for(timeout=60_000)
    page.get_by_role("button", name="Resume").click()
    page.locator("h2 .badge", has_text="active").wait_for(timeout=60_000)

    # WHEN it is run now THEN the execution appears, marked manual, and succeeded
    page.get_by_role("button", name="Run now").click()
    reload_until(page, "section[aria-labelledby='exec-title'] tbody", "manual", seconds=45)
    reload_until(page, "section[aria-labelledby='exec-title'] tbody", "succeeded", seconds=30)

    # AND its timeline shows the manual run among the planned slots, each result in words
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


# --- the fleet on any screen ------------------------------------------------------------------

FLEET_OWNER = f"console-fleet-{uuid.uuid4().hex[:6]}"
SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True},
    # 200 % zoom of a 1280x800 screen: half the CSS pixels, each drawn twice as large
    "zoom-200": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
}
PAGE_HEADINGS = {"overview": "Overview", "list": "Schedules", "calendars": "Calendars", "schedule": "fleet-3-hourly",
                 "form": "New schedule"}


def call(base_url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """One API call as the fleet's owner; the decoded answer."""
    request = urllib.request.Request(
        f"{base_url}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"X-Created-By": FLEET_OWNER, "Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture(scope="module")
def fleet(base_url) -> dict[str, str]:
    """Three schedules of one owner, applied: one every three hours (so its page's day strip has a
    slot within the next four hours whenever the test runs), a paused one, one every minute."""
    bodies = [
        {"name": "fleet-3-hourly", "schedule_expression": "cron(0 */3 * * ? *)", "timezone": "America/New_York",
         "target_type": "web_action", "payload": {"action": "check_tee_times"}},
        {"name": "fleet-paused", "schedule_expression": "rate(1 hour)", "target_type": "notification",
         "state": "DISABLED", "payload": {"note": "paused"}},
        {"name": "fleet-minutely", "schedule_expression": "rate(1 minute)", "target_type": "web_action"},
    ]
    ids = {body["name"]: call(base_url, "POST", "/api/schedules", body)["id"] for body in bodies}
    deadline = time.monotonic() + 90
    while any(item["status"] == "pending" for item in call(base_url, "GET", "/api/schedules?limit=100")["items"]):
        assert time.monotonic() < deadline, "the fleet's schedules were never applied"
        time.sleep(2)
    return ids


def open_as_owner(browser: Any, size: str) -> Any:
    context = browser.new_context(**SIZES[size])
    context.add_init_script(f"localStorage.setItem('rez-agent-acting-as', {json.dumps(FLEET_OWNER)})")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def open_page(page: Any, base_url: str, name: str, fleet: dict[str, str]) -> None:
    path = {"overview": "/", "list": "/#/list", "schedule": f"/#/s/{fleet['fleet-3-hourly']}", "form": "/#/new",
            "calendars": "/#/calendars"}[name]
    page.goto(f"{base_url}{path}", wait_until="domcontentloaded")
    page.locator("main h2").filter(has_text=PAGE_HEADINGS[name]).wait_for()
    ready = {"overview": ".tiles li", "list": "table.cards tbody th", "schedule": ".strip .cell", "form": ".preview",
             "calendars": "table.cards tbody tr"}
    page.locator(f"main {ready[name]}").first.wait_for()


OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const out = [...document.querySelectorAll('body *')].filter((node) => {
    const box = node.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(node).visibility !== 'hidden'
      && (box.right > width + 1 || box.left < -1) && !node.closest('.skip, #toast');
  });
  // a cell squeezed so narrow that its words break letter by letter
  const squeezed = [...document.querySelectorAll('main tbody td, main tbody th')].filter((node) => {
    const box = node.getBoundingClientRect();
    return box.width > 0 && box.width < 40 && (node.textContent || '').trim().length > 1;
  });
  // below 40em every table is a stack of cards
  const narrow = window.matchMedia('(max-width: 40em)').matches;
  const tables = [...document.querySelectorAll('main tbody tr')].filter(
    (row) => narrow && getComputedStyle(row).display !== 'block');
  const describe = (nodes) => nodes.slice(0, 5).map(
    (node) => node.tagName + '.' + node.className + ' ' + (node.textContent || '').slice(0, 40));
  return {scroll: document.documentElement.scrollWidth, width, out: describe(out),
          squeezed: describe(squeezed), not_cards: describe(tables)};
}"""

# What identifies a control across refreshes (the schedule page re-renders every 10 s).
KEY_OF = """(node) => node.id || node.dataset.key || (node.tagName + ' ' + (node.getAttribute('href') || '')
  + ' ' + (node.getAttribute('aria-label') || node.textContent || '').trim().slice(0, 60))"""

FOCUSABLE = f"""() => [...document.querySelectorAll(
    'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex="0"]')]
  .filter((node) => node.getClientRects().length && getComputedStyle(node).visibility !== 'hidden'
    && !node.closest('[hidden]') && !node.matches('.strip .cell[tabindex="-1"]'))
  .map({KEY_OF})"""


def reachable_by_tab(page: Any) -> tuple[set[str], set[str]]:
    """Every control of the page, and those Tab reached from the top (within a bound)."""
    expected = set(page.evaluate(FOCUSABLE))
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    seen: set[str] = set()
    for _ in range(len(expected) + 15):
        page.keyboard.press("Tab")
        seen.add(page.evaluate(f"({KEY_OF})(document.activeElement)"))
        if expected <= seen:
            break
    return expected, seen


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_the_screen_and_every_control_is_reachable_by_keyboard(base_url, browser, fleet, size):
    page = open_as_owner(browser, size)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for name in PAGE_HEADINGS:
        # WHEN a person opens the page at this size
        open_page(page, base_url, name, fleet)
        # THEN nothing is wider than the screen, and nothing sticks out of it
        layout = page.evaluate(OVERFLOWING)
        assert layout["scroll"] <= layout["width"] + 1 and not layout["out"], (size, name, layout)
        # AND no table is squeezed: below 40em each row is a card
        assert not layout["squeezed"] and not layout["not_cards"], (size, name, layout)
        # AND Tab reaches every control
        expected, seen = reachable_by_tab(page)
        assert expected - seen == set(), (size, name, sorted(expected - seen)[:10])
        shot(page, f"{size}-{name}")
    assert errors == []


def test_the_overview_counts_match_the_api(base_url, browser, fleet):
    page = open_as_owner(browser, "desktop")
    for _ in range(3):  # a minutely schedule's health may move between the two reads: read again
        # WHEN the owner opens the overview
        open_page(page, base_url, "overview", fleet)
        shown_health = {
            node.get_attribute("data-health"): int(node.locator(".count").text_content())
            for node in page.locator(".tiles li[data-health]").all()
        }
        shown_status = {
            node.get_attribute("data-status"): int(node.locator(".count").text_content())
            for node in page.locator(".tiles li[data-status]").all()
        }
        # AND the API lists the same owner's schedules
        items = call(base_url, "GET", "/api/schedules?limit=100")["items"]
        by_health = dict(Counter(item["health"] or "none" for item in items))
        by_status = dict(Counter(item["status"] for item in items))
        if (shown_health, shown_status) == (by_health, by_status):
            break
        time.sleep(3)
    # THEN the overview's counts are the list's
    assert shown_health == by_health
    assert shown_status == by_status == {"active": 2, "paused": 1}
    # AND the paused schedule is counted as paused, never as missing
    assert shown_health.get("paused") == 1
    # AND the next fires name the active schedules, soonest first
    names = page.locator("section[aria-labelledby='fires-title'] tbody th").all_text_contents()
    assert names[0] == "fleet-minutely" and "fleet-3-hourly" in names and "fleet-paused" not in names
    shot(page, "overview")


def test_a_double_click_on_run_now_runs_once(base_url, browser, fleet):
    # GIVEN the paused schedule's page (no run of its own comes in between)
    page = open_as_owner(browser, "desktop")
    page.goto(f"{base_url}/#/s/{fleet['fleet-paused']}", wait_until="domcontentloaded")
    button = page.get_by_role("button", name="Run now")
    button.wait_for()
    # WHEN a person double-clicks Run now
    button.dblclick()
    # THEN the buttons are disabled while the request is in flight
    # AND exactly one run is recorded, also once the page refreshed itself
    deadline = time.monotonic() + 60
    while True:
        runs = call(base_url, "GET", f"/api/schedules/{fleet['fleet-paused']}/executions?limit=20")["items"]
        if runs or time.monotonic() > deadline:
            break
        time.sleep(2)
    time.sleep(5)
    runs = call(base_url, "GET", f"/api/schedules/{fleet['fleet-paused']}/executions?limit=20")["items"]
    history = call(base_url, "GET", f"/api/schedules/{fleet['fleet-paused']}/history?limit=20")["items"]
    assert [run["trigger"] for run in runs] == ["manual"]
    assert [entry["action"] for entry in history].count("run") == 1


def test_the_symbols_are_drawn_by_the_installed_fonts(base_url, browser, fleet):
    # GIVEN a schedule's page, whose legend shows every slot result's symbol
    page = open_as_owner(browser, "desktop")
    open_page(page, base_url, "schedule", fleet)
    symbols = sorted({text.split()[0] for text in page.locator(".legend .badge").all_text_contents()})
    # WHEN each is drawn next to a code point no font has (drawn as the "missing glyph" box)
    missing = page.evaluate(
        """(symbols) => {
          const font = getComputedStyle(document.querySelector('.legend .badge')).font;
          const draw = (text) => {
            const canvas = document.createElement('canvas');
            canvas.width = 64; canvas.height = 64;
            const context = canvas.getContext('2d');
            context.font = font.replace(/\\d+(\\.\\d+)?px/, '40px');
            context.fillText(text, 8, 48);
            return canvas.toDataURL();
          };
          const box = draw('\\u{10FFFD}');
          return symbols.filter((symbol) => draw(symbol) === box);
        }""",
        symbols,
    )
    # THEN none of them is the box
    assert len(symbols) >= 6 and missing == []


PREVIEW_AND_FIELD = """() => {
  const preview = document.querySelector('.preview').getBoundingClientRect();
  const field = document.activeElement.getBoundingClientRect();
  return {top: preview.top, bottom: preview.bottom, height: innerHeight, fieldBottom: field.bottom, fieldTop: field.top};
}"""


def test_the_preview_stays_in_view_while_typing_at_double_zoom(base_url, browser):
    page = open_as_owner(browser, "zoom-200")
    page.goto(f"{base_url}/#/new", wait_until="domcontentloaded")
    page.get_by_role("heading", name="New schedule").wait_for()
    # WHEN a person types an expression, then moves on to a field far below it
    page.get_by_label("Schedule expression (required)").fill("rate(5 minutes)")
    page.locator(".preview ol li").first.wait_for()
    later = page.get_by_label("Flexible window, minutes (optional)")
    later.focus()
    page.keyboard.type("15")
    # THEN the preview is still on screen, and does not cover the field being typed in
    # (nor the first fields, when the person comes back up to them)
    view = page.evaluate(PREVIEW_AND_FIELD)
    assert view["top"] < view["height"] and view["bottom"] > 0, view
    assert view["fieldTop"] >= 0 and view["fieldBottom"] <= view["top"] + 1, view
    page.get_by_label("Time zone").focus()
    view = page.evaluate(PREVIEW_AND_FIELD)
    assert view["top"] < view["height"] and view["fieldTop"] >= 0 and view["fieldBottom"] <= view["top"] + 1, view
    # AND the custom target's ARN is asked for only when the target is custom
    assert not page.get_by_label("Target ARN (required)").is_visible()
    page.get_by_label("Target", exact=True).select_option("custom")
    assert page.get_by_label("Target ARN (required)").is_visible()
    shot(page, "zoom-200-form-typing", full_page=False)


def test_each_error_of_a_400_appears_under_its_field_and_clears_when_it_changes(base_url, browser):
    # GIVEN the form, and an API that answers the create with errors naming their fields
    # (the answer's shape: {"Code", "Message", "Errors": [{"field", "message"}]})
    page = open_as_owner(browser, "desktop")
    answers = [
        {"Code": "ValidationError", "Message": "two fields are invalid", "Errors": [
            {"field": "retry_policy.maximum_retry_attempts", "message": "must be at most 185"},
            {"field": "alerts.pause_after_failures", "message": "must be at least 1"},
        ]},
        {"Code": "ValidationError", "Message": "the definition is not valid; see the fields"},
    ]

    def answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        route.fulfill(status=400, content_type="application/json", body=json.dumps(answers.pop(0)))

    page.route("**/api/schedules", answer)
    page.goto(f"{base_url}/#/new", wait_until="domcontentloaded")
    page.get_by_role("heading", name="New schedule").wait_for()
    page.get_by_label("Name (required)").fill("errors-by-field")
    page.get_by_label("Schedule expression (required)").fill("rate(1 hour)")
    # WHEN it is submitted
    page.get_by_role("button", name="Create schedule").click()
    # THEN each message is under its own field, and none is left alone by the button
    retry_error = page.locator("#field-maximum_retry_attempts-error")
    retry_error.filter(has_text="must be at most 185").wait_for()
    assert "must be at least 1" in page.locator("#field-alerts-pause_after_failures-error").text_content()
    assert page.locator("#form-error").text_content() == ""
    # WHEN the retry field changes THEN its message goes, and the other one stays
    page.get_by_label("Retry: maximum attempts (optional)").fill("3")
    assert retry_error.text_content() == ""
    assert "must be at least 1" in page.locator("#field-alerts-pause_after_failures-error").text_content()
    # WHEN the next answer names no field THEN its message shows once, next to the button
    page.get_by_role("button", name="Create schedule").click()
    page.locator("#form-error", has_text="see the fields").wait_for()
    assert page.get_by_text("see the fields").count() == 1
    assert page.locator("#field-alerts-pause_after_failures-error").text_content() == ""


def test_the_list_costs_one_request_a_page(base_url, browser, fleet):
    # GIVEN the console, counting what it asks the API
    page = open_as_owner(browser, "desktop")
    asked: list[str] = []
    api_root = f"{base_url}/api/"
    page.on("request", lambda request: asked.append(request.url) if request.url.startswith(api_root) else None)
    # WHEN the list of schedules is opened
    open_page(page, base_url, "list", fleet)
    page.locator("main .health .badge").first.wait_for()
    # THEN one request brought every row's status, health, next fire and last run
    assert [url[len(api_root):].split("?")[0] for url in asked] == ["schedules"]
    assert page.locator("main tbody tr").count() == 3
    assert page.locator("main .next-fire").filter(has_text="—").count() == 1  # only the paused one has none
