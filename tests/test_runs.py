"""Runs are never lost and never doubled: claims that expire with the invocation's deadline,
every fault after the claim leaves the run claimable, the summary counts runs exactly, a
lost response is recognised as our own write, paused and deleted schedules do not fire, and
a warm run makes three AWS calls whatever its target (five, six for SQS, before)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import clients, wiring
from chalicelib.errors import UpstreamUnavailable
from chalicelib.runs import CACHED_PAYLOAD_BYTES_EACH, RunStore, TargetRunner
from chalicelib.scheduler import STATED_PAYLOAD_BYTES
from tests.aws_rules import enforce_dynamodb_rules
from tests.support import REGION, TEE_TIMES, deliver_commands, post


@pytest.fixture(autouse=True)
def aws_rules(moto_stage):
    """DynamoDB's request rules that moto does not enforce (see tests/aws_rules.py)."""
    enforce_dynamodb_rules()

T0 = datetime(2026, 11, 24, 11, 0, 5, tzinfo=UTC)


class Killed(BaseException):
    """The runtime stopping the function at its timeout: nothing after it runs."""


@dataclass
class Context:
    """The part of the Lambda context the target reads."""

    aws_request_id: str
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Clock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


class Publisher:
    """The real publisher, with a way to make the next dispatch die or fail."""

    def __init__(self, real):
        self.real = real
        self.die_next = False
        self.fail_next: Exception | None = None

    def publish(self, target_arn, message, attributes=None):
        if self.die_next:
            self.die_next = False
            raise Killed()
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        self.real.publish(target_arn, message, attributes)


@pytest.fixture
def runner_parts(moto_stage):
    settings = wiring.get_settings()
    clock = Clock(T0)
    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    store = RunStore(table, ttl_days=30, clock=clock)
    publisher = Publisher(wiring.publisher(settings))
    runner = TargetRunner(
        store, publisher,
        web_actions_topic_arn=partial(clients.topic_arn, settings.web_actions_topic_name, settings),
        notifications_topic_arn=partial(clients.topic_arn, settings.notifications_topic_name, settings),
        clock=clock,
    )
    return runner, store, publisher, clock


def active_schedule(client, moto_stage, names, body=None) -> str:
    schedule_id = post(client, "/api/schedules", body or TEE_TIMES).json_body["id"]
    deliver_commands(client, moto_stage, names)
    return schedule_id


def event_for(schedule_id, execution_id="exec-1", **extra):
    return {"schedule_id": schedule_id, "scheduled_time": "2026-11-24T11:00:00Z",
            "execution_id": execution_id, "attempt": "1", **extra}


def executions(client, schedule_id):
    return client.http.get(f"/api/schedules/{schedule_id}/executions").json_body["items"]


def summary(client, schedule_id):
    return client.http.get(f"/api/schedules/{schedule_id}").json_body["executions"]


def test_a_run_that_timed_out_runs_again_on_the_lambda_retry_exactly_once(chalice_client, moto_stage, names, runner_parts):
    runner, _, publisher, clock = runner_parts
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    context = Context("req-1")  # Lambda's retries of an asynchronous invoke keep its request id
    # GIVEN a run that claimed its execution and was stopped at its timeout before dispatching
    publisher.die_next = True
    with pytest.raises(Killed):
        runner.run(event_for(schedule_id), context)
    [claimed] = executions(chalice_client, schedule_id)
    assert claimed["outcome"] == "started"
    assert claimed["claim_expires_at"] == "2026-11-24T11:00:40Z"  # deadline (30 s) + 5 s margin
    # WHEN a duplicate arrives while the claim holds, THEN it is skipped
    clock.moment = T0 + timedelta(seconds=10)
    assert runner.run(event_for(schedule_id), Context("req-2"))["outcome"] == "duplicate"
    # WHEN Lambda retries 60 s later, THEN the run executes
    clock.moment = T0 + timedelta(seconds=60)
    assert runner.run(event_for(schedule_id), context)["outcome"] == "succeeded"
    # AND the retry 180 s later does not run it again
    clock.moment = T0 + timedelta(seconds=180)
    assert runner.run(event_for(schedule_id), context)["outcome"] == "duplicate"
    # THEN exactly one message went out, and the record shows both attempts
    assert len(moto_stage["tap"].drain(names.web_actions_topic)) == 1
    [record] = executions(chalice_client, schedule_id)
    assert (record["outcome"], record["attempts"]) == ("succeeded", 2)
    assert [entry["started_at"] for entry in record["attempt_log"]] == ["2026-11-24T11:00:05Z", "2026-11-24T11:01:05Z"]
    assert [entry["request_id"] for entry in record["attempt_log"]] == ["req-1", "req-1"]
    assert "claim_expires_at" not in record
    # AND the summary counts one run
    assert (summary(chalice_client, schedule_id)["total"], summary(chalice_client, schedule_id)["failed"]) == (1, 0)


