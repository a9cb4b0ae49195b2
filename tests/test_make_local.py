"""``make local``: the API on 127.0.0.1 answers, with an embedded moto server behind it when
no ``make run`` is going (a subprocess, as a user runs it)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from ops import local
from tests.local_stage import make_local

pytestmark = pytest.mark.slow  # the API and a moto server as subprocesses


def test_make_local_serves_the_api_against_an_embedded_moto(tmp_path):
    # GIVEN no run going (a project directory without .run/env is what the subprocess sees)
    with make_local(tmp_path) as stage:
        assert "embedded moto server" in stage.output
        # WHEN a schedule is created and listed over HTTP
        request = urllib.request.Request(
            f"{stage.base}/api/schedules", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"name": "via-local", "schedule_expression": "rate(5 minutes)", "target_type": "notification"}).encode(),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            created = json.load(response)
            assert response.status == 202
        with urllib.request.urlopen(f"{stage.base}/api/schedules/{created['id']}", timeout=30) as response:
            fetched = json.load(response)
        # THEN the API answers from the local stage's table (nothing applies the command)
        assert (fetched["name"], fetched["status"]) == ("via-local", "pending")


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
