"""What a deploy left behind: the names and ARNs it converged, and the stack's outputs.

The cloud is the source of truth for what a resource looks like; this record only
remembers which names the stack deployed last, so that a name change (another group name
for the same logical resource) is planned as a replace that deletes the old resource, and
so that ``destroy`` finds it. It is a JSON file per stage in ``STACK_STATE_DIR``
(default ``.rez-agent/stacks`` under the working directory). Without it a renamed
resource is left where it is, still carrying its ownership tags.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_STACK_STATE_DIR = "STACK_STATE_DIR"
DEFAULT_STATE_DIR = Path(".rez-agent") / "stacks"


def state_dir(environ: dict[str, Any] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get(ENV_STACK_STATE_DIR) or DEFAULT_STATE_DIR)


@dataclass
class StackState:
    stage: str
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def name_of(self, logical_id: str) -> str | None:
        return self.resources.get(logical_id, {}).get("name")

    def record(self, logical_id: str, kind: str, name: str, arn: str) -> None:
        self.resources[logical_id] = {"type": kind, "name": name, "arn": arn}

    def forget(self, logical_id: str) -> None:
        self.resources.pop(logical_id, None)

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "resources": self.resources, "outputs": self.outputs}


class StateStore:
    """Loads and saves ``StackState`` as ``<directory>/<stage>.json``."""

    def __init__(self, directory: Path | str | None = None):
        self.directory = Path(directory) if directory else state_dir()

    def path(self, stage: str) -> Path:
        return self.directory / f"{stage}.json"

    def load(self, stage: str) -> StackState:
        path = self.path(stage)
        if not path.exists():
            return StackState(stage)
        data = json.loads(path.read_text())
        return StackState(
            stage=stage,
            resources=data.get("resources") or {},
            outputs=data.get("outputs") or {},
        )

    def save(self, state: StackState) -> None:
        """Write the state; a state with no resources left removes the file."""
        path = self.path(state.stage)
        if not state.resources:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(state.to_dict(), indent=2, sort_keys=True) + "\n")
        temporary.replace(path)
