"""What every owned resource of the stack does about ownership, one test per resource kind.

For the table, the topics, the execution role, the schedule group and the dead-letter queue alike: tags edited out
of band are reset to exactly ours, a resource deleted out of band is created again, and one
that exists without our ownership tags is left alone until the operator adopts it (exit 3
naming it and ``--adopt``, no mutating call; destroy leaves it; ``--adopt`` makes it ours).
Resource-specific behaviour (a table's items, a role's policies, a group's DELETING window)
is tested in the file of that resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from integration.stack_fixtures import MINISTACK_UNTAG_FIRST_KEY_ONLY, deviates_on, ours


@dataclass(frozen=True)
class Kind:
    """How to reach one kind of resource out of band, by name."""

    logical_id: str
    name: Callable  # ResourceNames -> str
    prefix: str  # the OutOfBand methods: <prefix>_tags, tag_<prefix>, untag_<prefix>, ...

    def tags(self, oob, name: str) -> dict[str, str]:
        return getattr(oob, f"{self.prefix}_tags")(name)

    def tag(self, oob, name: str, tags: dict[str, str]) -> None:
        getattr(oob, f"tag_{self.prefix}")(name, tags)

    def untag(self, oob, name: str, keys: list[str]) -> None:
        getattr(oob, f"untag_{self.prefix}")(name, keys)

    def delete(self, oob, name: str) -> None:
        getattr(oob, f"delete_{self.prefix}")(name)

    def create_foreign(self, oob, name: str, tags: dict[str, str]) -> None:
        if self.prefix == "table":
            oob.create_table(name, tags=tags)
        else:
            getattr(oob, f"create_{self.prefix}")(name, tags)


KINDS = {
    "table": Kind("schedules-table", lambda names: names.table, "table"),
    "topic": Kind("notifications-topic", lambda names: names.notifications_topic, "topic"),
    # a topic with a managed attribute (its publish policy): created and adopted with it
    "results-topic": Kind("results-topic", lambda names: names.results_topic, "topic"),
    "role": Kind("execution-role", lambda names: names.execution_role, "role"),
    "group": Kind("schedule-group", lambda names: names.schedule_group, "group"),
    "queue": Kind("dead-letter-queue", lambda names: names.dead_letter_queue, "queue"),
}
DRIFTS = ["value changed", "ownership tag removed", "several tags added"]


@pytest.mark.parametrize("drift", DRIFTS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_tags_changed_out_of_band_are_reset(scratch, oob, aws, request, kind, drift):
    resource = KINDS[kind]
    if kind == "group" and drift == "several tags added":
        deviates_on(request, aws.kind, MINISTACK_UNTAG_FIRST_KEY_ONLY)
    # GIVEN a deployed resource whose tags were edited in the console
    assert scratch.deploy().exit_code == 0
    name = resource.name(scratch.names)
    if drift == "value changed":
        resource.tag(oob, name, {"rez-agent:logical-id": "something-else"})
    elif drift == "ownership tag removed":
        resource.untag(oob, name, ["rez-agent:app"])
    else:
        resource.tag(oob, name, {"team": "payments", "cost-center": "42", "env": "x"})
    assert resource.tags(oob, name) != ours(scratch.stage, resource.logical_id)

    # WHEN the stack is deployed again (adopting: a changed ownership tag makes it not ours)
    again = scratch.deploy("--adopt")

    # THEN the cloud reports exactly our tags again
    assert again.exit_code == 0, again
    assert resource.tags(oob, name) == ours(scratch.stage, resource.logical_id)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_deleted_out_of_band_is_created_again(scratch, oob, kind):
    resource = KINDS[kind]
    # GIVEN a deployed stack one of whose resources was deleted out of band
    assert scratch.deploy().exit_code == 0
    name = resource.name(scratch.names)
    resource.delete(oob, name)

    # WHEN the stack is deployed again
    again = scratch.deploy()

    # THEN only that resource was created, and it is ours
    assert again.exit_code == 0, again
    changed = {n for n, action in again.actions().items() if action != "noop"}
    assert changed == {name}
    assert resource.tags(oob, name) == ours(scratch.stage, resource.logical_id)


@pytest.mark.parametrize(
    "foreign_tags",
    [{"team": "payments"}, {"rez-agent:app": "rez-agent", "rez-agent:stage": "prod"}],
    ids=["someone-elses", "another-stages"],
)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_foreign_resource_is_left_alone_until_adopted(scratch, oob, recorder, kind, foreign_tags):
    resource = KINDS[kind]
    # GIVEN a resource with our name that is not ours
    name = resource.name(scratch.names)
    resource.create_foreign(oob, name, foreign_tags)

    # WHEN the stack is deployed without --adopt
    refused = scratch.deploy()

    # THEN it exits 3 naming the resource and --adopt, and changed nothing at all
    assert refused.exit_code == 3, refused
    assert name in refused.err and "--adopt" in refused.err
    assert recorder.mutating == []

    # WHEN the stack is destroyed THEN the foreign resource is left as it was
    assert scratch.destroy().exit_code == 0
    assert resource.tags(oob, name) == foreign_tags

    # WHEN it is deployed with --adopt THEN it is ours: our ownership tags, nothing else
    adopted = scratch.deploy("--adopt")
    assert adopted.exit_code == 0, adopted
    step = next(s for s in adopted.json["steps"] if s["name"] == name)
    assert step["adopt"] is True
    assert resource.tags(oob, name) == ours(scratch.stage, resource.logical_id)
