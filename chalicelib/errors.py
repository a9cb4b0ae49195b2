"""The one error hierarchy of the service.

Every error a user can cause or see is a ``ServiceError`` with an HTTP status and a
stable ``code``; ``app.py`` maps them to responses in one place. botocore errors are
translated into these at the edge (repository, scheduler gateway, stack providers) and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass


class ServiceError(Exception):
    """Base of every error this service raises on purpose."""

    status_code = 500
    code = "InternalError"
    # a 5xx's message is logged, not answered, unless the error says it names nothing internal
    public = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationError(ServiceError):
    """Bad input: names the field and the rule broken; ``errors`` lists each failing field
    (``field``, a name or dotted path such as ``retry_policy.maximum_retry_attempts``, and
    its ``message``), which the API answers as ``Errors``."""

    status_code = 400
    code = "ValidationError"

    def __init__(self, message: str, field: str | None = None, errors: list[FieldError] | None = None):
        if errors is None:
            errors = [FieldError(field, message)] if field else []
        elif not message:
            message = "; ".join(str(error) for error in errors)
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.rule = message
        self.errors = errors


@dataclass(frozen=True)
class FieldError:
    """One failing field of a request and the rule it broke."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidExpression(ValidationError):
    """A schedule expression (cron/rate/at) or timezone that AWS would reject."""


class BadRequest(ServiceError):
    """The request itself is malformed (JSON, content type)."""

    status_code = 400
    code = "BadRequest"


class UnsupportedMediaType(ServiceError):
    status_code = 415
    code = "UnsupportedMediaType"


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "PayloadTooLarge"


class NotFound(ServiceError):
    status_code = 404
    code = "NotFound"


class Conflict(ServiceError):
    """The resource exists already, or changed since it was read (optimistic concurrency)."""

    status_code = 409
    code = "Conflict"


class AlreadyExists(Conflict):
    code = "AlreadyExists"


class VersionConflict(Conflict):
    code = "VersionConflict"


class TooManySchedules(ServiceError):
    """The caller already owns as many live schedules as one owner may."""

    status_code = 429
    code = "TooManySchedules"


class UpstreamUnavailable(ServiceError):
    """AWS throttled us or failed transiently; retrying later may succeed."""

    status_code = 503
    code = "UpstreamUnavailable"


class UpstreamRejected(ServiceError):
    """AWS rejected a request permanently (validation, access denied, limits)."""

    status_code = 502
    code = "UpstreamRejected"


class UpstreamDenied(UpstreamRejected):
    """AWS denied the call (AccessDenied). Right after a deploy this can be a policy that
    IAM has not propagated yet, so it is retried for a bounded time before it is treated as
    permanent. Clients see it as the ``UpstreamRejected`` it is."""


class NotAvailableHere(ServiceError):
    """This stage lacks a part the request needs: run now where no target function is
    deployed (``make local`` on its embedded moto serves the API alone). The message says
    why and names nothing internal, so the client reads it."""

    status_code = 501
    code = "NotAvailableHere"
    public = True


class Unauthenticated(ServiceError):
    """The request carries no identity the stage's authentication mode accepts."""

    status_code = 401
    code = "Unauthenticated"
