"""The resource provider: ``read`` / ``diff`` / ``apply``, shared by every resource kind.

A concrete provider says how to find its resource (``_describe``), how to create and
delete it, which attributes it manages and how to change each one, and how to read, set
and remove its tags. Everything else lives here once: ownership (``Observed`` vs
``Unowned``), the tag diff against the tags the cloud reports, the choice of step, the
dispatch of an ``Update`` to per-field updaters, and the read-back that ends every
``apply``. botocore errors are translated into ``chalicelib.errors`` here, at the edge.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib import aws_errors, clients
from chalicelib.config import Settings
from chalicelib.errors import UpstreamUnavailable
from ops.stack import tags as tagging
from ops.stack.model import (
    Absent,
    Create,
    Delete,
    Desired,
    FieldChange,
    Noop,
    Observed,
    ReadResult,
    Replace,
    Step,
    Unowned,
    Update,
)

TAGS_FIELD = "tags"

Updater = Callable[[str, str, FieldChange], None]


class ResourceProvider(ABC):
    """One resource of one stage, identified in the stack by ``logical_id``."""

    kind: str = "resource"
    #: Replacing this resource in place loses stored data (a table's items).
    holds_data: bool = False
    #: Seconds between two polls while waiting for the cloud to settle.
    poll_interval: float = 2.0
    #: Give up waiting after this many seconds.
    poll_timeout: float = 600.0

    def __init__(
        self,
        settings: Settings,
        logical_id: str,
        name: str,
        sleep: Callable[[float], Any] = time.sleep,
        client_factory: Callable[[str], Any] | None = None,
    ):
        self.settings = settings
        self.logical_id = logical_id
        self.name = name
        self.sleep = sleep
        self._client_factory = client_factory

    # -- what a concrete provider supplies -------------------------------------------------

    def desired_attrs(self) -> dict[str, Any]:
        """The attributes this provider manages, as plain, comparable data."""
        return {}

    @abstractmethod
    def _describe(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """``(arn, attrs)`` of the resource called ``name``, or None when there is none.

        Raise botocore errors as they come; "not found" errors mean None and are handled
        by ``read``.
        """

    @abstractmethod
    def _create(self, desired: Desired) -> None:
        """Create the resource with its attributes and tags (ownership checks are not here)."""

    @abstractmethod
    def _delete(self, name: str) -> None:
        """Delete the resource; raising a "not found" error is fine (it is a no-op)."""

    @abstractmethod
    def _list_tags(self, name: str, arn: str) -> dict[str, str]: ...

    @abstractmethod
    def _tag(self, name: str, arn: str, tags: dict[str, str]) -> None: ...

    @abstractmethod
    def _untag(self, name: str, arn: str, keys: list[str]) -> None: ...

    def _updaters(self) -> Mapping[str, Updater]:
        """Field name -> function that changes that field in place."""
        return {}

    def _replace_reason(self, desired: Desired, current: Observed | Unowned) -> str | None:
        """Why ``current`` cannot become ``desired`` in place (an immutable field), or None."""
        return None

    def _exists(self, name: str) -> bool:
        """Whether anything called ``name`` exists, even while it is being deleted."""
        return self._describe(name) is not None

    def _normalise(self, field: str, value: Any) -> Any:
        """The comparable form of an attribute (e.g. a policy document with sorted lists)."""
        return value

    # -- read / diff / apply ---------------------------------------------------------------

    def client(self, service: str) -> Any:
        """The boto3 client for ``service`` (``chalicelib.clients`` unless one was injected)."""
        if self._client_factory is not None:
            return self._client_factory(service)
        return clients.client(service, self.settings)

    def label(self, name: str | None = None) -> str:
        return f"{self.kind} {name or self.name}"

    def desired(self) -> Desired:
        return Desired(
            logical_id=self.logical_id,
            kind=self.kind,
            name=self.name,
            attrs=self.desired_attrs(),
            tags=tagging.ownership_tags(self.settings.stage, self.logical_id),
        )

    def read(self, name: str | None = None) -> ReadResult:
        """What the cloud reports for ``name`` (this provider's own name by default)."""
        name = name or self.name
        with aws_errors.translated(f"reading {self.label(name)}"):
            try:
                found = self._describe(name)
                if found is None:
                    return Absent(name)
                arn, attrs = found
                tags = self._list_tags(name, arn)
            except Exception as exc:
                if aws_errors.is_not_found(exc):
                    return Absent(name)
                raise
        owned = tagging.is_owned(tags, self.settings.stage, self.logical_id)
        return (Observed if owned else Unowned)(name=name, arn=arn, attrs=attrs, tags=tags)

    def diff(self, desired: Desired, current: ReadResult) -> Step:
        """The one step that turns ``current`` into ``desired``."""
        ident = dict(logical_id=self.logical_id, kind=self.kind, name=desired.name)
        if isinstance(current, Absent):
            return Create(**ident, desired=desired)
        adopt = isinstance(current, Unowned)
        reason = self._replace_reason(desired, current)
        if reason:
            return Replace(
                **ident,
                previous_name=current.name,
                reason=reason,
                destroys_data=self.holds_data,
                adopt=adopt,
                desired=desired,
            )
        changes = self.attribute_changes(desired, current)
        if not changes and not adopt:
            return Noop(**ident, observed=current)
        return Update(**ident, changes=changes, adopt=adopt, arn=current.arn, desired=desired)

    def attribute_changes(
        self, desired: Desired, current: Observed | Unowned
    ) -> tuple[FieldChange, ...]:
        """Every managed field whose cloud value differs from the desired one, tags last."""
        changes = []
        for field, wanted in desired.attrs.items():
            have = current.attrs.get(field)
            if self._normalise(field, have) != self._normalise(field, wanted):
                changes.append(FieldChange(field, have, wanted))
        if not tagging.tag_changes(desired.tags, current.tags).empty:
            changes.append(
                FieldChange(TAGS_FIELD, tagging.managed(current.tags), dict(desired.tags))
            )
        return tuple(changes)

    def retire(self, previous: ReadResult, desired: Desired, step: Step) -> list[Step]:
        """Steps for a resource this stack deployed under a former name.

        Ours and the new name is absent: the create becomes a ``Replace`` (create the new,
        delete the old). Ours and the new one exists already: a separate ``Delete``. Not
        ours any more, or gone: nothing.
        """
        if not isinstance(previous, Observed):
            return [step]
        reason = f"name changed from {previous.name} to {desired.name}"
        if isinstance(step, Create):
            return [
                Replace(
                    logical_id=self.logical_id,
                    kind=self.kind,
                    name=desired.name,
                    previous_name=previous.name,
                    reason=reason,
                    desired=desired,
                )
            ]
        return [step, self.delete_step(previous, reason=reason)]

    def delete_step(self, current: ReadResult, reason: str = "") -> Step:
        """The destroy step for ``current``: delete it only when it is ours."""
        ident = dict(logical_id=self.logical_id, kind=self.kind, name=current.name)
        if isinstance(current, Absent):
            return Noop(**ident, note="already gone", observed=current)
        if isinstance(current, Unowned):
            note = "exists but is not ours (no ownership tags): left in place"
            return Noop(**ident, note=note, observed=current)
        return Delete(**ident, arn=current.arn, reason=reason)

    def apply(self, step: Step) -> ReadResult:
        """Carry out ``step``, then read the resource back from the cloud."""
        with aws_errors.translated(f"{step.action} {self.label(step.name)}"):
            if isinstance(step, Create):
                self._create(step.desired)
            elif isinstance(step, Update):
                self._apply_update(step)
            elif isinstance(step, Replace):
                self._apply_replace(step)
            elif isinstance(step, Delete):
                self.delete(step.name)
        return self.read(step.name)

    # -- shared pieces ---------------------------------------------------------------------

    def delete(self, name: str) -> None:
        """Delete ``name``; deleting what is already gone is a no-op."""
        try:
            self._delete(name)
        except Exception as exc:
            if not aws_errors.is_not_found(exc):
                raise

    def _apply_update(self, step: Update) -> None:
        updaters = {TAGS_FIELD: self._sync_tags, **self._updaters()}
        for change in step.changes:
            updaters[change.field](step.name, step.arn, change)

    def _apply_replace(self, step: Replace) -> None:
        if step.in_place:
            self.delete(step.name)
            self._wait_until_gone(step.name)
            self._create(step.desired)
        else:
            self._create(step.desired)
            self.delete(step.previous_name)

    def _sync_tags(self, name: str, arn: str, change: FieldChange) -> None:
        """Make the tags the cloud reports equal to the desired ones (set, then remove)."""
        changes = tagging.tag_changes(change.after, change.before)
        if changes.to_set:
            self._tag(name, arn, changes.to_set)
        if changes.to_remove:
            self._untag(name, arn, list(changes.to_remove))

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Poll ``condition`` until it holds; bounded by ``poll_timeout``."""
        deadline = time.monotonic() + self.poll_timeout
        while not condition():
            if time.monotonic() >= deadline:
                raise UpstreamUnavailable(f"{what}: still not done after {self.poll_timeout}s")
            self.sleep(self.poll_interval)

    def _wait_until_gone(self, name: str) -> None:
        def gone() -> bool:
            try:
                return not self._exists(name)
            except Exception as exc:
                if aws_errors.is_not_found(exc):
                    return True
                raise

        self.wait_for(gone, f"deleting {self.label(name)}")
