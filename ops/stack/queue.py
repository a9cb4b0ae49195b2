"""The stage's dead-letter queue (SQS): what EventBridge Scheduler could not deliver and what
the target function gave up on, read by the ``dead_letters`` function.

Managed attributes: how long a message is kept (14 days, the most SQS allows, so a dead
letter that cannot be recorded yet is not lost) and the visibility timeout (six times the
consumer's timeout, as AWS advises for a Lambda event source).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib import clients
from ops.policy import DEAD_LETTERS, LAMBDA_TIMEOUTS
from ops.stack.model import Desired, FieldChange
from ops.stack.provider import ResourceProvider, Updater

RETENTION_SECONDS = 1_209_600  # 14 days
VISIBILITY_TIMEOUT_SECONDS = 6 * LAMBDA_TIMEOUTS[DEAD_LETTERS]
ATTRIBUTES = {
    "message_retention_seconds": "MessageRetentionPeriod",
    "visibility_timeout_seconds": "VisibilityTimeout",
}


class QueueProvider(ResourceProvider):
    kind = "sqs-queue"

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    def arn_of(self, name: str) -> str:
        return clients.queue_arn(name, self.settings)

    def desired_attrs(self) -> dict[str, Any]:
        return {"message_retention_seconds": RETENTION_SECONDS, "visibility_timeout_seconds": VISIBILITY_TIMEOUT_SECONDS}

    def _normalise(self, field: str, value: Any) -> Any:
        if field in ATTRIBUTES and value is not None:
            return int(value)
        return value

    def _url(self, name: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def _describe(self, name: str) -> tuple[str, dict[str, Any]] | None:
        url = self._url(name)
        found = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn", *ATTRIBUTES.values()]
        )["Attributes"]
        attrs = {field: int(found[attribute]) for field, attribute in ATTRIBUTES.items() if attribute in found}
        return found["QueueArn"], attrs

    def _create(self, desired: Desired) -> None:
        self.sqs.create_queue(
            QueueName=desired.name,
            Attributes={ATTRIBUTES[field]: str(value) for field, value in desired.attrs.items()},
            tags=desired.tags,
        )

    def _delete(self, name: str) -> None:
        self.sqs.delete_queue(QueueUrl=self._url(name))

    def _list_tags(self, name: str, arn: str) -> dict[str, str]:  # noqa: ARG002 - SQS addresses a queue by URL
        return dict(self.sqs.list_queue_tags(QueueUrl=self._url(name)).get("Tags") or {})

    def _tag(self, name: str, arn: str, tags: dict[str, str]) -> None:  # noqa: ARG002
        self.sqs.tag_queue(QueueUrl=self._url(name), Tags=tags)

    def _untag(self, name: str, arn: str, keys: list[str]) -> None:  # noqa: ARG002
        self.sqs.untag_queue(QueueUrl=self._url(name), TagKeys=keys)

    def _updaters(self) -> Mapping[str, Updater]:
        return {field: self._set_attribute for field in ATTRIBUTES}

    def _set_attribute(self, name: str, arn: str, change: FieldChange) -> None:  # noqa: ARG002
        self.sqs.set_queue_attributes(
            QueueUrl=self._url(name), Attributes={ATTRIBUTES[change.field]: str(change.after)}
        )
