"""The operator's command line: ``python -m ops <command> ...``.

    python -m ops stack plan|deploy|destroy --stage dev   # the stage's AWS resources
    python -m ops reconcile --stage dev [--dry-run] [--prune] [--json]
    python -m ops policy --stage dev [--write]             # IAM policies + Chalice config
    python -m ops app deploy|destroy|outputs --stage dev   # the app's CloudFormation stack
    python -m ops run [--port N]                           # make run
    python -m ops stop                                     # make stop

Each command group registers itself on the top-level parser (``register(commands)``) and
sets a handler that takes the parsed arguments and an output stream and returns the exit
code. Errors are reported one way for every command: ``error: <what went wrong>`` on
standard error.

Exit codes: 0 done (converged), 1 failed, 2 bad usage (argparse), 3 a resource exists
without our ownership tags (re-run with ``--adopt``).

The endpoint, region and credentials come from the environment, as for every command of
this project (``AWS_ENDPOINT_URL`` for an emulator; nothing for AWS).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ServiceError
from ops import app_commands, policy, reconcile_cli
from ops.app_stack import DeployError
from ops.stack import commands as stack_commands
from ops.stack.engine import NotOwned

EXIT_FAILED = 1
EXIT_NOT_OWNED = 3

COMMAND_GROUPS = (stack_commands, reconcile_cli, policy, app_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops",
        description="Operate rez-agent schedules: its AWS resources, its app, its convergence.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each retry and wait")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=err)
    try:
        code: int = args.handler(args, out)
        return code
    except NotOwned as exc:
        print(f"error: {exc.message}", file=err)
        return EXIT_NOT_OWNED
    except ServiceError as exc:
        print(f"error: {exc.code}: {exc.message}", file=err)
        return EXIT_FAILED
    except (DeployError, ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    except Exception:  # noqa: BLE001 - an unexpected failure: show where, exit non-zero
        traceback.print_exc(file=err)
        return EXIT_FAILED
