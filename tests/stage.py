"""One stage on moto for the unit tests, created once and reset between tests.

Creating the stage (role, table with its indexes, topics, queues, group, subscriptions) costs
about 1.5 s; a test that uses it needs a stage in the state the stack command leaves it, with
no schedules, no items and no messages. So the stage is created once in moto's in-process
backend, kept there between tests (moto's patching is switched off in between, its data
kept), and before each test that asks for it:

- a queue, topic, function or role the test added beside the stage is deleted;
- if anything else changed (a table, topic, queue, group, role, function, bucket or alarm of
  the stage was deleted or changed, a subscription or a group's tags changed, or another
  test's ``mock_aws`` wiped the backend), the backend is wiped and the stage created again;
- otherwise its contents are emptied: every table item, every schedule, every queued message
  (one received and not deleted included).

A test that does not ask for the stage runs with moto's patching off; a ``mock_aws`` of its
own resets the backend as it starts (and tests/local_api.py resets its server). Inside
another fixture's moto world (a module-scoped ``mock_aws``) the stage is made in that world,
as it always was.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import boto3
import boto3.dynamodb.transform
import boto3.session
import botocore.hooks
import botocore.session
from moto import mock_aws
from moto.backends import get_backend
from moto.core.base_backend import BackendDict
from moto.core.config import default_user_config
from moto.core.model_instances import reset_model_data
from moto.core.models import MockAWS

from chalicelib import clients
from tests.support import REGION, STAGE, Tap, create_stage_resources


class MotoPatch:
    """moto's patching, switched on for the stage's tests and left on between consecutive
    ones (switching costs more than many a test); off before any other test. Its data is
    neither reset when it starts nor removed when it stops: the stage outlives the tests.
    boto3's default session is kept too: a new one per test re-reads botocore's data files
    (about 0.3 s for a test's first client)."""

    def __init__(self) -> None:
        self._mock: Any = None

    @property
    def on(self) -> bool:
        return self._mock is not None

    def start(self) -> None:
        if self._mock is None:
            self._mock = mock_aws(config={"core": {**default_user_config["core"], "reset_boto3_session": False}})
            self._mock.start(reset=False)

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop(remove_data=False)
            self._mock = None


class KeptClients:
    """The app's boto3 clients (chalicelib.clients) kept from one test on the stage to the
    next: building them again cost a quarter of a typical test's time (about 20 ms a
    client). They are dropped (``clients.reset()``), as they were before every test, when a
    hook was registered on or removed from any botocore event emitter during the test,
    other than by building a session, a client or a DynamoDB table object (a call recorder, a fault injector, a lost
    response, a test's own handler). What wiring built on them (the repository, the target
    runner and their caches) is forgotten after every test (``clients.on_reset``'s
    listeners, without the reset)."""

    def __init__(self) -> None:
        self._hooks_changed = 0  # registrations and removals outside building
        self._building = 0
        self._seen = -1  # the count when the test started; -1: drop them before the next

    def install(self) -> None:
        """Count hook changes (once per process)."""
        emitter = botocore.hooks.HierarchicalEmitter
        emitter._register_section = self._counted(emitter._register_section)  # type: ignore[method-assign]
        emitter.unregister = self._counted(emitter.unregister)  # type: ignore[method-assign]
        for owner, name in ((botocore.session.Session, "__init__"), (botocore.session.Session, "create_client"),
                            (boto3.session.Session, "__init__"), (boto3.session.Session, "client"),
                            (boto3.session.Session, "resource"),
                            (boto3.dynamodb.transform.DynamoDBHighLevelResource, "__init__")):
            setattr(owner, name, self._building_with(getattr(owner, name)))

    def start(self) -> None:
        """Before a test: the clients the last test left, unless it changed a hook."""
        if self._seen != self._hooks_changed:
            clients.reset()
        else:
            _forget_what_wiring_built()
        self._seen = self._hooks_changed

    def finish(self) -> None:
        """After a test: what wiring built forgotten; the clients too if a hook changed."""
        if self._seen != self._hooks_changed:
            clients.reset()
            self._seen = -1
        else:
            _forget_what_wiring_built()

    def drop(self) -> None:
        """The next test starts with new clients (another moto world was used)."""
        clients.reset()
        self._seen = -1

    def _counted(self, method: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            if not self._building:
                self._hooks_changed += 1
            return method(*args, **kwargs)

        return counted

    def _building_with(self, method: Any) -> Any:
        def building(*args: Any, **kwargs: Any) -> Any:
            self._building += 1
            try:
                return method(*args, **kwargs)
            finally:
                self._building -= 1

        return building


def _forget_what_wiring_built() -> None:
    for listener in list(clients._reset_listeners):
        listener()


def foreign_mock_active(patch: MotoPatch) -> bool:
    """Another fixture's ``mock_aws`` is on (a module's own moto world): the stage is then
    made in that world, as before, and the world is left to its owner."""
    return MockAWS._nested_count > (1 if patch.on else 0)


def wipe_backend() -> None:
    """Everything moto holds, gone (what ``mock_aws`` does when it starts or stops)."""
    BackendDict.reset()
    reset_model_data()


class StageWorld:
    """The stage created once; ``ready()`` hands it to a test as if it were just created."""

    def __init__(self, stage: str = STAGE):
        self.stage = stage
        self._resources: dict[str, Any] | None = None
        self._shape: list[tuple] | None = None
        self._clients: dict[str, Any] = {}
        self._dynamodb: Any = None
        self.created = 0  # how many times the stage was created

    def ready(self, foreign: bool = False) -> dict[str, Any]:
        """The stage's resources, with no contents (call with moto's patching on). In a
        ``foreign`` moto world the stage is created there, as each test once did, and not
        kept."""
        if foreign:
            self.forget()
            created = create_stage_resources(self.stage)
            created["tap"] = Tap(created["queues"], sqs=self._client("sqs"))
            return created
        if self._resources is not None:
            shape = self.shape()
            if shape != self._shape and set(shape) > set(self._shape or ()):
                self._remove_additions(shape)
                shape = self.shape()
        if self._resources is None or shape != self._shape:
            self._create()
        else:
            self._empty()
        assert self._resources is not None
        resources = dict(self._resources)
        resources["tap"] = Tap(resources["queues"], sqs=self._client("sqs"))
        return resources

    def forget(self) -> None:
        """The backend was wiped: the next ``ready()`` creates the stage again."""
        self._resources = None
        self._shape = None

    @property
    def present(self) -> bool:
        return self._resources is not None

    def _create(self) -> None:
        wipe_backend()
        created = create_stage_resources(self.stage)
        self._resources = {"topics": dict(created["topics"]), "queues": dict(created["queues"]),
                           "role_arn": created["role_arn"]}
        self._shape = self.shape()
        self.created += 1

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=REGION)
        return self._clients[service]

    def shape(self) -> list[tuple]:
        """Every resource the stage is made of, and every one a test might have added: what
        must be as created for the stage to be reused (its contents aside). Read from moto's
        backends directly: the same questions through boto3 cost a quarter of a second."""
        found: list[tuple] = []
        for backend in _backends("dynamodb"):
            for name, table in backend.tables.items():
                found.append(("table", name, repr(table.schema), tuple(sorted(i.name for i in table.global_indexes)),
                              repr(table.stream_specification), repr(table.ttl)))
        for backend in _backends("scheduler"):
            for name, group in backend.schedule_groups.items():
                found.append(("group", name, group.created_on, repr(backend.tagger.tags.get(group.arn))))
        for backend in _backends("sns"):
            found.extend(("topic", arn, repr(topic._policy_json)) for arn, topic in backend.topics.items())
            found.extend(("subscription", s.topic.arn, s.protocol, s.endpoint, repr(s.attributes))
                         for s in backend.subscriptions.values())
        for backend in _backends("sqs"):
            for name, queue in backend.queues.items():
                found.append(("queue", name, repr(queue.redrive_policy), queue.visibility_timeout))
        for backend in _backends("iam", "global"):
            for role in backend.roles.values():
                found.append(("role", role.name, repr(role.assume_role_policy_document),
                              repr(sorted(role.policies.items())), tuple(sorted(role.managed_policies))))
        found.extend(("function", name) for backend in _backends("lambda") for name in backend._lambdas._functions)
        found.extend(("bucket", name) for backend in _backends("s3", "aws") for name in backend.buckets)
        found.extend(("alarm", name) for backend in _backends("cloudwatch") for name in backend.alarms)
        return sorted(found, key=repr)

    def _empty(self) -> None:
        """No item in any table, no schedule in any group, no message in any queue (moto's
        backends say where there is something to delete; the deletes go through the API, but
        a table without a stream is emptied in place: a scan and a batch delete cost more than
        most tests)."""
        if self._dynamodb is None:
            self._dynamodb = boto3.resource("dynamodb", region_name=REGION)
        for backend in _backends("dynamodb"):
            for name, table in backend.tables.items():
                if len(table) and table.stream_shard is None:
                    table.items.clear()  # moto keeps a table's items (indexes included) here alone
                elif len(table):
                    keys = [key["AttributeName"] for key in table.schema]
                    _delete_items(self._dynamodb.Table(name), keys)
        if any(group.schedules for backend in _backends("scheduler") for group in backend.schedule_groups.values()):
            scheduler = self._client("scheduler")
            for page in scheduler.get_paginator("list_schedules").paginate():
                for schedule in page["Schedules"]:
                    scheduler.delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])
        sqs = self._client("sqs")
        for backend in _backends("sqs"):
            for name, queue in backend.queues.items():
                for message in queue._messages:  # received and not deleted: visible again, then drained
                    message.change_visibility(0)
                if queue.approximate_number_of_messages or queue.approximate_number_of_messages_delayed:
                    _drain(sqs, sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def _remove_additions(self, shape: list[tuple]) -> None:
        """Delete what a test added beside the stage (a queue, topic, function or role of its
        own), through the API; anything else that changed makes the stage be created again."""
        assert self._shape is not None
        for added in set(shape) - set(self._shape):
            kind, name = added[0], added[1]
            if kind == "queue":
                sqs = self._client("sqs")
                sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
            elif kind == "topic":
                self._client("sns").delete_topic(TopicArn=name)
            elif kind == "function":
                self._client("lambda").delete_function(FunctionName=name)
            elif kind == "role" and added[3:] == ("[]", ()):
                self._client("iam").delete_role(RoleName=name)


@dataclass(frozen=True)
class StageContents:
    """What the stage holds beside its resources: every table item and every schedule, as
    moto keeps them (copies)."""

    items: dict[str, Any]
    schedules: dict[str, Any]


def stage_contents() -> StageContents:
    """The stage's items and schedules now, to put back with ``put_back``: a fixture that
    builds many records through the API builds them once per module, and each test starts
    from the same records (a stream's table or a queued message is not kept: take it
    after the commands were delivered)."""
    tables = {name: copy.deepcopy(table.items) for backend in _backends("dynamodb")
              for name, table in backend.tables.items() if table.stream_shard is None}
    schedules = {name: copy.deepcopy(group.schedules) for backend in _backends("scheduler")
                 for name, group in backend.schedule_groups.items()}
    return StageContents(tables, schedules)


def put_back(contents: StageContents) -> None:
    """The stage's items and schedules as ``contents`` holds them (over what a test left)."""
    for backend in _backends("dynamodb"):
        for name, items in contents.items.items():
            backend.tables[name].items = copy.deepcopy(items)
    for backend in _backends("scheduler"):
        for name, schedules in contents.schedules.items():
            backend.schedule_groups[name].schedules = copy.deepcopy(schedules)


def queued_messages() -> int:
    """How many messages wait in the region's queues (received ones included)."""
    return sum(len(queue._messages) for backend in _backends("sqs") for queue in backend.queues.values())


def _delete_items(table: Any, keys: list[str]) -> None:
    items = _scan_all(table, keys)
    with table.batch_writer() as batch:
        for item in items:
            batch.delete_item(Key={key: item[key] for key in keys})


def _backends(service: str, region: str = REGION) -> list[Any]:
    """moto's backends of ``service`` in ``region`` for every account that has one."""
    return [by_region[region] for by_region in get_backend(service).values() if region in by_region]


def _drain(sqs: Any, url: str) -> None:
    """Every visible message deleted (SQS allows one purge a minute); one still in flight
    (received and not deleted) would come back in a later test, so the queue is then
    reported as changed and the stage created again."""
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            break
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]} for i, message in enumerate(batch)
        ])


def _scan_all(table: Any, keys: list[str]) -> list[dict]:
    names = {f"#k{i}": key for i, key in enumerate(keys)}
    kwargs: dict[str, Any] = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
    items: list[dict] = []
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
