"""The fault matrix: every AWS call site on every path, failed once in each variant.

A path is what a user or AWS sets going: an API request and the command it publishes
(create, update, pause, resume, delete), the command handler repairing a schedule deleted
out of band (command), a create published on the SNS command topic (sns), a schedule firing
(target), a run-now request and the run it starts (run-now), a dead letter recorded (dead-letter),
the alert sweep finding a missed slot (sweep), the periodic reconcile (reconcile), and the
operator's stack deploy (stack). Each path's retries are its door's own: a client repeats a
request it saw fail (same Idempotency-Key), SNS and Lambda deliver an event again, SQS
returns the records a batch reported failed, the sweep runs again a few minutes later. Its call sites are discovered, not listed: each path
runs once with the call recorder attached, and every call it makes is a call site
(path + service + operation + occurrence index). A call site added to a path is covered
the next time the suite runs.

Each cell fails one call site once with one variant of ``integration.faults.VARIANTS``,
then lets the path's own retries run (botocore's standard retry, built into the clients;
SNS/Lambda redelivery: the handler invoked again with the same event; EventBridge
Scheduler's retry: the target invoked again, with the next attempt number), then one
periodic reconcile, and asserts what a user would notice: every record is applied and
equals its EventBridge schedule (status not pending, not error), no schedule lives without
a record, no request's record is lost, every fire ran exactly once. The outcome of each
cell goes into the table printed at the end of the run.

Runs on moto in process, with the stage deployed once by the helpers conftest's ``moto_stage``
fixture uses and reset between cells (deploying it for each of a few hundred cells would
cost more than the cells): in process a cell costs a fraction of a second, where moto's
server would add an HTTP round trip to each of its calls. Nothing here depends on moto:
the injector hooks the clients, not the emulator, and works the same on any endpoint.

Known gaps are listed once, in ``KNOWN_GAPS``, as strict expected failures: when a fix
lands, its cells pass, pytest reports them as XPASS(strict) failures, and the entries are
removed.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import itertools
import json
import os
import pathlib
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib import clients, wiring
from chalicelib.clock import system_clock
from chalicelib.config import ENV_REGION, ENV_STAGE, get_settings, resource_names
from chalicelib.scheduler import desired_spec, observed_spec
from integration.faults import (
    ACCESS_DENIED,
    HTTP_500,
    LOST_RESPONSE,
    THROTTLING,
    TIMEOUT,
    VARIANTS,
    FaultInjector,
)
from integration.recorder import APP_SERVICES, STACK_SERVICES, CallRecorder, CallSite
from ops.stack.engine import Stack, stage_providers
from ops.stack.state import StateStore
from tests.stage import StageContents, put_back, queued_messages, stage_contents
from tests.support import (
    REGION,
    STAGE,
    Tap,
    create_stage_resources,
    unit_test_environment,
    unit_test_project,
)
from tests.timeline_support import create_target_function

# The paths that walk the whole stage (the periodic reconcile, the operator's stack deploy)
# cost several times a request's path per cell: their cells run in the slow layer, the
# request and handler paths' cells in `make unit`.
SLOW_PATHS = frozenset({"reconcile", "stack"})

JSON = {"Content-Type": "application/json"}
DEFINITION = {
    "name": "tee-times",
    "schedule_expression": "cron(0 6 * * ? *)",
    "timezone": "America/New_York",
    "target_type": "web_action",
    "payload": {"action": "check_tee_times"},
}
CHANGED = {**DEFINITION, "schedule_expression": "cron(30 7 * * ? *)"}
DELIVERIES = 3  # SNS/Lambda deliver a failing event again; EventBridge retries a target
MATRIX_STAGE = "matrix"  # the stack path deploys a stage of its own

AT_ONCE = "converged at once"
AFTER_RETRY = "after retry"
AFTER_RECONCILE = "after reconcile"
TOLD_CLIENT = "told the client"
NOT_CONVERGED = "NOT converged"
OUTCOMES = (AT_ONCE, AFTER_RETRY, AFTER_RECONCILE, TOLD_CLIENT, NOT_CONVERGED)
# What a cell found wrong, beyond not converging.
LOST = "lost"
DOUBLED = "doubled"
ORPHAN = "orphan"


# --- the world a cell runs in ------------------------------------------------------------


@dataclass
class Run:
    """What a path's run showed: the client's answer (API paths) and whether the path's
    retries were needed."""

    status: int | None = None
    body: dict = field(default_factory=dict)
    retried: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def told_client(self) -> bool:
        return self.status is not None and self.status >= 400


class World:
    """The stage on moto, driven the way AWS drives the functions; read with raw clients."""

    def __init__(self, client: Any, moto_stage: dict, names: Any):
        self.client = client
        self.moto_stage = moto_stage
        self.names = names
        self.scheduler = boto3.client("scheduler", region_name=REGION)
        self.table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
        self.published: list[dict] = []  # fires dispatched to the web-actions topic
        self.notified: list[dict] = []  # what reached the notifications topic
        self.invoked: list[dict] = []  # run-now's asynchronous invokes of the target

    # -- driving --------------------------------------------------------------------------

    def api(self, run: Run, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> Run:
        kwargs: dict[str, Any] = {"headers": {**JSON, **(headers or {})}}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        response = getattr(self.client.http, method)(path, **kwargs)
        run.status, run.body = response.status_code, response.json_body or {}
        return run

    def deliver(self, run: Run) -> Run:
        """Each published command to the handler; a failed invocation is delivered again."""
        for command in self.moto_stage["tap"].drain(self.names.command_topic):
            event = self.client.events.generate_sns_event(message=json.dumps(command))
            self._invoke(run, "schedule_command", lambda _attempt, event=event: event)
        return run

    def fire(self, run: Run, schedule_id: str, execution_id: str) -> Run:
        """The scheduler invokes the target; a failed invocation is retried (attempt + 1)."""

        def event(attempt: int) -> dict:
            return {"schedule_id": schedule_id, "execution_id": execution_id,
                    "scheduled_time": "2026-11-24T11:00:00Z", "attempt": str(attempt)}

        self._invoke(run, "schedule_target", event)
        return run

    def reconcile(self, run: Run | None = None) -> None:
        event = self.client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        try:
            self.client.lambda_.invoke("reconcile", event)
        except Exception as exc:  # noqa: BLE001 - the next periodic run is the retry
            if run is not None:
                run.failures.append(f"reconcile: {type(exc).__name__}: {exc}")

    def _invoke(self, run: Run, function: str, event: Callable[[int], dict]) -> None:
        for attempt in range(1, DELIVERIES + 1):
            try:
                self.client.lambda_.invoke(function, event(attempt))
                return
            except Exception as exc:  # noqa: BLE001 - Lambda/the scheduler deliver it again
                run.retried = True
                run.failures.append(f"{function} attempt {attempt}: {type(exc).__name__}: {exc}")

    def dead_letter(self, run: Run, body: str) -> Run:
        """The consumer gets the message; SQS returns it while the consumer reports it failed
        (or raises)."""
        event = self.client.events.generate_sqs_event(message_bodies=[body])
        for attempt in range(1, DELIVERIES + 1):
            try:
                result = self.client.lambda_.invoke("dead_letters", event).payload
            except Exception as exc:  # noqa: BLE001 - the whole batch comes back
                result = {"batchItemFailures": [{"itemIdentifier": "the batch"}]}
                run.failures.append(f"dead_letters attempt {attempt}: {type(exc).__name__}: {exc}")
            if not result.get("batchItemFailures"):
                return run
            run.retried = True
        return run

    def sweep(self, run: Run, at: datetime) -> None:
        """The periodic alert sweep, its clock at ``at``."""
        event = self.client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        wiring.use_clock(lambda: at)
        try:
            self.client.lambda_.invoke("alert_sweep", event)
        except Exception as exc:  # noqa: BLE001 - the next periodic sweep is the retry
            run.retried = True
            run.failures.append(f"alert_sweep: {type(exc).__name__}: {exc}")
        finally:
            wiring.use_clock(None)

    def alerts(self) -> list[dict]:
        self.notified.extend(self.moto_stage["tap"].drain(self.names.notifications_topic))
        return [m for m in self.notified if m.get("kind")]

    def reset(self) -> None:
        """Back to the deployed stage with no schedules: the next cell starts clean."""
        with self.table.batch_writer() as batch:
            for item in self.table.scan(ProjectionExpression="id")["Items"]:
                batch.delete_item(Key={"id": item["id"]})
        for name in self.cloud():
            self.scheduler.delete_schedule(Name=name, GroupName=self.names.schedule_group)
        self.forget_messages()

    def forget_messages(self) -> None:
        """No message queued on the stage's topics, none remembered from the last cell."""
        for topic in self.moto_stage["queues"]:
            self.moto_stage["tap"].drain(topic)
        self.published.clear()
        self.notified.clear()
        self.invoked.clear()

    def start(self, path: Path) -> dict:
        """The path's starting state: made by its ``given`` on a clean stage the first time,
        then put back as it was made (the same records and schedules: tests/stage.py), so a
        cell's cost is its fault's path, not the making of its starting state. A ``given``
        that leaves a message queued, or state beside the stage's records and schedules
        (``GIVEN_MADE_EACH_TIME``), runs for every cell."""
        kept = _GIVEN.get(path.name)
        if kept is not None:
            self.forget_messages()
            put_back(kept[0])
            # a warm target function has not seen them (each ``given`` made new records)
            definitions = wiring.target_runner(get_settings()).definitions
            for table in kept[0].items.values():
                for key in table:
                    definitions.drop(key.value)
            return copy.deepcopy(kept[1])
        self.reset()
        ctx = path.given(self)
        if path.name not in GIVEN_MADE_EACH_TIME and not queued_messages():
            _GIVEN[path.name] = (stage_contents(), copy.deepcopy(ctx))
        return ctx

    # -- reading --------------------------------------------------------------------------

    def records(self) -> dict[str, dict]:
        items = self.table.scan(ConsistentRead=True)["Items"]
        return {item["id"]: item for item in items if item.get("record_type", "schedule") == "schedule"}

    def executions(self) -> list[dict]:
        items = self.table.scan(ConsistentRead=True)["Items"]
        return [item for item in items if item.get("record_type") == "execution"]

    def cloud(self) -> dict[str, dict]:
        group = self.names.schedule_group
        names = [s["Name"] for s in self.scheduler.list_schedules(GroupName=group)["Schedules"]]
        return {name: self.scheduler.get_schedule(Name=name, GroupName=group) for name in names}

    def snapshot(self) -> tuple:
        records = {key: {k: v for k, v in item.items()} for key, item in self.records().items()}
        specs = {name: observed_spec(observed) for name, observed in self.cloud().items()}
        return records, specs

    def drain_fires(self) -> None:
        self.published.extend(self.moto_stage["tap"].drain(self.names.web_actions_topic))

    def problems(self) -> list[str]:
        """What a user would notice: records not applied, a cloud that differs from them,
        schedules without a record."""
        found = []
        records, cloud = self.records(), self.cloud()
        gateway = wiring.gateway(get_settings())
        repository = wiring.repository(get_settings())
        for schedule_id, item in records.items():
            status = item["status"]
            if status in ("pending", "error"):
                found.append(f"{schedule_id[:8]} is {status} ({item.get('last_error', '')})")
            elif status == "deleted" and schedule_id in cloud:
                found.append(f"{ORPHAN} schedule {schedule_id[:8]}: its record is deleted")
            elif status in ("active", "paused"):
                if schedule_id not in cloud:
                    found.append(f"{schedule_id[:8]} is {status} but has no schedule")
                    continue
                record = repository.get(schedule_id)
                want = desired_spec(gateway.request_for(record))
                have = observed_spec(cloud[schedule_id])
                differs = sorted(key for key in want if want[key] != have.get(key))
                if differs:
                    found.append(f"{schedule_id[:8]} differs from its record: {', '.join(differs)}")
        for name in cloud:
            if name not in records:
                found.append(f"{ORPHAN} schedule {name[:8]}: no record")
        return found


