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
from typing import Any

from chalicelib import strict_json
from chalicelib.models import iso, utcnow

REJECTED_EVENT = "rejected"
MAX_ORIGINAL_BYTES = 200_000  # the original's share of an event SNS caps at 262,144 bytes
MAX_REASON = 1000
MAX_ID = 256


def rejection_event(source: str, code: str, reason: str, original: Any, message_id: str = "") -> dict[str, Any]:
    """The bounded event that says ``original`` was rejected, and why."""
    request, truncated = strict_json.fit(_readable(original), MAX_ORIGINAL_BYTES)
    event: dict[str, Any] = {
        "event": REJECTED_EVENT,
        "source": source,
        "message_id": str(message_id)[:MAX_ID] or None,
        "code": code,
        "reason": reason[:MAX_REASON],
        "request": request,
        "rejected_at": iso(utcnow()),
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
    try:
        json.dumps(original)
    except (TypeError, ValueError, RecursionError):
        return str(original)[: MAX_ORIGINAL_BYTES]
    return original
