"""The service's behaviour, once on the in-memory fakes (tests/fakes.py) and once on the AWS
implementations on moto (the DynamoDB repository, the EventBridge Scheduler gateway and the
SNS publisher, built by chalicelib.wiring): the same tests, so a fake that drifts from
the real semantics fails here.

What a fake cannot reproduce stays on moto alone, in the modules that test it: the
transactions and lost responses of the write path (tests/test_write_calls.py), DynamoDB's
read budget per page (tests/test_listing_cost.py), the reconcile, which reads the table and
the group through methods outside the Protocols (tests/test_reconcile*.py), a fire's run,
whose store (``chalicelib.runs.RunStore``) is DynamoDB's transactions and no Protocol (the
``moto_only`` tests here, tests/test_runs.py), and AWS faults (tests/test_faults.py,
tests/test_fault_matrix.py).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.errors import Conflict, NotFound, VersionConflict
from chalicelib.identity import Caller
from chalicelib.models import (
    Action,
    ScheduleCommand,
    ScheduleDefinition,
    ScheduleState,
    ScheduleStatus,
)
from chalicelib.ports import CommandPublisher, MessagePublisher, ScheduleRepository, SchedulerGateway
from chalicelib.runs import TargetRunner
from chalicelib.service import CommandHandler, ScheduleService
from tests.fakes import (
    FAKE_ACCOUNT,
    FAKE_REGION,
    InMemoryPublisher,
    InMemoryScheduleRepository,
    InMemorySchedulerGateway,
)

ALICE = Caller("alice")
BOB = Caller("bob")
TEE_TIMES = {
    "name": "tee-times",
    "schedule_expression": "cron(0 6 * * ? *)",
    "timezone": "America/New_York",
    "target_type": "web_action",
    "payload": {"course": "north"},
}


def definition(**changes: Any) -> ScheduleDefinition:
    return ScheduleDefinition.model_validate({**TEE_TIMES, **changes})


@dataclass
class Stage:
    """The API's service and the command handler over one set of implementations."""

    service: ScheduleService
    handler: CommandHandler
    runner: TargetRunner | None  # the target function's runner (its run store is DynamoDB's)
    gateway: Any
    commands: Any  # () -> the commands published since the last call
    web_actions: Any  # () -> the messages dispatched to the web-actions topic since the last call

    def deliver(self, times: int = 1) -> list[ScheduleCommand]:
        """Every published command to the handler, ``times`` times each (a redelivery)."""
        delivered = self.commands()
        for command in delivered:
            for _ in range(times):
                self.handler.handle(command)
        return delivered

    def cloud(self, schedule_id: str) -> dict | None:
        return self.gateway.get(schedule_id)

    def active(self, caller: Caller = ALICE, **changes: Any) -> str:
        schedule = self.service.create(definition(**changes), caller)
        self.deliver()
        return schedule.id


def on_fakes() -> Stage:
    settings = get_settings()
    repository = InMemoryScheduleRepository()
    publisher = InMemoryPublisher()
    gateway = InMemorySchedulerGateway(settings.schedule_group_name)
    service = ScheduleService(
        repository, publisher,
        custom_target_prefix=settings.names.custom_target_prefix,
        deleted_ttl_days=settings.deleted_ttl_days,
        max_schedules_per_owner=settings.max_schedules_per_owner,
    )
    web_actions_arn = f"arn:aws:sns:{FAKE_REGION}:{FAKE_ACCOUNT}:{settings.web_actions_topic_name}"
    return Stage(
        service, CommandHandler(repository, gateway, settings.deleted_ttl_days), None, gateway,
        publisher.drain_commands, lambda: publisher.drain_messages(web_actions_arn),
    )


def on_moto(moto_stage: dict) -> Stage:
    settings = get_settings()
    topic = settings.command_topic_name

    def commands() -> list[ScheduleCommand]:
        published = []
        for body in moto_stage["tap"].drain(topic):
            message = json.loads(body["Message"]) if "Message" in body and "TopicArn" in body else body
            published.append(ScheduleCommand.model_validate(message))
        return published

    def web_actions() -> list[dict]:
        return [
            json.loads(body["Message"]) if "Message" in body and "TopicArn" in body else body
            for body in moto_stage["tap"].drain(settings.web_actions_topic_name)
        ]

    return Stage(
        wiring.schedule_service(settings), wiring.command_handler(settings), wiring.target_runner(settings),
        wiring.gateway(settings), commands, web_actions,
    )


@pytest.fixture(params=["fakes", "moto"])
def stage(request) -> Stage:
    if request.param == "fakes":
        return on_fakes()
    return on_moto(request.getfixturevalue("moto_stage"))


@pytest.fixture
def moto_only(moto_stage) -> Stage:
    """The AWS implementations alone, for what runs through ``chalicelib.runs.RunStore``:
    it is no Protocol but DynamoDB's conditional transactions (the claim of an execution,
    the schedule's run summary), which an in-memory copy would only imitate."""
    return on_moto(moto_stage)


