"""``make local``: the API on 127.0.0.1 answers, with an embedded moto server behind it when
no ``make run`` is going (a subprocess, as a user runs it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ops import local

pytestmark = pytest.mark.slow  # the API and a moto server as subprocesses

ROOT = Path(__file__).resolve().parent.parent
# ``make local`` with .run/env pointed at a file that does not exist, on a free port.
SERVE_WITHOUT_A_RUN = (
    "import sys; from ops import local; local.RUN_ENV = local.Path(sys.argv[1]); sys.exit(local.main(port=0))"
)


def test_make_local_serves_the_api_against_an_embedded_moto(tmp_path):
    # GIVEN no run going (a project directory without .run/env is what the subprocess sees)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SCHEDULE", "STAGE"))}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_WITHOUT_A_RUN, str(tmp_path / "no-env")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        base = None
        seen = []
        deadline = time.monotonic() + 120
        assert process.stdout is not None
        while base is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("BASE="):
                base = line.strip().split("=", 1)[1]
        assert base and base.startswith("http://127.0.0.1:"), "".join(seen)
        assert "embedded moto server" in "".join(seen)
        # WHEN a schedule is created and listed over HTTP
        request = urllib.request.Request(
            f"{base}/api/schedules", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"name": "via-local", "schedule_expression": "rate(5 minutes)", "target_type": "notification"}).encode(),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            created = json.load(response)
            assert response.status == 202
        with urllib.request.urlopen(f"{base}/api/schedules/{created['id']}", timeout=30) as response:
            fetched = json.load(response)
        # THEN the API answers from the local stage's table (nothing applies the command)
        assert (fetched["name"], fetched["status"]) == ("via-local", "pending")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still starting: never leave a server behind
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_a_taken_port_is_reported_and_another_chosen(tmp_path):
    import io
    import socket

    with socket.socket() as taken:
        taken.bind((local.LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = io.StringIO()
        chosen = local.choose_port(port, out)
    assert chosen != port
    assert f"port {port} is taken" in out.getvalue() and str(chosen) in out.getvalue()
