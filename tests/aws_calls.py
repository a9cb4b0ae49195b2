"""Counting what the service asks of AWS: calls per operation and items read.

``AwsCalls`` hooks the process's botocore session (chalicelib.clients), so every client
built after ``install()`` reports to it; ``lose_first_response`` makes botocore send one
call again after it was committed, as when a response is lost on the way back."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib import clients


class AwsCalls:
    """Calls by ``service:Operation`` and DynamoDB items read (evaluated by a Query, or
    returned by a GetItem), counted from ``reset()`` on."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0

    def install(self) -> AwsCalls:
        clients.reset()  # clients built from here on carry the hooks
        events = clients._shared_session()._session
        events.register("before-call", self._before)
        events.register("after-call.dynamodb", self._after)
        return self

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def _before(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".")
        self.calls[f"{service}:{operation}"] += 1

    def _after(self, event_name: str, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        parsed = parsed or {}
        operation = event_name.split(".")[-1]
        if operation == "Query":
            self.items_read += int(parsed.get("ScannedCount", len(parsed.get("Items", []))))
        elif operation == "GetItem" and parsed.get("Item"):
            self.items_read += 1


def lose_first_response(operation: str) -> list[int]:
    """The next DynamoDB ``operation`` reaches the table and commits, then botocore is told
    to retry it, as it does when the connection drops before the response arrives; the
    second attempt's answer is the one the caller sees. Answers a list that records each
    attempt number seen."""
    seen: list[int] = []

    def retry_once(attempts: int | None = None, **_: Any) -> int | None:
        seen.append(attempts or 0)
        return 0 if len(seen) == 1 else None  # retry at once, the first time only

    events = clients.resource("dynamodb").meta.client.meta.events  # the repository's client
    events.register_first(f"needs-retry.dynamodb.{operation}", retry_once)
    return seen