def test_a_created_schedule_is_pending_until_its_command_applies_it(stage):
    # GIVEN a new schedule
    created = stage.service.create(definition(), ALICE)
    # THEN it answers pending, owned by its creator, and nothing is in the cloud yet
    assert created.status is ScheduleStatus.PENDING
    assert created.pending_action is Action.CREATE
    assert created.created_by == "alice"
    assert stage.cloud(created.id) is None
    # WHEN its command is delivered
    [command] = stage.deliver()
    # THEN the command names it, the record is active and the cloud holds its expression
    assert command.schedule_id == created.id and command.action is Action.CREATE
    current = stage.service.get(created.id, ALICE)
    assert current.status is ScheduleStatus.ACTIVE
    assert current.pending_action is None
    assert current.eventbridge_arn and current.eventbridge_arn.endswith(created.id)
    cloud = stage.cloud(created.id)
    assert cloud["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert cloud["ScheduleExpressionTimezone"] == "America/New_York"
    assert cloud["State"] == "ENABLED"


def test_a_retried_create_with_the_same_idempotency_key_is_one_schedule(stage):
    # GIVEN a create with an idempotency key
    first = stage.service.create(definition(), ALICE, idempotency_key="k-1")
    # WHEN the client retries it
    second = stage.service.create(definition(), ALICE, idempotency_key="k-1")
    # THEN it is the same schedule; the same key for another definition is a conflict;
    # another owner's same key is another schedule
    assert second.id == first.id
    with pytest.raises(Conflict):
        stage.service.create(definition(name="other"), ALICE, idempotency_key="k-1")
    assert stage.service.create(definition(), BOB, idempotency_key="k-1").id != first.id
    assert [s.id for s in stage.service.list(ALICE)] == [first.id]


def test_an_update_with_the_current_version_applies_and_a_stale_one_is_a_conflict(stage):
    # GIVEN an active schedule at version 1
    schedule_id = stage.active()
    version = stage.service.get(schedule_id, ALICE).version
    # WHEN it is updated with If-Match: that version
    updated = stage.service.update(
        schedule_id, definition(schedule_expression="rate(2 hours)"), ALICE, expected_version=version
    )
    stage.deliver()
    # THEN the version moves on and the cloud holds the new expression
    assert updated.version == version + 1
    assert stage.service.get(schedule_id, ALICE).status is ScheduleStatus.ACTIVE
    assert stage.cloud(schedule_id)["ScheduleExpression"] == "rate(2 hours)"
    # AND an update still naming the old version is a conflict that changes nothing
    with pytest.raises(VersionConflict):
        stage.service.update(schedule_id, definition(schedule_expression="rate(3 hours)"), ALICE, expected_version=version)
    assert stage.service.get(schedule_id, ALICE).definition.schedule_expression == "rate(2 hours)"
    assert stage.commands() == []


def test_pause_disables_the_schedule_and_resume_enables_it(stage):
    # GIVEN an active schedule
    schedule_id = stage.active()
    # WHEN it is paused
    stage.service.pause(schedule_id, ALICE)
    stage.deliver()
    # THEN the record is paused and the cloud's schedule disabled
    paused = stage.service.get(schedule_id, ALICE)
    assert paused.status is ScheduleStatus.PAUSED
    assert paused.definition.state is ScheduleState.DISABLED
    assert stage.cloud(schedule_id)["State"] == "DISABLED"
    # WHEN it is resumed
    stage.service.resume(schedule_id, ALICE)
    stage.deliver()
    # THEN it is active and enabled again
    assert stage.service.get(schedule_id, ALICE).status is ScheduleStatus.ACTIVE
    assert stage.cloud(schedule_id)["State"] == "ENABLED"


def test_deleting_twice_answers_the_deleted_record_and_a_change_after_it_is_a_conflict(stage):
    # GIVEN an active schedule, deleted and its command applied
    schedule_id = stage.active()
    stage.service.delete(schedule_id, ALICE)
    stage.deliver()
    assert stage.cloud(schedule_id) is None
    # WHEN it is deleted again
    again = stage.service.delete(schedule_id, ALICE)
    # THEN the answer is the record as it is, and no command is published
    assert again.status is ScheduleStatus.DELETED
    assert stage.commands() == []
    # AND a pause of the deleted schedule is a conflict
    with pytest.raises(Conflict):
        stage.service.pause(schedule_id, ALICE)
    # AND it leaves the owner's listing
    assert schedule_id not in [s.id for s in stage.service.list(ALICE)]


def test_another_owners_schedule_is_not_found_for_every_operation(stage):
    # GIVEN alice's active schedule
    schedule_id = stage.active()
    # WHEN bob reads or changes it
    # THEN every operation answers not found, and nothing changes
    for operation in (
        lambda: stage.service.get(schedule_id, BOB),
        lambda: stage.service.update(schedule_id, definition(name="mine"), BOB),
        lambda: stage.service.pause(schedule_id, BOB),
        lambda: stage.service.resume(schedule_id, BOB),
        lambda: stage.service.delete(schedule_id, BOB),
    ):
        with pytest.raises(NotFound):
            operation()
    assert stage.commands() == []
    assert stage.service.get(schedule_id, ALICE).status is ScheduleStatus.ACTIVE
    assert stage.service.list(BOB) == []
    # AND an admin sees it
    assert stage.service.get(schedule_id, Caller("root", is_admin=True)).id == schedule_id


def test_listing_pages_through_every_schedule_once_newest_first(stage):
    # GIVEN alice's seven schedules and one of bob's
    created = [stage.service.create(definition(name=f"s{i}"), ALICE).id for i in range(7)]
    stage.service.create(definition(), BOB)
    # WHEN alice lists them three at a time
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        page = stage.service.list(ALICE, limit=3, cursor=cursor)
        pages += 1
        assert len(page) <= 3
        seen.extend(schedule.id for schedule in page)
        cursor = page.cursor
        if cursor is None:
            break
        assert pages < 10
    # THEN each of hers comes exactly once, none of bob's, newest first
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    dates = [stage.service.get(schedule_id, ALICE).created_date for schedule_id in seen]
    assert dates == sorted(dates, reverse=True)


def test_a_redelivered_command_converges_once(stage):
    # GIVEN a created schedule whose command is delivered three times
    created = stage.service.create(definition(), ALICE)
    stage.deliver(times=3)
    # THEN the record settled once: active at the version written, with one schedule in
    # the cloud
    settled = stage.service.get(created.id, ALICE)
    assert settled.status is ScheduleStatus.ACTIVE
    assert settled.version == created.version
    assert stage.cloud(created.id)["State"] == "ENABLED"
    # WHEN the same command arrives once more, later
    stage.handler.handle_id(created.id)
    # THEN the record is untouched
    assert stage.service.get(created.id, ALICE) == settled


def test_a_stale_command_applies_the_record_as_it_is_now(stage):
    # GIVEN a schedule created, then paused before the create's command arrived
    created = stage.service.create(definition(), ALICE)
    stage.service.pause(created.id, ALICE)
    # WHEN both commands arrive, the create first
    stage.deliver()
    # THEN the schedule is paused in the record and the cloud
    assert stage.service.get(created.id, ALICE).status is ScheduleStatus.PAUSED
    assert stage.cloud(created.id)["State"] == "DISABLED"


def test_a_fire_delivered_twice_runs_once_and_is_listed_once(moto_only):
    stage = moto_only
    # GIVEN an active schedule
    schedule_id = stage.active()
    fire = {"schedule_id": schedule_id, "scheduled_time": "2027-01-04T11:00:00Z", "execution_id": "e-1", "attempt": "1"}
    # WHEN EventBridge Scheduler invokes the target twice with the same execution id
    first = stage.runner.run(dict(fire))
    second = stage.runner.run(dict(fire))
    # THEN the target got one message, the second invocation was a duplicate
    assert first["outcome"] == "succeeded"
    assert second["outcome"] == "duplicate"
    [message] = stage.web_actions()
    assert message["schedule_id"] == schedule_id and message["execution_id"] == "e-1"
    # AND the schedule lists one succeeded execution and counts it once
    [execution] = stage.service.list_executions(schedule_id, ALICE, limit=10, cursor=None)
    assert execution.execution_id == "e-1" and execution.outcome.value == "succeeded"
    assert stage.service.get(schedule_id, ALICE).executions.total == 1


def test_a_fire_of_a_deleted_schedule_is_skipped_without_dispatching(moto_only):
    stage = moto_only
    # GIVEN a schedule deleted and settled
    schedule_id = stage.active()
    stage.service.delete(schedule_id, ALICE)
    stage.deliver()
    # WHEN a fire already in flight arrives
    result = stage.runner.run(
        {"schedule_id": schedule_id, "scheduled_time": "2027-01-04T11:00:00Z", "execution_id": "e-2", "attempt": "1"}
    )
    # THEN it is skipped and nothing is dispatched
    assert result["outcome"] == "skipped"
    assert stage.web_actions() == []


# What ScheduleService, CommandHandler and TargetRunner call; the reconciler's further
# methods (scan summaries, drift notes, whole-group listings) stay on moto (tests/test_reconcile*.py).
SERVICE_CALLS = {
    "ScheduleRepository": {
        "create", "get", "change", "update", "mark_deleted", "list_by_status", "list_by_creator", "list_live",
        "list_executions",
    },
    "SchedulerGateway": {"create", "update", "get", "delete", "list_names", "confirm"},
    "CommandPublisher": {"publish_command"},
    "MessagePublisher": {"publish"},
}


@pytest.mark.parametrize(
    "protocol, fake",
    [
        (ScheduleRepository, InMemoryScheduleRepository),
        (SchedulerGateway, InMemorySchedulerGateway),
        (CommandPublisher, InMemoryPublisher),
        (MessagePublisher, InMemoryPublisher),
    ],
)
def test_each_fake_has_the_services_methods_of_its_protocol_with_the_same_parameters(protocol, fake):
    # GIVEN a Protocol the service is written against and its in-memory fake
    # THEN the fake has each method the service calls, taking the same parameters in order
    for name in sorted(SERVICE_CALLS[protocol.__name__]):
        expected = list(inspect.signature(getattr(protocol, name)).parameters)
        assert list(inspect.signature(getattr(fake, name)).parameters) == expected, name
