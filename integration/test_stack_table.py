"""Lifecycle of the schedules table: created as specified, drift repaired, data kept."""

from __future__ import annotations

import pytest

from integration.stack_fixtures import ours

TABLE = "schedules-table"
INDEXES = {
    "status-created_date-index": [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "created_date", "KeyType": "RANGE"},
    ],
    "created_by-index": [
        {"AttributeName": "created_by", "KeyType": "HASH"},
        {"AttributeName": "created_date", "KeyType": "RANGE"},
    ],
    "live-created_date-index": [
        {"AttributeName": "live", "KeyType": "HASH"},
        {"AttributeName": "created_date", "KeyType": "RANGE"},
    ],
    # one sparse index per label slot: a label's key=value, then the owner and creation date
    **{
        f"label_{slot}-index": [
            {"AttributeName": f"label_{slot}", "KeyType": "HASH"},
            {"AttributeName": "owner_created", "KeyType": "RANGE"},
        ]
        for slot in range(5)
    },
}


def assert_table_as_specified(oob, name: str, stage: str) -> None:
    table = oob.table(name)
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert {types[a] for a in ("id", "status", "created_date", "created_by")} == {"S"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert {n: i["KeySchema"] for n, i in indexes.items()} == INDEXES
    assert {i["Projection"]["ProjectionType"] for i in indexes.values()} == {"ALL"}
    ttl = oob.ttl(name)
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ttl")
    assert oob.table_tags(name) == ours(stage, TABLE)


def test_table_is_created_as_specified_and_deleted(scratch, oob):
    # WHEN the stack is deployed
    deployed = scratch.deploy()

    # THEN the table has its key, indexes, billing mode, TTL and our tags
    assert deployed.exit_code == 0, deployed
    assert_table_as_specified(oob, scratch.names.table, scratch.stage)
    assert deployed.json["outputs"]["table_name"] == scratch.names.table
    assert deployed.json["outputs"]["table_arn"] == oob.table(scratch.names.table)["TableArn"]

    # WHEN it is destroyed THEN the table is gone
    assert scratch.destroy().exit_code == 0
    assert oob.table(scratch.names.table) is None


def test_ttl_disabled_out_of_band_is_enabled_again(scratch, oob):
    # GIVEN a deployed table whose TTL was switched off
    assert scratch.deploy().exit_code == 0
    oob.disable_ttl(scratch.names.table)
    assert oob.ttl(scratch.names.table)["TimeToLiveStatus"] == "DISABLED"

    # WHEN the stack is deployed again
    again = scratch.deploy()

    # THEN the table's TTL field was updated and TTL is on again
    assert again.exit_code == 0, again
    step = next(s for s in again.json["steps"] if s["name"] == scratch.names.table)
    assert [c["field"] for c in step["changes"]] == ["ttl"]
    assert_table_as_specified(oob, scratch.names.table, scratch.stage)


def test_billing_mode_switched_out_of_band_is_switched_back(scratch, oob):
    # GIVEN a deployed table switched to provisioned capacity
    assert scratch.deploy().exit_code == 0
    oob.switch_to_provisioned(scratch.names.table)

    # WHEN the stack is deployed again
    assert scratch.deploy().exit_code == 0

    # THEN it is on-demand again
    assert_table_as_specified(oob, scratch.names.table, scratch.stage)


def test_index_deleted_out_of_band_is_rebuilt_and_items_are_kept(scratch, oob):
    # GIVEN a deployed table holding an item, with one index deleted out of band
    assert scratch.deploy().exit_code == 0
    name = scratch.names.table
    item = {"id": {"S": "s-1"}, "status": {"S": "active"}, "created_date": {"S": "2026-01-01"}}
    oob.put_item(name, item)
    oob.delete_index(name, "created_by-index")
    assert oob.index_names(name) == sorted(set(INDEXES) - {"created_by-index"})

    # WHEN the stack is deployed again
    again = scratch.deploy()

    # THEN the index is back (an update, not a replace) and the item survived
    assert again.exit_code == 0, again
    assert again.actions()[name] == "update"
    assert_table_as_specified(oob, name, scratch.stage)
    item = oob.dynamodb.get_item(TableName=name, Key={"id": {"S": "s-1"}}).get("Item")
    assert item and item["status"] == {"S": "active"}


def test_table_deleted_out_of_band_is_recreated(scratch, oob):
    # GIVEN a deployed table deleted out of band
    assert scratch.deploy().exit_code == 0
    oob.delete_table(scratch.names.table)

    # WHEN the stack is deployed again THEN the table is back as specified
    assert scratch.deploy().exit_code == 0
    assert_table_as_specified(oob, scratch.names.table, scratch.stage)


def test_adopting_a_foreign_table_completes_it_in_place_and_keeps_its_items(scratch, oob):
    # GIVEN a table with our name and key that is someone else's, holding an item
    name = scratch.names.table
    oob.create_table(name, tags={"team": "payments"})
    oob.put_item(name, {"id": {"S": "keep-me"}})

    # WHEN deployed with --adopt THEN it is ours, completed in place, the item kept
    assert scratch.deploy("--adopt").exit_code == 0
    assert_table_as_specified(oob, name, scratch.stage)
    assert oob.dynamodb.get_item(TableName=name, Key={"id": {"S": "keep-me"}}).get("Item")


@pytest.mark.parametrize("allow", [False, True], ids=["refused", "allowed"])
def test_table_with_another_primary_key_is_replaced_only_when_data_loss_is_allowed(
    scratch, oob, recorder, allow
):
    # GIVEN our table exists with another primary key (ownership tags included)
    name = scratch.names.table
    oob.create_table(name, hash_key="pk", tags=ours(scratch.stage, TABLE))

    # WHEN it is deployed (with or without --allow-data-loss)
    result = scratch.deploy("--allow-data-loss") if allow else scratch.deploy()

    if not allow:
        # THEN it refuses before any change, saying why and how to go ahead
        assert result.exit_code == 1, result
        assert "--allow-data-loss" in result.err and name in result.err
        assert recorder.mutating == []
        assert oob.table(name)["KeySchema"][0]["AttributeName"] == "pk"
    else:
        # THEN the table was replaced in place and is now as specified
        assert result.exit_code == 0, result
        assert result.actions()[name] == "replace"
        assert_table_as_specified(oob, name, scratch.stage)
