"""Plain data of the stack: what is desired, what the cloud reports, and plan steps.

Nothing here talks to AWS. A provider's ``read`` returns one of ``Observed`` (exists and is
ours), ``Unowned`` (exists without our ownership tags) or ``Absent``; its ``diff`` returns one
step: ``Create``, ``Update`` (the fields that differ), ``Replace``, ``Noop`` or ``Delete``.
Every step turns into a JSON-ready dict (``to_dict``) and a line of text (``render``), so a
plan prints before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Desired:
    """What one resource should look like: its name, its attributes and all its tags."""

    logical_id: str
    kind: str
    name: str
    attrs: dict[str, Any]
    tags: dict[str, str]


@dataclass(frozen=True)
class Observed:
    """A resource that exists and carries this stage's ownership tags."""

    name: str
    arn: str
    attrs: dict[str, Any]
    tags: dict[str, str]


@dataclass(frozen=True)
class Unowned:
    """A resource that exists but lacks this stage's ownership tags: adopt only on request."""

    name: str
    arn: str
    attrs: dict[str, Any]
    tags: dict[str, str]


@dataclass(frozen=True)
class Absent:
    name: str


ReadResult = Observed | Unowned | Absent


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: what the cloud has (``before``) and what we want (``after``)."""

    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Step:
    """One planned action on one resource. Subclasses name the action."""

    logical_id: str
    kind: str
    name: str
    action = "step"

    @property
    def changes_anything(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "logical_id": self.logical_id,
            "type": self.kind,
            "name": self.name,
        }

    def render(self) -> str:
        return f"{self.action:<8} {self.kind} {self.name}"


@dataclass(frozen=True)
class Create(Step):
    desired: Desired = field(kw_only=True, repr=False, compare=False)
    action = "create"


@dataclass(frozen=True)
class Update(Step):
    """Change ``changes`` in place. ``adopt`` marks a resource that is not ours yet."""

    changes: tuple[FieldChange, ...] = ()
    adopt: bool = False
    arn: str = ""
    desired: Desired = field(kw_only=True, repr=False, compare=False)
    action = "update"

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["arn"] = self.arn
        data["adopt"] = self.adopt
        data["changes"] = [change.to_dict() for change in self.changes]
        return data

    def render(self) -> str:
        fields = ", ".join(change.field for change in self.changes)
        adopting = "adopt and " if self.adopt else ""
        return f"{self.action:<8} {self.kind} {self.name}: {adopting}change {fields}"


@dataclass(frozen=True)
class Replace(Step):
    """Create the desired resource and delete ``previous_name``.

    A name change creates the new one first, then deletes the old one. When the name stays
    and an immutable attribute changed (``previous_name == name``), the old one is deleted
    first: ``destroys_data`` then says whether that loses stored data (a table's items).
    """

    previous_name: str = ""
    reason: str = ""
    destroys_data: bool = False
    adopt: bool = False
    desired: Desired = field(kw_only=True, repr=False, compare=False)
    action = "replace"

    @property
    def in_place(self) -> bool:
        return self.previous_name == self.name

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(
            previous_name=self.previous_name,
            reason=self.reason,
            destroys_data=self.destroys_data,
            adopt=self.adopt,
        )
        return data

    def render(self) -> str:
        what = self.name if self.in_place else f"{self.previous_name} -> {self.name}"
        adopting = "adopt and " if self.adopt else ""
        loss = " (deletes its data)" if self.destroys_data else ""
        return f"{self.action:<8} {self.kind} {what}: {adopting}{self.reason}{loss}"


@dataclass(frozen=True)
class Noop(Step):
    """Nothing to do; ``note`` says why when it is worth saying (e.g. "not ours, left").

    ``observed`` is what the plan read, so the outcome of a no-op needs no second read.
    """

    note: str = ""
    observed: Observed | Unowned | Absent | None = field(default=None, repr=False, compare=False)
    action = "noop"

    @property
    def changes_anything(self) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.note:
            data["note"] = self.note
        return data

    def render(self) -> str:
        note = f": {self.note}" if self.note else ""
        return f"{self.action:<8} {self.kind} {self.name}{note}"


@dataclass(frozen=True)
class Delete(Step):
    arn: str = ""
    reason: str = ""
    action = "delete"

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["arn"] = self.arn
        if self.reason:
            data["reason"] = self.reason
        return data

    def render(self) -> str:
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.action:<8} {self.kind} {self.name}{reason}"


@dataclass(frozen=True)
class Plan:
    """The ordered steps of one command (deploy or destroy) for one stage."""

    stage: str
    operation: str  # "deploy" | "destroy"
    steps: tuple[Step, ...]

    @property
    def changes_anything(self) -> bool:
        return any(step.changes_anything for step in self.steps)

    @property
    def needs_adoption(self) -> tuple[Update | Replace, ...]:
        """Steps that change a resource that is not ours yet (only with ``--adopt``)."""
        return tuple(
            step for step in self.steps if isinstance(step, (Update, Replace)) and step.adopt
        )

    @property
    def destroys_data(self) -> tuple[Replace, ...]:
        return tuple(
            step for step in self.steps if isinstance(step, Replace) and step.destroys_data
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "operation": self.operation,
            "changes": self.changes_anything,
            "steps": [step.to_dict() for step in self.steps],
        }

    def render(self) -> str:
        header = f"{self.operation} plan for stage {self.stage}:"
        lines = [header] + [f"  {step.render()}" for step in self.steps]
        if not self.changes_anything:
            lines.append("  (nothing to change)")
        return "\n".join(lines)
