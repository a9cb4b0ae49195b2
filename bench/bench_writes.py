"""Benchmark: AWS calls per change and DynamoDB items read per item listed.

Run: .venv/bin/python bench/bench_writes.py (or through ``make bench``).

Everything runs on moto in this process (no network). Calls are counted with a hook on the
botocore session, items read from each Query's ScannedCount, so the figures are exact
counts, not timings. Each figure is measured twice in the same run: through the service as
it is, and through a baseline written here that does what the service did before
(a GetItem before each conditional write; the default list merged from four status
partitions, each read one item past the page; the creator index holding deleted records).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import environment, figure, moto_credentials

STAGE = "dev"
REGION = "us-east-1"
LIST_STATUSES = ("pending", "active", "paused", "error")
ENVIRONMENT = {"STAGE": STAGE, **moto_credentials(REGION)}


def run() -> list[dict[str, Any]]:
    from moto import mock_aws

    with environment(ENVIRONMENT, unset=("AWS_ENDPOINT_URL", "AWS_PROFILE")), mock_aws():
        return _measure()


def _measure() -> list[dict[str, Any]]:
    from chalicelib import clients, wiring
    from chalicelib.identity import Caller
    from chalicelib.models import Action, ScheduleDefinition, ScheduleState
    from tests.aws_calls import AwsCalls
    from tests.support import create_stage_resources

    clients.reset()
    create_stage_resources(STAGE)
    calls = AwsCalls().install()
    settings = wiring.get_settings()
    service = wiring.schedule_service(settings)
    repository = wiring.repository(settings)
    owner = Caller("bench-owner")
    definition = ScheduleDefinition(name="bench", schedule_expression="rate(1 hour)", target_type="web_action")
    changed = definition.model_copy(update={"description": "changed"})
    figures = []

    # --- calls per change -------------------------------------------------------------
    def per_call(action: Callable[[str], Any]) -> float:
        schedule_id = service.create(definition, owner).id
        calls.reset()
        action(schedule_id)
        return float(sum(n for call, n in calls.calls.items() if not call.startswith("sts:")))

    def baseline_change(schedule_id: str, state: ScheduleState | None, new: ScheduleDefinition | None) -> None:
        current = repository.get(schedule_id)  # the read the service no longer makes
        assert current is not None
        target = new or current.definition.model_copy(update={"state": state})
        stored = repository.update(
            current.model_copy(update={"definition": target, "version": current.version + 1}),
            expected_version=current.version,
        )
        service._publish(stored, Action.UPDATE if new is not None else Action.PAUSE, owner)

    put_now = per_call(lambda sid: service.update(sid, changed, owner))
    put_before = per_call(lambda sid: baseline_change(sid, None, changed))
    figures.append(figure("AWS calls per PUT", put_now, "calls", put_before, "2", put_now <= 2))
    pause_now = per_call(lambda sid: service.pause(sid, owner))
    pause_before = per_call(lambda sid: baseline_change(sid, ScheduleState.DISABLED, None))
    figures.append(figure("AWS calls per pause", pause_now, "calls", pause_before, "2", pause_now <= 2))

    # --- items read per item listed -----------------------------------------------------
    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    lister = Caller("bench-lister")
    _store(table, lister.principal, 240)

    def read_per_item(list_page: Callable[[int, Any], tuple[int, Any]], limit: int, pages: int | None) -> float:
        calls.reset()
        returned, cursor, done = 0, None, 0
        while True:
            count, cursor = list_page(limit, cursor)
            returned += count
            done += 1
            if not cursor or (pages is not None and done >= pages):
                break
        return calls.items_read / max(returned, 1)

    def new_page(limit: int, cursor: Any) -> tuple[int, Any]:
        page = service.list(lister, limit=limit, cursor=cursor)
        return len(page), page.cursor

    def admin_page(limit: int, cursor: Any) -> tuple[int, Any]:
        page = service.list(Caller("bench-admin", is_admin=True), limit=limit, cursor=cursor)
        return len(page), page.cursor

    def old_page(limit: int, cursor: Any) -> tuple[int, Any]:
        return _baseline_merged_page(table, limit, cursor)

    for label, limit, pages in (("page of 50", 50, 1), ("full paging by 10", 10, None), ("first 60 pages by 1", 1, 60)):
        before = read_per_item(old_page, limit, pages)
        for who, lister_page in (("own", new_page), ("admin, all", admin_page)):
            now = read_per_item(lister_page, limit, pages)
            figures.append(figure(
                f"items read per item listed, default list ({who}), {label}", now, "items/item",
                before, "<= 1.2", now <= 1.2,
            ))

    # --- listing by label: 30 labelled among 240 of one owner's ---------------------------
    labeller = Caller("bench-labeller")
    _store(table, labeller.principal, 240, labels=lambda index: {"team": "golf"} if index % 8 == 0 else {"team": "tennis"})

    def label_page(limit: int, cursor: Any) -> tuple[int, Any]:
        page = service.list(labeller, labels={"team": "golf"}, limit=limit, cursor=cursor)
        return len(page), page.cursor

    def filtered_page(limit: int, cursor: Any) -> tuple[int, Any]:
        return _baseline_label_filter_page(table, labeller.principal, limit, cursor)

    for label, limit in (("page of 50", 50), ("full paging by 10", 10)):
        now = read_per_item(label_page, limit, None)
        before = read_per_item(filtered_page, limit, None)
        figures.append(figure(
            f"items read per item listed, ?label=team=golf (30 of 240), {label}", now, "items/item",
            before, "<= 1.2", now <= 1.2,
        ))

    # --- listing by creator through deleted records ----------------------------------
    _store(table, "bench-deleter", 300, status="deleted", legacy=False)
    _store(table, "bench-deleter", 1, start=300)
    _store(table, "bench-legacy", 300, status="deleted", legacy=True)
    _store(table, "bench-legacy", 1, start=300)
    calls.reset()
    service.list(Caller("bench-deleter"), limit=1)
    now_queries = calls.calls["dynamodb:Query"]
    calls.reset()
    _baseline_creator_page(table, "bench-legacy", 1)
    before_queries = calls.calls["dynamodb:Query"]
    figures.append(figure(
        "queries for ?created_by=X&limit=1 after 300 deletes", now_queries, "queries",
        before_queries, "1", now_queries == 1,
    ))
    return figures


def _store(
    table: Any, owner: str, count: int, status: str | None = None, legacy: bool = False, start: int = 0,
    labels: Callable[[int], dict[str, str]] | None = None,
) -> None:
    """Schedule items as the repository writes them (``legacy``: deleted ones keep
    ``created_by``, as before the creator index became sparse)."""
    from chalicelib import wiring
    from chalicelib.models import Schedule, ScheduleDefinition, ScheduleStatus, iso
    from chalicelib.repository import schedule_to_item

    base = wiring.now() - timedelta(days=2)
    with table.batch_writer() as batch:
        for index in range(start, start + count):
            when = iso(base + timedelta(seconds=index))
            schedule = Schedule(
                id=str(uuid.uuid4()), created_by=owner, created_date=when, updated_date=when,
                status=ScheduleStatus(status or LIST_STATUSES[index % len(LIST_STATUSES)]),
                definition=ScheduleDefinition(
                    name=f"b{index}", schedule_expression="rate(1 hour)", target_type="web_action",
                    labels=labels(index) if labels else {},
                ),
            )
            item = schedule_to_item(schedule)
            if legacy:
                item["created_by"] = owner
            batch.put_item(Item=item)


def _baseline_label_filter_page(table: Any, owner: str, limit: int, cursor: Any) -> tuple[int, Any]:
    """A label filter without the label indexes: the owner's part of the creator index read
    page by page, a FilterExpression keeping the labelled records."""
    from chalicelib.names import CREATOR_INDEX

    request: dict[str, Any] = {
        "IndexName": CREATOR_INDEX, "KeyConditionExpression": "#k = :v",
        "FilterExpression": "#d.#l.#team = :golf",
        "ExpressionAttributeNames": {"#k": "created_by", "#d": "definition", "#l": "labels", "#team": "team"},
        "ExpressionAttributeValues": {":v": owner, ":golf": "golf"}, "ScanIndexForward": False,
    }
    found = 0
    while found < limit:
        if cursor:
            request["ExclusiveStartKey"] = cursor
        request["Limit"] = limit - found
        response = table.query(**request)
        found += len(response.get("Items", []))
        cursor = response.get("LastEvaluatedKey")
        if not cursor:
            break
    return found, cursor


def _baseline_merged_page(table: Any, limit: int, cursor: Any) -> tuple[int, Any]:
    """The default list as it was: each live status partition read ``limit + 1`` deep from
    its own position, merged newest first; the cursor holds every partition's position."""
    from chalicelib.names import STATUS_INDEX

    state = cursor or {status: {} for status in LIST_STATUSES}
    candidates = []
    exhausted = {}
    for status, start in state.items():
        if start is None:
            continue
        request: dict[str, Any] = {
            "IndexName": STATUS_INDEX, "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "status"}, "ExpressionAttributeValues": {":s": status},
            "ScanIndexForward": False, "Limit": limit + 1,
        }
        if start:
            request["ExclusiveStartKey"] = start
        response = table.query(**request)
        items = response.get("Items", [])
        exhausted[status] = "LastEvaluatedKey" not in response and len(items) <= limit
        candidates.extend((item["created_date"], item["id"], item, status) for item in items)
    chosen = sorted(candidates, key=lambda c: (c[0], c[1]), reverse=True)[:limit]
    next_state: dict[str, Any] = {}
    for status, start in state.items():
        if start is None:
            continue
        taken = [c for c in chosen if c[3] == status]
        fetched = [c for c in candidates if c[3] == status]
        if taken:
            last = taken[-1][2]
            position = {"id": last["id"], "status": last["status"], "created_date": last["created_date"]}
            next_state[status] = None if exhausted[status] and len(taken) == len(fetched) else position
        else:
            next_state[status] = None if exhausted[status] and not fetched else start
    more = any(value is not None for value in next_state.values())
    return len(chosen), (next_state if more and chosen else None)


def _baseline_creator_page(table: Any, owner: str, limit: int) -> int:
    """Listing by creator as it was: the index holds deleted records, filtered out after
    they are read, ``limit + 1`` at a time until enough are found."""
    from chalicelib.names import CREATOR_INDEX

    want, items, start = limit + 1, [], None
    while True:
        request: dict[str, Any] = {
            "IndexName": CREATOR_INDEX, "KeyConditionExpression": "#k = :v",
            "FilterExpression": "#s <> :deleted",
            "ExpressionAttributeNames": {"#k": "created_by", "#s": "status"},
            "ExpressionAttributeValues": {":v": owner, ":deleted": "deleted"},
            "ScanIndexForward": False, "Limit": want - len(items),
        }
        if start:
            request["ExclusiveStartKey"] = start
        response = table.query(**request)
        items.extend(response.get("Items", []))
        start = response.get("LastEvaluatedKey")
        if len(items) >= want or not start:
            return len(items[:limit])


if __name__ == "__main__":
    for figure in run():
        mark = "ok " if figure["met"] else "MISS"
        print(f"{mark} {figure['name']}: {figure['value']} {figure['unit']} "
              f"(before: {figure['baseline']}, target {figure['target']})")
