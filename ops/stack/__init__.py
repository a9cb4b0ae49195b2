"""The stage's AWS resources (execution role, table, topics, schedule group) as code.

Each resource has a provider (``read`` / ``diff`` / ``apply``); ``Stack`` plans and applies
them in dependency order; ``python -m ops stack ...`` is the command line.
"""

from ops.stack.engine import Result, Stack, stage_providers
from ops.stack.model import Plan

__all__ = ["Plan", "Result", "Stack", "stage_providers"]
