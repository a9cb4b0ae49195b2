"""The one clock the service reads.

``wiring`` chooses it (the system's UTC time, or what a test sets with ``wiring.use_clock``)
and hands it to every object that reads the time: record dates, fire times, claims, history,
alerts and the DynamoDB TTLs alike. Nothing else in ``chalicelib`` asks the system for the
time of day (durations use ``time.monotonic``, which no test moves).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""What every time reader receives: called, it answers the time now, aware, in UTC."""

SECONDS_PER_DAY = 86400


def system_clock() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


def expires_after(clock: Clock, days: int) -> int:
    """A DynamoDB TTL value: the epoch second ``days`` after the clock's now."""
    return int(clock().timestamp()) + days * SECONDS_PER_DAY
