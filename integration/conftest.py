"""Endpoint fixtures.

``endpoint`` / ``aws``: the stack and adapter suites run once per endpoint. With
``LOCALSTACK_ENDPOINT`` or ``AWS_ENDPOINT_URL`` set, against that running endpoint only;
otherwise on the embedded emulators on 127.0.0.1: moto's server, and ministack from its
virtual environment (``make test`` and ``make integration`` make it; without it the
ministack half fails, saying so).

``local_stages``: one endpoint that runs the functions for the whole session, with the
stages the end-to-end, auth, contracts, failure-path, timeline and console tests deploy on
it, each once (``LocalStages``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import clients
from ops import emulator as emulators
from ops import run as local_run
from tests.support import one_package_at_a_time

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


# --- one emulator that runs the functions, and the stages deployed on it ------------------


class LocalStages:
    """One endpoint that runs Lambda functions and serves API Gateway (ministack, or the one
    ``LOCALSTACK_ENDPOINT``/``AWS_ENDPOINT_URL`` names) for the whole session, and each stage
    deployed on it once, the way ``make run`` deploys it, on its first use.

    The end-to-end, auth, contracts, failure-path, timeline and console tests share it: a
    deploy (``chalice package`` + the stack + CloudFormation) costs far more than their
    tests. A test that changes a stage beyond its records (a function's configuration) or
    that brings one up and tears it down itself calls ``down(stage)``; the next user deploys
    it again.
    """

    def __init__(self, url: str, kind: str, state_root: Path):
        self.url = url
        self.kind = kind
        self._state_root = state_root
        self._deployed: dict[str, Any] = {}
        self.logs: dict[str, io.StringIO] = {}
        self.deploys = 0

    @contextlib.contextmanager
    def pointed(self) -> Iterator[None]:
        """This process pointed at the endpoint for the block (as ``make run`` points it)."""
        with pytest.MonkeyPatch.context() as patch:
            for key in local_run.UNSET:
                patch.delenv(key, raising=False)
            for key, value in local_run.emulator_environment(self.url).items():
                patch.setenv(key, value)
            clients.reset()
            try:
                yield
            finally:
                clients.reset()

    def state_dir(self, stage: str) -> Path:
        """The stack command's record of the stage's resources on this endpoint."""
        return self._state_root / stage

    def up(self, stage: str) -> Any:
        """The stage's app outputs, deployed first if it is not (call inside ``pointed``)."""
        if stage not in self._deployed:
            log = self.logs[stage] = io.StringIO()
            self._deployed[stage] = local_run.bring_up(stage, log, self.state_dir(stage))
            self.deploys += 1
        return self._deployed[stage]

    def down(self, stage: str) -> None:
        """Tear the stage down if this session deployed it (call inside ``pointed``)."""
        if self._deployed.pop(stage, None) is not None:
            local_run.tear_down(stage, self.logs[stage], self.state_dir(stage))

    def down_all(self) -> None:
        with self.pointed():
            for stage in list(self._deployed):
                try:
                    self.down(stage)
                except Exception as exc:  # noqa: BLE001 - the tests' own failures matter more
                    print(f"tear down of {stage} failed: {exc}\n{self.logs[stage].getvalue()}")


@pytest.fixture(scope="session")
def local_stages(tmp_path_factory) -> Iterator[LocalStages]:
    """The session's endpoint that runs the functions, with its stages (``LocalStages``)."""
    external = emulators.external_endpoint()
    started = None
    if external is not None:
        url, kind = external.url, external.kind
    elif emulators.ministack_available():
        started = emulators.launch_ministack(tmp_path_factory.mktemp("ministack") / "ministack.log",
                                             port=emulators.free_port())
        url, kind = started.url, "ministack"
    else:
        pytest.fail("this test needs an endpoint that runs Lambda functions: run `make ministack-venv`")
    stages = LocalStages(url, kind, tmp_path_factory.mktemp("stacks"))
    try:
        yield stages
    finally:
        try:
            stages.down_all()
        finally:
            if started is not None:
                started.stop()


# The tests that bring the local stage up and tear it down themselves run before the modules
# that share it deployed, so they start from no stage at all.
_OWN_LIFECYCLE_FIRST = ("test_end_to_end.py",)

# `make integration` runs five groups side by side (pytest-xdist, ``--dist loadgroup``), each
# in its own process with its own emulators: most of their time is spent waiting for a
# schedule to fire or a stack to settle, not on the CPU. A module stays in its group, in the
# order above, so the modules that share a deployed stage share it as they do in one process.
_GROUPS = {
    # each brings the local stage up from nothing and leaves none: they wait for whole minutes
    "fires": ("test_end_to_end.py", "test_timeline_alerts_end_to_end.py"),
    # the deployed stages shared (``local_stages``)
    "deployed": ("test_auth_on_emulator.py", "test_console_browser.py", "test_console_fleet_browser.py",
                 "test_contracts_end_to_end.py", "test_failure_paths.py", "test_example_worker_end_to_end.py",
                 "test_console_calendars_browser.py"),
    # a deployed stage each: they wait minutes for slots to pass (a snooze, an outage)
    "snooze": ("test_calendars_on_emulator.py",),
    "outage": ("test_backfill_end_to_end.py",),
}


def _group(item) -> str:
    """The module's group; every other module (the stack lifecycle and adapter suites on their
    own ``endpoint``) is in "stack"."""
    return next((group for group, modules in _GROUPS.items() if item.path.name in modules), "stack")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    items.sort(key=lambda item: item.path.name not in _OWN_LIFECYCLE_FIRST)


@pytest.fixture(scope="session", autouse=True)
def _own_build_dir(tmp_path_factory) -> Iterator[None]:
    """``chalice package`` output in this process's own directory, not ``build/package/``,
    and one package at a time: two groups may deploy the local stage at once."""
    from ops import app_stack

    with pytest.MonkeyPatch.context() as patch, one_package_at_a_time():
        patch.setattr(app_stack, "BUILD_DIR", tmp_path_factory.mktemp("package"))
        yield
