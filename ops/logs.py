"""Following what the running service does: its functions' CloudWatch Logs, and the messages
it publishes to the web-actions and notifications topics.

``LogFollower`` polls FilterLogEvents on ``/aws/lambda/<function>`` (ministack, LocalStack and
AWS all write the functions' output there) and prints each new line once, labelled with the
function. ``TopicTap`` subscribes an SQS queue to each output topic and prints what arrives:
that is how to watch a schedule's web action being published.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from ops.log_lines import render

# Lines the Lambda platform adds around each invocation; REPORT is kept, shortened.
_PLATFORM_PREFIXES = ("START RequestId:", "END RequestId:", "INIT_START", "EXTENSION")


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S")


def shorten(message: str) -> str | None:
    """The line to print for one log event, or None to skip it."""
    text = message.rstrip("\n")
    if text.startswith(_PLATFORM_PREFIXES):
        return None
    if text.startswith("REPORT RequestId:"):
        fields = dict(
            part.split(": ", 1) for part in text.split("\t") if ": " in part
        )
        return f"-- invocation done in {fields.get('Duration', '?')}"
    return text


class LogFollower:
    """Prints new events of some log groups, each once, oldest first."""

    def __init__(
        self,
        logs_client: Any,
        groups: dict[str, str],  # log group -> label
        out: TextIO = sys.stdout,
        since_ms: int | None = None,
        overlap_ms: int = 15_000,
        raw: bool = False,
        readable: bool = False,
        color: bool = False,
    ):
        self._logs = logs_client
        self._groups = groups
        self._out = out
        self._overlap = overlap_ms
        self._raw = raw
        self._readable = readable  # one line per event from the JSON (ops.log_lines)
        self._color = color
        start = since_ms if since_ms is not None else int(time.time() * 1000)
        self._high: dict[str, int] = {group: start for group in groups}
        self._seen: dict[str, dict[tuple[Any, ...], int]] = {group: {} for group in groups}

    def poll(self) -> int:
        """Print what arrived since the last poll; returns how many lines were printed."""
        count = 0
        batch: list[tuple[int, str, str]] = []
        for group, label in self._groups.items():
            batch.extend((ts, label, msg) for ts, msg in self._new_events(group))
        for ts, label, message in sorted(batch, key=lambda item: item[0]):
            if self._readable and not self._raw:
                shown = [render(part, label, ts, color=self._color) for part in message.splitlines()]
                for text in (text for text in shown if text is not None):
                    print(text, file=self._out, flush=True)
                    count += 1
                continue
            line = message.rstrip("\n") if self._raw else shorten(message)
            if line is None:
                continue
            for part in line.splitlines() or [""]:
                print(f"{_clock(ts)} [{label}] {part}", file=self._out, flush=True)
            count += 1
        return count

    def _new_events(self, group: str) -> list[tuple[int, str]]:
        start = self._high[group] - self._overlap
        events = []
        token = None
        for _ in range(20):  # AWS may page, even with empty pages
            request: dict[str, Any] = {"logGroupName": group, "startTime": max(start, 0)}
            if token:
                request["nextToken"] = token
            try:
                page = self._logs.filter_log_events(**request)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return []  # no invocation yet
                raise
            events.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token:
                break
        seen = self._seen[group]
        occurrences: Counter[tuple[Any, ...]] = Counter()
        fresh = []
        for event in sorted(events, key=lambda e: (e["timestamp"], e.get("ingestionTime", 0))):
            base = (event.get("eventId"), event.get("logStreamName"), event["timestamp"], event["message"])
            occurrences[base] += 1
            key = (*base, occurrences[base])
            if key in seen:
                continue
            seen[key] = event["timestamp"]
            fresh.append((event["timestamp"], event["message"]))
            self._high[group] = max(self._high[group], event["timestamp"])
        floor = self._high[group] - 2 * self._overlap
        for key in [k for k, ts in seen.items() if ts < floor]:
            del seen[key]
        return fresh


class TopicTap:
    """An SQS queue subscribed to each of some SNS topics; prints every message that arrives."""

    def __init__(self, sns: Any, sqs: Any, topics: dict[str, str], prefix: str, out: TextIO = sys.stdout):
        self._sns = sns
        self._sqs = sqs
        self._topics = topics  # label -> topic ARN
        self._prefix = prefix
        self._out = out
        self._queues: dict[str, str] = {}  # label -> queue URL
        self._subscriptions: list[str] = []

    def start(self) -> None:
        for label, topic_arn in self._topics.items():
            name = f"{self._prefix}-{label}"
            url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
            queue_arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                    }
                ],
            }
            self._sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
            subscription = self._sns.subscribe(
                TopicArn=topic_arn,
                Protocol="sqs",
                Endpoint=queue_arn,
                Attributes={"RawMessageDelivery": "true"},
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
            self._queues[label] = url
            self._subscriptions.append(subscription)

    def poll(self, on_message: Callable[[str, Any], None] | None = None) -> int:
        count = 0
        for label, url in self._queues.items():
            messages = self._sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            for message in messages:
                body = message["Body"]
                try:
                    parsed: Any = json.loads(body)
                    shown = json.dumps(parsed, sort_keys=True)
                except ValueError:
                    parsed, shown = body, body
                print(f"{time.strftime('%H:%M:%S')} [{label} topic] {shown}", file=self._out, flush=True)
                if on_message:
                    on_message(label, parsed)
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                count += 1
        return count

    def stop(self) -> None:
        """Unsubscribe and delete the queues (best effort: the endpoint may be gone)."""
        for subscription in self._subscriptions:
            with contextlib.suppress(ClientError, BotoCoreError):
                self._sns.unsubscribe(SubscriptionArn=subscription)
        for url in self._queues.values():
            with contextlib.suppress(ClientError, BotoCoreError):
                self._sqs.delete_queue(QueueUrl=url)
        self._subscriptions.clear()
        self._queues.clear()