def test_a_short_deadline_means_a_short_claim(chalice_client, moto_stage, names, runner_parts):
    runner, _, publisher, clock = runner_parts
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    # GIVEN an invocation with 2 s left that dies after claiming
    publisher.die_next = True
    with pytest.raises(Killed):
        runner.run(event_for(schedule_id), Context("req-1", remaining_ms=2_000))
    # WHEN a retry comes 8 s later, THEN the claim has lapsed and the run executes
    clock.moment = T0 + timedelta(seconds=8)
    assert runner.run(event_for(schedule_id), Context("req-1"))["outcome"] == "succeeded"


def test_a_throttled_read_of_the_schedule_leaves_the_run_claimable(chalice_client, moto_stage, names, runner_parts):
    runner, _, _, _ = runner_parts
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    dynamodb = clients.client("dynamodb")  # the resource's client shares the session's events

    def throttle(**_):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "GetItem")

    table_client = wiring.run_store(wiring.get_settings())._client
    for events in {id(dynamodb.meta.events): dynamodb.meta.events, id(table_client.meta.events): table_client.meta.events}.values():
        events.register("before-call.dynamodb.GetItem", throttle)
    # GIVEN the read of the schedule fails on a cold start
    with pytest.raises(UpstreamUnavailable):
        runner.run(event_for(schedule_id), Context("req-1"))
    for events in (dynamodb.meta.events, table_client.meta.events):
        events.unregister("before-call.dynamodb.GetItem", throttle)
    # WHEN Lambda retries at once, THEN the run executes (nothing was claimed)
    assert runner.run(event_for(schedule_id), Context("req-1"))["outcome"] == "succeeded"
    assert len(moto_stage["tap"].drain(names.web_actions_topic)) == 1


def test_a_failed_dispatch_is_recorded_and_the_retry_replaces_it_in_the_summary(chalice_client, moto_stage, names, runner_parts):
    runner, _, publisher, _ = runner_parts
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    # GIVEN a dispatch that fails with a transient error
    publisher.fail_next = UpstreamUnavailable("SNS: ThrottlingException: Rate exceeded")
    with pytest.raises(UpstreamUnavailable):
        runner.run(event_for(schedule_id), Context("req-1"))
    [failed] = executions(chalice_client, schedule_id)
    assert failed["outcome"] == "failed" and "Rate exceeded" in failed["error"]
    assert (summary(chalice_client, schedule_id)["total"], summary(chalice_client, schedule_id)["failed"]) == (1, 1)
    # WHEN Lambda retries and the dispatch works
    assert runner.run(event_for(schedule_id), Context("req-1"))["outcome"] == "succeeded"
    # THEN one run, succeeded, after two attempts
    [record] = executions(chalice_client, schedule_id)
    assert (record["outcome"], record["attempts"], "error" in record) == ("succeeded", 2, False)
    shown = summary(chalice_client, schedule_id)
    assert (shown["total"], shown["failed"], shown["last_outcome"]) == (1, 0, "succeeded")


