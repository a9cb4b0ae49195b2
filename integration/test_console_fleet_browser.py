"""The console's fleet tools in a real browser (Chromium, headless) against the local stage
on ministack: labels in the form and the list's filter, the bulk bar (a dry run listing
exactly what it would touch, then the report), a schedule made from a template and re-applied
after the template changed, all of it within a phone's screen and reachable by keyboard.

Each test acts as an owner of its own, so the schedules it selects are only its own.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

from integration import test_console_browser as console
from integration.test_console_browser import OVERFLOWING, SIZES, WAIT_MS, reachable_by_tab, shot

# the console tests' fixtures: the session's deployed local stage, and Chromium
base_url = console.base_url
browser = console.browser

DAILY = {"schedule_expression": "cron(0 6 * * ? *)", "timezone": "UTC", "target_type": "notification"}


def new_owner() -> str:
    return f"console-bulk-{uuid.uuid4().hex[:8]}"


def call(base_url: str, owner: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        f"{base_url}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"X-Created-By": owner, "Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def applied(base_url: str, owner: str, seconds: float = 90) -> list[dict[str, Any]]:
    """The owner's schedules once none is pending."""
    deadline = time.monotonic() + seconds
    while True:
        items = call(base_url, owner, "GET", "/api/schedules?limit=100")["items"]
        if not any(item["status"] == "pending" for item in items):
            return items
        assert time.monotonic() < deadline, "the schedules were never applied"
        time.sleep(2)


def open_as(browser: Any, owner: str, size: str = "desktop") -> Any:
    context = browser.new_context(**SIZES[size])
    context.add_init_script(f"localStorage.setItem('rez-agent-acting-as', {json.dumps(owner)})")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    return page


def list_names(page: Any) -> list[str]:
    return sorted(page.locator("main table.cards").last.locator("tbody th a").all_text_contents())


def test_a_schedule_gets_labels_in_the_form_and_the_list_filters_by_them(base_url, browser):
    owner = new_owner()
    call(base_url, owner, "POST", "/api/schedules", {**DAILY, "name": "unlabelled"})
    page = open_as(browser, owner)
    page.goto(f"{base_url}/#/new", wait_until="domcontentloaded")
    page.get_by_role("heading", name="New schedule").wait_for()
    # WHEN a person fills the form with two labels, one of them with a key AWS would refuse
    page.get_by_label("Name (required)").fill("labelled")
    page.get_by_label("Schedule expression (required)").fill("cron(0 7 * * ? *)")
    for key, value in (("team", "golf"), ("bad key", "x")):
        page.get_by_role("button", name="Add label").click()
        page.locator(".label-row").last.get_by_label("Key").fill(key)
        page.locator(".label-row").last.get_by_label("Value").fill(value)
    page.get_by_role("button", name="Create schedule").click()
    # THEN the server's message appears under that label's row, not elsewhere
    bad_row = page.locator(".label-row").last
    bad_row.locator(".error").filter(has_text="labels.bad key").wait_for()
    assert page.locator(".label-row").first.locator(".error").text_content() == ""
    assert bad_row.get_by_label("Key").get_attribute("aria-invalid") == "true"
    shot(page, "fleet-form-label-error")
    # WHEN the bad label is removed (by keyboard) and the form sent again
    bad_row.get_by_role("button", name="Remove").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Create schedule").click()
    # THEN the schedule's page shows its label as a chip
    page.get_by_role("heading", name="labelled").wait_for()
    page.locator(".definition .chip", has_text="team=golf").wait_for()
    applied(base_url, owner)

    # WHEN the list is filtered by the label
    page.goto(f"{base_url}/#/list", wait_until="domcontentloaded")
    page.locator("main tbody th a").first.wait_for()
    assert list_names(page) == ["labelled", "unlabelled"]
    page.get_by_label("With labels").fill("team=golf")
    page.get_by_role("button", name="Apply").click()
    # THEN only the labelled schedule is listed, with its chip, and the filter is in the address
    page.wait_for_function("() => document.querySelectorAll('main tbody th a').length === 1")
    assert list_names(page) == ["labelled"]
    assert "label=team%3Dgolf" in page.url
    # AND it survives a reload
    page.reload()
    page.locator("main tbody th a").first.wait_for()
    assert list_names(page) == ["labelled"]
    assert page.get_by_label("With labels").input_value() == "team=golf"
    # AND two labels are ANDed: none of the schedules has both
    page.get_by_label("With labels").fill("team=golf env=prod")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("No schedules.").wait_for()
    assert page.errors == []


