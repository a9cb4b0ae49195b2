"""``stack plan | deploy | destroy``: the command-line face of ``Stack``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TextIO

from chalicelib.config import settings_for
from ops.stack.engine import Outcome, Result, Stack
from ops.stack.model import Plan, Unowned


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``stack`` command and its subcommands to the top-level parser."""
    stack = commands.add_parser(
        "stack",
        help="the stage's AWS resources: role, table, topics, schedule group",
        description="Plan, deploy and destroy one stage's AWS resources.",
    )
    actions = stack.add_subparsers(dest="stack_command", required=True, metavar="ACTION")

    plan = actions.add_parser("plan", help="show what deploy (or destroy) would change")
    _common(plan)
    plan.add_argument("--destroy", action="store_true", help="plan a destroy instead")
    plan.set_defaults(handler=plan_command)

    deploy = actions.add_parser("deploy", help="create or repair the stage's resources")
    _common(deploy)
    deploy.add_argument(
        "--adopt",
        action="store_true",
        help="take over resources that exist without this stage's ownership tags",
    )
    deploy.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="allow replacing the table when its primary key changed (deletes its items)",
    )
    deploy.set_defaults(handler=deploy_command)

    destroy = actions.add_parser("destroy", help="delete the stage's resources that are ours")
    _common(destroy)
    destroy.set_defaults(handler=destroy_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True, help="the stage, e.g. dev")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def plan_command(args: argparse.Namespace, out: TextIO) -> int:
    stack = Stack(settings_for(args.stage))
    plan = stack.plan_destroy() if args.destroy else stack.plan_deploy()
    if args.json:
        _print_json(plan.to_dict(), out)
    else:
        print(plan.render(), file=out)
        for step in plan.needs_adoption:
            print(f"note: {step.kind} {step.name} is not ours: deploy needs --adopt", file=out)
    return 0


def deploy_command(args: argparse.Namespace, out: TextIO) -> int:
    stack = Stack(settings_for(args.stage))
    return _run(stack.plan_deploy(), args, out, lambda plan: stack.deploy(
        plan, adopt=args.adopt, allow_data_loss=args.allow_data_loss
    ))


def destroy_command(args: argparse.Namespace, out: TextIO) -> int:
    stack = Stack(settings_for(args.stage))
    return _run(stack.plan_destroy(), args, out, stack.destroy)


def _run(
    plan: Plan, args: argparse.Namespace, out: TextIO, carry_out: Callable[[Plan], Result]
) -> int:
    """Print the plan, carry it out, print what happened; 0 when converged, else 1."""
    if not args.json:
        print(plan.render(), file=out, flush=True)
    result = carry_out(plan)
    if args.json:
        _print_json(result.to_dict(), out)
    else:
        _print_result(result, out)
    return 0 if result.converged else 1


def _print_result(result: Result, out: TextIO) -> None:
    done = [o for o in result.outcomes if o.step.changes_anything]
    print("done:" if done else "done: nothing changed", file=out)
    for outcome in done:
        print(f"  {outcome.step.render()} -> {_final_word(outcome)}", file=out)
    left = [o.step for o in result.outcomes if isinstance(o.final, Unowned)]
    for step in left:
        print(f"  left {step.kind} {step.name}: it is not ours", file=out)
    if result.outputs:
        print("outputs:", file=out)
        for key, value in result.outputs.items():
            print(f"  {key} = {value}", file=out)
    if not result.converged:
        print("error: the stack did not converge (see the steps above)", file=out)


def _final_word(outcome: Outcome) -> str:
    """What the cloud reported after the step: "ours", "absent" or "not ours"."""
    return {"Observed": "ours", "Absent": "absent", "Unowned": "not ours"}[
        type(outcome.final).__name__
    ]


def _print_json(data: Any, out: TextIO) -> None:
    print(json.dumps(data, indent=2, default=str), file=out)