def test_the_summary_counts_runs_not_attempts_even_when_the_outcome_write_fails(chalice_client, moto_stage, names, runner_parts):
    runner, store, _, clock = runner_parts
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    table_client = store._client
    failures = {"left": 0}

    def fail_outcome(params, **_):
        # the claim's request token ends "-c<n>", the outcome's "-f<outcome>"
        if "-f" in params.get("ClientRequestToken", "") and failures["left"]:
            failures["left"] -= 1
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "TransactWriteItems")

    table_client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", fail_outcome)
    try:
        # GIVEN a run whose outcome write fails once: it is written again at once
        failures["left"] = 1
        assert runner.run(event_for(schedule_id, "exec-0"), Context("req-0"))["outcome"] == "succeeded"
        # AND a run whose outcome write fails twice: the invocation fails, so Lambda retries it
        clock.moment = T0 + timedelta(minutes=1)
        failures["left"] = 2
        with pytest.raises(UpstreamUnavailable):
            runner.run(event_for(schedule_id, "exec-1"), Context("req-1"))
        # WHEN a duplicate comes while its claim holds, and Lambda's retry a minute later
        assert runner.run(event_for(schedule_id, "exec-1"), Context("dup-1"))["outcome"] == "duplicate"
        clock.moment = T0 + timedelta(minutes=2)
        assert runner.run(event_for(schedule_id, "exec-1"), Context("req-1"))["outcome"] == "succeeded"
        # AND one more run, and a duplicate of each
        assert runner.run(event_for(schedule_id, "exec-2"), Context("req-2"))["outcome"] == "succeeded"
        for index in range(3):
            assert runner.run(event_for(schedule_id, f"exec-{index}"), Context(f"dup-{index}"))["outcome"] == "duplicate"
    finally:
        table_client.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", fail_outcome)
    # THEN every run is recorded succeeded, and the summary counts three runs, exactly
    recorded = {item["execution_id"]: item for item in executions(chalice_client, schedule_id)}
    assert {key: item["outcome"] for key, item in recorded.items()} == {
        "exec-0": "succeeded", "exec-1": "succeeded", "exec-2": "succeeded"}
    assert recorded["exec-1"]["attempts"] == 2
    assert summary(chalice_client, schedule_id)["total"] == 3
    # AND the run retried after its outcome was lost reached its target twice, with one id
    messages = [message["execution_id"] for message in moto_stage["tap"].drain(names.web_actions_topic)]
    assert sorted(messages) == ["exec-0", "exec-1", "exec-1", "exec-2"]


class LostFirstResponse:
    """A client whose first TransactWriteItems lands but whose answer is lost, so the same
    request is sent again (what botocore's retry does)."""

    def __init__(self, client):
        self._client = client
        self.lost = 0

    def __getattr__(self, name):
        return getattr(self._client, name)

    def transact_write_items(self, **request):
        if not self.lost:
            self.lost += 1
            self._client.transact_write_items(**request)  # committed; the response never arrives
        return self._client.transact_write_items(**request)


@pytest.mark.parametrize("which", ["claim", "outcome"])
def test_a_write_whose_response_was_lost_is_recognised_as_ours(chalice_client, moto_stage, names, runner_parts, which):
    runner, store, publisher, _ = runner_parts
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    runner.run(event_for(schedule_id, "warm-up"), Context("req-0"))  # the claim is the first write now
    moto_stage["tap"].drain(names.web_actions_topic)
    lossy = LostFirstResponse(store._client)
    if which == "outcome":
        original = publisher.publish

        def then_lose(target_arn, message, attributes=None):
            original(target_arn, message, attributes)
            store._client = lossy

        publisher.publish = then_lose
    else:
        store._client = lossy
    # WHEN the run's claim (or outcome) is written twice because its first answer was lost
    result = runner.run(event_for(schedule_id), Context("req-1"))
    # THEN the run is not lost: it ran once and is recorded once, as succeeded
    assert lossy.lost == 1
    assert result["outcome"] == "succeeded"
    assert len(moto_stage["tap"].drain(names.web_actions_topic)) == 1
    record = next(item for item in executions(chalice_client, schedule_id) if item["execution_id"] == "exec-1")
    assert (record["outcome"], record["attempts"]) == ("succeeded", 1)
    assert summary(chalice_client, schedule_id)["total"] == 2


def test_paused_and_deleted_schedules_do_not_fire_but_a_paused_one_runs_by_hand(chalice_client, moto_stage, names, runner_parts):
    runner, _, _, _ = runner_parts
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    assert runner.run(event_for(schedule_id, "before"), Context("r0"))["outcome"] == "succeeded"  # warm: cached
    moto_stage["tap"].drain(names.web_actions_topic)
    # GIVEN the schedule is paused after this process cached its definition
    chalice_client.http.post(f"/api/schedules/{schedule_id}/pause")
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN it fires on its own, THEN nothing runs and nothing is recorded
    assert runner.run(event_for(schedule_id, "while-paused"), Context("r1"))["outcome"] == "skipped"
    assert moto_stage["tap"].drain(names.web_actions_topic) == []
    # WHEN it is run by hand, THEN it runs, recorded and dispatched as manual
    manual = event_for(schedule_id, "manual-1", trigger="manual")
    assert runner.run(manual, Context("r2"))["outcome"] == "succeeded"
    [message] = moto_stage["tap"].drain(names.web_actions_topic)
    assert message["trigger"] == "manual"
    recorded = {item["execution_id"]: item for item in executions(chalice_client, schedule_id)}
    assert set(recorded) == {"before", "manual-1"}
    assert (recorded["manual-1"]["trigger"], recorded["before"]["trigger"]) == ("manual", "scheduled")
    # GIVEN it is deleted, WHEN run by hand, THEN nothing runs
    chalice_client.http.delete(f"/api/schedules/{schedule_id}")
    deliver_commands(chalice_client, moto_stage, names)
    assert runner.run(event_for(schedule_id, "manual-2", trigger="manual"), Context("r3"))["outcome"] == "skipped"
    assert moto_stage["tap"].drain(names.web_actions_topic) == []


