"""One stage's stack: plan, deploy and destroy its resources in dependency order.

Deploy goes role, table, topics (the results topic with its publish policy), queue, group
(the group last: schedules in it need the role and the target's topics); destroy goes the
other way. ``plan_deploy`` and ``plan_destroy``
only read; ``deploy`` and ``destroy`` refuse to start when the plan needs something the
operator did not allow (``--adopt``, data loss), so a refused command changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import Conflict, ValidationError
from ops.stack.group import ScheduleGroupProvider
from ops.stack.model import Absent, Delete, Noop, Observed, Plan, ReadResult, Step
from ops.stack.provider import ResourceProvider
from ops.stack.queue import QueueProvider
from ops.stack.results_topic import ResultsTopicProvider
from ops.stack.role import ExecutionRoleProvider
from ops.stack.state import StackState, StateStore
from ops.stack.table import TableProvider
from ops.stack.topic import TopicProvider


class NotOwned(Conflict):
    """A resource exists in the cloud without this stage's ownership tags (the operator's
    stack command raises it; the functions never do, so it lives here, not in chalicelib)."""

    code = "NotOwned"

# Logical ids: the stack's own names for its resources (also the logical-id tag).
EXECUTION_ROLE = "execution-role"
SCHEDULES_TABLE = "schedules-table"
COMMAND_TOPIC = "schedule-creation-topic"
WEB_ACTIONS_TOPIC = "web-actions-topic"
NOTIFICATIONS_TOPIC = "notifications-topic"
RESULTS_TOPIC = "results-topic"
DEAD_LETTER_QUEUE = "dead-letter-queue"
SCHEDULE_GROUP = "schedule-group"

# Output name -> (logical id, "name" | "arn").
OUTPUTS = {
    "execution_role_name": (EXECUTION_ROLE, "name"),
    "execution_role_arn": (EXECUTION_ROLE, "arn"),
    "table_name": (SCHEDULES_TABLE, "name"),
    "table_arn": (SCHEDULES_TABLE, "arn"),
    "command_topic_arn": (COMMAND_TOPIC, "arn"),
    "web_actions_topic_arn": (WEB_ACTIONS_TOPIC, "arn"),
    "notifications_topic_arn": (NOTIFICATIONS_TOPIC, "arn"),
    "results_topic_arn": (RESULTS_TOPIC, "arn"),
    "dead_letter_queue_arn": (DEAD_LETTER_QUEUE, "arn"),
    "schedule_group_name": (SCHEDULE_GROUP, "name"),
    "schedule_group_arn": (SCHEDULE_GROUP, "arn"),
}


def stage_providers(
    settings: Settings, sleep: Callable[[float], Any] = time.sleep
) -> list[ResourceProvider]:
    """The stage's resources in deploy order."""
    return [
        ExecutionRoleProvider(settings, EXECUTION_ROLE, settings.execution_role_name, sleep),
        TableProvider(settings, SCHEDULES_TABLE, settings.table_name, sleep),
        TopicProvider(settings, COMMAND_TOPIC, settings.command_topic_name, sleep),
        TopicProvider(settings, WEB_ACTIONS_TOPIC, settings.web_actions_topic_name, sleep),
        TopicProvider(settings, NOTIFICATIONS_TOPIC, settings.notifications_topic_name, sleep),
        ResultsTopicProvider(settings, RESULTS_TOPIC, settings.results_topic_name, sleep),
        QueueProvider(settings, DEAD_LETTER_QUEUE, settings.dead_letter_queue_name, sleep),
        ScheduleGroupProvider(settings, SCHEDULE_GROUP, settings.schedule_group_name, sleep),
    ]


@dataclass(frozen=True)
class Outcome:
    """A step that ran, and what the cloud reported afterwards."""

    step: Step
    final: ReadResult

    def to_dict(self) -> dict[str, Any]:
        data = self.step.to_dict()
        data["final"] = _final_dict(self.final)
        return data


@dataclass(frozen=True)
class Result:
    plan: Plan
    outcomes: tuple[Outcome, ...]
    outputs: dict[str, str]

    @property
    def converged(self) -> bool:
        """Every deployed resource exists and is ours (destroy: every one of ours is gone)."""
        def settled(outcome: Outcome) -> bool:
            removing = self.plan.operation == "destroy" or isinstance(outcome.step, Delete)
            return isinstance(outcome.final, Observed) != removing

        return all(settled(outcome) for outcome in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.plan.stage,
            "operation": self.plan.operation,
            "converged": self.converged,
            "steps": [outcome.to_dict() for outcome in self.outcomes],
            "outputs": self.outputs,
        }


