"""Named, bounded retries for the few AWS errors that are known to be transient.

botocore already retries throttling and 5xx answers (``clients`` uses its "standard" mode).
What it cannot know is that some errors are transient only in context:

- ``ValidationException`` "The execution role you provide must allow AWS EventBridge
  Scheduler to assume the role": IAM has not propagated a new role or trust policy yet.

Nothing else is retried here: a retry is always a predicate plus a bound. The stack
command's own retry (a schedule group still deleting) lives with it, in ``ops/stack/group.py``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalicelib.aws_errors import error_code, error_message
from chalicelib.config import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
Predicate = Callable[[BaseException], bool]

ROLE_PROPAGATION_MESSAGE = (
    "The execution role you provide must allow AWS EventBridge Scheduler to assume the role"
)


def is_role_propagation_delay(exc: BaseException) -> bool:
    """EventBridge Scheduler cannot assume the execution role yet (IAM propagation)."""
    return error_code(exc) == "ValidationException" and ROLE_PROPAGATION_MESSAGE.lower() in (
        error_message(exc).lower()
    )


@dataclass(frozen=True)
class BoundedRetry:
    """Call again while ``predicate(error)`` holds, at most ``attempts`` calls in all.

    ``attempts`` counts every call, the first one included; ``delay`` seconds pass between
    two calls. The last error is raised unchanged when the attempts run out.
    """

    name: str
    predicate: Predicate
    attempts: int
    delay: float
    sleep: Callable[[float], Any] = field(default=time.sleep, repr=False, compare=False)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        attempt = 1
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if attempt >= self.attempts or not self.predicate(exc):
                    raise
                logger.info(
                    "%s: attempt %d of %d failed (%s); retrying in %ss",
                    self.name,
                    attempt,
                    self.attempts,
                    error_code(exc) or type(exc).__name__,
                    self.delay,
                )
                attempt += 1
                self.sleep(self.delay)

    def __call__(self, fn: Callable[..., T]) -> Callable[..., T]:
        """Use the retry as a decorator."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            return self.call(fn, *args, **kwargs)

        return wrapper


def retry_on(
    predicate: Predicate,
    attempts: int,
    delay: float,
    sleep: Callable[[float], Any] = time.sleep,
    name: str | None = None,
) -> BoundedRetry:
    """A bounded retry: ``retry_on(is_role_propagation_delay, 10, 3.0).call(fn, **kwargs)``."""
    return BoundedRetry(
        name=name or str(getattr(predicate, "__name__", "retry")),
        predicate=predicate,
        attempts=max(1, attempts),
        delay=max(0.0, delay),
        sleep=sleep,
    )


def role_propagation_retry(
    settings: Settings, sleep: Callable[[float], Any] = time.sleep
) -> BoundedRetry:
    """The CreateSchedule retry while a new execution role propagates through IAM."""
    return retry_on(
        is_role_propagation_delay,
        settings.role_propagation_retry_attempts,
        settings.role_propagation_retry_delay_seconds,
        sleep=sleep,
        name="execution role propagation retry",
    )
