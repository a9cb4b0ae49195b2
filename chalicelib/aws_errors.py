"""Translate botocore errors into ``chalicelib.errors`` at the edge.

Code that talks to AWS either catches botocore errors and raises ``translate(exc)`` from
them, or wraps its calls in ``with translated("schedule group rez-agent-dev"):``; callers
above it see only ``ServiceError`` subclasses. ``error_code`` and ``is_not_found`` let the
edge decide what it expects (a read that finds nothing) before anything is translated.
The AWS error message is kept in the translated error's message.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError as BotoConnectionError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from chalicelib import errors

NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ResourceNotFound",
        "NoSuchEntity",
        "NotFound",
        "NotFoundException",
        "QueueDoesNotExist",  # SQS (JSON protocol)
        "AWS.SimpleQueueService.NonExistentQueue",  # SQS (query protocol)
    }
)
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerException",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
    }
)
CONFLICT_CODES = frozenset(
    {
        "ConflictException",
        "ResourceInUseException",
        "DeleteConflict",
        "EntityAlreadyExists",
        "ConcurrentModification",
        "ConcurrentAccess",
    }
)
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "NotAuthorized",
    }
)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (None for anything else)."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Message") or str(exc)
    return str(exc)


def http_status(exc: BaseException) -> int | None:
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in NOT_FOUND_CODES


def translate(exc: BaseException, what: str | None = None) -> errors.ServiceError:
    """The ``ServiceError`` for a botocore error (met while working on ``what``)."""
    if isinstance(exc, errors.ServiceError):
        return exc
    prefix = f"{what}: " if what else ""
    if isinstance(exc, NoCredentialsError):
        return errors.UpstreamRejected(f"{prefix}no AWS credentials configured")
    if isinstance(exc, ParamValidationError):
        return errors.UpstreamRejected(f"{prefix}{exc}")
    if isinstance(exc, (EndpointConnectionError, BotoConnectionError, ReadTimeoutError)):
        return errors.UpstreamUnavailable(f"{prefix}AWS endpoint unreachable ({exc})")
    if not isinstance(exc, ClientError):
        return errors.UpstreamUnavailable(f"{prefix}{exc}")
    code = error_code(exc)
    message = f"{prefix}{code}: {error_message(exc)}"
    status = http_status(exc) or 0
    if code in THROTTLING_CODES or status >= 500:
        return errors.UpstreamUnavailable(message)
    if code in NOT_FOUND_CODES:
        return errors.NotFound(message)
    if code in CONFLICT_CODES:
        return errors.Conflict(message)
    if code in DENIED_CODES:
        return errors.UpstreamDenied(message)
    return errors.UpstreamRejected(message)


def is_retryable(error: BaseException) -> bool:
    """Whether trying again later may succeed: throttling, 5xx, unreachable endpoints, and
    a denied call (a policy still propagating). A validation error or a missing resource
    is not."""
    if not isinstance(error, errors.ServiceError):
        error = translate(error)
    return isinstance(error, (errors.UpstreamUnavailable, errors.UpstreamDenied))


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Re-raise botocore errors raised inside the block as ``ServiceError``s."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, what) from exc
