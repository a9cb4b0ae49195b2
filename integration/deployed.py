"""Talking to the app deployed on an emulator, for the end-to-end tests: HTTP calls, the
functions' logs, and waiting for something to happen with those logs in the failure."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import clients
from chalicelib.config import settings_for
from ops import app_stack
from ops import run as local_run
from ops.logs import LogFollower

STAGE = local_run.LOCAL_STAGE


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """One request; the status and the parsed JSON body (or the text when it is not JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"null")
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def function_logs(outputs: app_stack.AppOutputs) -> str:
    """Everything the deployed functions wrote to CloudWatch Logs (for a failure message)."""
    text = io.StringIO()
    groups = {f"/aws/lambda/{name}": short for short, name in outputs.functions.items()}
    try:
        LogFollower(clients.client("logs", settings_for(STAGE)), groups, out=text, since_ms=0).poll()
    except Exception as exc:  # noqa: BLE001 - diagnostics must not hide the failure
        text.write(f"(could not read the logs: {exc})")
    return text.getvalue()


def eventually(
    what: str, check: Callable[[], Any], timeout: float, outputs: app_stack.AppOutputs,
    log: io.StringIO | None = None, every: float = 1.0,
) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``
    seconds, with the functions' logs (and the deploy's output, when given)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    deploy = f"\n--- deploy ---\n{log.getvalue()}" if log is not None else ""
    pytest.fail(f"{what}: not within {timeout:.0f}s (last: {last!r})\n"
                f"--- functions' logs ---\n{function_logs(outputs)}{deploy}")
