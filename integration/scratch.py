"""A scratch stack: one throw-away stage, driven through the real command line, in process.

Each test gets a stage name of its own (``t`` + 8 hex digits, short enough for IAM's
64-character role names), so tests never see each other's resources. The command line
runs in this process (``ops.cli.main``), so its AWS calls go through the cached
clients the call recorder and the fault injector hook.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib.config import resource_names, settings_for
from ops import cli
from ops.stack import Stack


def unique_stage() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class CliRun:
    args: tuple[str, ...]
    exit_code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def actions(self) -> dict[str, str]:
        """name -> action of each step, from a ``--json`` run."""
        return {step["name"]: step["action"] for step in self.json["steps"]}

    def __str__(self) -> str:
        return f"$ {' '.join(self.args)}\nexit {self.exit_code}\n{self.out}\n{self.err}"


class ScratchStack:
    def __init__(self, stage: str | None = None):
        self.stage = stage or unique_stage()
        self.names = resource_names(self.stage)

    def cli(self, *args: str) -> CliRun:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(args), out=out, err=err)
        return CliRun(tuple(args), code, out.getvalue(), err.getvalue())

    def plan(self, *extra: str) -> CliRun:
        return self.cli("stack", "plan", "--stage", self.stage, "--json", *extra)

    def deploy(self, *extra: str) -> CliRun:
        return self.cli("stack", "deploy", "--stage", self.stage, "--json", *extra)

    def destroy(self) -> CliRun:
        return self.cli("stack", "destroy", "--stage", self.stage, "--json")

    def api(self) -> Stack:
        """The ``Stack`` behind the command line, for tests that split plan from apply."""
        return Stack(settings_for(self.stage))