def test_a_bulk_pause_of_a_label_shows_the_dry_run_then_the_report(base_url, browser):
    # GIVEN three golf schedules and two tennis ones of one owner
    owner = new_owner()
    golf = ["golf-1", "golf-2", "golf-3"]
    for name in golf:
        call(base_url, owner, "POST", "/api/schedules", {**DAILY, "name": name, "labels": {"team": "golf"}})
    for name in ("tennis-1", "tennis-2"):
        call(base_url, owner, "POST", "/api/schedules", {**DAILY, "name": name, "labels": {"team": "tennis"}})
    applied(base_url, owner)
    page = open_as(browser, owner)
    bulk_posts: list[dict[str, Any]] = []
    page.on("request", lambda request: bulk_posts.append(request.post_data_json)
            if request.url.endswith("/api/schedules/bulk") else None)

    # WHEN a person picks one tennis row by keyboard and asks what a pause would touch
    page.goto(f"{base_url}/#/list", wait_until="domcontentloaded")
    page.get_by_label("Select tennis-1").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Show what it would touch").click()
    # THEN the dry run lists exactly that row
    plan = page.locator("#bulk-plan")
    plan.get_by_role("heading", name="Dry run: pause would touch 1 schedule").wait_for()
    assert sorted(plan.locator("tbody th a").all_text_contents()) == ["tennis-1"]
    page.get_by_role("button", name="Cancel").click()

    # WHEN the list is filtered by team=golf and the filter is chosen for a pause
    page.goto(f"{base_url}/#/list?label=team%3Dgolf", wait_until="domcontentloaded")
    page.wait_for_function("() => document.querySelectorAll('main > table tbody th a').length === 3")
    page.get_by_label("Which schedules").select_option(label="All the filter picks: team=golf")
    page.get_by_label("Reason (optional)").fill("course closed")
    page.get_by_role("button", name="Show what it would touch").click()
    # THEN the dry run lists exactly the three golf schedules, and nothing has changed
    plan.get_by_role("heading", name="Dry run: pause would touch 3 schedules").wait_for()
    assert sorted(plan.locator("tbody th a").all_text_contents()) == golf
    assert set(plan.locator("tbody .result").all_text_contents()) == {"○ planned"}
    assert {item["status"] for item in call(base_url, owner, "GET", "/api/schedules?limit=100")["items"]} == {"active"}
    shot(page, "fleet-bulk-dry-run")

    # WHEN the person confirms, with a double click
    page.get_by_role("button", name="Pause: these 3 schedules").dblclick()
    # THEN the report says each was done, and the action was sent once
    report = page.locator("#bulk-report")
    report.get_by_role("heading", name="Pause: ✔ 3 done · ‖ 0 skipped · ✖ 0 failed").wait_for()
    assert sorted(report.locator("tbody th a").all_text_contents()) == golf
    real = [body for body in bulk_posts if not body.get("dry_run")]
    assert len(real) == 1 and sorted(real[0]["selector"]) == ["ids", "labels"] and real[0]["reason"] == "course closed"
    # AND the rows show paused (the list refreshes itself while they are pending)
    rows = page.locator("main > table tbody tr")
    page.wait_for_function(
        "() => [...document.querySelectorAll('main > table tbody td.status')].every((c) => c.textContent.includes('paused'))",
        timeout=90_000)
    assert rows.count() == 3
    shot(page, "fleet-bulk-report")
    # AND the tennis schedules are untouched
    statuses = {item["name"]: item["status"] for item in call(base_url, owner, "GET", "/api/schedules?limit=100")["items"]}
    assert statuses == {**dict.fromkeys(golf, "paused"), "tennis-1": "active", "tennis-2": "active"}
    assert page.errors == []


TEMPLATE = {
    "name": "club-check",
    "description": "check one club every morning",
    "parameters": {"club_id": {"type": "integer", "description": "the club"}, "hour": {"type": "integer", "default": 6}},
    "schedule": {"name": "club-{{club_id}}", "schedule_expression": "cron(0 {{hour}} * * ? *)", "timezone": "UTC",
                 "target_type": "notification", "payload": {"club": "{{club_id}}"}, "labels": {"club": "c{{club_id}}"}},
}


