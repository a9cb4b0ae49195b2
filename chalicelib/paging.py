"""Every item a DynamoDB query matches, page after page: the one read-everything loop.

boto3's Table resource has no paginator (the client's ``query`` paginator answers in the
low-level attribute format), so the stores follow ``LastEvaluatedKey`` here. The calls whose
client has a botocore paginator (``list_schedules``, ``list_tags_of_resource``) use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def query_items(table: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The items of ``table.query(**request)``, every page, in the query's order (the
    request is not changed; a ``Limit`` in it is the page size)."""
    request = dict(request)
    while True:
        response = table.query(**request)
        yield from response.get("Items", [])
        start = response.get("LastEvaluatedKey")
        if not start:
            return
        request["ExclusiveStartKey"] = start
