"""The console's files are served by the app: the page at the root, its assets by name, and
nothing else from the file system."""

from __future__ import annotations

import pytest
from chalice.test import Client

import app as app_module


@pytest.fixture
def client():
    with Client(app_module.app, stage_name="dev") as test_client:
        yield test_client


def test_the_page_is_served_at_the_root_with_its_assets(client):
    # WHEN a browser opens the API's root
    page = client.http.get("/")
    # THEN it gets the console's page, which loads its script and styles relatively
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b'src="console/app.js"' in page.body and b'href="console/style.css"' in page.body
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    # AND the assets come back with the right content types
    script = client.http.get("/console/app.js")
    styles = client.http.get("/console/style.css")
    assert (script.status_code, script.headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    assert (styles.status_code, styles.headers["Content-Type"]) == (200, "text/css; charset=utf-8")
    assert b"/api/schedules" in script.body


@pytest.mark.parametrize("name", ["app.py", "..%2Fapp.py", "console.py", "index.htm", "%2e%2e"])
def test_nothing_but_the_console_files_is_served(client, name):
    # WHEN a path outside the console's files is asked for
    response = client.http.get(f"/console/{name}")
    # THEN it is a 404 in the API's error format, not a file
    assert response.status_code == 404
    assert response.json_body["Code"] == "NotFound"


def test_the_page_learns_the_stage_auth_mode(client):
    # WHEN the page asks for its configuration
    response = client.http.get("/console/config.json")
    # THEN it names the stage's auth mode (dev signs with IAM)
    assert response.status_code == 200
    assert response.json_body == {"stage": "dev", "auth_mode": "iam"}


def test_make_run_prints_the_console_next_to_base():
    # GIVEN a local stage that is up
    from ops import app_stack, run

    outputs = app_stack.AppOutputs("stack", "api", "http://127.0.0.1:4566/_aws/execute-api/abc/api", {})
    # WHEN make run prints its banner THEN the console's address is next to BASE=
    text = run.banner(outputs, "ministack", 3.0)
    base_line = text.index("BASE=http://127.0.0.1:4566/_aws/execute-api/abc/api")
    assert "Console: http://127.0.0.1:4566/_aws/execute-api/abc/api/" in text[base_line:base_line + 200]
