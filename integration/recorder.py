"""Record the AWS calls the code makes, through botocore's ``before-call`` events.

The recorder hooks the cached clients of ``chalicelib.clients`` (the only clients the code
uses), so a test can say "this deploy made no mutating call". A call is mutating unless its
operation is a Get*, List* or Describe*. Out-of-band helpers use their own raw clients and
are never recorded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable

from chalicelib import clients

STACK_SERVICES = ("scheduler", "dynamodb", "sns", "sqs", "iam", "sts")
READ_ONLY_PREFIXES = ("Get", "List", "Describe")
_ids = itertools.count()


@dataclass(frozen=True)
class Call:
    service: str
    operation: str

    @property
    def mutating(self) -> bool:
        return not self.operation.startswith(READ_ONLY_PREFIXES)

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}"


class CallRecorder:
    def __init__(self, services: Iterable[str] = STACK_SERVICES):
        self.services = tuple(services)
        self.calls: list[Call] = []
        self._unique_id = f"call-recorder-{next(_ids)}"
        self._clients: list = []

    def attach(self) -> "CallRecorder":
        """Hook the current cached clients; call again after ``clients.reset()``."""
        for service in self.services:
            client = clients.client(service)
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

    def _record(self, event_name: str, **_: object) -> None:
        _, service, operation = event_name.split(".", 2)
        self.calls.append(Call(service, operation))

    @property
    def mutating(self) -> list[Call]:
        return [call for call in self.calls if call.mutating]

    def operations(self, service: str | None = None) -> list[str]:
        return [c.operation for c in self.calls if service is None or c.service == service]

    def count(self, operation: str) -> int:
        return sum(1 for call in self.calls if call.operation == operation)
