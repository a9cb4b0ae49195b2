"""Endpoint fixtures: every integration test runs once per endpoint.

With ``LOCALSTACK_ENDPOINT`` or ``AWS_ENDPOINT_URL`` set, the suite runs against that
running endpoint only. Otherwise it starts the embedded emulators on 127.0.0.1: moto's
server, and ministack from its virtual environment (``make test`` and ``make integration``
make it; without it the ministack half fails, saying so).
"""

from __future__ import annotations

import pytest

from chalicelib import clients
from ops import emulator as emulators

pytest_plugins = ("integration.stack_fixtures",)


def _endpoint_kinds() -> list[str]:
    if emulators.external_endpoint() is not None:
        return ["external"]
    return ["moto", "ministack"]


@pytest.fixture(scope="session", params=_endpoint_kinds())
def endpoint(request) -> emulators.Endpoint:
    """A running AWS endpoint, started once per session and kind."""
    if request.param == "external":
        yield emulators.external_endpoint()
        return
    started = emulators.start_moto() if request.param == "moto" else emulators.launch_ministack()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def aws(endpoint, monkeypatch) -> emulators.Endpoint:
    """Point boto3 (through chalicelib.clients) at the endpoint, with test credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "test")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    clients.reset()
    yield endpoint
    clients.reset()
