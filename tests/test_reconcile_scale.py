"""The reconcile's cost: AWS calls counted (a botocore ``before-call`` hook on the clients'
session), never time.

A no-op reconcile of N schedules makes ceil(N/100) ListSchedules calls, one Query page per
listed status (1,000 records a page), and reads a schedule (GetSchedule + GetItem) only
when its LastModificationDate differs from the one recorded when it was applied, or when it
is one of the few spot checks.
"""

from __future__ import annotations

import threading
from collections import Counter

import boto3
import pytest

from chalicelib import clients, wiring
from chalicelib.clock import system_clock
from chalicelib.config import get_settings
from chalicelib.models import Action, Schedule, ScheduleDefinition, ScheduleStatus, iso, new_id
from chalicelib.reconcile import ScheduleReconciler
from tests.support import REGION, TEE_TIMES

pytestmark = pytest.mark.slow  # thousands of schedules on moto


class Calls:
    """Every AWS call made through the service's clients, with the thread that made it."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []

    def __call__(self, event_name: str, **_: object) -> None:
        self.made.append((event_name.split(".")[-1], threading.current_thread().name))

    def counts(self) -> Counter[str]:
        return Counter(operation for operation, _ in self.made)

    def threads(self, operation: str) -> set[str]:
        return {thread for op, thread in self.made if op == operation}


@pytest.fixture
def calls(moto_stage):
    clients.reset()
    wiring.reset()
    recorder = Calls()
    clients._shared_session()._session.register("before-call", recorder)
    yield recorder
    clients._shared_session()._session.unregister("before-call", recorder)


def applied_schedules(count: int) -> list[str]:
    """``count`` schedules written and applied through the command handler."""
    settings = get_settings()
    repository = wiring.repository(settings)
    handler = wiring.command_handler(settings)
    ids = []
    for index in range(count):
        now = iso(system_clock())
        record = Schedule(
            id=new_id(), definition=ScheduleDefinition(**{**TEE_TIMES, "name": f"s{index}"}),
            status=ScheduleStatus.PENDING, pending_action=Action.CREATE, created_by="bench",
            created_date=now, updated_date=now,
        )
        repository.create(record)
        assert handler.converge(record).status is ScheduleStatus.ACTIVE
        ids.append(record.id)
    return ids


def reconciler(spot_checks: int = 0, concurrency: int = 8) -> ScheduleReconciler:
    settings = get_settings()
    return ScheduleReconciler(
        wiring.repository(settings), wiring.gateway(settings), wiring.command_handler(settings),
        concurrency=concurrency, spot_checks=spot_checks,
        choose=lambda population, k: sorted(population, key=lambda s: s.id)[:k],
    )


def change_out_of_band(names, schedule_id: str, expression: str = "rate(7 minutes)") -> None:
    raw = boto3.client("scheduler", region_name=REGION)
    current = raw.get_schedule(Name=schedule_id, GroupName=names.schedule_group)
    raw.update_schedule(Name=schedule_id, GroupName=names.schedule_group, ScheduleExpression=expression,
                        FlexibleTimeWindow={"Mode": "OFF"}, Target=current["Target"])


def test_a_no_op_reconcile_lists_and_reads_only_its_spot_checks(calls, names):
    # GIVEN 101 schedules applied by the command handler
    applied_schedules(101)
    calls.made.clear()
    # WHEN a reconcile with 3 spot checks runs and nothing has drifted
    report = reconciler(spot_checks=3).run()
    # THEN it lists the group in 2 pages, queries each of the 4 listed statuses once, and
    # reads only the 3 spot-checked schedules and their records; it writes nothing
    assert report["counts"] == {"noop": 101} and report["unchecked_count"] == 0
    assert calls.counts() == Counter({"ListSchedules": 2, "Query": 4, "GetSchedule": 3, "GetItem": 3})
    assert report["schedules_read"] == 3


def test_only_schedules_changed_since_applied_are_read_and_then_not_again(calls, names):
    # GIVEN 101 applied schedules, 2 of them changed out of band
    ids = applied_schedules(101)
    change_out_of_band(names, ids[5])
    change_out_of_band(names, ids[77])
    calls.made.clear()
    # WHEN reconciled (no spot checks)
    report = reconciler().run()
    # THEN exactly those 2 are read, and reset
    assert report["counts"] == {"noop": 99, "reset": 2}
    assert sorted(step["schedule_id"] for step in report["steps"] if step["action"] == "reset") == sorted([ids[5], ids[77]])
    assert calls.counts()["GetSchedule"] == 2 + 2  # planned reads, then each repair read back
    assert calls.counts()["UpdateSchedule"] == 2
    # AND the next run reads none: the repair recorded the new markers
    calls.made.clear()
    again = reconciler().run()
    assert again["counts"] == {"noop": 101}
    assert calls.counts() == Counter({"ListSchedules": 2, "Query": 4})


def test_records_without_a_marker_are_read_once_and_learned(calls, names, moto_stage):
    # GIVEN 30 applied schedules whose records carry no marker (applied before markers existed)
    ids = applied_schedules(30)
    table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    for schedule_id in ids:
        table.update_item(Key={"id": schedule_id}, UpdateExpression="REMOVE eventbridge_modified")
    calls.made.clear()
    # WHEN reconciled twice
    first = reconciler().run()
    first_counts = calls.counts()
    calls.made.clear()
    second = reconciler().run()
    # THEN the first run reads each once and records its marker; the second reads none
    assert first["counts"] == second["counts"] == {"noop": 30}
    assert (first_counts["GetSchedule"], first_counts["UpdateItem"]) == (30, 30)
    assert calls.counts() == Counter({"ListSchedules": 1, "Query": 4})


def test_the_reads_run_on_a_bounded_pool_of_threads(calls, names):
    # GIVEN 24 schedules, all changed out of band (each must be read)
    ids = applied_schedules(24)
    for schedule_id in ids:
        change_out_of_band(names, schedule_id)
    calls.made.clear()
    # WHEN reconciled with at most 4 concurrent reads
    report = reconciler(concurrency=4).plan()
    # THEN every schedule was read, from worker threads, never more than 4 of them
    assert len(report.changes) == 24
    readers = calls.threads("GetSchedule")
    assert 1 <= len(readers) <= 4 and all(name.startswith("reconcile") for name in readers)
    # AND the group was listed on a worker while the records were queried on the caller
    assert all(name.startswith("reconcile") for name in calls.threads("ListSchedules"))
    assert calls.threads("Query") == {threading.current_thread().name}


def test_the_command_handler_records_the_marker_the_listing_shows(calls, names):
    # GIVEN a schedule applied by the command handler
    [schedule_id] = applied_schedules(1)
    # THEN the record holds the LastModificationDate that ListSchedules reports for it
    record = wiring.repository(get_settings()).get(schedule_id)
    [summary] = list(wiring.gateway(get_settings()).list_schedules())
    assert record.eventbridge_modified is not None
    assert record.eventbridge_modified == summary.modified
