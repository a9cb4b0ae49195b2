"""Each function's IAM policy grants exactly the AWS actions the function calls.

Every AWS call the app makes is recorded (the shared call recorder on the cached clients)
while each function runs through its paths; the calls must be allowed by that function's policy,
and every action the policy grants must have been called.
"""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from chalicelib import clients, wiring
from chalicelib.clock import system_clock
from integration.recorder import CallRecorder
from ops import policy
from tests.support import REGION, TEE_TIMES
from tests.timeline_support import create_target_function

# Calls that need no IAM permission.
FREE = {"sts:GetCallerIdentity"}
# Actions AWS checks on our behalf inside another call: passing the execution role.
IMPLIED = {"scheduler:CreateSchedule": "iam:PassRole", "scheduler:UpdateSchedule": "iam:PassRole"}
# API operations whose IAM action has another name.
IAM_ACTION = {"lambda:Invoke": "lambda:InvokeFunction"}
# Granted for the Lambda runtime's own use (it writes the function's logs).
RUNTIME = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
# Granted for what Lambda does with the function's role, not the function's code: the
# target's on-failure destination, the dead-letter consumer's SQS event source.
LAMBDA_SERVICE = {
    "schedule_target": {"sqs:SendMessage"},
    "dead_letters": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
}


class FunctionCalls:
    """The calls each function makes: what the recorder saw while the function ran."""

    def __init__(self, recorder: CallRecorder):
        self.recorder = recorder
        self.calls: dict[str, set[str]] = {}

    def run(self, function: str, action):
        self.recorder.clear()
        try:
            return action()
        finally:
            made = set()
            for call in self.recorder.calls:
                # IAM checks each step of a transaction under its own action, not the transaction
                made.update(f"{call.service}:{step}" for step in call.steps or (call.operation,))
            self.calls.setdefault(function, set()).update(made)
            self.recorder.clear()


def granted(function: str) -> set[str]:
    actions = set()
    for statement in policy.policy_for("dev", function)["Statement"]:
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    return actions


@pytest.fixture
def recorder(moto_stage):
    clients.reset()  # the functions build their objects on the recorded clients
    calls = CallRecorder(("dynamodb", "sns", "scheduler", "sts", "sqs", "lambda")).attach()
    yield FunctionCalls(calls)
    calls.detach()


