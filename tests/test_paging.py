"""The one read-everything loop (chalicelib.paging): every page of a DynamoDB query, on the
stage's table in moto, whatever the page size."""

from __future__ import annotations

from chalicelib import clients
from chalicelib.config import get_settings
from chalicelib.names import STATUS_INDEX
from chalicelib.paging import query_items


def test_every_page_of_a_query_is_read_in_order(moto_stage):
    # GIVEN seven history entries of one schedule, and a query that reads two a page
    settings = get_settings()
    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    for n in range(7):
        table.put_item(Item={"id": f"s1#history#{n}", "status": "history#s1", "created_date": f"2026-03-01T00:0{n}:00Z"})
    table.put_item(Item={"id": "s2#history#0", "status": "history#s2", "created_date": "2026-03-01T00:00:00Z"})
    request = {
        "IndexName": STATUS_INDEX,
        "KeyConditionExpression": "#s = :v",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":v": "history#s1"},
        "Limit": 2,
    }
    # WHEN every item is read
    items = list(query_items(table, request))
    # THEN all seven come back, oldest first, and the caller's request is left as it was
    assert [item["id"] for item in items] == [f"s1#history#{n}" for n in range(7)]
    assert "ExclusiveStartKey" not in request