class Stack:
    def __init__(
        self,
        settings: Settings,
        store: StateStore | None = None,
        providers: list[ResourceProvider] | None = None,
    ):
        self.settings = settings
        self.stage = settings.stage
        self.store = store or StateStore()
        self.providers = providers if providers is not None else stage_providers(settings)
        self._by_id = {provider.logical_id: provider for provider in self.providers}

    # -- plans (read only) -----------------------------------------------------------------

    def plan_deploy(self) -> Plan:
        state = self.store.load(self.stage)
        steps: list[Step] = []
        for provider in self.providers:
            desired = provider.desired()
            step = provider.diff(desired, provider.read(desired.name))
            previous_name = state.name_of(provider.logical_id)
            if previous_name and previous_name != desired.name:
                steps.extend(provider.retire(provider.read(previous_name), desired, step))
            else:
                steps.append(step)
        return Plan(stage=self.stage, operation="deploy", steps=tuple(steps))

    def plan_destroy(self) -> Plan:
        state = self.store.load(self.stage)
        steps: list[Step] = []
        for provider in reversed(self.providers):
            names = [provider.name]
            previous_name = state.name_of(provider.logical_id)
            if previous_name and previous_name != provider.name:
                names.append(previous_name)
            steps.extend(provider.delete_step(provider.read(name)) for name in names)
        return Plan(stage=self.stage, operation="destroy", steps=tuple(steps))

    # -- changes ---------------------------------------------------------------------------

    def deploy(self, plan: Plan, adopt: bool = False, allow_data_loss: bool = False) -> Result:
        """Carry out a deploy plan; refuse before any change if it needs adoption or loses data."""
        unowned = plan.needs_adoption
        if unowned and not adopt:
            raise NotOwned(
                "; ".join(f"{s.kind} {s.name} exists but is not ours" for s in unowned)
                + ": re-run with --adopt to take it over"
            )
        lossy = plan.destroys_data
        if lossy and not allow_data_loss:
            raise ValidationError(
                "; ".join(f"{s.kind} {s.name}: {s.reason}" for s in lossy)
                + ": replacing it deletes its data; re-run with --allow-data-loss to go ahead"
            )
        state = self.store.load(self.stage)
        outcomes = []
        for step in plan.steps:
            outcome = self._run(step)
            outcomes.append(outcome)
            self._remember(state, outcome)
        state.outputs = self.outputs(outcomes)
        self.store.save(state)
        return Result(plan=plan, outcomes=tuple(outcomes), outputs=state.outputs)

    def destroy(self, plan: Plan) -> Result:
        state = self.store.load(self.stage)
        outcomes = []
        for step in plan.steps:
            outcome = self._run(step)
            outcomes.append(outcome)
            if isinstance(outcome.final, Absent) and state.name_of(step.logical_id) == step.name:
                state.forget(step.logical_id)
                self.store.save(state)
        return Result(plan=plan, outcomes=tuple(outcomes), outputs={})

    def _run(self, step: Step) -> Outcome:
        provider = self._by_id[step.logical_id]
        if isinstance(step, Noop) and step.observed is not None:
            return Outcome(step, step.observed)
        if not step.changes_anything:
            return Outcome(step, provider.read(step.name))
        return Outcome(step, provider.apply(step))

    def _remember(self, state: StackState, outcome: Outcome) -> None:
        final, step = outcome.final, outcome.step
        if isinstance(final, Observed) and step.name == self._by_id[step.logical_id].name:
            state.record(step.logical_id, step.kind, final.name, final.arn)
            self.store.save(state)

    @staticmethod
    def outputs(outcomes: list[Outcome]) -> dict[str, str]:
        final = {
            o.step.logical_id: o.final
            for o in outcomes
            if isinstance(o.final, Observed)
        }
        outputs = {}
        for output, (logical_id, attribute) in OUTPUTS.items():
            if logical_id in final:
                outputs[output] = getattr(final[logical_id], attribute)
        return outputs


def _final_dict(final: ReadResult) -> dict[str, Any]:
    if isinstance(final, Absent):
        return {"state": "absent", "name": final.name}
    state = "ours" if isinstance(final, Observed) else "not-ours"
    return {"state": state, "name": final.name, "arn": final.arn, "tags": final.tags}
