"""``reconcile``: schedule records vs. the group's schedules, from the command line."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from chalicelib import wiring
from chalicelib.config import settings_for
from chalicelib.reconcile import report


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "reconcile",
        help="converge the stage's schedules with their records and print the drift",
        description=(
            "Re-create schedules missing in the cloud, reset ones changed out of band, finish "
            "records stuck pending, retry records in error whose retry is due, and report "
            "schedules in the group that have no record and schedules that could not be "
            "checked. Exit 1 when a change failed or something could not be checked."
        ),
    )
    parser.add_argument("--stage", required=True, help="the stage, e.g. dev")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--prune", action="store_true", help="delete schedules in the group with no record")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=reconcile_command)


def reconcile_command(args: argparse.Namespace, out: TextIO) -> int:
    reconciler = wiring.reconciler(settings_for(args.stage))
    plan = reconciler.plan(prune=args.prune)
    outcomes = [] if args.dry_run else reconciler.apply(plan)
    failed = [outcome for outcome in outcomes if not outcome.ok]
    if args.json:
        print(json.dumps(report(plan, outcomes, args.dry_run), indent=2), file=out)
    else:
        print(("plan (dry run, nothing changed):\n" if args.dry_run else "") + plan.render(), file=out)
        for outcome in outcomes:
            mark = "ok  " if outcome.ok else "FAIL"
            print(f"{mark} {outcome.repair.action} {outcome.repair.schedule_id}: {outcome.detail}", file=out)
    return 1 if failed or plan.unchecked else 0
