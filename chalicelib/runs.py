"""Runs: what a schedule does when it fires, and the record of every run.

A run is one execution id. The target function claims it, dispatches the schedule's message,
and records the outcome; nothing else is needed on the happy path:

1. the claim: ONE ``TransactWriteItems`` that checks the schedule record is still at the
   version whose definition this process holds (so a pause, delete or change since then is
   seen), counts the run in the record's summary when it is new, and writes the execution
   item as ``started`` with the claim's expiry;
2. the dispatch (SNS Publish, SQS SendMessage or Lambda Invoke);
3. the outcome: ONE ``TransactWriteItems`` that marks the execution ``succeeded`` (or
   ``failed``, with the reason) and folds it into the summary.

The definition comes from a per-process cache, or else from the Input, which carries the
record as applied when its payload is small (``scheduler.target_input``); either is checked by
the claim against the record's version (and a definition from the Input against the record's
dispatched fields). Only a process that holds neither reads the record (``GetItem``). The cache is bounded
in entries and in payload bytes (``DefinitionCache``), so large payloads cannot grow a warm
process past its memory. A claim expires when the
claiming invocation's deadline passes (the Lambda context's remaining time plus a margin): a
retry after that runs the execution again, a duplicate before it is skipped. A run already
``succeeded`` is never run again; a ``failed`` or ``undelivered`` one is (a retry that works
replaces the failure in the summary). A claim or outcome write whose response was lost, and
that botocore therefore sent again, finds its own claim token and carries on.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import observability
from chalicelib.aws_errors import error_code, translate
from chalicelib.clock import Clock, expires_after, system_clock
from chalicelib.errors import NotFound, ServiceError, UpstreamRejected
from chalicelib.exclusions import CalendarReader, fire_skip
from chalicelib.invocations import Invocation, parse_invocation
from chalicelib.models import (
    RUN_GUARD_FIELDS,
    BufferedRun,
    ExecutionOutcome,
    ExecutionRecord,
    ExecutionTrigger,
    OverlapPolicy,
    ReportedOutcome,
    RunCondition,
    Schedule,
    ScheduleDefinition,
    ScheduleState,
    ScheduleStatus,
    TargetType,
    iso,
    parse_iso,
)
from chalicelib.names import INDEX_PARTITION
from chalicelib.ports import MessagePublisher, ScheduleRepository
from chalicelib.repository import (
    EXECUTION_PREFIX,
    execution_item_id,
    plain_item,
    read_schedule,
    schedule_from_item,
)

if TYPE_CHECKING:
    from chalicelib.alerts import Alerter
    from chalicelib.timeline import Slot

logger = logging.getLogger("rez_agent.runs")

# The target function's timeout: the claim of an invocation that gives no deadline.
DEFAULT_REMAINING_MS = 30_000
# Added to the deadline: the runtime stops the function a little after it.
CLAIM_MARGIN = timedelta(seconds=5)
# An execution written before claims carried an expiry: started this long ago, it died.
LEGACY_STALE = timedelta(minutes=5)
# The definitions a warm process keeps: at most this many, holding at most this many bytes of
# payload (serialized) in all, none over the per-entry bound. A payload of many small values
# takes about 8.5 times its serialized size in memory, so the worst case is ~10 MB.
CACHED_DEFINITIONS = 512
CACHED_PAYLOAD_BYTES = 1_000_000
CACHED_PAYLOAD_BYTES_EACH = 64_000
MAX_CLAIM_ROUNDS = 4
# Writes of a dispatched run's outcome before the invocation fails (and Lambda retries it).
OUTCOME_WRITES = 2
RETRYABLE_OUTCOMES = (ExecutionOutcome.FAILED, ExecutionOutcome.UNDELIVERED)
# Why a buffer_one slot could not wait (RunStore.buffer).
BUFFER_TAKEN = "overlap_policy buffer_one: another slot already waits for the run in progress"
BUFFER_MOVED = "the run in progress ended meanwhile"
# A duplicate whose run another invocation is running now (its claim has not lapsed).
HELD_ELSEWHERE = "claimed by another invocation"
# What the dispatch reads from a definition (see dispatch_message and TargetRunner._target_arn):
# a definition stated by the Input must match the record in each.
DISPATCHED_FIELDS = ("name", "target_type", "target_arn", "payload", *RUN_GUARD_FIELDS)
# Where a worker reports how its run ended over HTTP (``{execution_id}`` URL-quoted).
REPORT_PATH = "/api/executions/{execution_id}/report"


def stated_schedule(invocation: Invocation) -> Schedule | None:
    """The schedule as the Input states it (applied, so active or paused and not pending): a
    guess like a cached definition, which the claim checks against the record. None when the
    Input carries none or one this version cannot read."""
    record, schedule_id = invocation.stated_record, invocation.schedule_id
    if record is None:
        return None
    try:
        definition = ScheduleDefinition.from_storage(record["definition"])
        status = ScheduleStatus.PAUSED if definition.state is ScheduleState.DISABLED else ScheduleStatus.ACTIVE
        return Schedule(
            id=schedule_id, definition=definition, status=status, version=int(record["version"]),
            created_by=str(record["created_by"]), created_date=str(record["created_date"]),
            updated_date=str(record["created_date"]), skip=record.get("skip"),
            snoozed_until=record.get("snoozed_until"),
        )
    except (KeyError, TypeError, ValueError):  # pydantic's ValidationError is a ValueError
        return None


@dataclass(frozen=True)
class Claim:
    """One invocation's hold on an execution: its token, and when the hold lapses."""

    token: str
    request_id: str | None
    started_at: datetime
    expires_at: datetime

    @classmethod
    def for_invocation(cls, context: Any, now: datetime) -> Claim:
        remaining = DEFAULT_REMAINING_MS
        request_id = None
        if context is not None:
            try:
                remaining = int(context.get_remaining_time_in_millis())
            except (AttributeError, TypeError, ValueError):
                remaining = DEFAULT_REMAINING_MS
            request_id = getattr(context, "aws_request_id", None)
        return cls(
            token=uuid.uuid4().hex,
            request_id=str(request_id) if request_id else None,
            started_at=now,
            expires_at=now + timedelta(milliseconds=max(remaining, 0)) + CLAIM_MARGIN,
        )


def skip_reason(schedule: Schedule | None, trigger: ExecutionTrigger) -> str | None:
    """Why this schedule must not run now (None: it may). A deleted schedule never runs; a
    paused one runs only when asked by hand."""
    if schedule is None or schedule.is_deleted:
        return "the schedule is deleted"
    if trigger is ExecutionTrigger.SCHEDULED and schedule.desired_state is ScheduleState.DISABLED:
        return "the schedule is paused"
    return None


