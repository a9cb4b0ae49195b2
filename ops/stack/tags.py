"""Ownership tags and tag drift.

Every resource of a stage carries three ownership tags: the app, the stage and its logical
id in the stack. A resource whose tags do not say exactly that is not ours (``Unowned``)
and is only taken over with ``--adopt``.

Tags are managed as a whole: the desired tags are the only tags a resource should have,
so a tag changed, removed or added out of band is reset. Tag keys starting with ``aws:``
are AWS's own (CloudFormation, Service Catalog) and can be neither set nor removed: they
are left out of every comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chalicelib.config import APP_NAME

APP_TAG = f"{APP_NAME}:app"
STAGE_TAG = f"{APP_NAME}:stage"
LOGICAL_ID_TAG = f"{APP_NAME}:logical-id"
AWS_RESERVED_PREFIX = "aws:"


def ownership_tags(stage: str, logical_id: str) -> dict[str, str]:
    return {APP_TAG: APP_NAME, STAGE_TAG: stage, LOGICAL_ID_TAG: logical_id}


def is_owned(tags: Mapping[str, str], stage: str, logical_id: str) -> bool:
    """True when ``tags`` carry exactly this stage's ownership of ``logical_id``."""
    return all(tags.get(key) == value for key, value in ownership_tags(stage, logical_id).items())


def managed(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags we can manage: all but AWS's reserved ``aws:`` ones."""
    return {k: v for k, v in tags.items() if not k.startswith(AWS_RESERVED_PREFIX)}


@dataclass(frozen=True)
class TagChanges:
    """What turns the observed tags into the desired ones."""

    to_set: dict[str, str]
    to_remove: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.to_set and not self.to_remove


def tag_changes(desired: Mapping[str, str], observed: Mapping[str, str]) -> TagChanges:
    """The tags to set (new or different values) and the keys to remove."""
    desired, observed = managed(desired), managed(observed)
    to_set = {k: v for k, v in desired.items() if observed.get(k) != v}
    to_remove = tuple(sorted(k for k in observed if k not in desired))
    return TagChanges(to_set=to_set, to_remove=to_remove)


def to_tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``{"k": "v"}`` -> ``[{"Key": "k", "Value": "v"}]``, the shape most AWS APIs take."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def from_tag_list(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags or ()}
