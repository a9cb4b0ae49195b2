"""``publish``: send a message to a stage's command topic (``rez-agent-schedule-creation-<stage>``)
with boto3, the way another service would instead of calling the API. The messages are the
README's: ``{"action": "create", "schedule": {...}}``, ``{"action": "update", "schedule_id":
..., "schedule": {...}}``, ``{"action": "pause" | "resume" | "delete", "schedule_id": ...}``.

AWS credentials, region and endpoint come from the usual chain (``source .run/env`` points
them at the local emulator).
"""

from __future__ import annotations

import argparse
from typing import Any

from rez_client.api import ClientError

TOPIC_NAME = "rez-agent-schedule-creation-{stage}"
CREATED_BY_ATTRIBUTE = "created_by"
# ministack hands a record to the function only when the publisher set a subject and a
# message attribute (AWS sends null and {}): every message carries both.
SENDER_ATTRIBUTE = "sender"
SENDER = "rez_client"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "message", metavar="MESSAGE", help="the message: inline JSON, @file.json, or - for standard input"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stage", default="local", help="the stage whose command topic to use (default local)")
    where.add_argument("--topic", metavar="ARN", help="the topic's ARN (instead of finding it by --stage)")
    parser.add_argument(
        "--namespace", metavar="NAME",
        help="the message's created_by attribute: which SNS publisher it acts for "
        "(it may touch only the schedules created with the same namespace)",
    )


def publish(args: argparse.Namespace, message: dict[str, Any]) -> dict[str, Any]:
    """Publish ``message``; the answer names the topic and SNS's message id."""
    import json

    import boto3
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError as BotoClientError

    action = message.get("action")
    if not isinstance(action, str) or not action:
        raise ClientError('the message needs an "action": create, update, pause, resume or delete')
    try:
        sns = boto3.client("sns")
        topic = args.topic or _topic_arn(sns, args.stage)
        attributes = {SENDER_ATTRIBUTE: {"DataType": "String", "StringValue": SENDER}}
        if args.namespace:
            attributes[CREATED_BY_ATTRIBUTE] = {"DataType": "String", "StringValue": args.namespace}
        answer = sns.publish(
            TopicArn=topic, Message=json.dumps(message), Subject=action[:100], MessageAttributes=attributes
        )
    except BotoClientError as error:
        raise ClientError(f"SNS refused the message: {error}") from None
    except BotoCoreError as error:
        raise ClientError(f"cannot publish: {error}") from None
    return {"topic": topic, "message_id": answer["MessageId"], "action": action}


def _topic_arn(sns: Any, stage: str) -> str:
    suffix = ":" + TOPIC_NAME.format(stage=stage)
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].endswith(suffix):
                return str(topic["TopicArn"])
    raise ClientError(f"no topic {suffix[1:]} here: is the stage {stage!r} deployed (make run)?")
