"""The repository and the scheduler gateway against a real endpoint (moto server,
ministack, or LOCALSTACK_ENDPOINT)."""

from __future__ import annotations

import uuid

import pytest

from chalicelib import clients
from chalicelib.clock import system_clock
from chalicelib.config import get_settings
from chalicelib.errors import AlreadyExists, VersionConflict
from chalicelib.invocations import Invocation
from chalicelib.models import (
    Action,
    ExecutionOutcome,
    ExecutionTrigger,
    Schedule,
    ScheduleDefinition,
    ScheduleStatus,
    iso,
    new_id,
)
from chalicelib.repository import DynamoDBScheduleRepository
from chalicelib.runs import Claim, Claimed, Duplicate, RunStore
from chalicelib.scheduler import EventBridgeSchedulerGateway, Target
from tests.support import create_stage_resources


@pytest.fixture
def stage(aws, monkeypatch):
    name = "it" + uuid.uuid4().hex[:8]
    monkeypatch.setenv("STAGE", name)
    resources = create_stage_resources(name)
    return {"name": name, "settings": get_settings(), **resources}


@pytest.fixture
def repository(stage):
    settings = stage["settings"]
    return DynamoDBScheduleRepository(clients.resource("dynamodb", settings).Table(settings.table_name))


@pytest.fixture
def run_store(stage):
    settings = stage["settings"]
    return RunStore(clients.resource("dynamodb", settings).Table(settings.table_name), ttl_days=30)


@pytest.fixture
def gateway(stage):
    settings = stage["settings"]
    target = Target(
        function_arn=f"arn:aws:lambda:us-east-1:{clients.account_id(settings)}:function:{settings.names.function('schedule_target')}",
        role_arn=stage["role_arn"],
    )
    return EventBridgeSchedulerGateway(clients.client("scheduler", settings), settings.schedule_group_name, target)


def a_schedule(name="nightly", created_by="alice", status=ScheduleStatus.PENDING, **definition) -> Schedule:
    now = iso(system_clock())
    return Schedule(
        id=new_id(),
        definition=ScheduleDefinition(
            name=name,
            schedule_expression=definition.pop("schedule_expression", "cron(0 3 * * ? *)"),
            target_type="web_action",
            payload={"n": 1.5, "nested": {"list": [1, "two"]}},
            **definition,
        ),
        status=status,
        pending_action=Action.CREATE,
        created_by=created_by,
        created_date=now,
        updated_date=now,
    )


def test_create_never_overwrites_and_get_returns_what_was_stored(repository):
    # GIVEN a stored schedule
    schedule = a_schedule(timezone="Europe/London")
    repository.create(schedule)
    # WHEN the same id is created again
    with pytest.raises(AlreadyExists):
        repository.create(schedule.model_copy(update={"created_by": "mallory"}))
    # THEN the original is intact, payload floats included
    stored = repository.get(schedule.id)
    assert stored == schedule


def test_update_is_optimistic_on_the_version(repository):
    schedule = a_schedule()
    repository.create(schedule)
    updated = repository.update(schedule.model_copy(update={"version": 2, "status": ScheduleStatus.ACTIVE}), expected_version=1)
    assert (updated.version, updated.status) == (2, ScheduleStatus.ACTIVE)
    with pytest.raises(VersionConflict):
        repository.update(schedule.model_copy(update={"version": 2}), expected_version=1)


def test_soft_delete_sets_status_and_ttl(repository):
    schedule = a_schedule()
    repository.create(schedule)
    deleted = repository.mark_deleted(schedule, ttl_days=7)
    assert deleted.status is ScheduleStatus.DELETED and deleted.ttl > 0
    assert [s.id for s in repository.list_by_status(ScheduleStatus.DELETED, 10)] == [schedule.id]
    assert list(repository.list_by_status(None, 10)) == []


def test_lists_by_status_and_creator_are_newest_first_and_page(repository):
    created = []
    for index in range(5):
        schedule = a_schedule(name=f"s{index}", created_by="alice" if index % 2 else "bob")
        repository.create(schedule)
        created.append(schedule)
    # WHEN paging by status two at a time
    names, cursor = [], None
    while True:
        page = repository.list_by_status(ScheduleStatus.PENDING, 2, cursor)
        names += [s.definition.name for s in page]
        cursor = page.cursor
        if not cursor:
            break
    assert names == ["s4", "s3", "s2", "s1", "s0"]
    assert [s.definition.name for s in repository.list_by_creator("alice", 10)] == ["s3", "s1"]


def test_a_run_is_claimed_once_per_execution_id_and_its_outcome_recorded(repository, run_store):
    schedule = a_schedule()
    repository.create(schedule)
    invocation = Invocation(schedule.id, "2026-11-24T06:00:00Z", "e1", 1, ExecutionTrigger.SCHEDULED)
    # WHEN the run is claimed, and claimed again by a second delivery while the first claim holds
    claim = Claim.for_invocation(None, system_clock())
    claimed = run_store.claim(schedule, invocation, claim)
    assert isinstance(claimed, Claimed)
    assert isinstance(run_store.claim(schedule, invocation, Claim.for_invocation(None, system_clock())), Duplicate)
    # AND the first one's outcome is stored
    assert run_store.finish(claimed.record, claim, ExecutionOutcome.SUCCEEDED, 12) is True
    # THEN the schedule lists one execution, with that outcome, and counts it once
    [stored] = repository.list_executions(schedule.id, 10)
    assert (stored.outcome, stored.duration_ms) == (ExecutionOutcome.SUCCEEDED, 12)
    assert repository.get(schedule.id).executions.total == 1


def test_gateway_creates_updates_reads_and_deletes_in_the_group(gateway, stage):
    schedule = a_schedule(timezone="America/New_York", flexible_window_minutes=15)
    # WHEN created
    arn = gateway.create(schedule)
    observed = gateway.get(schedule.id)
    # THEN the scheduler reports what the record defines, in the stage's group
    assert observed["Arn"] == arn
    assert observed["GroupName"] == stage["settings"].schedule_group_name
    assert observed["ScheduleExpressionTimezone"] == "America/New_York"
    assert observed["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    # WHEN created again, THEN it is a conflict (the handler converges with update)
    with pytest.raises(AlreadyExists):
        gateway.create(schedule.model_copy(update={"version": 2}))
    # WHEN updated with the full definition
    changed = schedule.model_copy(update={"definition": schedule.definition.model_copy(update={"schedule_expression": "rate(7 minutes)", "flexible_window_minutes": None})})
    gateway.update(changed)
    observed = gateway.get(schedule.id)
    assert observed["ScheduleExpression"] == "rate(7 minutes)"
    assert observed["FlexibleTimeWindow"]["Mode"] == "OFF"
    assert list(gateway.list_names()) == [schedule.id]
    # WHEN deleted twice, THEN it is gone and the second delete is success
    gateway.delete(schedule.id)
    gateway.delete(schedule.id)
    assert gateway.get(schedule.id) is None
