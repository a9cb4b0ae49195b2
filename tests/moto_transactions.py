"""moto's TransactWriteItems, with a rollback that copies what the transaction touches.

moto backs a transaction up by deep-copying every table it names, whole, before each
``TransactWriteItems``: every schedule change is one, so a test's cost grew with the number
of items in the table (220 schedules made each change cost about 30 ms, and the copies were
a fifth of the fast layer's time). Here the backup is the table's item index (a shallow copy,
which keeps the items that are not touched and their order) and a deep copy of each item the
transaction names; if moto refuses the transaction, that is put back, so the table is what it
was before, as after moto's own rollback (tests/test_moto_transactions.py compares the two).
A table with a stream (whose records a rollback must remove too) keeps moto's whole copy.
"""

from __future__ import annotations

import contextlib
import copy
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_MOTO_TRANSACT = DynamoDBBackend.transact_write_items


class _TableBackup:
    """A table's items as they were: the index of items (shallow) and, deep-copied, the
    items the transaction writes (None for one that did not exist)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        if table.has_range_key:
            self.index: Any = {key: dict(by_range) for key, by_range in table.items.items()}
        else:
            self.index = dict(table.items)
        self.touched: dict[tuple[Any, Any], Any] = {}

    def keep(self, hash_key: Any, range_key: Any) -> None:
        if (hash_key, range_key) not in self.touched:
            self.touched[(hash_key, range_key)] = copy.deepcopy(self.table.get_item(hash_key, range_key))

    def restore(self) -> None:
        items: Any = defaultdict(dict, self.index)
        for (hash_key, range_key), item in self.touched.items():
            if item is None:
                continue  # it did not exist: the index (from before) does not hold it
            if range_key is None:
                items[hash_key] = item
            else:
                items[hash_key][range_key] = item
        self.table.items = items


def _backups(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> dict[str, _TableBackup] | None:
    """A backup of each table the transaction writes, or None where one cannot be made
    this way (a table with a stream, a key moto will refuse): moto's own copy then."""
    backups: dict[str, _TableBackup] = {}
    for entry in transact_items:
        for op in entry.values():
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            if table.stream_shard is not None:
                return None
            key = op.get("Key") if "Key" in op else op.get("Item", {})
            try:
                hash_key, range_key = backend.get_keys_value(table, key)
            except Exception:  # noqa: BLE001 - moto answers it (a validation error)
                return None
            backup = backups.setdefault(table.name, _TableBackup(table))
            backup.keep(hash_key, range_key)
    return backups


class _TablesNotCopied:
    """The ``copy`` module as moto's DynamoDB backend sees it during a transaction whose
    backup is made here: a table is not copied (its rollback assigns it to itself)."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    backups = _backups(self, transact_items)
    if backups is None:
        return _MOTO_TRANSACT(self, transact_items)
    dynamodb_models.copy = _TablesNotCopied  # type: ignore[assignment]
    try:
        return _MOTO_TRANSACT(self, transact_items)
    except Exception:
        for backup in backups.values():
            backup.restore()
        raise
    finally:
        dynamodb_models.copy = copy  # type: ignore[assignment]


def install() -> None:
    """Every TransactWriteItems in this process backs up only what it touches."""
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]


@contextlib.contextmanager
def moto_own_rollback() -> Iterator[None]:
    """moto's whole-table copy, for the test that compares the two."""
    installed = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = _MOTO_TRANSACT  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = installed  # type: ignore[method-assign]
