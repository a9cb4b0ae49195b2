"""``make local`` on its embedded moto, as a person meets it: it prints the console's
address and who they are; the README's create-as-team-golf, then get, then list by owner
works as pasted; run now answers a clear 501 (a subprocess, as a user runs it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the API and a moto server as a subprocess

ROOT = Path(__file__).resolve().parent.parent
SERVE_WITHOUT_A_RUN = (
    "import sys; from ops import local; local.RUN_ENV = local.Path(sys.argv[1]); sys.exit(local.main(port=0))"
)


@pytest.fixture(scope="module")
def make_local(tmp_path_factory):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SCHEDULE", "STAGE"))}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_WITHOUT_A_RUN, str(tmp_path_factory.mktemp("local") / "no-env")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 120
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("Who you are:"):
                break
        yield "".join(seen)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def base_of(output: str) -> str:
    return next(line.split("=", 1)[1] for line in output.splitlines() if line.startswith("BASE="))


def call(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_it_prints_the_console_and_who_you_are(make_local):
    base = base_of(make_local)
    assert f"Console: {base}/" in make_local
    assert "naming nobody acts as the local stage's admin" in make_local
    with urllib.request.urlopen(f"{base}/", timeout=30) as response:
        assert response.status == 200 and "text/html" in response.headers["Content-Type"]


def test_the_readme_flow_and_run_now(make_local):
    base = base_of(make_local)
    body = {"name": "tee-times", "schedule_expression": "cron(0 6 * * ? *)", "timezone": "America/New_York",
            "target_type": "web_action", "payload": {"action": "check_tee_times"}}
    # GIVEN a schedule created as team-golf
    status, created = call("POST", f"{base}/api/schedules", body, {"X-Created-By": "team-golf"})
    assert status == 202, created
    # WHEN the person reads it and lists team-golf's, naming nobody
    status, fetched = call("GET", f"{base}/api/schedules/{created['id']}")
    listed_status, listed = call("GET", f"{base}/api/schedules?created_by=team-golf")
    # THEN both answer it
    assert status == 200 and fetched["created_by"] == "team-golf"
    assert listed_status == 200 and created["id"] in [item["id"] for item in listed["items"]]
    # AND run now says why it cannot run here
    status, refused = call("POST", f"{base}/api/schedules/{created['id']}/run")
    assert status == 501 and refused["Code"] == "NotAvailableHere"
    assert "make run" in refused["Message"]
