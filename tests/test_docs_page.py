"""``GET /api/docs`` in a real browser (headless Chromium): it renders every operation of
the document and sends a request from its form, loading nothing from another origin."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

import app as app_module
from tests.local_api import local_api

pytestmark = pytest.mark.slow  # the app served on 127.0.0.1, read in headless Chromium

CHROMIUM = Path("/usr/bin/chromium")


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
            yield browser.new_page()
        finally:
            browser.close()


def test_the_page_renders_every_operation_and_sends_a_request(served, page):
    origins = set()
    page.on("request", lambda request: origins.add(urlsplit(request.url).netloc))
    # WHEN the page is opened
    page.goto(f"{served.url}/api/docs")
    page.wait_for_selector("details.op")
    document = json.loads(page.evaluate("fetch('openapi.json').then(r => r.text())"))
    # THEN every operation of the document is on it
    rendered = set(page.eval_on_selector_all("details.op", "nodes => nodes.map(n => n.id)"))
    assert rendered == {op["operationId"] for methods in document["paths"].values() for op in methods.values()}
    # WHEN a preview is sent from its form
    page.click("#preview_expression > summary")
    page.fill("#preview_expression-body", json.dumps({"schedule_expression": "rate(1 hour)", "count": 2}))
    page.click("#preview_expression button")
    result = page.wait_for_selector("#preview_expression pre.status-ok")
    # THEN the API's answer is shown, and nothing was loaded from another origin
    text = result.inner_text()
    assert "200" in text and '"next"' in text
    assert origins == {urlsplit(served.url).netloc}


def test_a_refused_request_shows_the_apis_message(served, page):
    page.goto(f"{served.url}/api/docs")
    page.wait_for_selector("details.op")
    page.click("#get_schedule > summary")
    page.fill("#get_schedule-path-id", "8f7c1a52-0f53-4c1e-9d53-5b8a3f0f0e11")
    page.click("#get_schedule button")
    text = page.wait_for_selector("#get_schedule pre.status-err").inner_text()
    assert "404" in text and "does not exist" in text
