"""The IAM policies of the app's functions, and each stage's Chalice configuration: one
declaration, written to ``.chalice/``.

Each function gets only what it calls, scoped to this stage's resources by name. Chalice's
automatic policy generation is off (it does not know EventBridge Scheduler), so
``.chalice/policy-<stage>[-<function>].json`` and the stage's entry in
``.chalice/config.json`` are generated from here:

    python -m ops policy --stage dev --write

``make deploy`` does the same for a stage that has no files yet. A unit test fails when a
committed file and this declaration disagree.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from chalicelib import config
from chalicelib import names as function_names
from chalicelib.config import ResourceNames, partition_of, resource_names

CHALICE_DIR = Path(__file__).resolve().parent.parent / ".chalice"

# The functions of app.py.
API = function_names.API_HANDLER
COMMAND = function_names.SCHEDULE_COMMAND
TARGET = function_names.SCHEDULE_TARGET
RECONCILE = function_names.RECONCILE
ALERT_SWEEP = function_names.ALERT_SWEEP
DEAD_LETTERS = function_names.DEAD_LETTERS
RESULTS = function_names.HANDLE_RESULTS
FUNCTIONS = (API, COMMAND, TARGET, RECONCILE, ALERT_SWEEP, DEAD_LETTERS, RESULTS)

SCHEDULE_WRITE = ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"]

# What each function calls: its DynamoDB actions, then its other capabilities.
TABLE_ACTIONS: dict[str, list[str]] = {
    # DeleteItem: a run-now whose invoke failed is forgotten
    API: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
    # PutItem: history entries; UpdateItem/DeleteItem: the alert watch
    COMMAND: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    # TransactWriteItems is authorised as the actions inside it (UpdateItem here: the run, its
    # summary, the alert watch; ConditionCheckItem: a backfill run's check of the record, which
    # it leaves as it is); GetItem/PutItem: a failed run's alert (the watch, its marker)
    TARGET: ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    RECONCILE: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
    # Query: due watches, runs since the watermark; PutItem/UpdateItem: alert markers,
    # watermarks, an automatic pause; DeleteItem: the watch of a schedule no longer active
    ALERT_SWEEP: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
    DEAD_LETTERS: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
    # as the target's: the run's record and summary, the alert watch, a failed run's alert
    RESULTS: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
}
GRANTS: dict[str, list[str]] = {
    # publish_alerts: a failure reported through the route alerts at once
    API: ["logs", "table", "publish_commands", "invoke_target", "publish_alerts"],
    COMMAND: ["logs", "table", "schedules_write", "schedules_get", "pass_role"],
    # invoke_target: a backfill's walk continues in a new invocation of itself
    TARGET: ["logs", "table", "publish_targets", "failure_destination", "invoke_target"],
    RECONCILE: ["logs", "table", "schedules_write", "schedules_get", "schedules_list", "pass_role"],
    ALERT_SWEEP: ["logs", "table", "publish_commands", "publish_alerts"],
    DEAD_LETTERS: ["logs", "table", "read_dead_letters"],
    # a report refused, or a reported failure, is published to the notifications topic;
    # invoke_target: the report of a buffer_one schedule's run releases the slot that waited
    RESULTS: ["logs", "table", "publish_alerts", "invoke_target"],
}


def custom_target_statements(names: ResourceNames) -> list[dict[str, Any]]:
    """Exactly the custom targets the service accepts (``ScheduleService._check_target``):
    SNS topics, SQS queues and Lambda functions named with the stage's prefix (stage names
    hold no '-', so no other stage's), in the stage's partition and region, in the
    function's own account; never a FIFO topic or queue (the service refuses them too)."""
    region = config.settings_for(names.stage).region
    partition = partition_of(region)
    prefix = names.custom_target_prefix
    own_account = {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}
    return [
        {
            "Sid": "PublishToCustomTopics",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": f"arn:{partition}:sns:{region}:*:{prefix}*",
            "Condition": own_account,
        },
        {
            "Sid": "SendToCustomQueues",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": f"arn:{partition}:sqs:{region}:*:{prefix}*",
            "Condition": own_account,
        },
        {
            "Sid": "InvokeCustomFunctions",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:{partition}:lambda:{region}:*:function:{prefix}*",
            "Condition": own_account,
        },
        {
            "Sid": "NoFifoTargets",
            "Effect": "Deny",
            "Action": ["sns:Publish", "sqs:SendMessage"],
            "Resource": [f"arn:{partition}:sns:*:*:{prefix}*.fifo", f"arn:{partition}:sqs:*:*:{prefix}*.fifo"],
        },
    ]