class Calls:
    def __init__(self):
        self.calls: list[str] = []

    def __call__(self, event_name, **_):
        self.calls.append(event_name.split(".", 1)[1])


@pytest.mark.parametrize("target", ["web_action", "notification", "custom_sqs", "custom_sns"])
def test_a_warm_run_makes_three_aws_calls_whatever_its_target(chalice_client, moto_stage, names, target):
    # GIVEN a schedule of each target kind, and a target function that has run once
    body = {**TEE_TIMES, "target_type": target.split("_")[0] if target.startswith("custom") else target}
    if target == "custom_sqs":
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="rez-agent-custom-dev-inbox")["QueueUrl"]
        body["target_arn"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    elif target == "custom_sns":
        body["target_arn"] = boto3.client("sns", region_name=REGION).create_topic(Name="rez-agent-custom-dev-t")["TopicArn"]
    schedule_id = active_schedule(chalice_client, moto_stage, names, body)
    recorded = Calls()
    clients.reset()  # a cold function: clients built from here on carry the recorder
    clients._shared_session()._session.register("before-call", recorded)
    try:
        chalice_client.lambda_.invoke("schedule_target", event_for(schedule_id, "cold"))
        cold = list(recorded.calls)
        recorded.calls.clear()
        # WHEN it fires again
        result = chalice_client.lambda_.invoke("schedule_target", event_for(schedule_id, "warm")).payload
    finally:
        clients._shared_session()._session.unregister("before-call", recorded)
    # THEN the run is the claim, the dispatch and the outcome: three calls (one read more cold)
    assert result["outcome"] == "succeeded"
    dispatch = {"custom_sqs": "sqs.SendMessage", "web_action": "sns.Publish", "notification": "sns.Publish",
                "custom_sns": "sns.Publish"}[target]
    assert recorded.calls == ["dynamodb.TransactWriteItems", dispatch, "dynamodb.TransactWriteItems"]
    # (a cold process also resolves the account id for the topic ARNs: not a per-run cost)
    assert [call for call in cold if not call.startswith("sts.")] == ["dynamodb.GetItem", *recorded.calls]


def test_a_schedule_with_a_payload_too_large_to_keep_reads_its_record_each_run(chalice_client, moto_stage, names):
    # GIVEN a schedule whose payload is over what a warm process keeps between runs
    payload = {"blob": "x" * (CACHED_PAYLOAD_BYTES_EACH + 1_000)}
    schedule_id = active_schedule(chalice_client, moto_stage, names, {**TEE_TIMES, "payload": payload})
    recorded = Calls()
    clients.reset()
    clients._shared_session()._session.register("before-call", recorded)
    try:
        chalice_client.lambda_.invoke("schedule_target", event_for(schedule_id, "first"))
        recorded.calls.clear()
        # WHEN it fires again in the same process
        result = chalice_client.lambda_.invoke("schedule_target", event_for(schedule_id, "second")).payload
    finally:
        clients._shared_session()._session.unregister("before-call", recorded)
    # THEN the run reads the record again (the definition was not kept) and succeeds
    assert result["outcome"] == "succeeded"
    assert recorded.calls == ["dynamodb.GetItem", "dynamodb.TransactWriteItems", "sns.Publish",
                              "dynamodb.TransactWriteItems"]
    # AND the whole payload reached the target
    messages = moto_stage["tap"].drain(names.web_actions_topic)
    assert [m["payload"] for m in messages if m.get("execution_id") == "second"] == [payload]


def test_the_dispatched_message_carries_the_trigger(chalice_client, moto_stage, names):
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    chalice_client.lambda_.invoke("schedule_target", event_for(schedule_id))
    [message] = moto_stage["tap"].drain(names.web_actions_topic)
    assert (message["trigger"], message["execution_id"]) == ("scheduled", "exec-1")
    assert json.dumps(message)


# --- a firing that states its record --------------------------------------------------------


def scheduled_input(names, schedule_id, execution_id):
    """The Input EventBridge Scheduler holds for the schedule, as it sends it at a firing."""
    held = boto3.client("scheduler", region_name=REGION).get_schedule(
        Name=schedule_id, GroupName=names.schedule_group)["Target"]["Input"]
    event = json.loads(held)
    event.update(scheduled_time="2026-11-24T11:00:00Z", execution_id=execution_id, attempt="1")
    return event


def cold_calls(chalice_client, event):
    """The AWS calls of one run in a process that has run nothing yet, and its answer."""
    recorded = Calls()
    clients.reset()
    wiring.reset()
    clients._shared_session()._session.register("before-call", recorded)
    try:
        result = chalice_client.lambda_.invoke("schedule_target", event).payload
    finally:
        clients._shared_session()._session.unregister("before-call", recorded)
    return [call for call in recorded.calls if not call.startswith("sts.")], result


def test_a_cold_run_needs_no_read_when_the_firing_states_the_record(chalice_client, moto_stage, names):
    # GIVEN an active schedule, applied to EventBridge Scheduler
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    # WHEN it fires in a process that holds no definition
    calls, result = cold_calls(chalice_client, scheduled_input(names, schedule_id, "cold-stated"))
    # THEN the run is the claim, the dispatch and the outcome: no read of the record
    assert result["outcome"] == "succeeded"
    assert calls == ["dynamodb.TransactWriteItems", "sns.Publish", "dynamodb.TransactWriteItems"]
    [message] = moto_stage["tap"].drain(names.web_actions_topic)
    assert message["payload"] == TEE_TIMES["payload"] and message["execution_id"] == "cold-stated"


def test_a_forged_firing_dispatches_the_record_not_what_it_states(chalice_client, moto_stage, names):
    # GIVEN an active schedule, and a firing whose stated payload was altered on the way
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    event = scheduled_input(names, schedule_id, "forged")
    event["record"]["definition"]["payload"] = json.dumps({"action": "something else"})
    # WHEN it fires in a process that holds no definition
    calls, result = cold_calls(chalice_client, event)
    # THEN the claim refuses the stated definition and the record's payload is the one sent
    assert result["outcome"] == "succeeded"
    [message] = moto_stage["tap"].drain(names.web_actions_topic)
    assert message["payload"] == TEE_TIMES["payload"]
    assert calls.count("dynamodb.TransactWriteItems") == 3  # the refused claim, the claim, the outcome


def test_a_firing_that_states_an_older_version_runs_the_record_as_it_is_now(chalice_client, moto_stage, names):
    # GIVEN an active schedule whose payload was changed after EventBridge Scheduler got its Input
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    event = scheduled_input(names, schedule_id, "after-change")
    changed = {**TEE_TIMES, "payload": {"action": "check_again"}}
    current = chalice_client.http.get(f"/api/schedules/{schedule_id}")
    response = chalice_client.http.put(
        f"/api/schedules/{schedule_id}", body=json.dumps(changed),
        headers={"Content-Type": "application/json", "If-Match": current.headers["ETag"]})
    assert response.status_code == 202, response.body
    # WHEN the older firing arrives in a cold process
    _, result = cold_calls(chalice_client, event)
    # THEN the current payload is the one dispatched
    assert result["outcome"] == "succeeded"
    [message] = moto_stage["tap"].drain(names.web_actions_topic)
    assert message["payload"] == {"action": "check_again"}


def test_a_firing_stating_a_paused_schedule_is_checked_against_the_record(chalice_client, moto_stage, names):
    # GIVEN an active schedule, and a firing whose Input states it paused (an Input left
    # behind by a pause that was resumed)
    schedule_id = active_schedule(chalice_client, moto_stage, names)
    event = scheduled_input(names, schedule_id, "stale-pause")
    event["record"]["definition"]["state"] = "DISABLED"
    # WHEN it fires
    calls, result = cold_calls(chalice_client, event)
    # THEN the record decides: the schedule is active, so it runs
    assert result["outcome"] == "succeeded"
    assert calls[0] == "dynamodb.GetItem"


def test_a_large_payload_is_not_stated_in_the_input(chalice_client, moto_stage, names):
    # GIVEN a schedule whose payload is over what the Input states
    schedule_id = active_schedule(chalice_client, moto_stage, names,
                                  {**TEE_TIMES, "payload": {"blob": "x" * (STATED_PAYLOAD_BYTES + 1)}})
    # WHEN EventBridge Scheduler fires it
    event = scheduled_input(names, schedule_id, "large")
    # THEN the Input names the schedule only, and the run reads the record and succeeds
    assert "record" not in event
    calls, result = cold_calls(chalice_client, event)
    assert result["outcome"] == "succeeded" and calls[0] == "dynamodb.GetItem"
