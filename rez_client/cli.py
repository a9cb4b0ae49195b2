"""rez-agent schedules from the command line: global options, then one command whose options
come from the API's OpenAPI document.

    python -m rez_client --base http://127.0.0.1:4566/_aws/execute-api/ID/local list --status active
    BASE=https://ID.execute-api.us-east-1.amazonaws.com/dev python -m rez_client --auth sigv4 get ID
    python -m rez_client --as team-golf create --body @examples/tee-times.json   # open local stage
    python -m rez_client publish @examples/sns-create-nightly-report.json        # the command topic

``--base`` is the URL in front of ``/api`` (the stage's URL). Exit status: 0 on success, 1
when the API refused the request (its message is printed) or could not be reached, 2 for a
usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, TextIO

from rez_client import apply as fleet
from rez_client import publish
from rez_client.api import AUTH_MODES, TIMEOUT_SECONDS, Api, Auth, ClientError, Operation, Parameter, operations
from rez_client.commands import COMMANDS, METAVARS, Command
from rez_client.output import render

ENV_BASE = "BASE"
ENV_TOKEN = "REZ_TOKEN"
ENV_AS = "REZ_AS"
PROGRAM = "python -m rez_client"
PUBLISH = "publish"
# Who the caller is on an open (local) stage: sent on every request by --as, not per command.
CREATED_BY_HEADER = "X-Created-By"


class UsageError(Exception):
    pass


def main(
    argv: list[str] | None = None,
    document: dict[str, Any] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command; ``document`` skips fetching the API's own (tests pass the generated one)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    options, rest = global_parser().parse_known_args(argv)
    wants_help = any(arg in ("-h", "--help") for arg in argv)
    base = options.base or os.environ.get(ENV_BASE)
    try:
        if rest and rest[0] == PUBLISH:
            return _publish(argv, out)
        if not base:
            if wants_help or not argv:
                build_parser(None).print_help(out)
                return 0
            raise UsageError(f"--base (or {ENV_BASE}) is required: the API's URL")
        auth = Auth(options.auth, options.token or os.environ.get(ENV_TOKEN), options.region)
        api = Api(base, auth, timeout=options.timeout, acting_as=_acting_as(options))
        if rest and rest[0] in fleet.COMMANDS:  # schedules as code (rez_client/apply.py)
            return fleet.main(api, rest, out, err)
        known = operations(document if document is not None else api.document())
        parser = build_parser(known)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:
            return int(exit_.code or 0)
        if not getattr(args, "command", None):
            parser.print_help(out)
            return 2
        answer = run(api, known, args)
        out.write(render(answer, args.output, args.bound.columns) + "\n")
        return 0
    except UsageError as error:
        err.write(f"{PROGRAM}: {error}\n")
        return 2
    except ClientError as error:
        err.write(f"error: {error}\n")
        return 1


def global_parser(add_help: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, add_help=add_help, description="rez-agent schedules from the command line.")
    parser.add_argument("--base", help=f"the API's URL, before /api (default: ${ENV_BASE})")
    parser.add_argument("--output", choices=("json", "table"), default="json", help="json (default) or table")
    parser.add_argument("--auth", choices=AUTH_MODES, default="none", help="how to authenticate (default none)")
    parser.add_argument("--token", help=f"the Cognito token for --auth cognito (default: ${ENV_TOKEN})")
    parser.add_argument("--region", help="the region to sign for with --auth sigv4 (default: from the URL)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS, help="seconds to wait for an answer")
    parser.add_argument(
        "--as", dest="acting_as", metavar="NAME",
        help=f"who you are on an open (local) stage, sent as {CREATED_BY_HEADER} (default: ${ENV_AS}; "
        "without one you act as the local stage's admin, who sees every schedule)",
    )
    return parser


def _acting_as(options: argparse.Namespace) -> str | None:
    """The name to act as: --as, else $REZ_AS; only an open stage takes it."""
    if options.acting_as and options.auth != "none":
        raise UsageError(f"--as names you on an open (local) stage; with --auth {options.auth} you are who authenticates")
    if options.auth != "none":
        return None
    return options.acting_as or os.environ.get(ENV_AS) or None


def _publish(argv: list[str], out: TextIO) -> int:
    parser = global_parser(add_help=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    publish.add_arguments(commands.add_parser(PUBLISH, help=PUBLISH_HELP, description=PUBLISH_HELP))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    message = _read_json(args.message, "MESSAGE")
    if not isinstance(message, dict):
        raise UsageError("MESSAGE must be a JSON object")
    out.write(render(publish.publish(args, message), args.output) + "\n")
    return 0


PUBLISH_HELP = "publish a message to a stage's command topic (SNS, with boto3) instead of calling the API"


def build_parser(known: dict[tuple[str, str], Operation] | None) -> argparse.ArgumentParser:
    parser = global_parser(add_help=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        operation = None if known is None else known.get((command.method, command.path))
        offered = known is None or operation is not None
        sub = commands.add_parser(
            command.name,
            help=command.help if offered else f"{command.help} (not offered by this API)",
            description=operation.summary if operation else command.help,
        )
        sub.set_defaults(bound=command)
        if operation is None:
            sub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            continue
        _add_operation_arguments(sub, command, operation)
    commands.add_parser(PUBLISH, help=PUBLISH_HELP)  # parsed on its own (_publish): it needs no API
    return parser


def option_name(parameter_name: str) -> str:
    return "--" + parameter_name.lower().replace("_", "-")


def _dest(location: str, name: str) -> str:
    return f"{location}__{name.lower().replace('-', '_')}"


def _add_operation_arguments(sub: argparse.ArgumentParser, command: Command, operation: Operation) -> None:
    for parameter in operation.parameters:
        dest = _dest(parameter.location, parameter.name)
        if parameter.location == "path":
            sub.add_argument(dest, metavar=parameter.name.upper(), help=parameter.description)
        else:
            choices = parameter.schema.get("enum")
            sub.add_argument(
                option_name(parameter.name),
                dest=dest,
                choices=choices,
                metavar=None if choices else _metavar(parameter),
                help=_option_help(command, parameter),
            )
    if operation.has_body:
        for option in command.body_options:
            if option.flag:
                sub.add_argument(option_name(option.field), dest=_dest("body", option.field), action="store_const",
                                 const=True, default=None, help=f"{option.help} (body {option.field}: true)")
            else:
                sub.add_argument(option_name(option.field), dest=_dest("body", option.field), choices=option.choices,
                                 metavar=None if option.choices else option.metavar,
                                 help=f"{option.help} (body {option.field})")
        if command.body_positional:
            sub.add_argument(command.body_positional, help=f"the body's {command.body_positional}")
        sub.add_argument(
            "--body",
            help="the JSON body: inline JSON, @file.json, or - for standard input"
            + (" (merged over the positional field)" if command.body_positional else ""),
        )


def _option_help(command: Command, parameter: Parameter) -> str:
    if parameter.name == CREATED_BY_HEADER:
        return argparse.SUPPRESS  # the global --as says it once for every command
    described = command.option_help.get(parameter.name, parameter.description)
    return f"{described} ({parameter.location} {parameter.name})"


def _metavar(parameter: Parameter) -> str:
    if parameter.name in METAVARS:
        return METAVARS[parameter.name]
    if parameter.schema.get("format") == "date-time":
        return "TIME"
    return parameter.name.upper().replace("-", "_")


def run(api: Api, known: dict[tuple[str, str], Operation], args: argparse.Namespace) -> Any:
    command: Command = args.bound
    operation = known.get((command.method, command.path))
    if operation is None:
        raise ClientError(
            f"the API at {api.base} does not offer {command.name} ({command.method} {command.path})"
        )
    path = command.path
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for parameter in operation.parameters:
        value = getattr(args, _dest(parameter.location, parameter.name), None)
        if value is None:
            continue
        if parameter.location == "path":
            path = path.replace("{" + parameter.name + "}", _quote(value))
        elif parameter.location == "query":
            query[parameter.name] = value
        elif parameter.location == "header":
            headers[parameter.name] = value
    body = _body(command, operation, args)
    return api.send(operation.method, path, query, headers, body).body


def _body(command: Command, operation: Operation, args: argparse.Namespace) -> Any:
    if not operation.has_body:
        return None
    body: dict[str, Any] = {}
    if command.body_positional and getattr(args, command.body_positional, None) is not None:
        body[command.body_positional] = getattr(args, command.body_positional)
    raw = getattr(args, "body", None)
    if raw is not None:
        parsed = _read_json(raw, "--body")
        if not isinstance(parsed, dict):
            raise UsageError("--body must be a JSON object")
        body.update(parsed)
    for option in command.body_options:
        value = getattr(args, _dest("body", option.field), None)
        if value is not None:
            body[option.field] = value
    if not body:
        raise UsageError(f"{command.name} needs a body: --body JSON, --body @file.json or --body -")
    return body


def _read_json(raw: str, what: str) -> Any:
    if raw == "-":
        text = sys.stdin.read()
    elif raw.startswith("@"):
        try:
            with open(raw[1:], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise UsageError(f"cannot read {raw[1:]}: {error.strerror}") from None
    else:
        text = raw
    try:
        return json.loads(text)
    except ValueError as error:
        raise UsageError(f"{what} is not valid JSON: {error}") from None


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
