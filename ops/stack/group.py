"""The EventBridge Scheduler schedule group ``rez-agent-<stage>``.

A group has no attributes to manage but its tags. While a group is being deleted it stays
DELETING for a while: reading it then counts as absent (it is going away), and creating,
tagging, untagging or deleting it answers ConflictException until the deletion finishes.
Those four calls ride that window with the bounded conflict retry (``chalicelib.retry``);
every other error is raised at once. There is no ownership check on create: ownership is
decided by ``read`` and the ``--adopt`` gate, and a genuine name collision surfaces as a
Conflict once the retries run out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.config import Settings
from chalicelib.retry import BoundedRetry, conflict_retry
from ops.stack.model import Desired
from ops.stack.provider import ResourceProvider
from ops.stack.tags import from_tag_list, to_tag_list

DELETING = "DELETING"


class ScheduleGroupProvider(ResourceProvider):
    kind = "schedule-group"

    def __init__(
        self,
        settings: Settings,
        logical_id: str,
        name: str,
        sleep: Callable[[float], Any] = time.sleep,
        client_factory: Callable[[str], Any] | None = None,
        retry: BoundedRetry | None = None,
    ):
        super().__init__(settings, logical_id, name, sleep, client_factory)
        self.retry = retry or conflict_retry(settings, sleep=sleep)

    @property
    def scheduler(self) -> Any:
        return self.client("scheduler")

    def _describe(self, name: str) -> tuple[str, dict[str, Any]] | None:
        group = self.scheduler.get_schedule_group(Name=name)
        if group.get("State") == DELETING:
            return None
        return group["Arn"], {"state": group.get("State")}

    def _create(self, desired: Desired) -> None:
        self.retry.call(
            self.scheduler.create_schedule_group,
            Name=desired.name,
            Tags=to_tag_list(desired.tags),
        )

    def _delete(self, name: str) -> None:
        self.retry.call(self.scheduler.delete_schedule_group, Name=name)

    def _list_tags(self, name: str, arn: str) -> dict[str, str]:
        return from_tag_list(self.scheduler.list_tags_for_resource(ResourceArn=arn).get("Tags"))

    def _tag(self, name: str, arn: str, tags: dict[str, str]) -> None:
        self.retry.call(self.scheduler.tag_resource, ResourceArn=arn, Tags=to_tag_list(tags))

    def _untag(self, name: str, arn: str, keys: list[str]) -> None:
        self.retry.call(self.scheduler.untag_resource, ResourceArn=arn, TagKeys=keys)
