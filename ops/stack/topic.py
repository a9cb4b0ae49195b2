"""An SNS topic (commands, web actions, notifications). It manages only its tags."""

from __future__ import annotations

from typing import Any

from chalicelib import clients
from ops.stack.model import Desired
from ops.stack.provider import ResourceProvider
from ops.stack.tags import from_tag_list, to_tag_list


class TopicProvider(ResourceProvider):
    kind = "sns-topic"

    @property
    def sns(self) -> Any:
        return self.client("sns")

    def arn_of(self, name: str) -> str:
        return clients.topic_arn(name, self.settings)

    def _describe(self, name: str) -> tuple[str, dict[str, Any]] | None:
        arn = self.sns.get_topic_attributes(TopicArn=self.arn_of(name))["Attributes"]["TopicArn"]
        return arn, {}

    def _create(self, desired: Desired) -> None:
        self.sns.create_topic(Name=desired.name, Tags=to_tag_list(desired.tags))

    def _delete(self, name: str) -> None:
        self.sns.delete_topic(TopicArn=self.arn_of(name))

    def _list_tags(self, name: str, arn: str) -> dict[str, str]:
        return from_tag_list(self.sns.list_tags_for_resource(ResourceArn=arn).get("Tags"))

    def _tag(self, name: str, arn: str, tags: dict[str, str]) -> None:
        self.sns.tag_resource(ResourceArn=arn, Tags=to_tag_list(tags))

    def _untag(self, name: str, arn: str, keys: list[str]) -> None:
        self.sns.untag_resource(ResourceArn=arn, TagKeys=keys)
