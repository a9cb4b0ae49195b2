"""What EventBridge Scheduler (or a run-now) sends the target function, read once.

A leaf: the run (``chalicelib.runs``), the dead-letter recorder and the middleware's log keys
all read an invocation the same way, without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.errors import ValidationError
from chalicelib.models import ExecutionTrigger, iso

# An invocation that carries the slots after its own (oldest first) is a backfill's walk
# (chalicelib.backfill).
WALK_SLOTS = "backfill_slots"


@dataclass(frozen=True)
class Invocation:
    """What EventBridge Scheduler (or a run-now) sends the target function."""

    schedule_id: str
    scheduled_time: str
    execution_id: str
    attempt: int
    trigger: ExecutionTrigger
    # the record as applied, when the Input carries it (see scheduler.target_input), as sent:
    # read (``stated_schedule``) only by a process that does not hold the definition
    stated_record: dict[str, Any] | None = None


def parse_invocation(event: Any, now: datetime) -> Invocation:
    """Read the Input that EventBridge Scheduler sends (see scheduler.target_input); an
    Input with no scheduled time (an emulator, a manual invoke) is for the minute of ``now``."""
    if not isinstance(event, dict) or not event.get("schedule_id"):
        raise ValidationError("the event has no schedule_id", field="schedule_id")
    scheduled_time = str(event.get("scheduled_time") or "")
    if not scheduled_time or scheduled_time.startswith("<aws."):
        scheduled_time = iso(now.replace(second=0, microsecond=0))
    execution_id = str(event.get("execution_id") or "")
    if not execution_id or execution_id.startswith("<aws."):
        # not substituted (an emulator, or a manual invoke): one execution per scheduled time
        execution_id = f"{event['schedule_id']}@{scheduled_time}"
    try:
        attempt = int(event.get("attempt") or 1)
    except (TypeError, ValueError):
        attempt = 1
    try:
        trigger = ExecutionTrigger(event.get("trigger") or ExecutionTrigger.SCHEDULED.value)
    except ValueError:
        trigger = ExecutionTrigger.SCHEDULED
    return Invocation(
        schedule_id=str(event["schedule_id"]),
        scheduled_time=scheduled_time,
        execution_id=execution_id,
        attempt=attempt,
        trigger=trigger,
        stated_record=event.get("record") if isinstance(event.get("record"), dict) else None,
    )
