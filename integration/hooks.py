"""The botocore clients the code calls AWS through, for hooking events on them.

``chalicelib.clients`` caches one client per service and one resource per service (the
repository talks to DynamoDB through a ``Table`` resource, whose client is a client of its
own). Recorder and fault injector both hook every one of them, so no call slips past.
Clients built after ``clients.reset()`` are new objects: hook them again.
"""

from __future__ import annotations

import contextlib
from typing import Any

from boto3.exceptions import ResourceNotExistsError

from chalicelib import clients

# Services boto3 offers a resource for; the code uses the DynamoDB one.
_RESOURCE_SERVICES = frozenset({"dynamodb", "sns", "sqs", "iam", "s3", "cloudformation", "ec2"})


def cached_clients(service: str) -> list[Any]:
    """The cached client for ``service`` and, where boto3 has one, its resource's client."""
    found = [clients.client(service)]
    if service == "sns":  # the alert sweep publishes on a client that makes one attempt
        found.append(clients.client(service, single_attempt=True))
    if service in _RESOURCE_SERVICES:
        with contextlib.suppress(ResourceNotExistsError):
            found.append(clients.resource(service).meta.client)
    return found


def operation_of(event_name: str) -> tuple[str, str]:
    """``("dynamodb", "PutItem")`` from ``"before-call.dynamodb.PutItem"``."""
    _, service, operation = event_name.split(".", 2)
    return service, operation
