"""Rejection events: what every consumer publishes instead of retrying a message it can never
apply (the command handler, the dead-letter consumer, the schedule target).

A rejection event is published to the stage's notifications topic with the message attribute
``event=rejected``: who rejected it (``source``), the rule (``code``, ``reason``), the message
id, and the original as sent (its JSON when it reads within chalicelib.strict_json's bounds,
else its text), cut so the whole event stays well under SNS's 262,144-byte limit
(``request_truncated`` says when it was cut).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib import strict_json
from chalicelib.clock import Clock, system_clock
from chalicelib.invocations import WALK_SLOTS
from chalicelib.models import is_schedule_id, iso, parse_iso
from chalicelib.ports import MessagePublisher

logger = logging.getLogger("rez_agent.rejections")

REJECTED_EVENT = "rejected"
MAX_ORIGINAL_BYTES = 200_000  # the original's share of an event SNS caps at 262,144 bytes
MAX_REASON = 1000
MAX_ID = 256


def rejection_event(source: str, code: str, reason: str, original: Any, at: datetime,
                    message_id: str = "") -> dict[str, Any]:
    """The bounded event that says ``original`` was rejected (at ``at``), and why."""
    request, truncated = strict_json.fit(_readable(original), MAX_ORIGINAL_BYTES)
    event: dict[str, Any] = {
        "event": REJECTED_EVENT,
        "source": source,
        "message_id": str(message_id)[:MAX_ID] or None,
        "code": code,
        "reason": reason[:MAX_REASON],
        "request": request,
        "rejected_at": iso(at),
    }
    if truncated:
        event["request_truncated"] = True
    return event


def _readable(original: Any) -> Any:
    """Text as its JSON when it reads within the bounds, else the text; anything else as
    it is when it serializes, else its text."""
    if isinstance(original, (bytes, bytearray)):
        original = bytes(original).decode("utf-8", errors="replace")
    if isinstance(original, str):
        try:
            return strict_json.loads(original)
        except (ValueError, UnicodeDecodeError):
            return original
    if strict_json.too_deep(original):
        return f"<a {type(original).__name__} nested more than {strict_json.MAX_DEPTH} levels deep>"
    try:
        json.dumps(original)
    except (TypeError, ValueError):
        return str(original)[:MAX_ORIGINAL_BYTES]
    return original


MAX_INVOCATION_TEXT = 256
MAX_ATTEMPT = 1_000_000  # EventBridge Scheduler retries at most 185 times


def invocation_problem(event: Any) -> str | None:
    """Why ``event`` cannot be an invocation of the target (the Input scheduler.target_input
    writes, a run-now's, or one a dead letter carries), or None when it can: checked before
    anything is read or written, so a message no retry can apply is rejected at once."""
    if not isinstance(event, dict):
        return "the event must be a JSON object"
    if strict_json.too_deep(event):
        return f"the event is nested more than {strict_json.MAX_DEPTH} levels deep"
    schedule_id = event.get("schedule_id")
    if not isinstance(schedule_id, str) or not is_schedule_id(schedule_id):
        return "schedule_id: must be a schedule id (a UUID)"
    for key in ("scheduled_time", "execution_id", "trigger"):
        value = event.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_INVOCATION_TEXT):
            return f"{key}: must be text of at most {MAX_INVOCATION_TEXT} characters"
    attempt = event.get("attempt")
    if isinstance(attempt, bool) or (isinstance(attempt, int) and not 0 <= attempt < MAX_ATTEMPT):
        return f"attempt: must be a whole number below {MAX_ATTEMPT}"
    if (attempt is not None and not isinstance(attempt, (int, str))) or len(str(attempt)) > MAX_INVOCATION_TEXT:
        return "attempt: must be a whole number (or the scheduler's placeholder for one)"
    if event.get("record") is not None and not isinstance(event.get("record"), dict):
        return "record: must be an object"
    return walk_problem(event)


MAX_WALK_SLOTS = 999  # a backfill runs at most 1,000 slots: the event's own and these


def walk_problem(event: dict[str, Any]) -> str | None:
    """Why a backfill's walk (an invocation carrying ``backfill_slots``, chalicelib.backfill)
    cannot be one, or None."""
    if WALK_SLOTS not in event:
        return None
    slots = event[WALK_SLOTS]
    if event.get("trigger") != "backfill":
        return "backfill_slots: only a backfill (trigger backfill) carries slots"
    if not isinstance(slots, list) or len(slots) > MAX_WALK_SLOTS:
        return f"backfill_slots: must be a list of at most {MAX_WALK_SLOTS} times"
    for slot in [event.get("scheduled_time"), *slots]:
        try:
            parse_iso(slot if isinstance(slot, str) and len(slot) <= MAX_INVOCATION_TEXT else "")
        except ValueError:
            return "backfill_slots: each slot (and scheduled_time) must be an ISO 8601 time"
    return None


class Rejecter:
    """Publishes rejection events to the stage's notifications topic."""

    def __init__(self, publisher: Callable[[], MessagePublisher], notifications_topic_arn: Callable[[], str],
                 clock: Clock = system_clock):
        self._publisher = publisher
        self._clock = clock
        self._topic_arn = notifications_topic_arn

    def reject(self, source: str, code: str, reason: str, original: Any, message_id: str = "") -> dict[str, Any]:
        """Publish the event; what the consumer answers (outcome ``rejected``, the rule)."""
        event = rejection_event(source, code, reason, original, self._clock(), message_id)
        logger.error("%s rejected message %s (%s): %s", source, event["message_id"] or "without id", code, event["reason"])
        self._publisher().publish(self._topic_arn(), event, attributes={"event": REJECTED_EVENT})
        return {"outcome": REJECTED_EVENT, "code": code, "reason": event["reason"]}
