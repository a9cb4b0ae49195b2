"""The EventBridge Scheduler schedule group ``rez-agent-<stage>``.

A group has no attributes to manage but its tags. While a group is being deleted it stays
DELETING for a while: reading it then counts as absent (it is going away), and creating,
tagging, untagging or deleting it answers ConflictException until the deletion finishes.
Those four calls ride that window with the bounded conflict retry (``conflict_retry``, an
operator-only setting: the functions never touch the group's lifecycle); every other error
is raised at once. There is no ownership check on create: ownership is
decided by ``read`` and the ``--adopt`` gate, and a genuine name collision surfaces as a
Conflict once the retries run out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.aws_errors import error_code
from chalicelib.config import Settings
from chalicelib.retry import BoundedRetry, retry_on
from ops.stack.model import Desired
from ops.stack.provider import ResourceProvider
from ops.stack.tags import from_tag_list, to_tag_list

DELETING = "DELETING"

# How long the stack command rides a group's ConflictException (read when a provider is built).
ENV_CONFLICT_RETRY_ATTEMPTS = "CONFLICT_RETRY_ATTEMPTS"
ENV_CONFLICT_RETRY_DELAY = "CONFLICT_RETRY_DELAY_SECONDS"
DEFAULT_CONFLICT_RETRY_ATTEMPTS = 15
DEFAULT_CONFLICT_RETRY_DELAY = 2.0


def is_conflict(exc: BaseException) -> bool:
    """A ConflictException from AWS (a schedule group still DELETING or CREATING)."""
    return error_code(exc) == "ConflictException"


def conflict_retry(environ: Mapping[str, str] | None = None,
                   sleep: Callable[[float], Any] = time.sleep) -> BoundedRetry:
    """The schedule-group ConflictException retry: 15 x 2 s unless ``CONFLICT_RETRY_ATTEMPTS``
    / ``CONFLICT_RETRY_DELAY_SECONDS`` in ``environ`` (default: the process's) say otherwise.
    The same code also means a genuine name collision, so it is retried a bounded number of
    times and then reported, never forever."""
    env = os.environ if environ is None else environ
    return retry_on(
        is_conflict,
        int(env.get(ENV_CONFLICT_RETRY_ATTEMPTS) or DEFAULT_CONFLICT_RETRY_ATTEMPTS),
        float(env.get(ENV_CONFLICT_RETRY_DELAY) or DEFAULT_CONFLICT_RETRY_DELAY),
        sleep=sleep,
        name="schedule group conflict retry",
    )


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
        self.retry = retry or conflict_retry(sleep=sleep)

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
