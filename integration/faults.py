"""Inject AWS errors on any endpoint, through botocore's ``before-call`` events.

No emulator produces a schedule group's DELETING window, throttling or IAM propagation
delays, so tests make them: ``faults.fail("scheduler", "CreateScheduleGroup",
"ConflictException", times=3)`` answers the next three CreateScheduleGroup calls with a
synthetic error response, without sending them; the fourth goes to the endpoint. The
answer never reaches botocore's own retry logic (it short-circuits the request), so what
is retried is what our code retries.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from botocore.awsrequest import AWSResponse

from chalicelib import clients

_ids = itertools.count()

STATUS = {
    "ConflictException": 409,
    "ThrottlingException": 400,
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
    "InternalServerException": 500,
}


@dataclass
class Fault:
    service: str
    operation: str
    code: str
    message: str
    status: int
    remaining: int
    injected: int = 0


class FaultInjector:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._unique_id = f"fault-injector-{next(_ids)}"
        self._hooked: dict[str, object] = {}

    def fail(
        self,
        service: str,
        operation: str,
        code: str,
        times: int = 1,
        message: str | None = None,
        status: int | None = None,
    ) -> Fault:
        """Answer the next ``times`` calls of ``operation`` with the AWS error ``code``."""
        fault = Fault(
            service=service,
            operation=operation,
            code=code,
            message=message or f"injected {code}",
            status=status or STATUS.get(code, 400),
            remaining=times,
        )
        self.faults.append(fault)
        self._hook(service)
        return fault

    def conflict(self, operation: str, times: int, service: str = "scheduler") -> Fault:
        """A schedule group in its DELETING window: ConflictException ``times`` times."""
        return self.fail(
            service,
            operation,
            "ConflictException",
            times,
            message="Schedule group is being deleted (injected DELETING window)",
        )

    def throttle(self, service: str, operation: str, times: int = 1) -> Fault:
        return self.fail(service, operation, "ThrottlingException", times, "Rate exceeded")

    def clear(self) -> None:
        for client in self._hooked.values():
            client.meta.events.unregister("before-call", unique_id=self._unique_id)
        self._hooked.clear()
        self.faults.clear()

    def _hook(self, service: str) -> None:
        if service not in self._hooked:
            client = clients.client(service)
            client.meta.events.register("before-call", self._answer, self._unique_id)
            self._hooked[service] = client

    def _answer(self, event_name: str, **_: object):
        _, service, operation = event_name.split(".", 2)
        for fault in self.faults:
            if (fault.service, fault.operation) == (service, operation) and fault.remaining:
                fault.remaining -= 1
                fault.injected += 1
                return _error_response(fault)
        return None


def _error_response(fault: Fault) -> tuple[AWSResponse, dict]:
    http = AWSResponse(url="injected://fault", status_code=fault.status, headers={}, raw=None)
    parsed = {
        "Error": {"Code": fault.code, "Message": fault.message},
        "ResponseMetadata": {"HTTPStatusCode": fault.status, "HTTPHeaders": {}, "RetryAttempts": 0},
    }
    return http, parsed
