"""The published contracts on the app deployed the way ``make run`` deploys it (ministack,
or the endpoint ``LOCALSTACK_ENDPOINT`` / ``AWS_ENDPOINT_URL`` names):

- the README's ``aws sns publish`` examples: a create, a redelivered create (the same SNS
  message delivered twice to the handler), an invalid message (rejected to the
  notifications topic) and a delete;
- the command-line client's commands against the deployed API.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import clients
from chalicelib.config import resource_names, settings_for
from integration.deployed import eventually
from ops import run as local_run
from rez_client import main as client
from rez_client.api import Api

STAGE = local_run.LOCAL_STAGE
CLIENT_TIMEOUT = 120  # a cold API function on a busy emulator host takes tens of seconds
NAMES = resource_names(STAGE)
DEFINITION = {
    "name": "nightly-report",
    "schedule_expression": "cron(0 2 * * ? *)",
    "timezone": "Europe/London",
    "target_type": "notification",
    "payload": {"report": "nightly"},
}


@pytest.fixture(scope="module")
def deployed(local_stages) -> Iterator[dict[str, Any]]:
    """The session's endpoint (integration/conftest.py) with the local stage and the app
    deployed, and a queue subscribed to the notifications topic."""
    with local_stages.pointed():
        outputs = local_stages.up(STAGE)
        settings = settings_for(STAGE)
        sqs = clients.client("sqs", settings)
        queue = sqs.create_queue(QueueName=f"contracts-notifications-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        subscription = clients.client("sns", settings).subscribe(
            TopicArn=clients.topic_arn(NAMES.notifications_topic, settings),
            Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        # the client fetches the deployed API's document once; every command then uses it
        document = Api(outputs.base_url, timeout=CLIENT_TIMEOUT).document()
        environment = local_run.emulator_environment(local_stages.url)
        try:
            yield {"url": local_stages.url, "outputs": outputs, "env": environment, "queue": queue,
                   "log": local_stages.logs[STAGE], "document": document}
        finally:
            clients.client("sns", settings).unsubscribe(SubscriptionArn=subscription)
            sqs.delete_queue(QueueUrl=queue)


def aws_cli(deployed: dict[str, Any], *args: str) -> str:
    """The AWS CLI, as the README runs it after ``source .run/env``."""
    env = {**os.environ, **deployed["env"]}
    result = subprocess.run(
        ["aws", "--endpoint-url", deployed["url"], *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# ministack leaves an SNS record's Subject and MessageAttributes out when the publisher set
# none (AWS sends null and {}); Chalice's SNS event needs both keys, so every publish here
# sets them, as the README does.
OWNER = ["--message-attributes", '{"created_by": {"DataType": "String", "StringValue": "report-pipeline"}}']
SNS_OWNER = "sns:report-pipeline"  # who the message acts as (docs/security.md)


def command_topic(deployed: dict[str, Any]) -> str:
    # the README's line: the topic's ARN from its name
    return aws_cli(
        deployed, "sns", "list-topics", "--query",
        f"Topics[?ends_with(TopicArn, ':{NAMES.command_topic}')].TopicArn", "--output", "text",
    )


def api(deployed: dict[str, Any], *argv: str, owner: str | None = None) -> tuple[int, Any, str]:
    """The client; ``owner`` is who asks (a caller sees only its own schedules on the open
    local stage, where X-Created-By names the caller)."""
    out, err = io.StringIO(), io.StringIO()
    as_owner = ["--x-created-by", owner] if owner else []
    code = client(
        ["--base", deployed["outputs"].base_url, "--timeout", str(CLIENT_TIMEOUT), *argv, *as_owner],
        document=deployed["document"], stdout=out, stderr=err,
    )
    return code, (json.loads(out.getvalue()) if out.getvalue() else None), err.getvalue()


def schedules_named(deployed: dict[str, Any], name: str, owner: str) -> list[dict[str, Any]]:
    code, body, err = api(deployed, "list", "--limit", "100", owner=owner)
    assert code == 0, err
    return [item for item in body["items"] if item["name"] == name]


def rejected(deployed: dict[str, Any]) -> list[dict[str, Any]]:
    sqs = clients.client("sqs", settings_for(STAGE))
    found = []
    for message in sqs.receive_message(QueueUrl=deployed["queue"], MaxNumberOfMessages=10).get("Messages", []):
        body = json.loads(message["Body"])
        if body.get("event") == "rejected":
            found.append(body)
    return found


def test_the_readme_sns_messages_create_and_delete_a_schedule(deployed):
    topic = command_topic(deployed)
    assert topic.endswith(f":{NAMES.command_topic}")
    # WHEN the README's create is published, with a created_by attribute
    message = json.dumps({"action": "create", "schedule": DEFINITION})
    aws_cli(
        deployed, "sns", "publish", "--topic-arn", topic, "--subject", "create", "--message", message, *OWNER
    )
    # THEN one schedule appears, owned by the publisher, and becomes active
    [created] = eventually("the schedule is created",
                           lambda: schedules_named(deployed, DEFINITION["name"], SNS_OWNER), 90, deployed["outputs"])
    assert created["created_by"] == SNS_OWNER  # a namespace of the topic's principal
    schedule_id = created["id"]

    def active() -> Any:
        code, body, _ = api(deployed, "get", schedule_id, owner=SNS_OWNER)
        return body if code == 0 and body["status"] == "active" else None

    eventually("the schedule becomes active", active, 90, deployed["outputs"])

    # WHEN the README's delete is published
    aws_cli(deployed, "sns", "publish", "--topic-arn", topic, "--subject", "delete",
            "--message", json.dumps({"action": "delete", "schedule_id": schedule_id}), *OWNER)

    # THEN the schedule is deleted, in the record and in EventBridge Scheduler
    def deleted() -> Any:
        code, body, _ = api(deployed, "get", schedule_id, owner=SNS_OWNER)
        return code == 0 and body["status"] == "deleted"

    eventually("the schedule is deleted", deleted, 90, deployed["outputs"])
    scheduler = clients.client("scheduler", settings_for(STAGE))
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=NAMES.schedule_group).get("Schedules", [])]
    assert schedule_id not in names


def test_a_redelivered_create_makes_one_schedule(deployed):
    # GIVEN one SNS delivery of a create, as Lambda receives it, delivered twice
    definition = {**DEFINITION, "name": "redelivered"}
    record = {
        "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:::sub",
        "Sns": {
            "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": command_topic(deployed),
            "Subject": None, "Message": json.dumps({"action": "create", "schedule": definition}),
            "Timestamp": "2026-11-29T12:00:00.000Z", "MessageAttributes": {},
        },
    }
    function = deployed["outputs"].functions["schedule_command"]
    lambda_ = clients.client("lambda", settings_for(STAGE))
    answers = []
    for _ in range(2):
        response = lambda_.invoke(FunctionName=function, Payload=json.dumps({"Records": [record]}).encode())
        answers.append(json.loads(response["Payload"].read()))
    # THEN both deliveries answer the same schedule, and only one exists
    assert answers[0]["outcome"] == answers[1]["outcome"] == "accepted", answers
    assert answers[0]["schedule_id"] == answers[1]["schedule_id"]
    assert [s["id"] for s in schedules_named(deployed, "redelivered", "sns")] == [answers[0]["schedule_id"]]


def test_an_invalid_message_is_rejected_to_the_notifications_topic(deployed):
    topic = command_topic(deployed)
    bad = {"action": "create", "schedule": {**DEFINITION, "name": "bad", "schedule_expression": "rate(0 minutes)"}}
    aws_cli(deployed, "sns", "publish", "--topic-arn", topic, "--subject", "create", "--message", json.dumps(bad), *OWNER)
    events = eventually("a rejected event is published", lambda: rejected(deployed), 90, deployed["outputs"],
                        every=2)
    assert events[0]["request"] == bad
    assert events[0]["reason"].startswith("schedule.schedule_expression:")
    assert schedules_named(deployed, "bad", SNS_OWNER) == []


def test_the_client_drives_the_deployed_api(deployed):
    code, created, err = api(deployed, "create", "--body", json.dumps({**DEFINITION, "name": "by-client"}))
    assert code == 0, err
    schedule_id = created["id"]
    eventually("active", lambda: api(deployed, "get", schedule_id)[1]["status"] == "active", 90, deployed["outputs"])
    code, updated, err = api(
        deployed, "update", schedule_id, "--if-match", str(created["version"]),
        "--body", json.dumps({**DEFINITION, "name": "by-client", "schedule_expression": "rate(2 hours)"}),
    )
    assert code == 0, err
    assert updated["schedule_expression"] == "rate(2 hours)"
    assert api(deployed, "pause", schedule_id)[1]["state"] == "DISABLED"
    eventually("paused", lambda: api(deployed, "get", schedule_id)[1]["status"] == "paused", 90, deployed["outputs"])
    assert api(deployed, "resume", schedule_id)[1]["state"] == "ENABLED"
    code, page, _ = api(deployed, "executions", schedule_id)
    assert code == 0 and page["items"] == []
    code, preview, _ = api(deployed, "preview", "rate(1 hour)", "--body", '{"count": 3}')
    assert code == 0 and len(preview["next"]) == 3
    code, _, err = api(deployed, "get", str(uuid.uuid4()))
    assert code == 1 and "404 NotFound" in err
    assert api(deployed, "delete", schedule_id)[0] == 0
    eventually("deleted", lambda: api(deployed, "get", schedule_id)[1]["status"] == "deleted", 90, deployed["outputs"])