def test_a_schedule_made_from_a_template_is_re_applied_after_the_template_changes(base_url, browser):
    # GIVEN a template with a required parameter and one with a default
    owner = new_owner()
    call(base_url, owner, "POST", "/api/templates", TEMPLATE)
    page = open_as(browser, owner)
    page.goto(f"{base_url}/#/templates", wait_until="domcontentloaded")
    row = page.get_by_role("row").filter(has_text="club-check")
    assert "club_id: integer (required), hour: integer = 6" in row.text_content()
    # WHEN a person makes a schedule from it, first without the required parameter
    row.get_by_role("link", name="New schedule from it").click()
    page.get_by_role("heading", name="New schedule from a template").wait_for()
    assert page.get_by_label("hour").input_value() == "6"
    page.get_by_role("button", name="Create schedule").click()
    # THEN the server's message appears under that parameter
    page.locator("#field-param-club_id-error").filter(has_text="params.club_id").wait_for()
    # WHEN it is filled THEN the preview lists the fire times it makes, at the default hour
    page.get_by_label("club_id (required)").fill("7")
    page.locator(".preview ol li").first.wait_for()
    assert page.locator(".preview ol li").count() == 5
    assert "06:00" in page.locator(".preview ol li").first.text_content()
    shot(page, "fleet-from-template")
    page.get_by_role("button", name="Create schedule").click()
    # THEN its page names the template and version it was made from, and its label
    page.get_by_role("heading", name="club-7").wait_for()
    definition = page.locator(".definition")
    definition.locator("dd", has_text="club-check, version 1 (club_id=7, hour=6)").wait_for()
    definition.locator(".chip", has_text="club=c7").wait_for()
    applied(base_url, owner)

    # GIVEN the template changes its expression: on the half hour
    changed = {**TEMPLATE, "schedule": {**TEMPLATE["schedule"], "schedule_expression": "cron(30 {{hour}} * * ? *)"}}
    call(base_url, owner, "PUT", "/api/templates/club-check", changed, {"If-Match": '"1"'})
    # WHEN the person asks to re-apply it
    page.reload()
    page.get_by_role("button", name="Re-apply from template").click()
    # THEN the dry run shows the difference first, and nothing changed yet
    box = page.locator("#reapply")
    box.get_by_role("heading", name="Re-apply from club-check version 1 → version 2: dry run").wait_for()
    assert box.locator("tbody th").all_text_contents() == ["schedule_expression"]
    assert "cron(0 6 * * ? *)" in box.text_content() and "cron(30 6 * * ? *)" in box.text_content()
    shot(page, "fleet-reapply-dry-run")
    schedule_id = page.url.rsplit("/", 1)[1]
    assert call(base_url, owner, "GET", f"/api/schedules/{schedule_id}")["schedule_expression"] == "cron(0 6 * * ? *)"
    # WHEN it is applied THEN the schedule is made from version 2
    page.get_by_role("button", name="Apply: change 1 field").click()
    definition.locator("dd", has_text="club-check, version 2 (club_id=7, hour=6)").wait_for()
    assert call(base_url, owner, "GET", f"/api/schedules/{schedule_id}")["schedule_expression"] == "cron(30 6 * * ? *)"
    assert page.errors == []


def test_the_fleet_controls_fit_a_phone_and_are_reachable_by_keyboard(base_url, browser):
    # GIVEN an owner with a template and two labelled schedules, on a 390x844 phone
    owner = new_owner()
    call(base_url, owner, "POST", "/api/templates", TEMPLATE)
    for name in ("phone-golf-with-a-rather-long-name-1", "phone-golf-2"):
        call(base_url, owner, "POST", "/api/schedules",
             {**DAILY, "name": name, "labels": {"team": "golf", "location": "north-course/back-nine"}})
    applied(base_url, owner)
    page = open_as(browser, owner, "phone")
    steps = {
        "list-bulk": ("/#/list?label=team%3Dgolf", "Schedules", "main > table tbody th a"),
        "form-labels": ("/#/new", "New schedule", "#label-add"),
        "from-template": ("/#/from/club-check", "New schedule from a template", "#field-param-club_id"),
        "templates": ("/#/templates", "Templates", "main tbody th"),
    }
    for name, (path, heading, ready) in steps.items():
        # WHEN each of the new pages is opened (the list with its dry run open, the form with a label row)
        page.goto(f"{base_url}{path}", wait_until="domcontentloaded")
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        page.locator(ready).first.wait_for()
        if name == "list-bulk":
            page.get_by_label("Which schedules").select_option(label="All the filter picks: team=golf")
            page.get_by_role("button", name="Show what it would touch").click()
            page.locator("#bulk-plan tbody th a").first.wait_for()
        elif name == "form-labels":
            page.get_by_role("button", name="Add label").click()
        # THEN nothing is wider than the screen, and every table is a stack of cards
        layout = page.evaluate(OVERFLOWING)
        assert layout["scroll"] <= layout["width"] + 1 and not layout["out"], (name, layout)
        assert not layout["squeezed"] and not layout["not_cards"], (name, layout)
        # AND Tab reaches every control
        expected, seen = reachable_by_tab(page)
        assert expected - seen == set(), (name, sorted(expected - seen)[:10])
        shot(page, f"phone-fleet-{name}")
    assert page.errors == []
