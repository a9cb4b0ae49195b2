"""Publishing: commands to the command topic (``rez-agent-schedule-creation-<stage>``), and
fired schedules' messages to their targets (an SNS topic, an SQS queue or a Lambda function, by ARN)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import strict_json
from chalicelib.aws_errors import translate
from chalicelib.models import ScheduleCommand

SUBJECT = "rez-agent schedules"


def queue_url(queue_arn: str, endpoint_url: str) -> str:
    """An SQS queue's URL from its ARN and the client's endpoint (no GetQueueUrl call):
    ``https://sqs.<region>.amazonaws.com/<account>/<name>`` on AWS."""
    _, _, _, _, account, name = queue_arn.split(":", 5)
    return f"{endpoint_url.rstrip('/')}/{account}/{name}"


class AwsPublisher:
    def __init__(self, client_for: Callable[[str], Any], command_topic_arn: Callable[[], str]):
        self._client_for = client_for
        self._command_topic_arn = command_topic_arn

    def publish_command(self, command: ScheduleCommand) -> None:
        self.publish(
            self._command_topic_arn(),
            command.model_dump(mode="json"),
            attributes={"action": command.action.value},
        )

    def publish(self, target_arn: str, message: dict[str, Any], attributes: dict[str, Any] | None = None) -> None:
        body = strict_json.message_text(message)
        service = target_arn.split(":")[2] if target_arn.count(":") >= 5 else ""
        try:
            if service == "sns":
                # AWS sends Subject to subscribed functions even when none is set (as null);
                # some emulators omit the key, which Chalice's SNS event needs: always set one.
                request: dict[str, Any] = {"TopicArn": target_arn, "Message": body, "Subject": SUBJECT}
                if attributes:
                    request["MessageAttributes"] = _attributes(attributes)
                self._client_for("sns").publish(**request)
            elif service == "sqs":
                sqs = self._client_for("sqs")
                request = {"QueueUrl": queue_url(target_arn, sqs.meta.endpoint_url), "MessageBody": body}
                if attributes:
                    request["MessageAttributes"] = _attributes(attributes)
                sqs.send_message(**request)
            elif service == "lambda":
                self._client_for("lambda").invoke(
                    FunctionName=target_arn, InvocationType="Event", Payload=body.encode()
                )
            else:
                raise ValueError(f"cannot publish to {target_arn!r}")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc) from exc


def _attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """String message attributes, as SNS and SQS both take them."""
    return {key: {"DataType": "String", "StringValue": str(value)} for key, value in attributes.items()}
