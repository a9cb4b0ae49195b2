"""``python -m deploy``: the app stack on AWS or an emulator, and the local run.

    python -m deploy app deploy --stage dev     # after `python -m chalicelib.cli stack deploy`
    python -m deploy app destroy --stage dev    # before `python -m chalicelib.cli stack destroy`
    python -m deploy app outputs --stage dev    # BASE=... of a deployed stage
    python -m deploy run [--port N]             # make run
    python -m deploy stop                       # make stop

The endpoint, region and credentials come from the environment, as for every command of
this project (``AWS_ENDPOINT_URL`` for an emulator; nothing for AWS).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from deploy import app_stack, run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    app = commands.add_parser("app", help="the app's CloudFormation stack")
    actions = app.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("deploy", "package the app and create or update its stack"),
        ("destroy", "delete the app's stack and its uploaded packages"),
        ("outputs", "print where a deployed stage answers"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("--stage", required=True)

    start = commands.add_parser("run", help="the whole service locally, until Ctrl-C")
    start.add_argument("--port", type=int, default=None, help="ministack's port (default 4566 if free)")
    commands.add_parser("stop", help="stop a run left in the background")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run.run(port=args.port)
    if args.command == "stop":
        return run.stop()
    try:
        if args.action == "deploy":
            outputs = app_stack.deploy_app(args.stage)
        elif args.action == "destroy":
            app_stack.destroy_app(args.stage)
            return 0
        else:
            outputs = app_stack.app_outputs(args.stage)
    except (app_stack.DeployError, ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in app_stack.describe(outputs):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