def run_ended(schedule: Schedule, now: datetime) -> bool:
    """Whether the schedule's current run has ended: reported, or out of time."""
    current = schedule.current_run
    return current is None or current.reported_outcome is not None or _parse(current.until) <= now


def overlap_refusal(schedule: Schedule, execution_id: str, now: datetime) -> str | None:
    """Why ``overlap_policy`` holds this run back (None: it may run now)."""
    current, policy = schedule.current_run, schedule.definition.overlap_policy
    if current is None or current.execution_id == execution_id or policy in (None, OverlapPolicy.ALLOW):
        return None
    if run_ended(schedule, now):
        return None
    return f"overlap_policy {policy.value}: run {current.execution_id} has not reported yet"


def condition_refusal(schedule: Schedule, execution_id: str, now: datetime) -> str | None:
    """Why ``run_if`` skips this run (None: the condition holds, or there is no previous run)."""
    current, condition = schedule.current_run, schedule.definition.run_if
    if current is None or current.execution_id == execution_id or condition is None:
        return None
    if condition is RunCondition.PREVIOUS_FINISHED and not run_ended(schedule, now):
        return f"run_if previous_finished: run {current.execution_id} has not finished"
    if condition is RunCondition.PREVIOUS_SUCCEEDED and current.reported_outcome is not ReportedOutcome.SUCCEEDED:
        said = f"reported {current.reported_outcome.value}" if current.reported_outcome else "has not reported succeeded"
        return f"run_if previous_succeeded: run {current.execution_id} {said}"
    return None


def held_back(schedule: Schedule, execution_id: str, now: datetime) -> str | None:
    """Why the previous run holds this one back at fire time: its ``run_if``, then its
    ``overlap_policy`` (None: it may run)."""
    return condition_refusal(schedule, execution_id, now) or overlap_refusal(schedule, execution_id, now)


