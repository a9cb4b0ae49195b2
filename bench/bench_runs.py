"""Benchmark: AWS calls per run of the target function, and STS calls in a cold function.

Run: .venv/bin/python bench/bench_runs.py (or through ``make bench``).

Everything runs on moto in this process (no network); calls are counted with a hook on the
botocore session, so the figures are exact counts, not timings. Each figure is measured twice
in the same run: through the service as it is, and through a baseline written here that does
what the target function did before (read the schedule, put the execution record, publish,
then one update for the execution and one for the schedule's summary; for an SQS target a
GetQueueUrl first, every run).

A run is measured for each target kind (web action, notification, custom SNS topic, custom
SQS queue), with the Input EventBridge Scheduler holds for the schedule: "warm" (the
function's process already holds the schedule's definition: it ran it before) and "cold" (a
new process, or one that does not hold it); and cold with an Input that names the schedule
only (a payload over 4 KB, a run now, or a schedule applied before the Input stated its
record). The STS figure is a cold process's first request, first command and first run with
``AWS_ACCOUNT_ID`` set as the packaged template sets it, against the same with it unset (the
account id then comes from STS GetCallerIdentity).

Memory: in a fresh subprocess, the growth of the resident set while a warm process keeps the
definitions of 300 distinct schedules whose payloads are ~59 KB of many small values, just
under the per-entry bound (the worst case: such a payload takes about 8.5 times its
serialized size in memory), with the cache as it is (bounded in payload bytes) against the
same cache bounded in entries only, as it was.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import environment, figure, moto_credentials

STAGE = "dev"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's account
TARGET_KINDS = ("web_action", "notification", "custom_sns", "custom_sqs")
RUN_TARGET = 2  # calls per run: the claim and the dispatch, the outcome folded in
ROOT = Path(__file__).resolve().parents[1]
MEMORY_SCHEDULES = 300
MEMORY_TARGET_MB = 20.0
ENVIRONMENT = {"STAGE": STAGE, **moto_credentials(REGION)}
DEFINITION = {
    "name": "bench-run",
    "schedule_expression": "cron(0 6 * * ? *)",
    "timezone": "America/New_York",
    "payload": {"action": "bench"},
}


def run() -> list[dict[str, Any]]:
    from moto import mock_aws

    with environment(ENVIRONMENT, unset=("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCOUNT_ID")), mock_aws():
        return _measure()


# --- the process the functions run in --------------------------------------------------


def _cold_process() -> None:
    """Forget every client, every built object and every account id, as a new Lambda
    process starts with none."""
    from chalicelib import clients, wiring

    clients.reset()
    wiring.reset()


def _apply_commands(tap: Any, command_topic: str) -> None:
    """Deliver what the API published to the command function, as SNS does."""
    from chalicelib import wiring

    for message in tap.drain(command_topic):
        result = wiring.topic_messages().handle({"Message": json.dumps(message), "MessageId": uuid.uuid4().hex})
        assert result.get("outcome") == "applied", result


def _event(schedule_id: str, execution: str) -> dict[str, Any]:
    """A firing whose Input names the schedule only (a payload over 4 KB, a run now, or a
    schedule applied before the Input stated its record)."""
    return {"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z",
            "execution_id": execution, "attempt": "1"}


def _scheduled_event(schedule_id: str, execution: str) -> dict[str, Any]:
    """A firing as EventBridge Scheduler sends it: the Input it holds for the schedule."""
    from chalicelib import clients, wiring

    settings = wiring.get_settings()
    held = clients.client("scheduler", settings).get_schedule(
        Name=schedule_id, GroupName=settings.schedule_group_name)["Target"]["Input"]
    event: dict[str, Any] = json.loads(held)
    event.update(scheduled_time="2026-11-24T11:00:00Z", execution_id=execution, attempt="1")
    return event


class _Context:
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


# --- the baseline: the run as it was ----------------------------------------------------


def baseline_run(settings: Any, schedule_id: str, execution_id: str) -> None:
    """The target function before: read the schedule; put the execution record if new;
    publish (an SQS target looked its queue's URL up first, every run); store the outcome;
    fold it into the schedule's summary."""
    from chalicelib import clients, wiring
    from chalicelib.models import iso

    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    schedule = table.get_item(Key={"id": schedule_id})["Item"]
    definition = schedule["definition"]
    key = {"id": f"{schedule_id}#execution#{execution_id}"}
    table.put_item(Item={**key, "record_type": "execution", "outcome": "started", "started_at": iso(wiring.now())},
                   ConditionExpression="attribute_not_exists(id)")
    message = json.dumps({"schedule_id": schedule_id, "execution_id": execution_id, "payload": definition.get("payload")})
    kind = definition["target_type"]
    if kind == "custom" and ":sqs:" in definition["target_arn"]:
        sqs = clients.client("sqs", settings)
        url = sqs.get_queue_url(QueueName=definition["target_arn"].rsplit(":", 1)[1])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=message)
    else:
        arn = definition.get("target_arn") or clients.topic_arn(
            settings.web_actions_topic_name if kind == "web_action" else settings.notifications_topic_name, settings)
        clients.client("sns", settings).publish(TopicArn=arn, Message=message)
    table.update_item(Key=key, UpdateExpression="SET outcome = :o", ExpressionAttributeValues={":o": "succeeded"})
    table.update_item(Key={"id": schedule_id}, UpdateExpression="SET last_outcome = :o",
                      ExpressionAttributeValues={":o": "succeeded"})


# --- measuring ------------------------------------------------------------------------------


