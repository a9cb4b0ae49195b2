"""Inject AWS faults on any endpoint, through botocore's events on the cached clients.

No emulator produces a schedule group's DELETING window, throttling, IAM propagation
delays, timeouts or lost responses, so tests make them. One injector serves the unit tests
(moto in process) and the integration suites (moto server, ministack):

- an AWS error: ``faults.fail("scheduler", "CreateScheduleGroup", "ConflictException",
  times=3)`` answers the next three CreateScheduleGroup calls with a synthetic error
  response, without sending them; the fourth goes to the endpoint. The answer comes from
  ``before-call``, so it never reaches botocore's own retry logic: the error reaches the
  code as it does once botocore's standard retries have given up, and what is retried is
  what our code (or Lambda, or the scheduler) retries.
- a timeout: ``faults.timeout(...)`` raises botocore's ``ReadTimeoutError`` (or
  ``ConnectTimeoutError``) for the call, which never reaches the endpoint.
- a lost response: ``faults.lose_response(...)`` lets the request reach the endpoint,
  which carries it out, then drops the answer the way a reset connection does, so
  botocore's standard retry sends the same request again (``needs-retry``). What the code
  sees is the answer to the second request: for a conditional write, the condition checked
  against its own first write.

``inject(service, operation, variant, skip=n)`` is the fault matrix's entry: one of
``VARIANTS``, on the call after ``n`` calls of that operation have gone through.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError

from integration.hooks import cached_clients, operation_of

_ids = itertools.count()

STATUS = {
    "ConflictException": 409,
    "ThrottlingException": 400,
    "Throttling": 400,
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
    "InternalServerException": 500,
    "InternalServerError": 500,
    "InternalError": 500,
    "InternalFailure": 500,
    "ServiceFailure": 500,
    "AccessDeniedException": 403,
    "AccessDenied": 403,
    "AuthorizationError": 403,
}

# The matrix's variants, and the error codes each service answers them with.
THROTTLING = "throttling"
HTTP_500 = "http500"
ACCESS_DENIED = "access-denied"
TIMEOUT = "timeout"
LOST_RESPONSE = "lost-response"
VARIANTS = (THROTTLING, HTTP_500, ACCESS_DENIED, TIMEOUT, LOST_RESPONSE)

_CODES = {
    THROTTLING: {"dynamodb": "ThrottlingException", "scheduler": "ThrottlingException",
                 "lambda": "TooManyRequestsException", "default": "Throttling"},
    HTTP_500: {"dynamodb": "InternalServerError", "scheduler": "InternalServerException",
               "sns": "InternalError", "iam": "ServiceFailure", "lambda": "ServiceException",
               "default": "InternalFailure"},
    ACCESS_DENIED: {"dynamodb": "AccessDeniedException", "scheduler": "AccessDeniedException",
                    "lambda": "AccessDeniedException", "sns": "AuthorizationError",
                    "default": "AccessDenied"},
}
_STATUS_OF_VARIANT = {THROTTLING: 400, HTTP_500: 500, ACCESS_DENIED: 403}


def error_code_for(variant: str, service: str) -> str:
    codes = _CODES[variant]
    return codes.get(service, codes["default"])


@dataclass
class Fault:
    service: str
    operation: str
    code: str
    message: str
    status: int
    remaining: int
    injected: int = 0
    kind: str = "error"  # error | timeout | connect-timeout | lost-response
    skip: int = 0  # calls of the operation to let through first
    sent: int = 0  # requests that reached the endpoint for the call a lost response hit
    _armed: bool = False

    @property
    def resent(self) -> bool:
        """A lost response: botocore sent the request again (it reached the endpoint twice)."""
        return self.sent >= 2


class FaultInjector:
    def __init__(self, services: tuple[str, ...] | None = None) -> None:
        self.faults: list[Fault] = []
        self._unique_id = f"fault-injector-{next(_ids)}"
        self._hooked: dict[str, list[Any]] = {}
        self._lock = threading.Lock()
        for service in services or ():
            self._hook(service)

    # --- what to inject ---------------------------------------------------------------

    def fail(
        self,
        service: str,
        operation: str,
        code: str,
        times: int = 1,
        message: str | None = None,
        status: int | None = None,
        skip: int = 0,
    ) -> Fault:
        """Answer the next ``times`` calls of ``operation`` with the AWS error ``code``."""
        return self._add(Fault(
            service=service,
            operation=operation,
            code=code,
            message=message or f"injected {code}",
            status=status or STATUS.get(code, 400),
            remaining=times,
            skip=skip,
        ))

    def conflict(self, operation: str, times: int, service: str = "scheduler") -> Fault:
        """A schedule group in its DELETING window: ConflictException ``times`` times."""
        return self.fail(
            service,
            operation,
            "ConflictException",
            times,
            message="Schedule group is being deleted (injected DELETING window)",
        )

    def throttle(self, service: str, operation: str, times: int = 1, skip: int = 0) -> Fault:
        code = error_code_for(THROTTLING, service)
        return self.fail(service, operation, code, times, "Rate exceeded", skip=skip)

    def server_error(self, service: str, operation: str, times: int = 1, skip: int = 0) -> Fault:
        code = error_code_for(HTTP_500, service)
        return self.fail(service, operation, code, times, "We encountered an internal error", 500, skip)

    def deny(self, service: str, operation: str, times: int = 1, skip: int = 0) -> Fault:
        code = error_code_for(ACCESS_DENIED, service)
        message = f"User is not authorized to perform: {service}:{operation} (injected)"
        return self.fail(service, operation, code, times, message, 403, skip)

    def timeout(
        self, service: str, operation: str, times: int = 1, skip: int = 0, connect: bool = False
    ) -> Fault:
        """Raise botocore's ReadTimeoutError (ConnectTimeoutError with ``connect``)."""
        return self._add(Fault(
            service, operation, "ConnectTimeout" if connect else "ReadTimeout", "injected timeout",
            0, times, kind="connect-timeout" if connect else "timeout", skip=skip,
        ))

    def lose_response(self, service: str, operation: str, skip: int = 0) -> Fault:
        """The endpoint carries out the call; its answer is lost and botocore sends it again."""
        return self._add(Fault(
            service, operation, "ConnectionClosed", "injected lost response", 0, 1,
            kind="lost-response", skip=skip,
        ))

    def inject(self, service: str, operation: str, variant: str, skip: int = 0) -> Fault:
        """One fault of the matrix's ``variant`` on the call after ``skip`` calls."""
        if variant == THROTTLING:
            return self.throttle(service, operation, skip=skip)
        if variant == HTTP_500:
            return self.server_error(service, operation, skip=skip)
        if variant == ACCESS_DENIED:
            return self.deny(service, operation, skip=skip)
        if variant == TIMEOUT:
            return self.timeout(service, operation, skip=skip)
        if variant == LOST_RESPONSE:
            return self.lose_response(service, operation, skip=skip)
        raise ValueError(f"unknown fault variant {variant!r}; one of {', '.join(VARIANTS)}")

    @property
    def injected(self) -> int:
        return sum(fault.injected for fault in self.faults)

    def clear(self) -> None:
        for service_clients in self._hooked.values():
            for client in service_clients:
                events = client.meta.events
                events.unregister("before-call", unique_id=self._unique_id)
                events.unregister("before-send", unique_id=self._unique_id + "-send")
                events.unregister("needs-retry", unique_id=self._unique_id + "-retry")
        self._hooked.clear()
        self.faults.clear()

    # --- hooks --------------------------------------------------------------------------

    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        self._hook(fault.service)
        return fault

    def _hook(self, service: str) -> None:
        if service in self._hooked:
            return
        self._hooked[service] = cached_clients(service)
        for client in self._hooked[service]:
            events = client.meta.events
            events.register("before-call", self._before_call, self._unique_id)
            events.register("before-send", self._before_send, self._unique_id + "-send")
            once = (client.meta.config.retries or {}).get("total_max_attempts") == 1
            events.register_first("needs-retry", partial(self._needs_retry, resend=not once), self._unique_id + "-retry")

    def _before_call(self, event_name: str, **_: object) -> Any:
        """Each call of our code: answer it with an error, raise a timeout, or arm a
        lost response for it."""
        service, operation = operation_of(event_name)
        with self._lock:
            fault = self._due(service, operation)
            if fault is None:
                return None
            fault.remaining -= 1
            fault.injected += 1
            if fault.kind == "lost-response":
                fault._armed = True
                return None
        if fault.kind == "timeout":
            raise ReadTimeoutError(endpoint_url=f"injected://{service}/{operation}")
        if fault.kind == "connect-timeout":
            raise ConnectTimeoutError(endpoint_url=f"injected://{service}/{operation}")
        return _error_response(fault)

    def _due(self, service: str, operation: str) -> Fault | None:
        """The fault this call is the target of (the skip count of every waiting fault on
        the operation moves on by one call)."""
        chosen = None
        for fault in self.faults:
            if (fault.service, fault.operation) != (service, operation) or not fault.remaining:
                continue
            if fault.skip:
                fault.skip -= 1
            elif chosen is None:
                chosen = fault
        return chosen

    def _before_send(self, event_name: str, **_: object) -> None:
        service, operation = operation_of(event_name)
        with self._lock:
            for fault in self._armed(service, operation):
                fault.sent += 1

    def _needs_retry(
        self, event_name: str, response: Any = None, attempts: int = 1,
        caught_exception: BaseException | None = None, resend: bool = True, **_: object,
    ) -> int | None:
        """After the endpoint answered the armed call's first attempt: drop the answer and
        have botocore send the request again, at once; a client that makes one attempt
        (``resend`` False) sees the connection closed instead, as it would."""
        service, operation = operation_of(event_name)
        with self._lock:
            for fault in self._armed(service, operation):
                if attempts == 1 and response is not None and caught_exception is None and resend:
                    return 0  # retry now (``0`` is not ``None``: botocore retries)
                fault._armed = False
                if not resend and caught_exception is None:
                    raise ConnectionClosedError(endpoint_url=f"injected://{service}/{operation}")
        return None

    def _armed(self, service: str, operation: str) -> list[Fault]:
        return [
            fault for fault in self.faults
            if fault._armed and (fault.service, fault.operation) == (service, operation)
        ]


def _error_response(fault: Fault) -> tuple[AWSResponse, dict]:
    http = AWSResponse(url="injected://fault", status_code=fault.status, headers={}, raw=None)
    parsed = {
        "Error": {"Code": fault.code, "Message": fault.message},
        "ResponseMetadata": {"HTTPStatusCode": fault.status, "HTTPHeaders": {}, "RetryAttempts": 0},
    }
    return http, parsed