def _statements(names: ResourceNames, function: str) -> dict[str, list[dict[str, Any]]]:
    table = f"arn:aws:dynamodb:*:*:table/{names.table}"
    log_group = f"arn:aws:logs:*:*:log-group:/aws/lambda/{names.function(function)}"
    group = names.schedule_group
    return {
        "logs": [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group, f"{log_group}:*"],
            }
        ],
        "table": [
            {
                "Sid": "ScheduleRecords",
                "Effect": "Allow",
                "Action": TABLE_ACTIONS[function],
                "Resource": [table, f"{table}/index/*"] if "dynamodb:Query" in TABLE_ACTIONS[function] else table,
            }
        ],
        "publish_commands": [
            {
                "Sid": "PublishCommands",
                "Effect": "Allow",
                "Action": "sns:Publish",
                "Resource": f"arn:aws:sns:*:*:{names.command_topic}",
            }
        ],
        "invoke_target": [
            {
                # run-now and backfill: the stage's target function, the one EventBridge
                # Scheduler invokes (a backfill's walk invokes it again with the slots left)
                "Sid": "InvokeTargetFunction",
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": f"arn:aws:lambda:*:*:function:{names.function(TARGET)}",
            }
        ],
        "publish_alerts": [
            {
                "Sid": "PublishAlerts",
                "Effect": "Allow",
                "Action": "sns:Publish",
                "Resource": f"arn:aws:sns:*:*:{names.notifications_topic}",
            }
        ],
        "publish_targets": [
            {
                "Sid": "PublishToTargets",
                "Effect": "Allow",
                "Action": "sns:Publish",
                "Resource": [
                    f"arn:aws:sns:*:*:{names.web_actions_topic}",
                    f"arn:aws:sns:*:*:{names.notifications_topic}",
                ],
            },
            *custom_target_statements(names),
        ],
        "failure_destination": [
            {
                # Lambda sends the record of an invocation that failed every attempt (the
                # function's on-failure destination) with the function's own role.
                "Sid": "SendFailuresToDeadLetters",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": f"arn:aws:sqs:*:*:{names.dead_letter_queue}",
            }
        ],
        "read_dead_letters": [
            {
                # The SQS event source reads and deletes with the function's role.
                "Sid": "ReadDeadLetters",
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": f"arn:aws:sqs:*:*:{names.dead_letter_queue}",
            }
        ],
        "schedules_write": [
            {
                "Sid": "ManageSchedulesInGroup",
                "Effect": "Allow",
                "Action": SCHEDULE_WRITE,
                "Resource": f"arn:aws:scheduler:*:*:schedule/{group}/*",
            }
        ],
        "schedules_get": [
            {
                "Sid": "ReadSchedulesInGroup",
                "Effect": "Allow",
                "Action": "scheduler:GetSchedule",
                "Resource": f"arn:aws:scheduler:*:*:schedule/{group}/*",
            },
        ],
        "schedules_list": [
            {
                # ListSchedules has no resource type: it cannot be scoped further.
                "Sid": "ListSchedules",
                "Effect": "Allow",
                "Action": "scheduler:ListSchedules",
                "Resource": "*",
            }
        ],
        "pass_role": [
            {
                "Sid": "PassExecutionRoleToScheduler",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": f"arn:aws:iam::*:role/{names.execution_role}",
                "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            }
        ],
    }


def policy_for(stage: str, function: str) -> dict[str, Any]:
    """The IAM policy document of one function of one stage."""
    names = resource_names(stage)
    available = _statements(names, function)
    statements = [statement for grant in GRANTS[function] for statement in available[grant]]
    return {"Version": "2012-10-17", "Statement": statements}


def policy_filename(stage: str, function: str) -> str:
    """The API handler uses the stage's default file; the others have their own."""
    return f"policy-{stage}.json" if function == API else f"policy-{stage}-{function}.json"


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


LAMBDA_TIMEOUTS = {COMMAND: 60, TARGET: 30, RECONCILE: 300, ALERT_SWEEP: 120, DEAD_LETTERS: 30, RESULTS: 30}

LOCAL_STAGE = "local"
# Who may be named as a results publisher: one IAM role or user (a role covers its sessions).
PUBLISHER_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]{1,512}")


