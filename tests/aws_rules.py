"""Rules AWS enforces that moto does not: checked on every request the code sends.

DynamoDB rejects an ``ExpressionAttributeValues`` or ``ExpressionAttributeNames`` entry that
no expression of the request uses (ValidationException "Value provided in
ExpressionAttributeValues unused in expressions"); moto accepts it. ``enforce_dynamodb_rules``
hooks the clients' session so such a request fails in the unit tests as it does on AWS.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import clients

_EXPRESSIONS = ("UpdateExpression", "ConditionExpression", "KeyConditionExpression",
                "FilterExpression", "ProjectionExpression")


def unused_placeholders(request: dict[str, Any]) -> list[str]:
    """The names and values of one request (or one transaction item) no expression uses."""
    text = " ".join(str(request.get(key) or "") for key in _EXPRESSIONS)
    used = set(re.findall(r"[:#][A-Za-z0-9_]+", text))
    declared = [*(request.get("ExpressionAttributeValues") or {}), *(request.get("ExpressionAttributeNames") or {})]
    return sorted(placeholder for placeholder in declared if placeholder not in used)


def _check(params: dict[str, Any], model: Any, **_: Any) -> None:
    requests = [params]
    if model.name == "TransactWriteItems":
        requests = [next(iter(item.values())) for item in params.get("TransactItems", [])]
    for request in requests:
        unused = unused_placeholders(request)
        if unused:
            raise ClientError(
                {"Error": {"Code": "ValidationException",
                           "Message": f"Value provided in ExpressionAttributeValues unused in expressions: keys: {unused}"}},
                model.name,
            )


def enforce_dynamodb_rules() -> None:
    """From now on (until ``clients.reset()``), every DynamoDB request the code sends is checked."""
    clients.reset()
    clients._shared_session()._session.register("provide-client-params.dynamodb", _check)
