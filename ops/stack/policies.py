"""The stack's policy documents (the execution role's, the results topic's), and the canonical
form they are compared in.

IAM returns a document as it was written, and the same policy can be written several ways
(one action as a string or a one-element list, statements in any order). ``canonical``
maps all of those to one form so a diff reports only real changes.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

POLICY_VERSION = "2012-10-17"
SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
INVOKE_TARGET_POLICY = "invoke-schedule-target"
SEND_DEAD_LETTERS_POLICY = "send-dead-letters"
_SCALAR_KEYS = frozenset({"Version", "Id", "Sid", "Effect"})


def scheduler_trust_policy(account_id: str) -> dict[str, Any]:
    """Only EventBridge Scheduler, acting for this account, may assume the role."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SCHEDULER_PRINCIPAL},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def invoke_function_policy(function_arn: str) -> dict[str, Any]:
    """Invoke the one target function (any version or alias of it), nothing else."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "InvokeScheduleTarget",
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": [function_arn, f"{function_arn}:*"],
            }
        ],
    }


def send_dead_letters_policy(queue_arn: str) -> dict[str, Any]:
    """EventBridge Scheduler sends a schedule's dead letters with the execution role: send to
    the stage's dead-letter queue, nothing else."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "SendDeadLetters",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            }
        ],
    }


def results_topic_policy(
    topic_arn: str, account_id: str, partition: str, publishers: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Who may publish to the results topic: principals of the stage's own account whose IAM
    policies allow it, and the listed ``publishers`` (IAM role or user ARNs, another
    account's workers); everyone else is denied, and so is a publish without TLS. A report
    is trusted for who sent it, never for a secret inside it (docs/security.md)."""
    own_account = f"arn:{partition}:iam::{account_id}:root"
    outsiders: dict[str, Any] = {"StringNotEquals": {"aws:PrincipalAccount": account_id}}
    if publishers:
        outsiders["ArnNotEquals"] = {"aws:PrincipalArn": list(publishers)}
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "WorkersPublishResults",
                "Effect": "Allow",
                "Principal": {"AWS": [own_account, *publishers]},
                "Action": "sns:Publish",
                "Resource": topic_arn,
            },
            {
                "Sid": "NoOtherPublishers",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": outsiders,
            },
            {
                "Sid": "PublishOverTlsOnly",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def parse(document: Any) -> Any:
    """A policy document as a dict, whether IAM gave a dict, JSON or URL-encoded JSON."""
    if isinstance(document, str):
        text = document if document.lstrip().startswith("{") else urllib.parse.unquote(document)
        return json.loads(text)
    return document


def canonical(document: Any) -> Any:
    """One form for equivalent documents: lists everywhere a list is allowed, sorted."""
    return _canonical(parse(document), key=None)


def _canonical(value: Any, key: str | None) -> Any:
    if key == "Statement" and isinstance(value, dict):
        value = [value]
    if isinstance(value, dict):
        return {k: _canonical(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_canonical(item, None) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if key is not None and key not in _SCALAR_KEYS:
        return [value]
    return value
