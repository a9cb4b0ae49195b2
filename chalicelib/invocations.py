"""What the target function is invoked with: EventBridge Scheduler's Input (see
``scheduler.target_input``) or a run-now's, read the same way by the run and by the
middleware that names the run in its log lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ValidationError
from chalicelib.models import ExecutionTrigger, iso, utcnow


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


def parse_invocation(event: Any) -> Invocation:
    """Read the Input that EventBridge Scheduler sends (see scheduler.target_input)."""
    if not isinstance(event, dict) or not event.get("schedule_id"):
        raise ValidationError("the event has no schedule_id", field="schedule_id")
    scheduled_time = str(event.get("scheduled_time") or "")
    if not scheduled_time or scheduled_time.startswith("<aws."):
        scheduled_time = iso(utcnow().replace(second=0, microsecond=0))
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