@dataclass(frozen=True)
class StageAccess:
    """Who may call a stage's API, and how fast (docs/security.md).

    ``auth``: ``iam`` (SigV4), ``cognito`` (tokens of ``cognito_user_pool_arns``) or ``none``
    (open: the local stage only). Admins act on every schedule: ``admin_principals`` are IAM
    ARNs (a role's ARN covers its sessions) or Cognito ``sub``s, ``admin_cognito_group`` a
    group. ``cors_origins``: the one browser origin allowed, if any. ``throttle_rate`` and
    ``throttle_burst``: API Gateway's stage throttle, requests per second.
    ``results_publishers``: IAM role or user ARNs of workers in other accounts that may publish
    their runs' results to the stage's results topic (the stage's own account may always, as
    its IAM policies allow: ``ops.stack.policies.results_topic_policy``)."""

    auth: str = config.AUTH_IAM
    cognito_user_pool_arns: tuple[str, ...] = ()
    admin_principals: tuple[str, ...] = ()
    admin_cognito_group: str | None = None
    cors_origins: tuple[str, ...] = ()
    throttle_rate: float = 50.0
    throttle_burst: int = 100
    results_publishers: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        """What the functions read (chalicelib.config): the mode always, the rest when set."""
        variables = {config.ENV_AUTH_MODE: self.auth}
        for variable, values in (
            (config.ENV_COGNITO_USER_POOL_ARNS, self.cognito_user_pool_arns),
            (config.ENV_ADMIN_PRINCIPALS, self.admin_principals),
            (config.ENV_ADMIN_COGNITO_GROUP, (self.admin_cognito_group,) if self.admin_cognito_group else ()),
            (config.ENV_CORS_ALLOWED_ORIGINS, self.cors_origins),
        ):
            if values:
                variables[variable] = ",".join(values)
        return variables

    def problems(self) -> list[str]:
        """What makes this declaration impossible to deploy as written."""
        found = []
        if self.auth not in config.AUTH_MODES:
            found.append(f"auth must be one of {', '.join(config.AUTH_MODES)}, not {self.auth!r}")
        if self.auth == config.AUTH_COGNITO and not self.cognito_user_pool_arns:
            found.append("auth cognito needs cognito_user_pool_arns (the user pool ARNs)")
        if len(self.cors_origins) > 1:
            found.append("cors_origins allows one origin (API Gateway answers preflights with a fixed one)")
        if self.throttle_rate <= 0 or self.throttle_burst <= 0:
            found.append("throttle_rate and throttle_burst must be positive")
        found.extend(
            f"results_publishers: {arn!r} is not an IAM role or user ARN "
            "(arn:aws:iam::<12-digit account>:role/<name> or :user/<name>)"
            for arn in self.results_publishers
            if not PUBLISHER_ARN.fullmatch(arn)
        )
        return found


# Every stage authenticates with IAM unless declared here; only the local stage runs open.
# After a change: python -m ops policy --stage <stage> --write (and commit .chalice/).
STAGE_ACCESS: dict[str, StageAccess] = {
    LOCAL_STAGE: StageAccess(auth=config.AUTH_NONE),
}


def stage_access(stage: str) -> StageAccess:
    return STAGE_ACCESS.get(stage, StageAccess())


def tracing(stage: str, directory: Path = CHALICE_DIR) -> bool:
    """Whether the stage runs X-Ray active tracing: the ``"xray"`` its entry in config.json
    sets (edit it there to change), else on for every stage but ``local`` (the emulator)."""
    try:
        current = json.loads((directory / "config.json").read_text()).get("stages", {}).get(stage, {})
    except (OSError, ValueError):
        current = {}
    configured = current.get("xray")
    return configured if isinstance(configured, bool) else stage != "local"


def stage_config(stage: str) -> dict[str, Any]:
    """The stage's entry in .chalice/config.json: its environment, policy files and tracing."""
    names = resource_names(stage)
    return {
        "api_gateway_stage": "api",
        "xray": tracing(stage),
        "autogen_policy": False,
        "iam_policy_file": policy_filename(stage, API),
        "environment_variables": {
            config.ENV_STAGE: stage,
            **names.overridden(),
            config.ENV_RECONCILE_MINUTES: "15",
            config.ENV_ALERT_SWEEP_MINUTES: "1",
            **stage_access(stage).environment(),
        },
        "lambda_functions": {
            function: {"iam_policy_file": policy_filename(stage, function), "lambda_timeout": timeout}
            for function, timeout in LAMBDA_TIMEOUTS.items()
        },
    }


def write(stage: str, directory: Path = CHALICE_DIR) -> list[Path]:
    """Write the stage's policy files and its entry in config.json; the paths written."""
    written = []
    for function in FUNCTIONS:
        path = directory / policy_filename(stage, function)
        path.write_text(render(policy_for(stage, function)))
        written.append(path)
    config_path = directory / "config.json"
    chalice_config = json.loads(config_path.read_text())
    chalice_config.setdefault("stages", {})[stage] = stage_config(stage)
    config_path.write_text(json.dumps(chalice_config, indent=2) + "\n")
    written.append(config_path)
    return written


def write_if_changed(stage: str, directory: Path = CHALICE_DIR) -> list[Path]:
    """Bring the stage's policy files and config entry in line with the names in force
    (a new stage, or a renamed resource); the paths that changed."""
    changed = []
    for function in FUNCTIONS:
        path = directory / policy_filename(stage, function)
        text = render(policy_for(stage, function))
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    config_path = directory / "config.json"
    chalice_config = json.loads(config_path.read_text())
    if chalice_config.get("stages", {}).get(stage) != stage_config(stage):
        chalice_config.setdefault("stages", {})[stage] = stage_config(stage)
        config_path.write_text(json.dumps(chalice_config, indent=2) + "\n")
        changed.append(config_path)
    return changed


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "policy",
        help="print the stage's IAM policies, or write them and its Chalice config",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--stage", required=True, help="the stage, e.g. dev")
    parser.add_argument("--write", action="store_true", help="write the files into .chalice/")
    parser.set_defaults(handler=policy_command)


def policy_command(args: argparse.Namespace, out: TextIO) -> int:
    if args.write:
        for path in write(args.stage):
            print(path, file=out)
    else:
        print(render({f: policy_for(args.stage, f) for f in FUNCTIONS}), end="", file=out)
    return 0
