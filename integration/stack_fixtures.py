"""Fixtures for stack lifecycle tests (loaded for every integration test by conftest.py).

``scratch`` is a fresh stage, destroyed before and after the test; ``recorder`` records the
AWS calls the code makes; ``faults`` injects AWS errors; ``oob`` changes and reads
resources with the raw SDK. ``deviates_on`` marks the current test a strict expected
failure on one emulator, naming how that emulator differs from AWS.
"""

from __future__ import annotations

import logging

import pytest

from chalicelib import config
from integration.faults import FaultInjector
from integration.out_of_band import OutOfBand
from integration.recorder import CallRecorder
from integration.scratch import ScratchStack
from ops.stack.group import ENV_CONFLICT_RETRY_DELAY
from ops.stack.state import ENV_STACK_STATE_DIR

# Environment variables that override a stage's resource names. The unit tests set the
# dev stage's values process-wide, so a scratch stack clears them: names follow the stage.
NAME_OVERRIDES = (
    config.ENV_TABLE,
    config.ENV_COMMAND_TOPIC,
    config.ENV_WEB_ACTIONS_TOPIC,
    config.ENV_NOTIFICATIONS_TOPIC,
    config.ENV_RESULTS_TOPIC,
    config.ENV_EXECUTION_ROLE,
    config.ENV_GROUP,
    config.ENV_DEAD_LETTER_QUEUE,
)

# Deviations from AWS measured on the emulators (see EMULATORS.md and these tests).
MINISTACK_UNTAG_FIRST_KEY_ONLY = (
    "ministack",
    "scheduler untag_resource of several keys removes only the first",
)
MOTO_DUPLICATE_GROUP_OVERWRITES = (
    "moto",
    "create_schedule_group on an existing name silently succeeds instead of ConflictException",
)


def ours(stage: str, logical_id: str) -> dict[str, str]:
    """The ownership tags, spelled out here rather than computed by the code under test."""
    return {
        "rez-agent:app": "rez-agent",
        "rez-agent:stage": stage,
        "rez-agent:logical-id": logical_id,
    }


def deviates_on(request: pytest.FixtureRequest, endpoint_kind: str, deviation: tuple) -> None:
    """Expect this test to fail (strictly) on the emulator that has ``deviation``."""
    emulator, reason = deviation
    if endpoint_kind == emulator:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{emulator}: {reason}"))


@pytest.fixture
def scratch(aws, monkeypatch, tmp_path) -> ScratchStack:
    for key in NAME_OVERRIDES:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(ENV_STACK_STATE_DIR, str(tmp_path / "stack-state"))
    monkeypatch.setenv(ENV_CONFLICT_RETRY_DELAY, "0")
    stack = ScratchStack()
    before = stack.destroy()
    assert before.exit_code == 0, before
    yield stack
    after = stack.destroy()
    assert after.exit_code == 0, after


@pytest.fixture
def recorder(scratch) -> CallRecorder:
    calls = CallRecorder().attach()
    yield calls
    calls.detach()


@pytest.fixture
def faults(scratch) -> FaultInjector:
    injector = FaultInjector()
    yield injector
    injector.clear()


_out_of_band: dict[str, OutOfBand] = {}


@pytest.fixture
def oob(aws) -> OutOfBand:
    """Raw SDK clients for the endpoint (built once per endpoint: building is the slow part)."""
    if aws.url not in _out_of_band:
        _out_of_band[aws.url] = OutOfBand(aws.url)
    return _out_of_band[aws.url]


# moto's in-process server logs every request through werkzeug at INFO; capturing those
# lines costs more than the requests themselves.
logging.getLogger("werkzeug").setLevel(logging.WARNING)