# Each path's starting state as its ``given`` made it (``World.start``), per process.
_GIVEN: dict[str, tuple[StageContents, dict]] = {}
# The stack path's ``given`` is a stage of its own, with its own names, for each run.
GIVEN_MADE_EACH_TIME = frozenset({"stack"})


# --- the paths ---------------------------------------------------------------------------


def _active(world: World, definition: dict = DEFINITION) -> str:
    schedule_id = world.client.http.post(
        "/api/schedules", headers=JSON, body=json.dumps(definition)
    ).json_body["id"]
    world.deliver(Run())
    return schedule_id


def _record(world: World, schedule_id: str) -> dict:
    return world.records().get(schedule_id, {})


def _live_records(world: World) -> list[dict]:
    return [r for r in world.records().values() if r["status"] != "deleted"]


def _expect_one_record(world: World, status: str, expression: str) -> list[str]:
    live = _live_records(world)
    if len(live) != 1:
        return [f"{LOST if not live else DOUBLED} record: {len(live)} live records, expected 1"]
    record = live[0]
    found = []
    if record["status"] != status:
        found.append(f"record is {record['status']}, expected {status}")
    if record["definition"]["schedule_expression"] != expression:
        found.append(f"{LOST} record: the request's definition is not stored")
    return found


@dataclass(frozen=True)
class Path:
    name: str
    given: Callable[[World], dict]
    when: Callable[[World, dict], Run]
    expect: Callable[[World, dict, Run], list[str]]
    services: tuple[str, ...] = APP_SERVICES