def guard_condition(schedule: Schedule) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The claim's condition on the record's ``current_run`` that ``overlap_refusal`` and
    ``condition_refusal`` state (the text, its names, its values); none for a schedule that
    does not guard its runs."""
    definition = schedule.definition
    names = {"#run": "current_run", "#run_id": "execution_id", "#run_until": "until",
             "#run_said": "reported_outcome"}
    values: dict[str, Any] = {}
    clauses = []
    free = "attribute_not_exists(#run) OR #run.#run_id = :id"
    if definition.overlap_policy in (OverlapPolicy.SKIP, OverlapPolicy.BUFFER_ONE) or (
        definition.run_if is RunCondition.PREVIOUS_FINISHED
    ):
        clauses.append(f"({free} OR attribute_exists(#run.#run_said) OR #run.#run_until <= :now)")
        values[":now"] = None  # set by the claim
    if definition.run_if is RunCondition.PREVIOUS_SUCCEEDED:
        clauses.append(f"({free} OR #run.#run_said = :run_ok)")
        values[":run_ok"] = ReportedOutcome.SUCCEEDED.value
    text = " AND ".join(clauses)
    return text, {key: name for key, name in names.items() if key == "#run" or key in text}, values


@dataclass
class Claimed:
    record: ExecutionRecord


@dataclass
class Duplicate:
    reason: str


@dataclass
class Blocked:
    """The record's ``current_run`` holds this slot back (overlap policy or run_if): the
    record as it is now, with the run that holds it."""

    schedule: Schedule


@dataclass
class Changed:
    """The record is no longer at the version this process held: here it is now."""

    schedule: Schedule | None


class RunStore:
    """Execution records and the schedule's summary, in the schedules table."""

    def __init__(self, table: Any, ttl_days: int = 30, clock: Clock = system_clock,
                 records: ScheduleRepository | None = None):
        """``records``: where the schedule records are read (wiring passes the stage's
        repository); without it, straight from ``table``."""
        self._table = table
        self._records = records
        self._client = table.meta.client  # boto3's resource client: plain Python values
        self._name = table.name
        self.table_name = table.name
        self._ttl_days = ttl_days
        self._now = clock

    def load(self, schedule_id: str) -> Schedule | None:
        if self._records is not None:
            return self._records.get(schedule_id)
        return read_schedule(self._table, schedule_id)

    def get_execution(self, schedule_id: str, execution_id: str) -> dict[str, Any] | None:
        try:
            item = self._table.get_item(
                Key={"id": execution_item_id(schedule_id, execution_id)}, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "schedules table") from exc
        return plain_item(item)

    # --- the claim ----------------------------------------------------------------

    def claim(
        self, schedule: Schedule, invocation: Invocation, claim: Claim, stated: bool = False
    ) -> Claimed | Duplicate | Changed | Blocked:
        """Claim the run of ``schedule`` as this process holds it. ``stated``: the schedule
        comes from the invocation's Input, so the claim also checks that the record holds
        exactly the definition fields the dispatch uses (an Input can be forged; the record
        is the authority). Changed when the record differs."""
        previous: dict[str, Any] | None = None
        for _ in range(MAX_CLAIM_ROUNDS):
            reasons = self._transact(
                [self._schedule_claim(schedule, invocation, previous, stated, claim),
                 self._execution_claim(invocation, claim, previous)],
                token=f"{claim.token[:28]}-c{0 if previous is None else previous.get('attempts', 0)}",
            )
            if reasons is None:
                return Claimed(self._record(invocation, claim, previous))
            schedule_reason, execution_reason = reasons
            if _failed_check(schedule_reason):
                item = schedule_reason.get("Item")
                now_held = _schedule_from(item) if item else None
                if now_held is not None and now_held.version == schedule.version and (
                    held_back(now_held, invocation.execution_id, claim.started_at)
                ):
                    return Blocked(now_held)
                return Changed(now_held)
            if not _failed_check(execution_reason):
                raise UpstreamRejected(f"the claim of execution {invocation.execution_id} was cancelled: {reasons}")
            current = plain_item(execution_reason.get("Item"))
            if current is None:
                previous = None  # it vanished meanwhile (expired): claim it as new
                continue
            if current.get("claim_token") == claim.token:
                return Claimed(self._record(invocation, claim, current, mine=True))  # our own write
            verdict = self._claimable(current)
            if verdict is not None:
                return Duplicate(verdict)
            previous = current
        raise UpstreamRejected(f"execution {invocation.execution_id} kept changing while being claimed")

    def _claimable(self, item: dict[str, Any]) -> str | None:
        """None when ``item`` may be claimed again; else why not."""
        outcome = item.get("outcome")
        if outcome in RETRYABLE_OUTCOMES or item.get("waiting"):
            return None  # a buffered slot is claimed when released; its guard decides
        if outcome == ExecutionOutcome.STARTED.value:
            now = self._now()
            expires = item.get("claim_expires_at")
            if expires:
                if _parse(expires) <= now:
                    return None
                return f"{HELD_ELSEWHERE} until {expires}"
            if _parse(item.get("started_at", "")) <= now - LEGACY_STALE:
                return None
            return "started less than 5 minutes ago"
        return f"already {outcome}"

    def _schedule_claim(
        self, schedule: Schedule, invocation: Invocation, previous: dict[str, Any] | None, stated: bool = False,
        claim: Claim | None = None,
    ) -> dict[str, Any]:
        sets, names, values = _last_run(invocation.execution_id, invocation.scheduled_time,
                                        ExecutionOutcome.STARTED, invocation.trigger)
        names["#version"] = "version"
        values[":version"] = schedule.version
        if previous is None:
            names.update({"#x": "executions", "#total": "total"})
            values.update({":zero": 0, ":one": 1})
            sets.append("#x.#total = if_not_exists(#x.#total, :zero) + :one")
        elif previous.get("outcome") in RETRYABLE_OUTCOMES:
            names.update({"#x": "executions", "#failed": "failed"})
            values[":one"] = 1
            sets.append("#x.#failed = if_not_exists(#x.#failed, :one) - :one")
        condition = "attribute_exists(id) AND #version = :version"
        if schedule.definition.guards_runs and claim is not None:
            condition += self._guard(schedule, invocation, claim, sets, names, values)
        if stated:
            stored = schedule.definition.to_storage()
            names["#definition"] = "definition"
            for key in DISPATCHED_FIELDS:
                names[f"#d_{key}"] = key
                if key in stored:
                    values[f":d_{key}"] = stored[key]
                    condition += f" AND #definition.#d_{key} = :d_{key}"
                else:
                    condition += f" AND attribute_not_exists(#definition.#d_{key})"
            condition += _stated_exclusions(schedule, names, values)
        return _update_or_check({
            "TableName": self._name,
            "Key": {"id": schedule.id},
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }, sets)

    @staticmethod
    def _guard(schedule: Schedule, invocation: Invocation, claim: Claim, sets: list[str], names: dict[str, str],
               values: dict[str, Any]) -> str:
        """The fire-time decision in the claim's own write: the condition that the previous
        run lets this one go (none for a run-now: asked for by hand, it runs), and this run as
        the record's ``current_run`` (held until it reports or its time is out)."""
        text, guard_names, guard_values = guard_condition(schedule)
        if invocation.trigger is ExecutionTrigger.MANUAL:
            # a run asked for by hand runs (and becomes the run later slots are judged on)
            text, guard_names, guard_values = "", {"#run": "current_run"}, {}
        names.update(guard_names)
        values.update({key: iso(claim.started_at) if key == ":now" else value for key, value in guard_values.items()})
        values[":current_run"] = {
            "execution_id": invocation.execution_id, "scheduled_time": invocation.scheduled_time,
            "until": iso(claim.started_at + schedule.definition.report_wait),
        }
        sets.append("#run = :current_run")
        if schedule.definition.overlap_policy is OverlapPolicy.BUFFER_ONE:
            names["#buffered"] = "buffered_run"
            sets[-1] += " REMOVE #buffered"  # the waiting slot is this one, or lost its turn
        return f" AND {text}" if text else ""

    def _execution_claim(self, invocation: Invocation, claim: Claim, previous: dict[str, Any] | None) -> dict[str, Any]:
        entry = {"attempt": invocation.attempt, "started_at": iso(claim.started_at)}
        if claim.request_id:
            entry["request_id"] = claim.request_id
        fields: dict[str, Any] = {
            "started_at": iso(claim.started_at),
            "attempt": invocation.attempt,
            "trigger": invocation.trigger.value,
            "outcome": ExecutionOutcome.STARTED.value,
            "claim_expires_at": iso(claim.expires_at),
            "claim_token": claim.token,
        }
        if claim.request_id:
            fields["request_id"] = claim.request_id
        update = self._execution_update(
            invocation, fields,
            sets=["#attempts = if_not_exists(#attempts, :zero) + :one",
                  "#log = list_append(if_not_exists(#log, :empty), :entry)"],
            removes=["#err", "#d", "#waiting"],
            names={"#attempts": "attempts", "#log": "attempt_log", "#err": "error", "#d": "duration_ms",
                   "#waiting": "waiting"},
            values={":zero": 0, ":one": 1, ":empty": [], ":entry": [entry]},
        )
        if previous is None:
            update["ConditionExpression"] = "attribute_not_exists(id)"
        else:
            update["ConditionExpression"] = "#outcome = :prev_outcome AND #started = :prev_started"
            update["ExpressionAttributeNames"].update({"#outcome": "outcome", "#started": "started_at"})
            update["ExpressionAttributeValues"][":prev_outcome"] = previous.get("outcome")
            update["ExpressionAttributeValues"][":prev_started"] = previous.get("started_at", "")
        update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Update": update}

    def _execution_update(
        self, invocation: Invocation, fields: dict[str, Any], *, sets: list[str], removes: list[str],
        names: dict[str, str], values: dict[str, Any],
    ) -> dict[str, Any]:
        """The one builder of an execution item's write (an UpdateItem for a transaction):
        the item's identity and index attributes and its TTL, set with ``fields``, then the
        other ``sets`` and ``removes`` (their ``names`` and ``values`` given); the caller
        adds its condition."""
        every = {
            "record_type": "execution",
            INDEX_PARTITION: EXECUTION_PREFIX + invocation.schedule_id,
            "created_date": invocation.scheduled_time,
            "schedule_id": invocation.schedule_id,
            "execution_id": invocation.execution_id,
            "scheduled_time": invocation.scheduled_time,
            **fields,
            "ttl": expires_after(self._now, self._ttl_days),
        }
        clauses = [f"#f{i} = :f{i}" for i in range(len(every))] + sets
        expression = "SET " + ", ".join(clauses) + (" REMOVE " + ", ".join(removes) if removes else "")
        return {
            "TableName": self._name,
            "Key": {"id": execution_item_id(invocation.schedule_id, invocation.execution_id)},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {**{f"#f{i}": key for i, key in enumerate(every)}, **names},
            "ExpressionAttributeValues": {**{f":f{i}": value for i, value in enumerate(every.values())}, **values},
        }

    def _record(self, invocation: Invocation, claim: Claim, previous: dict[str, Any] | None, mine: bool = False) -> ExecutionRecord:
        if mine and previous is not None:
            return ExecutionRecord.model_validate(previous)
        attempts = (int(previous.get("attempts", 1)) if previous else 0) + 1
        log = list(previous.get("attempt_log", [])) if previous else []
        entry: dict[str, Any] = {"attempt": invocation.attempt, "started_at": iso(claim.started_at)}
        if claim.request_id:
            entry["request_id"] = claim.request_id
        return ExecutionRecord(
            schedule_id=invocation.schedule_id,
            execution_id=invocation.execution_id,
            scheduled_time=invocation.scheduled_time,
            started_at=iso(claim.started_at),
            attempt=invocation.attempt,
            attempts=attempts,
            attempt_log=[*log, entry],
            trigger=invocation.trigger,
            outcome=ExecutionOutcome.STARTED,
            claim_expires_at=iso(claim.expires_at),
        )

    # --- the outcome ----------------------------------------------------------------

    def finish(self, record: ExecutionRecord, claim: Claim, outcome: ExecutionOutcome,
               duration_ms: int, error: str | None = None, watch: dict[str, Any] | None = None,
               dispatched: dict[str, Any] | None = None, end_run: bool = False,
               skip_reason: str | None = None) -> bool:
        """Store the outcome of a claimed run and fold it into the summary, and with ``watch``
        (``activity.watch_moved``) move the alert watch past the run's slot in the same write.
        A run not dispatched on purpose is ``skipped`` with its ``skip_reason``. False when
        the claim was lost meanwhile (a later invocation holds it now: its outcome stands)."""
        failed = outcome in RETRYABLE_OUTCOMES
        extra = {**(dispatched or {}), **({"skip_reason": skip_reason} if skip_reason else {})}
        execution: dict[str, Any] = {"Update": {
            "TableName": self._name,
            "Key": {"id": execution_item_id(record.schedule_id, record.execution_id)},
            "UpdateExpression": "SET #outcome = :o, #d = :d" + (", #err = :e" if error else "")
            + "".join(f", #x_{key} = :x_{key}" for key in extra)
            + " REMOVE #expires" + ("" if error else ", #err"),
            "ConditionExpression": "claim_token = :token AND #outcome = :started",
            "ExpressionAttributeNames": {"#outcome": "outcome", "#d": "duration_ms", "#err": "error",
                                         "#expires": "claim_expires_at", **{f"#x_{key}": key for key in extra}},
            "ExpressionAttributeValues": {":o": outcome.value, ":d": duration_ms, ":token": claim.token,
                                          ":started": ExecutionOutcome.STARTED.value,
                                          **({":e": error} if error else {}),
                                          **{f":x_{key}": value for key, value in extra.items()}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }}
        summary = self._summary_update(record, outcome, count_new=False, failed=failed)
        if end_run and "Update" in summary:  # (a step with nothing to set is a ConditionCheck: no run of the record's)
            _end_current_run(summary["Update"], record.execution_id, skipped=outcome is ExecutionOutcome.SKIPPED)
        steps = [execution, summary] if watch is None else [execution, summary, watch]
        kind = "f" if watch is None else "w"
        reasons = self._transact(steps, token=f"{claim.token[:28]}-{kind}{outcome.value[:1]}")
        if reasons is None:
            return True
        execution_reason, summary_reason = reasons[:2]
        if watch is not None and _failed_check(reasons[2]) and not _failed_check(execution_reason):
            # the watch waits for an earlier slot (or the sweep moved it): the sweep moves it
            return self.finish(record, claim, outcome, duration_ms, error, dispatched=dispatched, end_run=end_run,
                               skip_reason=skip_reason)
        if _failed_check(execution_reason):
            current = plain_item(execution_reason.get("Item")) or {}
            return bool(current.get("claim_token") == claim.token and current.get("outcome") == outcome.value)
        if _failed_check(summary_reason):  # the schedule record expired: the run stands alone
            self._transact([execution], token=f"{claim.token[:28]}-g{outcome.value[:1]}")
            return True
        raise UpstreamRejected(f"the outcome of execution {record.execution_id} was cancelled: {reasons}")

    def _summary_update(self, record: ExecutionRecord, outcome: ExecutionOutcome, count_new: bool,
                        failed: bool) -> dict[str, Any]:
        sets, names, values = _last_run(record.execution_id, record.scheduled_time, outcome, record.trigger)
        if count_new:
            names.update({"#x": "executions", "#total": "total"})
            sets.append("#x.#total = if_not_exists(#x.#total, :zero) + :one")
        if failed:
            names.update({"#x": "executions", "#failed": "failed"})
            sets.append("#x.#failed = if_not_exists(#x.#failed, :zero) + :one")
        if count_new or failed:
            values.update({":zero": 0, ":one": 1})  # AWS rejects a value the expression does not use
        return _update_or_check({
            "TableName": self._name,
            "Key": {"id": record.schedule_id},
            "ConditionExpression": "attribute_exists(id)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }, sets)

    # --- reports ---------------------------------------------------------------------------

    def record_report(self, schedule: Schedule, record: ExecutionRecord) -> bool:
        """Store a worker's report (``reports.write_report``); False when the execution or the
        record changed meanwhile."""
        from chalicelib.reports import write_report

        return write_report(self._client, self._name, schedule, record)

    # --- runs held back at fire time ----------------------------------------------------

    def record_skip(self, invocation: Invocation, claim: Claim, reason: str) -> None:
        """Record a slot skipped at fire time (outcome ``skipped``, ``skip_reason``): one write,
        which a redelivery of the same fire repeats harmlessly; a run already recorded
        otherwise is left as it is."""
        update = self._execution_update(
            invocation, {"outcome": ExecutionOutcome.SKIPPED.value, "skip_reason": reason[:1000],
                         "started_at": iso(claim.started_at), "attempt": invocation.attempt,
                         "trigger": invocation.trigger.value},
            sets=[], removes=[], names={"#outcome": "outcome"}, values={":skipped": ExecutionOutcome.SKIPPED.value},
        )
        update["ConditionExpression"] = "attribute_not_exists(id) OR #outcome = :skipped"
        try:
            self._client.update_item(**update)
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate(exc, "schedules table") from exc
        except BotoCoreError as exc:
            raise translate(exc, "schedules table") from exc

    def buffer(self, schedule: Schedule, invocation: Invocation, claim: Claim) -> str | None:
        """Hold a buffer_one slot until the current run reports: the record's ``buffered_run``
        and the slot's execution, ``waiting``, in one write. None when done; ``BUFFER_TAKEN``
        when another slot already waits; ``BUFFER_MOVED`` when the record changed meanwhile
        (the current run ended: the caller claims again)."""
        current = schedule.current_run
        if current is None:
            return BUFFER_MOVED
        waiting = BufferedRun(execution_id=invocation.execution_id, scheduled_time=invocation.scheduled_time,
                              attempt=invocation.attempt, trigger=invocation.trigger)
        record = {"Update": {
            "TableName": self._name,
            "Key": {"id": schedule.id},
            "UpdateExpression": "SET #buffered = :buffered",
            "ConditionExpression": "#version = :version AND #run.#run_id = :current "
            "AND attribute_not_exists(#run.#run_said) "
            "AND (attribute_not_exists(#buffered) OR #buffered.#run_id = :id)",
            "ExpressionAttributeNames": {"#buffered": "buffered_run", "#version": "version", "#run": "current_run",
                                         "#run_id": "execution_id", "#run_said": "reported_outcome"},
            "ExpressionAttributeValues": {":buffered": waiting.model_dump(mode="json"), ":version": schedule.version,
                                          ":current": current.execution_id, ":id": invocation.execution_id},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }}
        execution = self._execution_update(
            invocation, {"outcome": ExecutionOutcome.STARTED.value, "waiting": True,
                         "started_at": iso(claim.started_at), "attempt": invocation.attempt,
                         "trigger": invocation.trigger.value, "claim_expires_at": current.until},
            sets=[], removes=[], names={"#waiting": "waiting"}, values={},
        )
        execution["ConditionExpression"] = "attribute_not_exists(id) OR #waiting = :yes"
        execution["ExpressionAttributeValues"][":yes"] = True
        reasons = self._transact([record, {"Update": execution}], token=f"{claim.token[:28]}-b")
        if reasons is None:
            return None
        now_held = _schedule_from(reasons[0].get("Item") or {}) if _failed_check(reasons[0]) else None
        if now_held is not None and now_held.version == schedule.version and now_held.current_run == current:
            return BUFFER_TAKEN  # the record is as it was: another slot waits
        if not _failed_check(reasons[0]):
            return BUFFER_TAKEN  # the slot's execution is recorded otherwise: it does not wait again
        return BUFFER_MOVED

    # --- dead letters ------------------------------------------------------------------

    def record_dead_letter(self, invocation: Invocation, outcome: ExecutionOutcome, reason: str) -> str:
        """Record that a run was given up on (``undelivered``: it never reached the target
        function; ``failed``: the function gave up). Idempotent: a run already recorded with
        this outcome, or that succeeded after all, is left as it is. What was done."""
        for _ in range(MAX_CLAIM_ROUNDS):
            current = self.get_execution(invocation.schedule_id, invocation.execution_id)
            if current is not None and current.get("outcome") in (outcome.value, ExecutionOutcome.SUCCEEDED.value):
                return f"already {current.get('outcome')}"
            record = ExecutionRecord(
                schedule_id=invocation.schedule_id, execution_id=invocation.execution_id,
                scheduled_time=invocation.scheduled_time, started_at=iso(self._now()),
                attempt=invocation.attempt, trigger=invocation.trigger, outcome=outcome,
                attempts=int(current.get("attempts", 0)) if current else 0,
            )
            was_failed = current is not None and current.get("outcome") in RETRYABLE_OUTCOMES
            update = self._execution_update(
                invocation, {"outcome": outcome.value, "error": reason[:1000]},
                sets=["#started = if_not_exists(#started, :now)", "#attempt = if_not_exists(#attempt, :attempt)",
                      "#trigger = if_not_exists(#trigger, :trigger)"],
                removes=["#expires"],
                names={"#expires": "claim_expires_at", "#started": "started_at", "#attempt": "attempt",
                       "#trigger": "trigger"},
                values={":now": iso(self._now()), ":attempt": invocation.attempt,
                        ":trigger": invocation.trigger.value},
            )
            item = {"Update": update}
            if current is None:
                update["ConditionExpression"] = "attribute_not_exists(id)"
            else:
                update["ConditionExpression"] = "#outcome = :prev"
                update["ExpressionAttributeNames"]["#outcome"] = "outcome"
                update["ExpressionAttributeValues"][":prev"] = current.get("outcome")
            summary = self._summary_update(record, outcome, count_new=current is None, failed=not was_failed)
            reasons = self._transact([item, summary])
            if reasons is None:
                return f"recorded {outcome.value}"
            if _failed_check(reasons[1]):  # no schedule record (expired): the run stands alone
                update.pop("ConditionExpression")
                update["ExpressionAttributeNames"].pop("#outcome", None)
                update["ExpressionAttributeValues"].pop(":prev", None)
                self._transact([item])
                return f"recorded {outcome.value} (no schedule record)"
        raise UpstreamRejected(f"execution {invocation.execution_id} kept changing while recording a dead letter")

    # --- internals ----------------------------------------------------------------------

    def _transact(self, items: list[dict[str, Any]], token: str | None = None) -> list[dict[str, Any]] | None:
        """Write ``items`` at once; None when done, else the cancellation reasons (one per
        item). The request token makes a retry of a write that landed a no-op on AWS."""
        request: dict[str, Any] = {"TransactItems": items}
        if token:
            request["ClientRequestToken"] = token[:36]
        try:
            self._client.transact_write_items(**request)
            return None
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                if any(reason.get("Code") == "TransactionConflict" for reason in reasons) or len(reasons) != len(items):
                    raise translate(exc, "schedules table") from exc
                return reasons
            raise translate(exc, "schedules table") from exc
        except BotoCoreError as exc:
            raise translate(exc, "schedules table") from exc


def _end_current_run(update: dict[str, Any], execution_id: str, skipped: bool = False) -> None:
    """Add to a summary update: the record's ``current_run``, when it is this run, has ended:
    failed (its dispatch failed, so no report will come and later slots need not wait), or
    never was (a calendar, a requested skip or a snooze kept it from running after its claim
    took the record: later slots are then judged as after a first run)."""
    if skipped:
        update["UpdateExpression"] += " REMOVE #run"
        update["ExpressionAttributeNames"].update({"#run": "current_run", "#run_id": "execution_id"})
    else:
        update["UpdateExpression"] += ", #run.#run_said = :run_failed"
        update["ExpressionAttributeNames"].update({"#run": "current_run", "#run_id": "execution_id",
                                                   "#run_said": "reported_outcome"})
        update["ExpressionAttributeValues"][":run_failed"] = ReportedOutcome.FAILED.value
    # a later slot that took the record meanwhile owns it: then the run is written alone
    update["ConditionExpression"] += " AND #run.#run_id = :run_id"
    update["ExpressionAttributeValues"][":run_id"] = execution_id


def _stated_exclusions(schedule: Schedule, names: dict[str, str], values: dict[str, Any]) -> str:
    """The claim's check that the record holds the skip and the snooze the Input states (a
    run decides on them: ``chalicelib.exclusions``)."""
    names.update({"#skip": "skip", "#snoozed": "snoozed_until"})
    condition = ""
    if schedule.skip is not None:
        names["#skip_until"] = "until"
        values[":skip_until"] = schedule.skip.until
        condition += " AND #skip.#skip_until = :skip_until"
    else:
        condition += " AND attribute_not_exists(#skip)"
    if schedule.snoozed_until:
        values[":snoozed"] = schedule.snoozed_until
        condition += " AND #snoozed = :snoozed"
    else:
        condition += " AND attribute_not_exists(#snoozed)"
    return condition


def _last_run(execution_id: str, scheduled_time: str, outcome: ExecutionOutcome,
              trigger: ExecutionTrigger) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """The summary's last run (its SET clauses, names and values), which every run writes
    but a backfill: it runs a past slot, so it is never the schedule's latest run (the
    summary still counts it)."""
    if trigger is ExecutionTrigger.BACKFILL:
        return [], {}, {}
    return (
        ["#x.#last_id = :id", "#x.#last_time = :t", "#x.#last_outcome = :o"],
        {"#x": "executions", "#last_id": "last_execution_id", "#last_time": "last_scheduled_time",
         "#last_outcome": "last_outcome"},
        {":id": execution_id, ":t": scheduled_time, ":o": outcome.value},
    )


def _update_or_check(request: dict[str, Any], sets: list[str]) -> dict[str, Any]:
    """A transaction step on the schedule record: an Update of ``sets``, or with nothing to
    set, a ConditionCheck of its condition (AWS refuses an empty expression map)."""
    request = {key: value for key, value in request.items() if value != {}}
    if sets:
        return {"Update": {**request, "UpdateExpression": "SET " + ", ".join(sets)}}
    return {"ConditionCheck": request}


def _failed_check(reason: dict[str, Any]) -> bool:
    return reason.get("Code") == "ConditionalCheckFailed"


def _schedule_from(item: dict[str, Any]) -> Schedule | None:
    """A schedule record from a cancellation reason, read the way the repository reads one."""
    data = plain_item(item)
    if not data or data.get("record_type", "schedule") != "schedule":
        return None
    return schedule_from_item(data)


def _parse(value: str) -> datetime:
    """A stored time; one that does not read as a time is long past."""
    try:
        return parse_iso(str(value))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


class DefinitionCache:
    """The schedule definitions a warm target function keeps between runs, least recently
    used dropped first. Each is only a guess: the claim checks it against the record's version.
    Bounded in entries and in serialized payload bytes; a definition whose payload is over the
    per-entry bound is not kept (its runs read the record each time)."""

    def __init__(
        self,
        entries: int = CACHED_DEFINITIONS,
        payload_bytes: int = CACHED_PAYLOAD_BYTES,
        payload_bytes_each: int = CACHED_PAYLOAD_BYTES_EACH,
    ):
        self._entries = entries
        self._budget = payload_bytes
        self._each = min(payload_bytes_each, payload_bytes)
        self._kept: OrderedDict[str, tuple[Schedule, int]] = OrderedDict()
        self.payload_bytes = 0  # serialized payload bytes held now

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, schedule_id: str) -> Schedule | None:
        kept = self._kept.get(schedule_id)
        return kept[0] if kept else None

    def keep(self, schedule: Schedule) -> None:
        kept = self._kept.get(schedule.id)
        if kept is not None and kept[0] is schedule:
            self._kept.move_to_end(schedule.id)
            return
        self.drop(schedule.id)
        size = len(json.dumps(schedule.definition.payload, separators=(",", ":")).encode())
        if size > self._each:
            return
        self._kept[schedule.id] = (schedule, size)
        self.payload_bytes += size
        while len(self._kept) > self._entries or self.payload_bytes > self._budget:
            _, (_, dropped) = self._kept.popitem(last=False)
            self.payload_bytes -= dropped

    def drop(self, schedule_id: str) -> None:
        kept = self._kept.pop(schedule_id, None)
        if kept is not None:
            self.payload_bytes -= kept[1]


class TargetRunner:
    """Runs when a schedule fires (invoked by EventBridge Scheduler, or by a run-now)."""

    def __init__(
        self,
        store: RunStore,
        publisher: MessagePublisher,
        web_actions_topic_arn: Callable[[], str],
        notifications_topic_arn: Callable[[], str],
        monotonic: Callable[[], float] = time.monotonic,
        clock: Clock = system_clock,
        definitions: DefinitionCache | None = None,
        alerter: Alerter | None = None,
        grace_seconds: int | None = None,
        results_topic_arn: Callable[[], str] | None = None,
        calendars: CalendarReader | None = None,
    ):
        self._store = store
        self._results_topic_arn = results_topic_arn or (lambda: "")
        self._calendars = calendars  # the days of the calendars a schedule names, read per fire
        self._alerter = alerter
        # with a grace, an on-time success moves the schedule's alert watch (see _watch_step)
        self._grace = timedelta(seconds=grace_seconds) if grace_seconds is not None else None
        self._publisher = publisher
        self._web_actions_topic_arn = web_actions_topic_arn
        self._notifications_topic_arn = notifications_topic_arn
        self._monotonic = monotonic
        self._now = clock
        self.definitions = definitions if definitions is not None else DefinitionCache()

    def run(self, event: Any, context: Any = None) -> dict[str, Any]:
        """Claim, dispatch and record one run; the outcome is declared and counted here."""
        invocation = parse_invocation(event, self._now())
        started = self._monotonic()
        claim = Claim.for_invocation(context, self._now())
        answer = {"schedule_id": invocation.schedule_id, "execution_id": invocation.execution_id}
        claimed = self._claim(invocation, claim)
        if isinstance(claimed, str):
            logger.info("execution %s skipped: %s", invocation.execution_id, claimed)
            _signal(invocation, "skipped", claim, self._elapsed(started), reason=claimed)
            return {**answer, "outcome": "skipped", "reason": claimed}
        schedule, result = claimed
        if isinstance(result, Duplicate):
            _signal(invocation, "duplicate", claim, self._elapsed(started), reason=result.reason)
            return {**answer, "outcome": "duplicate", "reason": result.reason}
        excluded = self._exclusion(schedule, result.record, claim, started)
        if excluded is not None:
            self._skip(schedule, result.record, claim, started, excluded)
            return {**answer, "outcome": "skipped", "reason": excluded}
        failure = self._dispatch(schedule, result.record, claim, started)
        if failure is not None:
            return {**answer, "outcome": "failed", "reason": failure}
        return {**answer, "outcome": "succeeded"}

    def _definition(self, invocation: Invocation) -> tuple[Schedule | None, Schedule | None]:
        """The definition to claim with (the cache's, else the Input's, else the record's),
        and the Input's when that is the one."""
        schedule = self.definitions.get(invocation.schedule_id)
        if schedule is not None:
            return schedule, None
        stated = stated_schedule(invocation)
        if stated is not None and not skip_reason(stated, invocation.trigger):
            return stated, stated  # a skip is decided on the record, never on the Input
        return self._store.load(invocation.schedule_id), None

    def _claim(self, invocation: Invocation, claim: Claim) -> tuple[Schedule, Claimed | Duplicate] | str:
        """The schedule and the claim of its run, or why the run is skipped."""
        schedule, stated = self._definition(invocation)
        for _ in range(MAX_CLAIM_ROUNDS):
            reason = skip_reason(schedule, invocation.trigger)
            if reason or schedule is None:
                self.definitions.drop(invocation.schedule_id)
                return reason or "the schedule is deleted"
            result = self._store.claim(schedule, invocation, claim, stated=schedule is stated)
            if isinstance(result, Blocked):
                held = self._hold_back(result.schedule, invocation, claim)
                if held is not None:
                    return held
            elif not isinstance(result, Changed):
                self.definitions.keep(schedule)
                return schedule, result
            schedule = result.schedule
        raise UpstreamRejected(f"schedule {invocation.schedule_id} kept changing while it fired")

    def _hold_back(self, schedule: Schedule, invocation: Invocation, claim: Claim) -> str | None:
        """A slot the previous run holds back: buffered (buffer_one, while no slot waits),
        else recorded as skipped with the reason. Why it does not run now (None: the run in
        progress ended meanwhile, claim again)."""
        reason = held_back(schedule, invocation.execution_id, claim.started_at) or "held back by the previous run"
        overlap = overlap_refusal(schedule, invocation.execution_id, claim.started_at)
        if overlap == reason and schedule.definition.overlap_policy is OverlapPolicy.BUFFER_ONE:
            refused = self._store.buffer(schedule, invocation, claim)
            if refused is None:
                waited = schedule.current_run.execution_id if schedule.current_run else ""
                return f"buffered: runs when run {waited} reports"
            if refused == BUFFER_MOVED:
                return None
            reason = refused
        self._store.record_skip(invocation, claim, reason)
        return reason
    def _exclusion(self, schedule: Schedule, record: ExecutionRecord, claim: Claim, started: float) -> str | None:
        """Why the claimed run is not dispatched (``exclusions.fire_skip``). When the calendars
        cannot be read, the run is recorded failed (so a retry claims it again) and the
        invocation fails, for Lambda to retry it."""
        try:
            return fire_skip(schedule, record, self._calendars)
        except ServiceError as exc:
            reason = f"its exclusion calendars could not be read: {exc.message}"[:1000]
            self._store.finish(record, claim, ExecutionOutcome.FAILED, self._elapsed(started), reason)
            _signal(_invocation_of(record), "failed", claim, self._elapsed(started), reason=reason)
            raise

    @staticmethod
    def _took_record(schedule: Schedule, record: ExecutionRecord) -> bool:
        """Whether this run's claim made it the record's ``current_run`` (a scheduled run of a
        schedule that guards its runs)."""
        return schedule.definition.guards_runs and record.trigger is ExecutionTrigger.SCHEDULED

    def _skip(self, schedule: Schedule, record: ExecutionRecord, claim: Claim, started: float, reason: str) -> None:
        """Record a claimed run ``skipped`` on purpose (a calendar's day, a requested skip, a
        snooze) in the outcome write a run makes anyway, its slot judged there (the alert
        watch moves past it as after an on-time run); nothing is dispatched. The write is
        tried twice, as a dispatched run's is; then the invocation fails and its retry (once
        the claim lapses) records it."""
        watch = self._watch_step(schedule, record, claim)
        for attempt in range(1, OUTCOME_WRITES + 1):
            try:
                self._store.finish(record, claim, ExecutionOutcome.SKIPPED, self._elapsed(started), watch=watch,
                                   skip_reason=reason, end_run=self._took_record(schedule, record))
                break
            except ServiceError:
                if attempt == OUTCOME_WRITES:
                    raise
        logger.info("execution %s skipped: %s", record.execution_id, reason)
        _signal(_invocation_of(record), "skipped", claim, self._elapsed(started), reason=reason)

    def _dispatch(self, schedule: Schedule, record: ExecutionRecord, claim: Claim, started: float) -> str | None:
        """Send the schedule's message and record how that went: None when it succeeded,
        else the reason it failed (a failure that a retry may fix raises)."""
        planned = self._planned(schedule, record)
        # the start latency counts from the planned slot (an emulator reports it floored)
        invocation = _invocation_of(record, planned[0].time if planned else None)
        try:
            self._publisher.publish(self._target_arn(schedule), dispatch_message(schedule, record, self._results_topic_arn()),
                                    dispatch_attributes(schedule))
        except Exception as exc:
            reason = _error_text(exc)
            self._store.finish(record, claim, ExecutionOutcome.FAILED, self._elapsed(started), reason,
                               end_run=schedule.definition.guards_runs)
            _signal(invocation, "failed", claim, self._elapsed(started), reason=reason, dispatched=True)
            self._alert(schedule, record.model_copy(update={"outcome": ExecutionOutcome.FAILED, "error": reason}))
            if isinstance(exc, NotFound):  # the target does not exist: retrying cannot help
                return reason
            # anything else may pass (a throttle, a policy still propagating): Lambda retries
            # the invocation, which claims the run again; after its last retry the dead-letter
            # queue gets the failure, already recorded here
            raise
        awaits = schedule.definition.awaits_report
        # a run that awaits its report leaves the watch on its slot: the sweep judges it once
        # it reports or its time is out (timed_out)
        watch = None if awaits else self._watch_step(schedule, record, claim)
        dispatched = dispatch_times(schedule, self._now())
        for attempt in range(1, OUTCOME_WRITES + 1):
            try:
                self._store.finish(record, claim, ExecutionOutcome.SUCCEEDED, self._elapsed(started), watch=watch,
                                   dispatched=dispatched)
                break
            except ServiceError as exc:
                # dispatched, but not yet recorded: try once more here; if that fails too,
                # fail the invocation, so Lambda's retry (once the claim lapses) runs it again
                # and records it: the target may get the message twice, with the same
                # execution id, and the history stays exact
                logger.error("execution %s dispatched, outcome not stored (write %d): %s",
                             record.execution_id, attempt, exc.message)
                if attempt == OUTCOME_WRITES:
                    raise
        _signal(invocation, "succeeded", claim, self._elapsed(started), dispatched=True)
        if watch is None and not awaits:  # late, or its slot not the one the watch waits for: alert it if due
            self._alert(schedule, record.model_copy(update={"outcome": ExecutionOutcome.SUCCEEDED}))
        return None

    def _planned(self, schedule: Schedule, record: ExecutionRecord) -> tuple[Slot, datetime | None] | None:
        """The planned slot of a scheduled run and the next slot's deadline (None: not a
        planned slot, or no watch kept by this runner)."""
        if self._grace is None or record.trigger is not ExecutionTrigger.SCHEDULED:
            return None
        from chalicelib.timeline import next_due, planned_slot

        try:
            slot = planned_slot(schedule, parse_iso(record.scheduled_time), self._grace)
        except ValueError:
            return None
        return (slot, next_due(schedule, slot.time, self._grace)) if slot is not None else None

    def _watch_step(self, schedule: Schedule, record: ExecutionRecord, claim: Claim) -> dict[str, Any] | None:
        """The watch update an on-time run adds to its outcome write (no call of its own)."""
        planned = self._planned(schedule, record)
        if planned is None or planned[1] is None or claim.started_at > planned[0].deadline:
            return None  # late, or nothing after it: the sweep judges it
        from chalicelib.activity import watch_moved
        from chalicelib.timeline import slot_key

        slot, upcoming = planned[0], planned[1]
        return watch_moved(self._store.table_name, schedule.id, slot_key(slot.time), iso(slot.deadline),
                           iso(upcoming))

    def _alert(self, schedule: Schedule, record: ExecutionRecord) -> None:
        """Alert a run's outcome now when it calls for one (``Alerter.run_finished``): a
        failure, or a late run of a slot already judged missed. Never fails the run."""
        planned = self._planned(schedule, record) if self._alerter is not None else None
        if planned is None or self._alerter is None:
            return
        try:
            self._alerter.run_finished(schedule, planned[0], record, self._now(), planned[1])
        except ServiceError as exc:
            logger.warning("run %s not alerted yet (the sweep will): %s", record.execution_id, exc.message)

    def _elapsed(self, started: float) -> int:
        return int((self._monotonic() - started) * 1000)

    def _target_arn(self, schedule: Schedule) -> str:
        kind = schedule.definition.target_type
        if kind is TargetType.WEB_ACTION:
            return self._web_actions_topic_arn()
        if kind is TargetType.NOTIFICATION:
            return self._notifications_topic_arn()
        return schedule.definition.target_arn or ""


def dispatch_times(schedule: Schedule, now: datetime) -> dict[str, Any]:
    """What the outcome write of a dispatched run adds: when it was dispatched, and, when its
    schedule awaits a report, until when it is ``running``."""
    times: dict[str, Any] = {"dispatched_at": iso(now)}
    if schedule.definition.awaits_report:
        times["report_due_at"] = iso(now + schedule.definition.report_wait)
    if schedule.definition.max_duration_seconds:
        times["max_duration_seconds"] = schedule.definition.max_duration_seconds
    return times


def report_path(execution_id: str) -> str:
    from urllib.parse import quote

    return REPORT_PATH.format(execution_id=quote(execution_id, safe=""))


def dispatch_message(schedule: Schedule, record: ExecutionRecord, results_topic_arn: str = "") -> dict[str, Any]:
    """What the target receives: the schedule's payload, the run's identity, and where the
    worker reports how it ended (echoing ``schedule_id`` and ``execution_id``)."""
    return {
        "schedule_id": schedule.id,
        "name": schedule.definition.name,
        "target_type": schedule.definition.target_type.value,
        "payload": schedule.definition.payload,
        "scheduled_time": record.scheduled_time,
        "execution_id": record.execution_id,
        "attempt": record.attempt,
        "trigger": record.trigger.value,
        "created_by": schedule.created_by,
        "report": {"topic_arn": results_topic_arn, "path": report_path(record.execution_id),
                   "awaited": schedule.definition.awaits_report},
    }


_EXECUTION_METRICS = {
    "succeeded": observability.EXECUTIONS_SUCCEEDED,
    "failed": observability.EXECUTIONS_FAILED,
    "duplicate": observability.EXECUTIONS_DUPLICATE,
    "skipped": observability.EXECUTIONS_SKIPPED,
}


def _signal(invocation: Invocation, outcome: str, claim: Claim, duration_ms: int, reason: str | None = None,
            dispatched: bool = False) -> None:
    """Declare how the run ended and count it. Only a run that was dispatched (succeeded or
    failed) has a dispatch duration and a start latency; a skip or a duplicate is neither a
    success nor a failure."""
    observability.count(_EXECUTION_METRICS[outcome])
    fields: dict[str, Any] = {"reason": reason} if reason else {}
    if dispatched:
        fields["slot"] = invocation.scheduled_time  # the planned slot, to the second
        observability.milliseconds(observability.DISPATCH_DURATION, duration_ms)
        latency = start_latency_ms(invocation.scheduled_time, claim.started_at)
        if latency is not None and invocation.trigger is ExecutionTrigger.SCHEDULED:
            fields["start_latency_ms"] = latency
            observability.milliseconds(observability.START_LATENCY, latency)
    messages = {"duplicate": "execution already recorded; not run again", "failed": "execution failed"}
    level = logging.ERROR if outcome == "failed" else logging.INFO
    observability.declare(outcome, messages.get(outcome, f"execution {outcome}"), level, **fields)


def start_latency_ms(scheduled_time: str, started_at: datetime) -> int | None:
    """When the run started, minus the slot it was scheduled for (None: no slot given)."""
    try:
        scheduled = parse_iso(scheduled_time)
    except ValueError:
        return None
    return max(0, int((started_at - scheduled).total_seconds() * 1000))


def _invocation_of(record: ExecutionRecord, slot: datetime | None = None) -> Invocation:
    return Invocation(schedule_id=record.schedule_id, scheduled_time=iso(slot) if slot else record.scheduled_time,
                      execution_id=record.execution_id, attempt=record.attempt, trigger=record.trigger)


def dispatch_attributes(schedule: Schedule) -> dict[str, str]:
    """What SNS subscribers (and SQS consumers) of a fired message can filter on."""
    return {"created_by": schedule.created_by, "target_type": schedule.definition.target_type.value}


def _error_text(exc: Exception) -> str:
    text = exc.message if isinstance(exc, ServiceError) else str(exc)
    return text[:1000]
