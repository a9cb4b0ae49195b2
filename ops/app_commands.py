"""``app deploy|destroy|outputs``, ``run``, ``stop`` and ``local``: the app's stack, the local
run, and the API alone."""

from __future__ import annotations

import argparse
from typing import TextIO

from ops import app_stack, local, run


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    app = commands.add_parser("app", help="the app's CloudFormation stack")
    actions = app.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("deploy", "package the app and create or update its stack"),
        ("destroy", "delete the app's stack and its uploaded packages"),
        ("outputs", "print where a deployed stage answers"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("--stage", required=True, help="the stage, e.g. dev")
        if action == "deploy":
            sub.add_argument(
                "--allow-open-api",
                action="store_true",
                default=None,
                help="deploy a stage other than local whose declaration says auth none "
                f"(or set {app_stack.ENV_ALLOW_OPEN_API}=1)",
            )
    app.set_defaults(handler=app_command)

    start = commands.add_parser("run", help="the whole service locally, until Ctrl-C")
    start.add_argument("--port", type=int, default=None, help="ministack's port (default 4566 if free)")
    start.add_argument("--verbose", action="store_true", help="the functions' raw JSON lines, every one")
    start.set_defaults(handler=lambda args, out: run.run(port=args.port, out=out, verbose=args.verbose))

    serve = commands.add_parser("local", help="the API alone on 127.0.0.1 (chalice local), until Ctrl-C")
    serve.add_argument("--port", type=int, default=None, help="the API's port (default 8000 if free)")
    serve.set_defaults(handler=lambda args, out: local.main(port=args.port, out=out))

    stop = commands.add_parser("stop", help="stop a run left in the background")
    stop.set_defaults(handler=lambda args, out: run.stop(out=out))


def app_command(args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "deploy":
        outputs = app_stack.deploy_app(args.stage, out=out, allow_open_api=args.allow_open_api)
    elif args.action == "destroy":
        app_stack.destroy_app(args.stage, out=out)
        return 0
    else:
        outputs = app_stack.app_outputs(args.stage)
    for line in app_stack.render_outputs(outputs):
        print(line, file=out)
    return 0