def _measure() -> list[dict[str, Any]]:
    import boto3

    from chalicelib import wiring
    from chalicelib.identity import Caller
    from chalicelib.models import ScheduleDefinition
    from tests.aws_calls import AwsCalls
    from tests.support import Tap, create_stage_resources

    stage = create_stage_resources(STAGE)
    tap = Tap(stage["queues"])
    settings = wiring.get_settings()
    command_topic = settings.command_topic_name
    owner = Caller("bench-owner")

    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName=f"rez-agent-custom-{STAGE}-bench")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name=f"rez-agent-custom-{STAGE}-bench")["TopicArn"]
    targets = {
        "web_action": {"target_type": "web_action"},
        "notification": {"target_type": "notification"},
        "custom_sns": {"target_type": "custom", "target_arn": topic_arn},
        "custom_sqs": {"target_type": "custom", "target_arn": queue_arn},
    }

    calls = AwsCalls().install()
    schedule_ids = {}
    for kind in TARGET_KINDS:
        definition = ScheduleDefinition.model_validate({**DEFINITION, **targets[kind], "name": f"bench-{kind}"})
        schedule_ids[kind] = wiring.schedule_service(settings).create(definition, owner).id
    _apply_commands(tap, command_topic)

    def counted(action: Callable[..., Any], *args: Any) -> int:
        calls.reset()
        action(*args)
        return sum(n for call, n in calls.calls.items() if not call.startswith("sts:"))

    def fire(runner: Any, event: dict[str, Any]) -> None:
        result = runner.run(event, _Context())
        assert result["outcome"] == "succeeded", result

    figures = []
    with environment({"AWS_ACCOUNT_ID": ACCOUNT_ID}):  # as the packaged template sets it
        for kind in TARGET_KINDS:
            schedule_id = schedule_ids[kind]
            scheduled = [_scheduled_event(schedule_id, f"{kind}-{n}") for n in ("cold", "warm")]
            _cold_process()
            calls.install()
            runner = wiring.target_runner()
            cold = counted(fire, runner, scheduled[0])
            warm = counted(fire, runner, scheduled[1])
            _cold_process()
            calls.install()
            unstated = counted(fire, wiring.target_runner(), _event(schedule_id, f"{kind}-unstated"))
            before = counted(baseline_run, wiring.get_settings(), schedule_id, f"{kind}-before")
            label = kind.replace("_", " ")
            for when, value in (("warm", warm), ("cold", cold), ("cold, Input without the record", unstated)):
                figures.append(figure(f"AWS calls per run, {label} target, {when}", value, "calls", before,
                                      f"<= {RUN_TARGET}", value <= RUN_TARGET))

    figures.append(_sts_figure(calls, tap, command_topic, owner, targets["web_action"]))
    figures.append(_memory_figure())
    return figures


def _sts_figure(calls: Any, tap: Any, command_topic: str, owner: Any, target: dict[str, Any]) -> dict[str, Any]:
    """STS calls in a cold process's first request, command and run: with the account id
    set (as packaged) and without it (the account id resolved by STS, as before)."""
    from chalicelib import wiring
    from chalicelib.models import ScheduleDefinition

    def first_requests() -> int:
        _cold_process()
        calls.install()
        definition = ScheduleDefinition.model_validate({**DEFINITION, **target, "name": f"bench-sts-{uuid.uuid4().hex[:8]}"})
        schedule_id = wiring.schedule_service().create(definition, owner).id
        _apply_commands(tap, command_topic)
        result = wiring.target_runner().run(_event(schedule_id, "sts"), _Context())
        assert result["outcome"] == "succeeded", result
        return calls.calls["sts:GetCallerIdentity"]

    with environment({"AWS_ACCOUNT_ID": ACCOUNT_ID}):
        now = first_requests()
    before = first_requests()
    return figure("STS calls, a cold process's first create, command and run", now, "calls", before, "0", now == 0)


_MEMORY_CHILD = r"""
import gc, json, sys
sys.path.insert(0, sys.argv[1])
from chalicelib.clock import system_clock
from chalicelib.models import Schedule, ScheduleDefinition, ScheduleStatus, iso, new_id
from chalicelib.runs import DefinitionCache

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")

count, bounded = int(sys.argv[2]), sys.argv[3] == "bounded"
cache = DefinitionCache() if bounded else DefinitionCache(payload_bytes=10**12, payload_bytes_each=10**12)
now = iso(system_clock())
gc.collect()
before = rss()
for i in range(count):
    definition = ScheduleDefinition(name=f"s{i}", schedule_expression="rate(1 hour)", target_type="web_action",
                                    payload={f"k{j}": i + j for j in range(4_000)})
    cache.keep(Schedule(id=new_id(), definition=definition, status=ScheduleStatus.ACTIVE,
                        created_by="bench", created_date=now, updated_date=now))
gc.collect()
print(json.dumps({"growth": rss() - before, "kept": len(cache)}))
"""


def _memory_figure(count: int = MEMORY_SCHEDULES) -> dict[str, Any]:
    """RSS growth of a warm target function keeping ``count`` large definitions."""

    def measure(mode: str) -> dict[str, Any]:
        result = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(ROOT), str(count), mode],
                                capture_output=True, text=True, timeout=600, check=True)
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    now, before = measure("bounded"), measure("entries-only")
    growth, baseline = now["growth"] / 2**20, before["growth"] / 2**20
    return figure(
        f"RSS growth of a warm target function, {count} schedules with ~59 KB payloads "
        f"(kept: {now['kept']} vs {before['kept']})",
        growth, "MB", baseline, f"< {MEMORY_TARGET_MB:g} MB", growth < MEMORY_TARGET_MB,
    )


if __name__ == "__main__":
    for row in run():
        print(row)