def _create_when(world: World, ctx: dict) -> Run:
    return world.deliver(world.api(Run(), "post", "/api/schedules", DEFINITION))


def _create_expect(world: World, ctx: dict, run: Run) -> list[str]:
    return _expect_one_record(world, "active", DEFINITION["schedule_expression"])


def _change_path(name: str, method: str, suffix: str, body: dict | None, status: str,
                 expression: str, paused_first: bool = False) -> Path:
    def given(world: World) -> dict:
        schedule_id = _active(world)
        if paused_first:
            world.client.http.post(f"/api/schedules/{schedule_id}/pause")
            world.deliver(Run())
        return {"id": schedule_id}

    def when(world: World, ctx: dict) -> Run:
        run = world.api(Run(), method, f"/api/schedules/{ctx['id']}{suffix}", body)
        return world.deliver(run)

    def expect(world: World, ctx: dict, run: Run) -> list[str]:
        if status == "deleted":
            record = _record(world, ctx["id"])
            return [] if record.get("status") == "deleted" else [f"record is {record.get('status')}, expected deleted"]
        return _expect_one_record(world, status, expression)

    return Path(name, given, when, expect)


def _command_given(world: World) -> dict:
    """An update whose schedule was deleted out of band before its command arrives."""
    schedule_id = _active(world)
    world.scheduler.delete_schedule(Name=schedule_id, GroupName=world.names.schedule_group)
    world.client.http.put(f"/api/schedules/{schedule_id}", headers=JSON, body=json.dumps(CHANGED))
    return {"id": schedule_id}


def _target_given(world: World) -> dict:
    return {"id": _active(world)}


def _target_when(world: World, ctx: dict) -> Run:
    return world.fire(Run(), ctx["id"], "execution-1")


def _target_expect(world: World, ctx: dict, run: Run) -> list[str]:
    """The fire ran once: one execution record, succeeded, and its message dispatched. SNS
    delivers at least once (a Publish whose answer was lost is sent again), so a message
    may arrive twice, always with the same execution id: that is one execution, which a
    consumer tells apart by its id."""
    found = []
    world.drain_fires()
    if not [m for m in world.published if m.get("execution_id") == "execution-1"]:
        found.append(f"{LOST} execution: the fire was never dispatched")
    if {m.get("execution_id") for m in world.published} - {"execution-1"}:
        found.append("a message for another execution was dispatched")
    runs = [e for e in world.executions() if e["execution_id"] == "execution-1"]
    outcomes = [e.get("outcome") for e in runs]
    if outcomes != ["succeeded"]:
        found.append(f"execution records {outcomes}, expected ['succeeded']")
    return found


def _reconcile_given(world: World) -> dict:
    """Drift of every kind the reconcile repairs."""
    group = world.names.schedule_group
    missing = _active(world, {**DEFINITION, "name": "missing"})
    changed = _active(world, {**DEFINITION, "name": "changed"})
    stale = _active(world, {**DEFINITION, "name": "deleted-lives"})
    world.scheduler.delete_schedule(Name=missing, GroupName=group)
    observed = world.scheduler.get_schedule(Name=changed, GroupName=group)
    world.scheduler.update_schedule(
        Name=changed, GroupName=group, ScheduleExpression="rate(9 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"}, Target=observed["Target"],
    )
    repository = wiring.repository(get_settings())
    repository.mark_deleted(repository.get(stale), ttl_days=7)  # its schedule lives on
    unfinished = world.client.http.post(
        "/api/schedules", headers=JSON, body=json.dumps({**DEFINITION, "name": "unfinished"})
    ).json_body["id"]
    world.moto_stage["tap"].drain(world.names.command_topic)  # its command is lost
    return {"ids": [missing, changed, stale, unfinished]}


def _reconcile_when(world: World, ctx: dict) -> Run:
    run = Run()
    world.reconcile(run)
    return run


def _reconcile_expect(world: World, ctx: dict, run: Run) -> list[str]:
    records = world.records()
    missing, changed, stale, unfinished = ctx["ids"]
    wanted = {missing: "active", changed: "active", stale: "deleted", unfinished: "active"}
    return [
        f"{schedule_id[:8]} is {records.get(schedule_id, {}).get('status')}, expected {status}"
        for schedule_id, status in wanted.items()
        if records.get(schedule_id, {}).get("status") != status
    ]


SNS_MESSAGE_ID = "3f0c8a52-6d1e-4b7a-9c55-0a1b2c3d4e5f"


def _sns_when(world: World, ctx: dict) -> Run:
    """A create on the SNS command topic: SNS delivers it again while the handler fails."""
    run = Run()
    event = world.client.events.generate_sns_event(message=json.dumps({"action": "create", "schedule": DEFINITION}))
    event["Records"][0]["Sns"]["MessageId"] = SNS_MESSAGE_ID
    world._invoke(run, "schedule_command", lambda _attempt: event)
    return world.deliver(run)


