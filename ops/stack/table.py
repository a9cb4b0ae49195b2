"""The DynamoDB table ``rez-agent-schedules-<stage>``.

Managed attributes, compared as plain data:

- ``key_schema``: the primary key. It cannot change in place, so a different key is a
  ``Replace`` that deletes the table and its items first (the deploy refuses it unless the
  operator allows data loss).
- ``billing_mode``: PAY_PER_REQUEST; a table switched to PROVISIONED out of band is switched
  back with UpdateTable.
- ``global_secondary_indexes``: by name. A missing index is created, an extra one deleted and
  a changed one (keys or projection) deleted then created again, all with UpdateTable, one
  index per call as DynamoDB requires, waiting for the table to settle in between. The table
  keeps its items; only the changed index is rebuilt.
- ``ttl``: enabled on attribute ``ttl``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib import names
from ops.stack.model import Desired, FieldChange, Observed, Unowned
from ops.stack.provider import ResourceProvider, Updater
from ops.stack.tags import from_tag_list, to_tag_list

PAY_PER_REQUEST = "PAY_PER_REQUEST"
TTL_ATTRIBUTE = "ttl"
STRING = "S"


def key(attribute: str, type_: str = STRING) -> dict[str, str]:
    return {"attribute": attribute, "type": type_}


def index(hash_key: dict[str, Any], range_key: dict[str, Any] | None = None, projection: str = "ALL") -> dict[str, Any]:
    spec: dict[str, Any] = {"hash": hash_key}
    if range_key:
        spec["range"] = range_key
    spec["projection"] = projection
    return spec


SCHEDULES_KEY_SCHEMA = {"hash": key("id")}
SCHEDULES_INDEXES = {
    names.STATUS_INDEX: index(key("status"), key("created_date")),
    names.CREATOR_INDEX: index(key("created_by"), key("created_date")),
    names.LIVE_INDEX: index(key("live"), key("created_date")),
    **{
        names.label_index(slot): index(key(names.label_slot(slot)), key(names.LABEL_RANGE))
        for slot in range(names.LABEL_SLOTS)
    },
}


class TableProvider(ResourceProvider):
    kind = "dynamodb-table"
    holds_data = True

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    def desired_attrs(self) -> dict[str, Any]:
        return {
            "key_schema": SCHEDULES_KEY_SCHEMA,
            "billing_mode": PAY_PER_REQUEST,
            "global_secondary_indexes": SCHEDULES_INDEXES,
            "ttl": {"enabled": True, "attribute": TTL_ATTRIBUTE},
        }

    # -- read ------------------------------------------------------------------------------

    def _describe(self, name: str) -> tuple[str, dict[str, Any]] | None:
        table = self.dynamodb.describe_table(TableName=name)["Table"]
        if table.get("TableStatus") == "DELETING":
            return None
        types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
        attrs = {
            "key_schema": _key_spec(table["KeySchema"], types),
            "billing_mode": table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
            "global_secondary_indexes": {
                gsi["IndexName"]: _index_spec(gsi, types)
                for gsi in table.get("GlobalSecondaryIndexes") or []
            },
            "ttl": self._read_ttl(name),
        }
        return table["TableArn"], attrs

    def _read_ttl(self, name: str) -> dict[str, Any]:
        described = self.dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        return {
            "enabled": described.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"),
            "attribute": described.get("AttributeName"),
        }

    def _exists(self, name: str) -> bool:
        self.dynamodb.describe_table(TableName=name)
        return True

    def _replace_reason(self, desired: Desired, current: Observed | Unowned) -> str | None:
        have, want = current.attrs.get("key_schema"), desired.attrs["key_schema"]
        if have != want:
            return f"primary key changes from {_describe_key(have)} to {_describe_key(want)}"
        return None

    # -- create / delete -------------------------------------------------------------------

    def _create(self, desired: Desired) -> None:
        attrs = desired.attrs
        self.dynamodb.create_table(
            TableName=desired.name,
            BillingMode=attrs["billing_mode"],
            KeySchema=_key_schema(attrs["key_schema"]),
            AttributeDefinitions=_attribute_definitions(
                attrs["key_schema"], *attrs["global_secondary_indexes"].values()
            ),
            GlobalSecondaryIndexes=[
                _index_request(name, spec)
                for name, spec in attrs["global_secondary_indexes"].items()
            ],
            Tags=to_tag_list(desired.tags),
        )
        self._wait_active(desired.name)
        self._set_ttl(desired.name, attrs["ttl"], {"enabled": False})

    def _delete(self, name: str) -> None:
        self.dynamodb.delete_table(TableName=name)

    # -- tags ------------------------------------------------------------------------------

    def _list_tags(self, name: str, arn: str) -> dict[str, str]:
        pages = self.dynamodb.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn)
        return from_tag_list([tag for page in pages for tag in page.get("Tags") or []])

    def _tag(self, name: str, arn: str, tags: dict[str, str]) -> None:
        self.dynamodb.tag_resource(ResourceArn=arn, Tags=to_tag_list(tags))

    def _untag(self, name: str, arn: str, keys: list[str]) -> None:
        self.dynamodb.untag_resource(ResourceArn=arn, TagKeys=keys)

    # -- updates ---------------------------------------------------------------------------

    def _updaters(self) -> Mapping[str, Updater]:
        return {
            "billing_mode": self._update_billing_mode,
            "global_secondary_indexes": self._update_indexes,
            "ttl": lambda name, arn, change: self._set_ttl(name, change.after, change.before),
        }

    def _update_billing_mode(self, name: str, arn: str, change: FieldChange) -> None:
        self.dynamodb.update_table(TableName=name, BillingMode=change.after)
        self._wait_active(name)

    def _update_indexes(self, name: str, arn: str, change: FieldChange) -> None:
        have: dict[str, Any] = change.before or {}
        want: dict[str, Any] = change.after
        stale = [n for n, spec in have.items() if want.get(n) != spec]
        missing = [n for n, spec in want.items() if have.get(n) != spec]
        for index_name in stale:
            self.dynamodb.update_table(
                TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index_name}}]
            )
            self._wait_active(name)
        # Every key attribute of the table and its indexes, as CreateTable has them: AWS
        # needs at least the new index's, and sending all keeps emulators that replace
        # (rather than merge) the definitions consistent.
        definitions = _attribute_definitions(self.desired_attrs()["key_schema"], *want.values())
        for index_name in missing:
            spec = want[index_name]
            self.dynamodb.update_table(
                TableName=name,
                AttributeDefinitions=definitions,
                GlobalSecondaryIndexUpdates=[{"Create": _index_request(index_name, spec)}],
            )
            self._wait_active(name)

    def _set_ttl(self, name: str, want: dict[str, Any], have: dict[str, Any] | None) -> None:
        have = have or {}
        if have.get("enabled") and have.get("attribute") != want["attribute"]:
            # TTL cannot move to another attribute while enabled: switch it off first.
            self.dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": False, "AttributeName": have["attribute"]},
            )
        self.dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={
                "Enabled": want["enabled"],
                "AttributeName": want["attribute"],
            },
        )

    def _wait_active(self, name: str) -> None:
        def active() -> bool:
            table = self.dynamodb.describe_table(TableName=name)["Table"]
            indexes = table.get("GlobalSecondaryIndexes") or []
            return table["TableStatus"] == "ACTIVE" and all(
                gsi.get("IndexStatus", "ACTIVE") == "ACTIVE" for gsi in indexes
            )

        self.wait_for(active, f"waiting for {self.label(name)} to become ACTIVE")


def _key_spec(key_schema: list[dict[str, Any]], types: dict[str, str]) -> dict[str, Any]:
    role = {"HASH": "hash", "RANGE": "range"}
    return {
        role[part["KeyType"]]: key(part["AttributeName"], types.get(part["AttributeName"], "?"))
        for part in key_schema
    }


def _index_spec(gsi: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    spec = _key_spec(gsi["KeySchema"], types)
    projection = gsi.get("Projection", {})
    spec["projection"] = projection.get("ProjectionType", "ALL")
    if projection.get("NonKeyAttributes"):
        spec["non_key_attributes"] = sorted(projection["NonKeyAttributes"])
    return spec


def _key_schema(spec: dict[str, Any]) -> list[dict[str, str]]:
    schema = [{"AttributeName": spec["hash"]["attribute"], "KeyType": "HASH"}]
    if spec.get("range"):
        schema.append({"AttributeName": spec["range"]["attribute"], "KeyType": "RANGE"})
    return schema


def _attribute_definitions(*specs: dict[str, Any]) -> list[dict[str, str]]:
    types: dict[str, str] = {}
    for spec in specs:
        for role in ("hash", "range"):
            if spec.get(role):
                types[spec[role]["attribute"]] = spec[role]["type"]
    return [{"AttributeName": n, "AttributeType": t} for n, t in sorted(types.items())]


def _index_request(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": spec["projection"]}
    if spec.get("non_key_attributes"):
        projection["NonKeyAttributes"] = spec["non_key_attributes"]
    return {"IndexName": name, "KeySchema": _key_schema(spec), "Projection": projection}


def _describe_key(spec: dict[str, Any] | None) -> str:
    if not spec:
        return "none"
    parts = (spec[role] for role in ("hash", "range") if role in spec)
    return " + ".join(f"{part['attribute']} ({part['type']})" for part in parts)
