"""The bounded, named retries of chalicelib.retry, and the stack command's conflict retry
(ops/stack/group.py)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.retry import (
    ROLE_PROPAGATION_MESSAGE,
    is_role_propagation_delay,
    retry_on,
    role_propagation_retry,
)
from ops.stack.group import conflict_retry, is_conflict


def aws_error(code: str, message: str = "boom", operation: str = "Op") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class Flaky:
    """Raises the given errors in turn, then returns "done"."""

    def __init__(self, *failures: Exception):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def test_retries_while_the_predicate_holds_then_returns():
    # GIVEN a call that conflicts twice, then works
    call, sleeps = Flaky(aws_error("ConflictException"), aws_error("ConflictException")), []
    retry = retry_on(is_conflict, attempts=5, delay=2.0, sleep=sleeps.append)

    # WHEN it is called through the retry
    result = retry.call(call, Name="g")

    # THEN it was called three times, two delays apart, and returned the answer
    assert (result, call.calls, sleeps) == ("done", 3, [2.0, 2.0])


def test_gives_up_after_the_attempts_and_raises_the_last_error():
    # GIVEN a call that always conflicts
    call = Flaky(*[aws_error("ConflictException", f"try {i}") for i in range(10)])
    retry = retry_on(is_conflict, attempts=3, delay=0, sleep=lambda _: None)

    # WHEN / THEN it raises the third error after exactly three calls
    with pytest.raises(ClientError, match="try 2"):
        retry.call(call)
    assert call.calls == 3


def test_other_errors_are_not_retried():
    # GIVEN a call that is throttled
    call, sleeps = Flaky(aws_error("ThrottlingException")), []
    retry = retry_on(is_conflict, attempts=15, delay=2.0, sleep=sleeps.append)

    # WHEN / THEN the error comes straight back, after one call and no sleep
    with pytest.raises(ClientError):
        retry.call(call)
    assert (call.calls, sleeps) == (1, [])


def test_retry_works_as_a_decorator():
    call = Flaky(aws_error("ConflictException"))
    wrapped = retry_on(is_conflict, attempts=2, delay=0, sleep=lambda _: None)(call)
    assert wrapped() == "done" and call.calls == 2


def test_conflict_retry_defaults_to_15_times_2_seconds_and_reads_the_environment(monkeypatch):
    assert (conflict_retry({}).attempts, conflict_retry({}).delay) == (15, 2.0)
    given = {"CONFLICT_RETRY_ATTEMPTS": "4", "CONFLICT_RETRY_DELAY_SECONDS": "0"}
    assert (conflict_retry(given).attempts, conflict_retry(given).delay) == (4, 0.0)
    # the stack command reads its own process environment
    for key, value in given.items():
        monkeypatch.setenv(key, value)
    assert (conflict_retry().attempts, conflict_retry().delay) == (4, 0.0)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (aws_error("ValidationException", ROLE_PROPAGATION_MESSAGE + "."), True),
        (aws_error("ValidationException", ROLE_PROPAGATION_MESSAGE.upper()), True),
        (aws_error("ValidationException", "Invalid Schedule Expression"), False),
        (aws_error("AccessDeniedException", ROLE_PROPAGATION_MESSAGE), False),
        (ValueError(ROLE_PROPAGATION_MESSAGE), False),
    ],
)
def test_role_propagation_predicate_matches_only_that_validation_error(error, expected):
    assert is_role_propagation_delay(error) is expected


def test_role_propagation_retry_retries_create_schedule_until_the_role_is_assumable():
    # GIVEN CreateSchedule is refused twice while the new role propagates
    settings = get_settings({"ROLE_PROPAGATION_RETRY_ATTEMPTS": "5"})
    not_yet = aws_error("ValidationException", ROLE_PROPAGATION_MESSAGE, "CreateSchedule")
    call, sleeps = Flaky(not_yet, not_yet), []

    # WHEN it is called through the role propagation retry
    result = role_propagation_retry(settings, sleep=sleeps.append).call(call)

    # THEN the third call worked after two waits of the configured delay
    assert (result, call.calls, sleeps) == ("done", 3, [3.0, 3.0])
