"""Test support shared by the unit tests and the integration suite (no side effects)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

from chalicelib.config import ENV_STAGE, get_settings, resource_names
from ops.stack.engine import Stack
from ops.stack.state import StateStore

STAGE = "dev"
REGION = "us-east-1"
PACKAGE_BUCKET = "rez-agent-artifacts-123456789012-us-east-1"
_CHALICE_CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
# Every stage the project declares, each packaged once per test session (``packaged``).
PACKAGED_STAGES = sorted(json.loads(_CHALICE_CONFIG.read_text()).get("stages", {})) if _CHALICE_CONFIG.exists() else []


def create_stage_resources(stage: str = STAGE) -> dict:
    """The stage's resources, deployed by the stack command's own engine, plus an SQS queue
    subscribed to each topic so tests can read what was published."""
    settings = get_settings({**os.environ, ENV_STAGE: stage})
    stack = Stack(settings, store=StateStore(tempfile.mkdtemp(prefix="stack-state-")))
    result = stack.deploy(stack.plan_deploy())
    assert result.converged, result.to_dict()
    names = resource_names(stage)
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topics, queues = {}, {}
    for topic in (names.command_topic, names.web_actions_topic, names.notifications_topic, names.results_topic):
        arn = result.outputs[_TOPIC_OUTPUTS[topic.replace(f"-{stage}", "")]]
        url = sqs.create_queue(QueueName=f"{topic}-tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        topics[topic], queues[topic] = arn, url
    return {"topics": topics, "queues": queues, "role_arn": result.outputs["execution_role_arn"]}


_TOPIC_OUTPUTS = {
    "rez-agent-schedule-creation": "command_topic_arn",
    "rez-agent-web-actions": "web_actions_topic_arn",
    "rez-agent-notifications": "notifications_topic_arn",
    "rez-agent-results": "results_topic_arn",
}


class Tap:
    """Reads what was published to the stage's topics (through SQS subscriptions)."""

    def __init__(self, queues: dict, sqs=None):
        self._queues = queues
        self._sqs = sqs or boto3.client("sqs", region_name=REGION)

    def drain(self, topic: str) -> list[dict]:
        messages = []
        while True:
            batch = self._sqs.receive_message(
                QueueUrl=self._queues[topic], MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._queues[topic], ReceiptHandle=message["ReceiptHandle"])


# --- the API, driven the way a client drives it ------------------------------------------

TEE_TIMES = {
    "name": "tee-times",
    "schedule_expression": "cron(0 6 * * ? *)",
    "timezone": "America/New_York",
    "target_type": "web_action",
    "payload": {"action": "check_tee_times"},
}
JSON = {"Content-Type": "application/json"}


def post(client, path, body, headers=None):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.http.post(path, headers={**JSON, **(headers or {})}, body=raw)


def deliver_commands(client, moto_stage, names, times=1):
    """Deliver every published command to the handler (``times`` times each)."""
    commands = moto_stage["tap"].drain(names.command_topic)
    for command in commands:
        for _ in range(times):
            result = client.lambda_.invoke(
                "schedule_command", client.events.generate_sns_event(message=json.dumps(command))
            )
            assert result.payload["outcome"] == "applied"
    return commands


def scheduler():
    return boto3.client("scheduler", region_name=REGION)


def table_items(names, record_type=None):
    """The items of the table (not the per-owner counts kept beside them), or only the
    items of one kind (schedule, history, ...)."""
    items = _dynamodb().Table(names.table).scan()["Items"]
    items = [item for item in items if item.get("record_type") != "owner_count"]
    return [item for item in items if record_type is None or item.get("record_type") == record_type]


def _dynamodb() -> Any:
    """One boto3 DynamoDB resource for the tests' reads (building one costs about 10 ms)."""
    if not _RESOURCES:
        _RESOURCES.append(boto3.resource("dynamodb", region_name=REGION))
    return _RESOURCES[0]


_RESOURCES: list[Any] = []


def unit_test_environment() -> dict[str, str]:
    """The stage's environment from .chalice/config.json, served open (``AUTH_MODE=none``):
    unit tests name their caller with X-Created-By; tests/test_auth_*.py cover the
    authorizers."""
    with open(os.path.join(os.path.dirname(__file__), "..", ".chalice", "config.json")) as fh:
        stage_environment = json.load(fh)["stages"][STAGE]["environment_variables"]
    return {**stage_environment, "AUTH_MODE": "none"}


def unit_test_project(environment: dict[str, str]) -> str:
    """A project directory whose .chalice/config.json is the real one with ``environment``
    for the unit tests' stage (the Chalice test client applies the stage's environment to
    each request); made once per process."""
    key = json.dumps(environment, sort_keys=True)
    if key not in _PROJECTS:
        project = tempfile.mkdtemp(prefix="unit-test-project-")
        os.mkdir(os.path.join(project, ".chalice"))
        with open(os.path.join(os.path.dirname(__file__), "..", ".chalice", "config.json")) as fh:
            chalice_config = json.load(fh)
        chalice_config["stages"][STAGE]["environment_variables"] = environment
        with open(os.path.join(project, ".chalice", "config.json"), "w") as fh:
            json.dump(chalice_config, fh)
        _PROJECTS[key] = project
    return _PROJECTS[key]


_PROJECTS: dict[str, str] = {}


@contextlib.contextmanager
def one_package_at_a_time() -> Iterator[None]:
    """``chalice package`` one process at a time on this checkout: each run rewrites the
    dependency zip it caches in ``.chalice/deployments/`` through one temporary file, so two
    test processes (pytest-xdist workers, or the unit and integration suites) packaging at
    once would write it together."""
    from ops import app_stack

    lock_path = Path(__file__).resolve().parent.parent / "build" / ".chalice-package.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    package = app_stack.package

    def locked(*args: Any, **kwargs: Any) -> Path:
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return package(*args, **kwargs)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    app_stack.package = locked  # type: ignore[assignment]
    try:
        yield
    finally:
        app_stack.package = package  # type: ignore[assignment]