def _dead_letter_when(world: World, ctx: dict) -> Run:
    body = json.dumps({
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {"schedule_id": ctx["id"], "execution_id": "execution-dl",
                           "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "3"},
        "responsePayload": {"errorType": "Error", "errorMessage": "boom"},
    })
    return world.dead_letter(Run(), body)


def _dead_letter_expect(world: World, ctx: dict, run: Run) -> list[str]:
    runs = [e for e in world.executions() if e["execution_id"] == "execution-dl"]
    if not runs:
        return [f"{LOST} execution: the dead letter was not recorded"]
    outcomes = [e.get("outcome") for e in runs]
    return [] if outcomes == ["failed"] else [f"execution records {outcomes}, expected ['failed']"]


def _run_now_given(world: World) -> dict:
    with contextlib.suppress(Exception):  # it exists from an earlier cell (moto's Lambda is not reset)
        create_target_function()
    return {"id": _active(world)}


def _run_now_when(world: World, ctx: dict) -> Run:
    """The client repeats a request it saw fail (same key); Lambda runs each invoke the
    API made (moto accepts them without running them: the path runs them here)."""
    run = Run()
    lam = clients.client("lambda")

    def seen(params: dict, **_: Any) -> None:
        world.invoked.append(json.loads(params["Payload"]))

    lam.meta.events.register("before-parameter-build.lambda.Invoke", seen, "matrix-run-now")
    try:
        for attempt in range(1, DELIVERIES + 1):
            world.api(run, "post", f"/api/schedules/{ctx['id']}/run", headers={"Idempotency-Key": "run-1"})
            if run.status is not None and run.status < 500:
                break
            run.retried = True
            run.failures.append(f"run-now attempt {attempt}: {run.status} {run.body.get('Code')}")
    finally:
        lam.meta.events.unregister("before-parameter-build.lambda.Invoke", unique_id="matrix-run-now")
    for payload in list(world.invoked):
        world._invoke(run, "schedule_target", lambda _attempt, payload=payload: payload)
    return run


def _run_now_expect(world: World, ctx: dict, run: Run) -> list[str]:
    """Ran once: one manual execution, succeeded, dispatched (a dispatch may be sent twice
    with the same execution id: at-least-once, as for a scheduled fire)."""
    world.drain_fires()
    manual = [e for e in world.executions() if str(e["execution_id"]).startswith("manual-")]
    outcomes = [e.get("outcome") for e in manual]
    if not manual:
        return [f"{LOST} execution: the run was never recorded"]
    found = [] if outcomes == ["succeeded"] else [f"{DOUBLED if len(manual) > 1 else 'wrong'} execution: {outcomes}"]
    ids = {m.get("execution_id") for m in world.published}
    if ids != {manual[0]["execution_id"]}:
        found.append(f"dispatched {sorted(ids)}, expected the one run")
    return found


HOURLY = {**DEFINITION, "schedule_expression": "rate(1 hour)"}


def _backfill_given(world: World) -> dict:
    """An hourly schedule created 3 hours 30 minutes ago whose 3 slots never ran."""
    with contextlib.suppress(Exception):  # it exists from an earlier cell (moto's Lambda is not reset)
        create_target_function()
    now = system_clock()
    wiring.use_clock(lambda: now - timedelta(hours=3, minutes=30))
    try:
        schedule_id = _active(world, HOURLY)
    finally:
        wiring.use_clock(None)
    window = {"from": (now - timedelta(hours=4)).isoformat(), "to": now.isoformat(), "slots": "missed"}
    return {"id": schedule_id, "window": window}


def _backfill_when(world: World, ctx: dict) -> Run:
    """The client repeats a request it saw fail; Lambda runs each invoke (the API's walk,
    then each continuation the walk makes), again while it fails."""
    run = Run()
    lam = clients.client("lambda")

    def seen(params: dict, **_: Any) -> None:
        world.invoked.append(json.loads(params["Payload"]))

    lam.meta.events.register("before-parameter-build.lambda.Invoke", seen, "matrix-backfill")
    try:
        for attempt in range(1, DELIVERIES + 1):
            world.api(run, "post", f"/api/schedules/{ctx['id']}/backfill", ctx["window"])
            if run.status is not None and run.status < 500:
                break
            run.retried = True
            run.failures.append(f"backfill attempt {attempt}: {run.status} {run.body.get('Code')}")
        walked = 0
        while walked < len(world.invoked):
            payload = world.invoked[walked]
            walked += 1
            world._invoke(run, "schedule_target", lambda _attempt, payload=payload: payload)
    finally:
        lam.meta.events.unregister("before-parameter-build.lambda.Invoke", unique_id="matrix-backfill")
    return run


def _backfill_expect(world: World, ctx: dict, run: Run) -> list[str]:
    """Each of the 3 missed slots ran once, succeeded and dispatched (a dispatch may be sent
    twice with the same execution id: at-least-once, as for a scheduled fire)."""
    world.drain_fires()
    runs = [e for e in world.executions() if str(e["execution_id"]).startswith("backfill-")]
    found = []
    if len(runs) != 3:
        found.append(f"{LOST if len(runs) < 3 else DOUBLED} execution: {len(runs)} backfill runs, expected 3")
    if any(e.get("outcome") != "succeeded" for e in runs):
        found.append(f"backfill runs {sorted(str(e.get('outcome')) for e in runs)}, expected all succeeded")
    ids = {m.get("execution_id") for m in world.published}
    if ids != {e["execution_id"] for e in runs}:
        found.append(f"dispatched {len(ids)} executions, expected the {len(runs)} backfill runs")
    return found


def _sweep_given(world: World) -> dict:
    return {"id": _active(world, {**DEFINITION, "schedule_expression": "rate(1 hour)"}), "at": system_clock()}


def _sweep_when(world: World, ctx: dict) -> Run:
    """The sweep 90 minutes on (its first slot missed), and the next sweeps, 2 minutes apart
    (past a dead sweep's claim)."""
    run = Run()
    for minutes in (90, 92, 94):
        world.sweep(run, ctx["at"] + timedelta(minutes=minutes))
    return run


def _sweep_expect(world: World, ctx: dict, run: Run) -> list[str]:
    missed = [a for a in world.alerts() if a["kind"] == "missed" and a["schedule_id"] == ctx["id"]]
    if not missed:
        return [f"{LOST} alert: the missed slot was never alerted"]
    if len(missed) > 1:
        return [f"{DOUBLED} alert: {len(missed)} alerts for one missed slot"]
    return []


REPORTED = "execution-r"
AWAITING = {**DEFINITION, "max_duration_seconds": 3600}


def _report_given(world: World) -> dict:
    """A run of a schedule that awaits reports, dispatched and not yet reported."""
    schedule_id = _active(world, AWAITING)
    world.fire(Run(), schedule_id, REPORTED)
    world.drain_fires()
    return {"id": schedule_id}


def _report_when(world: World, ctx: dict) -> Run:
    """The owner reports the run failed; a client repeats a request it saw fail."""
    run = Run()
    body = {"schedule_id": ctx["id"], "outcome": "failed", "message": "disk full"}
    for attempt in range(1, DELIVERIES + 1):
        world.api(run, "post", f"/api/executions/{REPORTED}/report", body)
        if run.status is not None and run.status < 500:
            break
        run.retried = True
        run.failures.append(f"report attempt {attempt}: {run.status} {run.body.get('Code')}")
    return run


def _results_when(world: World, ctx: dict) -> Run:
    """A worker publishes the report on the results topic; SNS delivers it again while the
    consumer fails."""
    run = Run()
    message = {"schedule_id": ctx["id"], "execution_id": REPORTED, "outcome": "succeeded"}
    event = world.client.events.generate_sns_event(message=json.dumps(message))
    world._invoke(run, "handle_results", lambda _attempt: event)
    return run


def _reported_expect(outcome: str) -> Callable[[World, dict, Run], list[str]]:
    def expect(world: World, ctx: dict, run: Run) -> list[str]:
        """The report is recorded once, as sent, with the run's duration; nothing was rejected."""
        runs = [e for e in world.executions() if e["execution_id"] == REPORTED]
        found = [f"{LOST} report: {[e.get('reported_outcome') for e in runs]}"] if [
            e.get("reported_outcome") for e in runs] != [outcome] else []
        if runs and runs[0].get("run_duration_ms") is None:
            found.append("the report has no run duration")
        if [m for m in world.alerts() + world.notified if m.get("event") == "rejected"]:
            found.append("the report was rejected")
        return found

    return expect


def _held_given(policy: str) -> Callable[[World], dict]:
    def given(world: World) -> dict:
        """A schedule whose slots wait for the previous run, and a run going on."""
        with contextlib.suppress(Exception):  # it exists from an earlier cell (moto's Lambda is not reset)
            create_target_function()
        schedule_id = _active(world, {**AWAITING, "overlap_policy": policy})
        world.fire(Run(), schedule_id, REPORTED)
        world.drain_fires()
        world.published.clear()  # the run going on: the path is about what comes after it
        return {"id": schedule_id}

    return given


def _held_when(world: World, ctx: dict) -> Run:
    return world.fire(Run(), ctx["id"], "execution-2")


def _held_expect(outcome: str) -> Callable[[World, dict, Run], list[str]]:
    def expect(world: World, ctx: dict, run: Run) -> list[str]:
        """The slot was held back once, as its policy says, and never dispatched."""
        world.drain_fires()
        found = [f"execution-2 was dispatched: {world.published}"] if world.published else []
        held = [e for e in world.executions() if e["execution_id"] == "execution-2"]
        said = [("waiting" if e.get("waiting") else e.get("outcome")) for e in held]
        if said != [outcome]:
            found.append(f"{LOST if not held else 'wrong'} execution: {said}, expected [{outcome!r}]")
        return found

    return expect


def _release_given(world: World) -> dict:
    ctx = _held_given("buffer_one")(world)
    world.fire(Run(), ctx["id"], "execution-2")  # waits for the run going on
    return ctx


def _release_when(world: World, ctx: dict) -> Run:
    """The run going on reports; the waiting slot is sent to the target function, which
    Lambda runs (moto accepts the invoke without running it: the path runs it here)."""
    lam = clients.client("lambda")

    def seen(params: dict, **_: Any) -> None:
        world.invoked.append(json.loads(params["Payload"]))

    lam.meta.events.register("before-parameter-build.lambda.Invoke", seen, "matrix-release")
    try:
        run = _results_when(world, ctx)
    finally:
        lam.meta.events.unregister("before-parameter-build.lambda.Invoke", unique_id="matrix-release")
    for payload in list(world.invoked):
        world._invoke(run, "schedule_target", lambda _attempt, payload=payload: payload)
    return run


def _release_expect(world: World, ctx: dict, run: Run) -> list[str]:
    """The report is recorded, and the waiting slot ran once."""
    found = _reported_expect("succeeded")(world, ctx, run)
    world.drain_fires()
    sent = {m.get("execution_id") for m in world.published}
    if sent != {"execution-2"}:
        found.append(f"{LOST if not sent else 'wrong'} release: dispatched {sorted(map(str, sent))}")
    outcomes = [e.get("outcome") for e in world.executions() if e["execution_id"] == "execution-2"]
    if outcomes != ["succeeded"]:
        found.append(f"the waiting slot's execution: {outcomes}, expected ['succeeded']")
    return found


_stages = itertools.count()


def _stack(sleep: Callable[[float], Any] = lambda _seconds: None) -> Stack:
    """A stage of its own for each run (its own names: nothing to clean up between cells)."""
    stage = f"{MATRIX_STAGE}{next(_stages)}"
    settings = get_settings({ENV_STAGE: stage, ENV_REGION: REGION})
    store = StateStore(tempfile.mkdtemp(prefix="stack-state-"))
    return Stack(settings, store=store, providers=stage_providers(settings, sleep))


def _stack_given(world: World) -> dict:
    return {"stack": _stack()}


def _stack_when(world: World, ctx: dict) -> Run:
    """The operator deploys; a failed deploy is run again."""
    run = Run()
    stack = ctx["stack"]
    for attempt in range(1, DELIVERIES + 1):
        try:
            result = stack.deploy(stack.plan_deploy())
            if result.converged:
                return run
            run.failures.append(f"deploy attempt {attempt}: not converged")
        except Exception as exc:  # noqa: BLE001 - the operator runs it again
            run.failures.append(f"deploy attempt {attempt}: {type(exc).__name__}: {exc}")
        run.retried = True
    return run


def _stack_expect(world: World, ctx: dict, run: Run) -> list[str]:
    plan = ctx["stack"].plan_deploy()
    return [f"stack step left: {step.to_dict()}" for step in plan.steps if step.changes_anything]


TEMPLATE = {
    "name": "tee", "parameters": {"hour": {"type": "integer", "default": 6}},
    "schedule": {**DEFINITION, "schedule_expression": "cron(0 {{hour}} * * ? *)"},
}


def _template_given(world: World) -> dict:
    created = world.client.http.post("/api/templates", headers=JSON, body=json.dumps(TEMPLATE))
    assert created.status_code == 201, created.json_body
    return {}


def _template_when(world: World, ctx: dict) -> Run:
    return world.deliver(world.api(Run(), "post", "/api/schedules", {"template": "tee", "params": {"hour": 7}}))


def _bulk_when(world: World, ctx: dict) -> Run:
    body = {"selector": {"status": "active"}, "action": "pause"}
    run = world.api(Run(), "post", "/api/schedules/bulk", body)
    failed = [entry for entry in run.body.get("results", []) if entry["result"] == "failed"]
    if failed:  # the report told the client this schedule's pause failed: as a refusal would
        run.status, run.body = 503, {"Code": failed[0]["code"], "Message": failed[0]["reason"]}
    return world.deliver(run)


CALENDAR = {"name": "holidays", "timezone": "America/New_York", "dates": ["2026-11-24"]}
SNOOZE_END = (system_clock() + timedelta(days=1)).isoformat()


def _calendar_given(world: World, body: dict = CALENDAR) -> dict:
    created = world.client.http.post("/api/calendars", headers=JSON, body=json.dumps(body))
    assert created.status_code == 201, created.json_body
    return {}


def _calendar_create_when(world: World, ctx: dict) -> Run:
    return world.api(Run(), "post", "/api/calendars", CALENDAR)


def _calendar_expect(present: bool) -> Callable[[World, dict, Run], list[str]]:
    def expect(world: World, ctx: dict, run: Run) -> list[str]:
        found = any(item.get("record_type") == "calendar" for item in world.table.scan()["Items"])
        return [] if found == present else [f"the calendar is {'missing' if present else 'still there'}"]

    return expect


def _excluding_target_given(world: World) -> dict:
    """A schedule whose calendar has the day its slot fires on (2026-11-24, New York)."""
    _calendar_given(world)
    return {"id": _active(world, {**DEFINITION, "exclude_calendars": ["holidays"]})}


def _excluded_target_expect(world: World, ctx: dict, run: Run) -> list[str]:
    """The fire was recorded skipped once, with the calendar's name, and dispatched nothing."""
    world.drain_fires()
    found = [f"the excluded fire was dispatched: {world.published}"] if world.published else []
    runs = [(e.get("outcome"), e.get("skip_reason")) for e in world.executions() if e["execution_id"] == "execution-1"]
    if runs != [("skipped", "calendar holidays")]:
        found.append(f"execution records {runs}, expected one skipped by calendar holidays")
    return found


def _calendar_sweep_given(world: World) -> dict:
    _calendar_given(world, {**CALENDAR, "dates": ["2001-01-01"]})
    return {"id": _active(world, {**DEFINITION, "schedule_expression": "rate(1 hour)", "exclude_calendars": ["holidays"]}),
            "at": system_clock()}


PATHS = {
    path.name: path
    for path in (
        Path("create", lambda world: {}, _create_when, _create_expect),
        _change_path("update", "put", "", CHANGED, "active", CHANGED["schedule_expression"]),
        _change_path("pause", "post", "/pause", None, "paused", DEFINITION["schedule_expression"]),
        _change_path("resume", "post", "/resume", None, "active", DEFINITION["schedule_expression"],
                     paused_first=True),
        _change_path("delete", "delete", "", None, "deleted", DEFINITION["schedule_expression"]),
        Path("command", _command_given, lambda world, ctx: world.deliver(Run()),
             lambda world, ctx, run: _expect_one_record(world, "active", CHANGED["schedule_expression"])),
        Path("sns", lambda world: {}, _sns_when,
             lambda world, ctx, run: _expect_one_record(world, "active", DEFINITION["schedule_expression"])),
        Path("target", _target_given, _target_when, _target_expect),
        # a schedule made from a template (the template is read in the create request)
        Path("create_from_template", _template_given, _template_when,
             lambda world, ctx, run: _expect_one_record(world, "active", "cron(0 7 * * ? *)")),
        # a bulk pause: the listing, then each schedule's own pause
        Path("bulk_pause", lambda world: {"id": _active(world)}, _bulk_when,
             lambda world, ctx, run: _expect_one_record(world, "paused", DEFINITION["schedule_expression"])),
        Path("run-now", _run_now_given, _run_now_when, _run_now_expect),
        # exclusion calendars: created, named by a schedule, read when its slot fires and by the sweep
        Path("calendar_create", lambda world: {}, _calendar_create_when, _calendar_expect(True)),
        Path("calendar_delete", _calendar_given,
             lambda world, ctx: world.api(Run(), "delete", "/api/calendars/holidays"), _calendar_expect(False)),
        Path("create_with_calendar", _calendar_given,
             lambda world, ctx: world.deliver(world.api(Run(), "post", "/api/schedules",
                                                        {**DEFINITION, "exclude_calendars": ["holidays"]})),
             lambda world, ctx, run: _expect_one_record(world, "active", DEFINITION["schedule_expression"])),
        Path("target_excluded", _excluding_target_given, _target_when, _excluded_target_expect),
        Path("sweep_with_calendar", _calendar_sweep_given, _sweep_when, _sweep_expect),
        _change_path("skip", "post", "/skip", {"count": 1}, "active", DEFINITION["schedule_expression"]),
        _change_path("snooze", "post", "/snooze", {"until": SNOOZE_END}, "active", DEFINITION["schedule_expression"]),
        # its Lambda invokes too: the API's walk, and each continuation the walk makes
        Path("backfill", _backfill_given, _backfill_when, _backfill_expect, (*APP_SERVICES, "lambda")),
        Path("dead-letter", _target_given, _dead_letter_when, _dead_letter_expect),
        Path("report", _report_given, _report_when, _reported_expect("failed")),
        Path("results", _report_given, _results_when, _reported_expect("succeeded")),
        # slots held back at fire time: skipped, buffered, and the buffered one released by the report
        Path("overlap-skip", _held_given("skip"), _held_when, _held_expect("skipped")),
        Path("buffer", _held_given("buffer_one"), _held_when, _held_expect("waiting")),
        Path("release", _release_given, _release_when, _release_expect, (*APP_SERVICES, "lambda")),
        Path("sweep", _sweep_given, _sweep_when, _sweep_expect),
        Path("reconcile", _reconcile_given, _reconcile_when, _reconcile_expect),
        Path("stack", _stack_given, _stack_when, _stack_expect, STACK_SERVICES),
    )
}


# --- one cell ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    path: str
    site: CallSite
    variant: str

    @property
    def id(self) -> str:
        return f"{self.path}:{self.site}:{self.variant}"


def run_faults(world: World, path_name: str, faults_to_inject: list[tuple[CallSite, str]]) -> tuple[str, list[str]]:
    """Several faults on one run of a path (each on its own call site), then its retries and
    one reconcile; the outcome and what is still wrong."""
    path = PATHS[path_name]
    ctx = world.start(path)
    before = world.snapshot()
    faults = FaultInjector()
    injected = [faults.inject(site.service, site.operation, variant, skip=site.index) for site, variant in faults_to_inject]
    try:
        run = path.when(world, ctx)
    finally:
        faults.clear()
    assert all(fault.injected == 1 for fault in injected), "a call site was not called: the path changed"
    if run.told_client and world.snapshot() == before:
        return TOLD_CLIENT, []
    wrong = world.problems() + path.expect(world, ctx, run)
    if not wrong:
        return (AFTER_RETRY if run.retried else AT_ONCE), []
    world.reconcile()
    wrong = world.problems() + path.expect(world, ctx, run)
    return (AFTER_RECONCILE, []) if not wrong else (NOT_CONVERGED, wrong + run.failures)


def run_cell(world: World, cell: Cell) -> tuple[str, list[str]]:
    """Fail the cell's call site once, let the path retry, reconcile once; the outcome and
    what is still wrong."""
    path = PATHS[cell.path]
    ctx = world.start(path)
    before = world.snapshot()
    faults = FaultInjector()
    fault = faults.inject(cell.site.service, cell.site.operation, cell.variant, skip=cell.site.index)
    try:
        run = path.when(world, ctx)
    finally:
        faults.clear()
    assert fault.injected == 1, f"{cell.site} was not called: the path changed; run the suite again"
    if cell.variant == LOST_RESPONSE:
        # botocore sends it again; a client that makes one attempt (the alert publish) sees it fail
        assert fault.sent >= 1, f"{cell.site} never reached the endpoint"
    if run.told_client:
        if world.snapshot() == before:
            return TOLD_CLIENT, []
        wrong = [f"answered {run.status} {run.body.get('Code')} but the change was stored"]
        world.reconcile()
        return NOT_CONVERGED, wrong + world.problems() + path.expect(world, ctx, run)
    wrong = world.problems() + path.expect(world, ctx, run)
    if not wrong:
        return (AFTER_RETRY if run.retried else AT_ONCE), []
    if cell.path == "stack":
        ctx["stack"].deploy(ctx["stack"].plan_deploy())  # the stack's reconcile: deploy again
    else:
        world.reconcile()
    wrong = world.problems() + path.expect(world, ctx, run)
    return (AFTER_RECONCILE, []) if not wrong else (NOT_CONVERGED, wrong + run.failures)


# --- discovery and sampling --------------------------------------------------------------


@contextmanager
def _stage() -> Iterator[World]:
    """The stage on moto, as the ``moto_stage`` and ``chalice_client`` fixtures of conftest set it
    up (the same helpers), once for many cells: each cell resets it (``World.reset``),
    which costs a fraction of deploying the stage again."""
    from chalice.test import Client

    import app as app_module

    with mock_aws():
        clients.reset()
        resources = create_stage_resources()
        resources["tap"] = Tap(resources["queues"])
        project = unit_test_project(unit_test_environment())
        with Client(app_module.app, stage_name=STAGE, project_dir=project) as client:
            yield World(client, resources, resource_names(STAGE))
        clients.reset()


def discover() -> dict[str, list[CallSite]]:
    """Each path's call sites: the calls it makes when nothing fails."""
    sites = {}
    with _stage() as world:
        for name, path in PATHS.items():
            world.reset()
            ctx = path.given(world)
            recorder = CallRecorder(path.services).attach()
            try:
                run = path.when(world, ctx)
            finally:
                recorder.detach()
            assert not run.failures and not run.told_client, (name, run)
            assert not world.problems() and not path.expect(world, ctx, run), name
            sites[name] = recorder.sites
    return sites


TRANSIENT = (THROTTLING, HTTP_500, TIMEOUT)
FULL = os.environ.get("FAULT_MATRIX") == "full"


def variants_for(path: str, site: CallSite) -> tuple[str, ...]:
    """Which variants a call site gets (all of them with ``FAULT_MATRIX=full``).

    The three transient variants are retried alike (the full matrix shows the same outcome
    for all three on every call site), so ``make test`` gives each call site one of them,
    picked by a hash of the site (stable when other sites are added). A write also gets AccessDenied and a lost response; a
    read, whose lost answer is simply read again, gets one of AccessDenied or the
    transient one, by the same hash."""
    if FULL:
        return VARIANTS
    pick = zlib.crc32(f"{path}:{site}".encode())
    transient = TRANSIENT[pick % len(TRANSIENT)]
    if site.mutating:
        return (transient, ACCESS_DENIED, LOST_RESPONSE)
    return ((transient, ACCESS_DENIED)[(pick >> 8) % 2],)


_DISCOVERED: dict[str, list[CallSite]] | None = None


def discovered() -> dict[str, list[CallSite]]:
    global _DISCOVERED
    if _DISCOVERED is None:
        _DISCOVERED = _discovered_once_per_run()
    return _DISCOVERED


def _discovered_once_per_run() -> dict[str, list[CallSite]]:
    """``discover()``, run by one process of a pytest-xdist run while the others wait for its
    answer (they must collect the same cells; each would otherwise spend seconds of the two
    cores finding the same call sites)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return discover()
    found = pathlib.Path(tempfile.gettempdir()) / f"fault-matrix-sites-{run}.json"
    with (found.with_suffix(".lock")).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not found.exists():
            for old in found.parent.glob("fault-matrix-sites-*"):  # earlier runs'
                if old.stat().st_mtime < time.time() - 3600:
                    old.unlink(missing_ok=True)
            sites = discover()
            found.write_text(json.dumps({path: [[s.service, s.operation, s.index] for s in path_sites]
                                         for path, path_sites in sites.items()}))
            return sites
    return {path: [CallSite(*site) for site in path_sites] for path, path_sites in json.loads(found.read_text()).items()}


def matrix(full: bool = FULL) -> list[Cell]:
    return [
        Cell(path, site, variant)
        for path, sites in discovered().items()
        for site in sites
        for variant in (VARIANTS if full else variants_for(path, site))
    ]


# --- the known gaps: strict expected failures, in this one place --------------------------

# Cell id -> the gap it shows. Measured with FAULT_MATRIX=full; ``make test`` runs the cells
# its sampling picks, each listed one a strict expected failure. Every gap the matrix found
# is closed: the list is empty, and a gap found later is named here until it is fixed.
KNOWN_GAPS: dict[str, str] = {}


def _param(cell: Cell) -> Any:
    reason = KNOWN_GAPS.get(cell.id)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    if cell.path in SLOW_PATHS:
        marks.append(pytest.mark.slow)
    return pytest.param(cell, id=cell.id, marks=marks)


# --- the table ---------------------------------------------------------------------------


class MatrixTable:
    """Collects each cell's outcome and prints the table at the end of the run."""

    def __init__(self) -> None:
        self.outcomes: dict[Cell, str] = {}
        self.wrong: dict[Cell, list[str]] = {}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.outcomes:
            return
        write = terminalreporter.write_line
        terminalreporter.section("fault matrix")
        variants = [v for v in VARIANTS if any(c.variant == v for c in self.outcomes)]
        write(f"{'call site':46} " + " ".join(f"{v:>13}" for v in variants))
        short = {AT_ONCE: "at once", AFTER_RETRY: "retry", AFTER_RECONCILE: "reconcile",
                 TOLD_CLIENT: "told client", NOT_CONVERGED: "NOT"}
        rows: dict[tuple[str, str], dict[str, str]] = {}
        for cell, outcome in self.outcomes.items():
            rows.setdefault((cell.path, str(cell.site)), {})[cell.variant] = short[outcome]
        for (path, site), row in rows.items():
            write(f"{path + ' ' + site:46} " + " ".join(f"{row.get(v, '-'):>13}" for v in variants))
        totals = Counter(self.outcomes.values())
        write(
            f"{len(rows)} call sites x {len(variants)} variants: {len(self.outcomes)} faults; "
            + ", ".join(f"{outcome}: {totals.get(outcome, 0)}" for outcome in OUTCOMES)
        )
        known = sum(1 for cell, outcome in self.outcomes.items()
                    if outcome == NOT_CONVERGED and cell.id in KNOWN_GAPS)
        write(f"NOT converged cells that are known gaps (KNOWN_GAPS): {known}")
        write(
            "cells that lost a record or an execution: "
            + f"{self.count(LOST)}; doubled one: {self.count(DOUBLED)}; left an orphan: {self.count(ORPHAN)}"
        )

    def count(self, kind: str) -> int:
        return sum(1 for wrong in self.wrong.values() if any(w.startswith(kind) for w in wrong))


_TABLE = MatrixTable()


@pytest.fixture(scope="module", autouse=True)
def _print_table(request: Any) -> Iterator[None]:
    manager = request.config.pluginmanager
    if not manager.is_registered(_TABLE):
        manager.register(_TABLE, "fault-matrix-table")
    yield


def pytest_generate_tests(metafunc: Any) -> None:
    if "cell" in metafunc.fixturenames:
        # by id: the discovery's call order may differ between runs (the reconcile path), and
        # processes that share the run (pytest-xdist) must collect the same list
        metafunc.parametrize("cell", [_param(cell) for cell in sorted(matrix(), key=lambda cell: cell.id)])


# --- the tests ---------------------------------------------------------------------------


def test_every_path_has_call_sites_and_every_known_gap_is_a_cell() -> None:
    # GIVEN the call sites each path made when nothing failed
    sites = discovered()
    # THEN every path calls AWS, and every listed gap names a cell of the matrix
    assert all(sites[name] for name in PATHS), {name: len(s) for name, s in sites.items()}
    ids = {cell.id for cell in matrix(full=True)}
    assert set(KNOWN_GAPS) <= ids, sorted(set(KNOWN_GAPS) - ids)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with _stage() as stage:
        yield stage


def test_one_fault_converges(cell: Cell, world: World) -> None:
    # GIVEN the path's starting state, WHEN its call site fails once and the path's
    # retries and one reconcile run
    outcome, wrong = run_cell(world, cell)
    _TABLE.outcomes[cell], _TABLE.wrong[cell] = outcome, wrong
    # THEN everything converged, nothing is orphaned or lost, each fire ran once
    assert outcome != NOT_CONVERGED, "; ".join(wrong)


TWO_FAULT_PATHS = ("create", "sns", "target", "run-now", "backfill", "dead-letter", "sweep")


@pytest.mark.parametrize("path_name", TWO_FAULT_PATHS)
def test_two_faults_on_one_path_converge(path_name: str, world: World) -> None:
    # GIVEN two faults on one run: the path's first write completes but its answer is lost
    # (AWS did it, the caller saw a failure), and its second write (or, with one write, its
    # first read) fails
    sites = discovered()[path_name]
    writes = [site for site in sites if site.mutating]
    second = writes[1] if len(writes) > 1 else next(site for site in sites if not site.mutating)
    # WHEN both hit one run, and the path's retries and one reconcile run
    outcome, wrong = run_faults(world, path_name, [(writes[0], LOST_RESPONSE), (second, HTTP_500)])
    # THEN it converged: nothing lost, doubled or orphaned
    assert outcome != NOT_CONVERGED, "; ".join(wrong)
