"""What a listing reads: at most 1.2 items per item returned, whatever the page size, and
never through deleted records.

The default list is the caller's own schedules (the creator index, which deleted records
leave) or, for an admin, every live schedule (the sparse live index): one query a page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import wiring
from chalicelib.clock import system_clock
from chalicelib.identity import Caller
from chalicelib.models import Schedule, ScheduleDefinition, ScheduleStatus, iso, new_id
from tests.aws_calls import AwsCalls

STATUSES = [ScheduleStatus.PENDING, ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED, ScheduleStatus.ERROR]
ADMIN = Caller("ops", is_admin=True)


@pytest.fixture
def calls(moto_stage):
    return AwsCalls().install()


def store(count, created_by="alice", statuses=STATUSES, start=0, labels=None):
    """``count`` records straight into the table, one a minute, spread over ``statuses``;
    ``labels`` maps some of the indexes to their records' labels."""
    repository = wiring.repository(wiring.get_settings())
    base = system_clock() - timedelta(days=1)
    ids = []
    for index in range(start, start + count):
        when = iso(base + timedelta(minutes=index))
        schedule = Schedule(
            id=new_id(), created_by=created_by, created_date=when, updated_date=when,
            status=statuses[index % len(statuses)],
            definition=ScheduleDefinition(
                name=f"s{index}", schedule_expression="rate(1 hour)", target_type="web_action",
                labels=(labels or {}).get(index, {}),
            ),
        )
        repository.create(schedule)
        ids.append(schedule)
    return ids


def page_through(calls, list_page, limit):
    """Every item of a full paging, and the items read and queries made for it."""
    calls.reset()
    names, cursor, pages = [], None, 0
    while True:
        page = list_page(limit, cursor)
        pages += 1
        names.extend(s.definition.name for s in page)
        cursor = page.cursor
        if not cursor:
            return names, calls.items_read, calls.calls["dynamodb:Query"], pages


@pytest.mark.parametrize("limit", [1, 3, 5, 50])
def test_the_default_list_reads_at_most_1_2_items_per_item_at_any_page_size(moto_stage, calls, limit):
    # GIVEN 30 schedules of alice's over four statuses, and 10 of bob's
    store(30)
    store(10, created_by="bob", start=30)
    service = wiring.schedule_service()
    for caller, expected in ((Caller("alice"), 30), (ADMIN, 40)):
        # WHEN the caller pages through its default list
        names, read, queries, pages = page_through(
            calls, lambda n, c, who=caller: service.list(who, limit=n, cursor=c), limit
        )
        # THEN every schedule it may see appears once, newest first
        assert len(names) == expected and len(set(names)) == expected
        assert names[0] == ("s39" if caller.is_admin else "s29")
        # AND it read at most 1.2 items per item returned, one query a page
        assert read <= 1.2 * expected, (caller, read, expected)
        assert queries == pages


def test_one_page_of_fifty_reads_at_most_sixty_items_in_one_query(moto_stage, calls):
    store(120)
    calls.reset()
    page = wiring.schedule_service().list(ADMIN, limit=50)
    assert len(page) == 50
    assert calls.calls["dynamodb:Query"] == 1
    assert calls.items_read <= 60


def test_listing_by_creator_does_not_read_through_deleted_records(moto_stage, calls):
    # GIVEN 300 of alice's schedules deleted (20 of them through a settled delete), then one live one
    repository = wiring.repository(wiring.get_settings())
    for schedule in store(20, statuses=[ScheduleStatus.ACTIVE]):
        repository.mark_deleted(schedule, ttl_days=7)
    store(280, statuses=[ScheduleStatus.DELETED], start=20)
    [live] = store(1, start=300)
    calls.reset()
    # WHEN her first schedule is asked for
    page = wiring.schedule_service().list(Caller("alice"), limit=1)
    # THEN one query that read one item answers it
    assert [s.id for s in page] == [live.id]
    assert calls.calls["dynamodb:Query"] == 1
    assert calls.items_read == 1
    # AND her deleted schedules are still listed when asked for by status
    deleted = wiring.schedule_service().list(Caller("alice"), status=ScheduleStatus.DELETED, limit=100)
    assert len(deleted) == 100 and {s.status for s in deleted} == {ScheduleStatus.DELETED}


def test_a_page_size_below_five_may_end_with_an_empty_page_and_no_item_is_lost(moto_stage, calls):
    # GIVEN exactly four schedules
    store(4)
    names, read, _, pages = page_through(
        calls, lambda n, c: wiring.schedule_service().list(Caller("alice"), limit=n, cursor=c), 2
    )
    # THEN two full pages (DynamoDB may add an empty last one), nothing read twice
    assert names == ["s3", "s2", "s1", "s0"]
    assert read == 4 and pages in (2, 3)


GOLF = [index * 6 for index in range(30)]  # 30 of 200


@pytest.mark.parametrize("limit", [3, 10, 50])
def test_listing_by_label_reads_at_most_1_2_items_per_item_returned(moto_stage, calls, limit):
    # GIVEN 200 of alice's schedules, 30 of them team=golf (with other labels beside it),
    # and 50 golf schedules of bob's
    store(200, labels={index: {"team": "golf", "env": "prod", "tier": "a", "app": "tee"} for index in GOLF})
    store(50, created_by="bob", start=200, labels={index: {"team": "golf"} for index in range(200, 250)})
    service = wiring.schedule_service()
    # WHEN alice pages through her golf schedules
    names, read, _, _ = page_through(
        calls, lambda n, c: service.list(Caller("alice"), labels={"team": "golf"}, limit=n, cursor=c), limit
    )
    # THEN exactly her 30, newest first, reading at most 1.2 items per item returned
    assert names == [f"s{index}" for index in reversed(GOLF)]
    assert read <= 1.2 * len(names), (read, len(names))


def test_an_admin_lists_one_label_across_owners(moto_stage, calls):
    store(10, labels={index: {"team": "golf"} for index in range(0, 10, 2)})
    store(10, created_by="bob", start=10, labels={index: {"team": "golf"} for index in range(10, 20, 3)})
    page = wiring.schedule_service().list(ADMIN, labels={"team": "golf"}, limit=50)
    assert sorted(s.definition.name for s in page) == sorted(
        [f"s{i}" for i in range(0, 10, 2)] + [f"s{i}" for i in range(10, 20, 3)]
    )
    assert calls.items_read <= 1.2 * len(page)
