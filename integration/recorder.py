"""Record the AWS calls the code makes, through botocore's ``before-call`` events.

The recorder hooks the cached clients of ``chalicelib.clients`` (the only clients the code
uses, resources' clients included), so a test can say "this deploy made no mutating
call", and the fault matrix can list the call sites a path has. A call is mutating unless
its operation is a Get*, List*, Describe*, Query or Scan. Out-of-band helpers use their
own raw clients and are never recorded.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from integration.hooks import cached_clients, operation_of

STACK_SERVICES = ("scheduler", "dynamodb", "sns", "sqs", "iam", "sts")
# Every service the functions call on the schedule paths.
APP_SERVICES = ("dynamodb", "sns", "sqs", "scheduler", "sts")
READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Query", "Scan", "BatchGet")
_ids = itertools.count()


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    steps: tuple[str, ...] = ()  # a transaction's own operations (PutItem, UpdateItem, ...)

    @property
    def mutating(self) -> bool:
        return not self.operation.startswith(READ_ONLY_PREFIXES)

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass(frozen=True)
class CallSite:
    """The ``index``-th call (from 0) of ``service.operation`` in a run."""

    service: str
    operation: str
    index: int

    @property
    def mutating(self) -> bool:
        return Call(self.service, self.operation).mutating

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}#{self.index}"


def call_sites(calls: Iterable[Call]) -> list[CallSite]:
    """Each call with its occurrence index among calls of the same operation, in order (as
    the fault injector counts them: a transaction's steps do not make it another operation)."""
    seen: dict[tuple[str, str], int] = {}
    sites = []
    for call in calls:
        index = seen.get((call.service, call.operation), 0)
        seen[(call.service, call.operation)] = index + 1
        sites.append(CallSite(call.service, call.operation, index))
    return sites


class CallRecorder:
    def __init__(self, services: Iterable[str] = STACK_SERVICES):
        self.services = tuple(services)
        self.calls: list[Call] = []
        self._unique_id = f"call-recorder-{next(_ids)}"
        self._clients: list[Any] = []

    def attach(self) -> CallRecorder:
        """Hook the current cached clients; call again after ``clients.reset()``."""
        for service in self.services:
            for client in cached_clients(service):
                # First on the generic event, so it sees calls that an injected fault answers.
                client.meta.events.register_first("before-call", self._record, self._unique_id)
                self._clients.append(client)
        return self

    def detach(self) -> None:
        for client in self._clients:
            client.meta.events.unregister("before-call", unique_id=self._unique_id)
        self._clients.clear()

    def clear(self) -> None:
        self.calls.clear()

    def _record(self, event_name: str, params: dict | None = None, **_: object) -> None:
        service, operation = operation_of(event_name)
        steps: tuple[str, ...] = ()
        if operation == "TransactWriteItems":
            body = json.loads((params or {}).get("body") or "{}")
            steps = tuple(f"{next(iter(step))}Item" for step in body.get("TransactItems", []))
        self.calls.append(Call(service, operation, steps))

    @property
    def mutating(self) -> list[Call]:
        return [call for call in self.calls if call.mutating]

    @property
    def sites(self) -> list[CallSite]:
        return call_sites(self.calls)

    def operations(self, service: str | None = None) -> list[str]:
        return [c.operation for c in self.calls if service is None or c.service == service]

    def count(self, operation: str) -> int:
        return sum(1 for call in self.calls if call.operation == operation)
