"""The unit tests' TransactWriteItems rollback (tests/moto_transactions.py) leaves a table as
moto's own whole-table copy does: a refused transaction writes nothing, an accepted one
writes everything."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.moto_transactions import moto_own_rollback
from tests.support import REGION


def _tables():
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="plain", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    dynamodb.create_table(
        TableName="ranged", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
    )
    for name in ("a", "b", "c", "e"):
        dynamodb.put_item(TableName="plain", Item={"id": {"S": name}, "doc": {"M": {"n": {"N": "1"}, "tags": {"L": [{"S": name}]}}}})
    for sk in ("1", "2"):
        dynamodb.put_item(TableName="ranged", Item={"pk": {"S": "p"}, "sk": {"S": sk}, "v": {"N": sk}})
    return dynamodb


def _transaction(check_c_is: str):
    """Change a (in place, nested), put d, delete b, change and delete rows of the ranged
    table, and check c's version (which decides the outcome)."""
    return [
        {"Update": {"TableName": "plain", "Key": {"id": {"S": "a"}},
                    "UpdateExpression": "SET doc.n = :two, doc.tags[0] = :x, added = :x",
                    "ExpressionAttributeValues": {":two": {"N": "2"}, ":x": {"S": "x"}}}},
        {"Put": {"TableName": "plain", "Item": {"id": {"S": "d"}}}},
        {"Delete": {"TableName": "plain", "Key": {"id": {"S": "b"}}}},
        {"Update": {"TableName": "ranged", "Key": {"pk": {"S": "p"}, "sk": {"S": "1"}},
                    "UpdateExpression": "SET v = :nine", "ExpressionAttributeValues": {":nine": {"N": "9"}}}},
        {"Delete": {"TableName": "ranged", "Key": {"pk": {"S": "p"}, "sk": {"S": "2"}}}},
        {"Put": {"TableName": "ranged", "Item": {"pk": {"S": "q"}, "sk": {"S": "1"}}}},
        {"ConditionCheck": {"TableName": "plain", "Key": {"id": {"S": "c"}},
                            "ConditionExpression": "attribute_exists(#id) AND doc.n = :n",
                            "ExpressionAttributeNames": {"#id": "id"},
                            "ExpressionAttributeValues": {":n": {"N": check_c_is}}}},
    ]


def _contents(dynamodb) -> dict:
    """Both tables' items in scan order."""
    return {table: dynamodb.scan(TableName=table)["Items"] for table in ("plain", "ranged")}


def _run(check_c_is: str) -> tuple[dict, dict, str | None]:
    with mock_aws():
        dynamodb = _tables()
        before = _contents(dynamodb)
        refused = None
        try:
            dynamodb.transact_write_items(TransactItems=_transaction(check_c_is))
        except ClientError as exc:
            refused = exc.response["Error"]["Code"]
        return before, _contents(dynamodb), refused


@pytest.mark.parametrize("check_c_is", ["2", "1"], ids=["refused", "accepted"])
def test_a_transaction_leaves_the_tables_as_moto_own_rollback_does(check_c_is):
    # GIVEN two tables (one with a range key), WHEN one transaction changes, puts and deletes
    # items in both and checks a third item's value
    before, after, refused = _run(check_c_is)
    with moto_own_rollback():
        moto_before, moto_after, moto_refused = _run(check_c_is)
    # THEN the tables (their items, in scan order) and the answer are moto's own
    assert (before, after, refused) == (moto_before, moto_after, moto_refused)
    if check_c_is == "2":
        # AND a refused transaction wrote nothing, the item changed in place included
        assert refused == "TransactionCanceledException" and after == before
    else:
        # AND an accepted one wrote everything
        assert refused is None and after != before
        assert sorted(item["id"]["S"] for item in after["plain"]) == ["a", "c", "d", "e"]
        assert next(item for item in after["plain"] if item["id"]["S"] == "a")["doc"]["M"]["n"] == {"N": "2"} and after["ranged"] == [
            {"pk": {"S": "p"}, "sk": {"S": "1"}, "v": {"N": "9"}}, {"pk": {"S": "q"}, "sk": {"S": "1"}}]
