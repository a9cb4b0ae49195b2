"""The operator's command line: ``python -m chalicelib.cli <command> ...``.

Each command group registers itself on the top-level parser (``register(commands)``) and
sets a handler: ``stack`` (the stage's resources) and ``reconcile`` (its schedules). A
handler takes the parsed arguments and an output stream and returns the exit code.

Exit codes: 0 done (converged), 1 failed, 2 bad usage (argparse), 3 a resource exists
without our ownership tags (re-run with ``--adopt``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from typing import Sequence, TextIO

from chalicelib import reconcile_cli
from chalicelib.errors import NotOwned, ServiceError
from chalicelib.stack import commands as stack_commands

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NOT_OWNED = 3

COMMAND_GROUPS = (stack_commands, reconcile_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.cli",
        description="Operate rez-agent schedules: its AWS resources and their convergence.",
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
        return args.handler(args, out)
    except NotOwned as exc:
        print(f"error: {exc.message}", file=err)
        return EXIT_NOT_OWNED
    except ServiceError as exc:
        print(f"error: {exc.code}: {exc.message}", file=err)
        return EXIT_FAILED
    except Exception:  # an unexpected failure: show where, exit non-zero
        traceback.print_exc(file=err)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