def exercise_every_function(client, moto_stage, names, recorder, monkeypatch):
    """Drive each function through the paths that call AWS."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="rez-agent-custom-dev-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="rez-agent-custom-dev-alerts")["TopicArn"]

    def api(method, path, body=None, headers=None):
        return recorder.run("api_handler", lambda: getattr(client.http, method)(
            path, headers={"Content-Type": "application/json", **(headers or {})},
            **({"body": json.dumps(body)} if body is not None else {})))

    def commands():
        for command in moto_stage["tap"].drain(names.command_topic):
            event = client.events.generate_sns_event(message=json.dumps(command))
            recorder.run("schedule_command", lambda event=event: client.lambda_.invoke("schedule_command", event))

    def fire(schedule_id, execution_id):
        event = {"schedule_id": schedule_id, "execution_id": execution_id,
                 "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"}
        recorder.run("schedule_target", lambda: client.lambda_.invoke("schedule_target", event))

    web = api("post", "/api/schedules", TEE_TIMES).json_body["id"]
    note = api("post", "/api/schedules", {**TEE_TIMES, "target_type": "notification"}).json_body["id"]
    to_queue = api("post", "/api/schedules", {**TEE_TIMES, "target_type": "custom", "target_arn": queue_arn}).json_body["id"]
    to_topic = api("post", "/api/schedules", {**TEE_TIMES, "target_type": "custom", "target_arn": topic_arn}).json_body["id"]
    commands()
    api("get", "/api/schedules")
    api("get", "/api/schedules?created_by=anonymous")
    api("get", f"/api/schedules/{web}")
    api("post", f"/api/schedules/{web}/pause")
    api("put", f"/api/schedules/{note}", {**TEE_TIMES, "target_type": "notification", "schedule_expression": "rate(1 hour)"})
    commands()
    for index, schedule_id in enumerate((web, note, to_queue, to_topic)):
        fire(schedule_id, f"e{index}")
    # a run given up on: the dead-letter consumer records it
    dead_letter = {"requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
                   "requestPayload": {"schedule_id": note, "execution_id": "e-dead",
                                      "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"},
                   "responsePayload": {"errorType": "Error", "errorMessage": "boom"}}
    recorder.run("dead_letters", lambda: client.lambda_.invoke(
        "dead_letters", client.events.generate_sqs_event(message_bodies=[json.dumps(dead_letter)])))
    api("get", f"/api/schedules/{web}/executions")
    api("delete", f"/api/schedules/{to_topic}")
    commands()
    # run-now: refused while the target function is missing (and forgotten), then run
    api("post", f"/api/schedules/{note}/run")
    create_target_function()
    api("post", f"/api/schedules/{note}/run")
    # backfill: the API's dry run and its request (the schedule is new: nothing to start),
    # then a walk of two slots, which continues in a new invocation of the target function
    window = {"from": "2026-11-24T00:00:00Z", "to": "2026-11-24T12:00:00Z"}
    api("post", f"/api/schedules/{note}/backfill", {**window, "dry_run": True})
    api("post", f"/api/schedules/{note}/backfill", window)
    walk = {"schedule_id": note, "scheduled_time": "2026-11-24T11:00:00Z", "trigger": "backfill",
            "backfill_slots": ["2026-11-24T12:00:00Z"]}
    walked = recorder.run("schedule_target", lambda: client.lambda_.invoke("schedule_target", walk))
    assert walked.payload["outcome"] == "continued"
    api("get", f"/api/schedules/{note}/history")
    api("get", f"/api/schedules/{note}/timeline")
    # the alert sweep, two hours on: a failed run pauses a schedule (pause_after_failures),
    # missed slots alert; the next sweep lets go of the schedule being paused
    flaky = api("post", "/api/schedules", {
        **TEE_TIMES, "schedule_expression": "rate(5 minutes)", "target_type": "custom",
        "target_arn": queue_arn.replace("inbox", "absent"), "alerts": {"pause_after_failures": 1},
    }).json_body["id"]
    commands()
    slot = api("get", f"/api/schedules/{flaky}").json_body["next_fire_time"]
    event = {"schedule_id": flaky, "execution_id": "f1", "scheduled_time": slot, "attempt": 1}
    failed = recorder.run("schedule_target", lambda: client.lambda_.invoke("schedule_target", event))
    assert failed.payload["outcome"] == "failed"  # its queue does not exist: final, not retried
    # a worker reports on the results topic: a failure (recorded and alerted), then a report
    # of a run that does not exist (refused to the notifications topic)
    reported = api("post", "/api/schedules", {**TEE_TIMES, "schedule_expression": "rate(5 minutes)"}).json_body["id"]
    commands()
    slot = api("get", f"/api/schedules/{reported}").json_body["next_fire_time"]
    fired = recorder.run("schedule_target", lambda: client.lambda_.invoke(
        "schedule_target", {"schedule_id": reported, "execution_id": "r1", "scheduled_time": slot, "attempt": 1}))
    assert fired.payload["outcome"] == "succeeded", fired.payload
    for execution_id in ("r1", "r-unknown"):
        report = {"schedule_id": reported, "execution_id": execution_id, "outcome": "failed", "message": "disk full"}
        event = client.events.generate_sns_event(message=json.dumps(report), subject="run report")
        recorder.run("handle_results", lambda event=event: client.lambda_.invoke("handle_results", event))
    assert {m.get("kind") for m in moto_stage["tap"].drain(names.notifications_topic)} >= {"failed"}
    later = system_clock() + timedelta(hours=2)
    for minutes in (0, 10):  # the second sweep, once the paused schedule's watch is due again
        wiring.use_clock(lambda minutes=minutes: later + timedelta(minutes=minutes))
        try:
            recorder.run("alert_sweep", lambda: client.lambda_.invoke("alert_sweep", client.events.generate_cw_event(
                source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])))
        finally:
            wiring.use_clock(None)
    assert any(m.get("kind") == "paused" for m in moto_stage["tap"].drain(names.notifications_topic))
    # drift for the periodic reconcile: one deleted, one changed, a create and a delete left pending
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.delete_schedule(Name=to_queue, GroupName=names.schedule_group)
    current = scheduler.get_schedule(Name=note, GroupName=names.schedule_group)
    scheduler.update_schedule(Name=note, GroupName=names.schedule_group, ScheduleExpression="rate(9 minutes)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=current["Target"])
    api("post", "/api/schedules", TEE_TIMES)
    api("delete", f"/api/schedules/{web}")
    moto_stage["tap"].drain(names.command_topic)  # their commands are lost
    recorder.run("reconcile", lambda: client.lambda_.invoke("reconcile", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])))


def declared_functions(functions: tuple[str, ...]) -> list[str]:
    """The functions of the policy, each of which app.py must declare."""
    import app as app_module

    declared = set(app_module.app.handler_map) | {policy.API}
    missing = set(functions) - declared
    assert not missing, f"the policy names functions app.py lacks: {sorted(missing)}"
    return list(functions)


@pytest.mark.slow  # drives every function through every path it has, on the whole stage
def test_each_function_calls_only_what_its_policy_grants_and_uses_all_of_it(chalice_client, moto_stage, names, recorder, monkeypatch):
    # GIVEN every function run through its paths
    exercise_every_function(chalice_client, moto_stage, names, recorder, monkeypatch)
    wiring.reset()
    for function in declared_functions(policy.FUNCTIONS):
        called = {IAM_ACTION.get(call, call) for call in recorder.calls.get(function, set())} - FREE
        called |= {IMPLIED[call] for call in called if call in IMPLIED}
        allowed = granted(function)
        # THEN nothing was called that its policy does not grant
        assert called <= allowed, f"{function} calls {sorted(called - allowed)} without a grant"
        # AND the policy grants nothing it does not call (beyond the runtime's logs, and
        # custom Lambda targets, which moto cannot invoke)
        unused = allowed - called - RUNTIME - LAMBDA_SERVICE.get(function, set()) - {"lambda:InvokeFunction"}
        assert not unused, f"{function} is granted {sorted(unused)} but never calls them"
    # AND run-now's invoke is one of the API's calls (the grant names only the stage's target),
    # and a backfill's continuation one of the target function's
    assert "lambda:Invoke" in recorder.calls[policy.API]
    assert "lambda:Invoke" in recorder.calls[policy.TARGET]
