"""Reports: a worker says how its run ended, and the run's record keeps it.

Two ways in, one rule: ``POST /api/executions/{execution_id}/report`` (the schedule's owner
or an admin) and the stage's results topic (who may publish is the topic's policy). The body
is ``{"schedule_id", "execution_id", "outcome": "succeeded"|"failed", "message"?, "details"?}``;
the worker copies ``schedule_id`` and ``execution_id`` from the message it received, so a
report finds its execution by key (no index, no lookup item).

A report costs: ``GetItem`` of the schedule record, ``GetItem`` of the execution, one
``TransactWriteItems`` (the execution's report; the record's ``current_run`` and summary
when they name this run or it failed). A reported failure adds the alert (the watch's
``GetItem``, the marker's two writes and the ``Publish``, once); a buffer_one slot waiting for
this run adds the target function's ``Invoke``.

Idempotent: the same report again answers the stored one and changes nothing; a report that
says something else is refused (409, naming the field), as is one for a run that was never
dispatched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import names, observability, strict_json
from chalicelib.aws_errors import translate
from chalicelib.clock import Clock, system_clock
from chalicelib.errors import (
    Conflict,
    NotAvailableHere,
    NotFound,
    ServiceError,
    UpstreamRejected,
    ValidationError,
)
from chalicelib.identity import Caller
from chalicelib.models import (
    ExecutionOutcome,
    ExecutionRecord,
    ExecutionTrigger,
    ReportedOutcome,
    RunReport,
    Schedule,
    iso,
    parse_iso,
    parse_model,
)
from chalicelib.ports import ScheduleRepository
from chalicelib.repository import execution_item_id, plain_item

if TYPE_CHECKING:
    from chalicelib.alerts import Alerter
    from chalicelib.rejections import Rejecter
    from chalicelib.run_now import TargetInvoker
    from chalicelib.runs import RunStore

logger = logging.getLogger("rez_agent.reports")

REPORT_ROUNDS = 4
# the dispatch outcomes a report may follow: dispatched, or dispatched and not yet written
# (a quick worker can report before the target function records its dispatch)
REPORTABLE = (ExecutionOutcome.SUCCEEDED.value, ExecutionOutcome.STARTED.value)


@dataclass(frozen=True)
class Recorded:
    """A report as stored, and whether this call stored it (False: it was stored before)."""

    record: ExecutionRecord
    new: bool

    def to_api(self) -> dict[str, Any]:
        return {"recorded": self.new, "execution": self.record.to_api()}


class ReportService:
    def __init__(self, store: RunStore, repository: ScheduleRepository, alerter: Alerter | None = None,
                 invoker: Callable[[], TargetInvoker] | None = None, grace_seconds: int = 120,
                 clock: Clock = system_clock):
        self._store = store
        self._repository = repository
        self._alerter = alerter
        self._invoker = invoker
        self._grace = timedelta(seconds=grace_seconds)
        self._now = clock

    def report(self, report: RunReport, caller: Caller | None = None) -> Recorded:
        """Record ``report``; ``caller``: the API's (None: the results topic, whose policy
        decided who may publish)."""
        execution_id = report.execution_id or ""
        schedule = self._repository.get(report.schedule_id)
        if schedule is None or (caller is not None and not caller.may_act_on(schedule.created_by)):
            raise NotFound(f"execution {execution_id} of schedule {report.schedule_id} does not exist")
        for _ in range(REPORT_ROUNDS):
            item = self._store.get_execution(schedule.id, execution_id)
            if item is None:
                raise NotFound(f"execution {execution_id} of schedule {report.schedule_id} does not exist")
            record = ExecutionRecord.model_validate(item)
            if record.reported_outcome is not None:
                same_report(record, report)
                self._release_buffered(schedule, record.execution_id)  # a redelivery finishes what the first left
                return Recorded(record, new=False)
            if item.get("outcome") not in REPORTABLE or record.waiting:
                raise Conflict(f"outcome: execution {execution_id} was not dispatched ({item.get('outcome')}): "
                               "there is no run to report on")
            now = self._now()
            reported = with_report(record, report, now)
            if self._store.record_report(schedule, reported) or self._landed(schedule, reported):
                self._reported(schedule, reported)
                return Recorded(reported, new=True)
            schedule = self._repository.get(schedule.id) or schedule
        raise UpstreamRejected(f"execution {execution_id} kept changing while its report was recorded")

    def _landed(self, schedule: Schedule, reported: ExecutionRecord) -> bool:
        """Whether the write that seemed refused was our own, sent again after its answer was
        lost (the stored report carries this call's time)."""
        item = self._store.get_execution(schedule.id, reported.execution_id) or {}
        return bool(item.get("reported_at") == reported.reported_at
                    and item.get("reported_outcome") == reported.reported_outcome)

    def _reported(self, schedule: Schedule, record: ExecutionRecord) -> None:
        """A report just stored: declared and counted here, a failure alerted, a waiting slot
        released."""
        said = record.reported_outcome.value if record.reported_outcome else ""
        fields: dict[str, Any] = {"execution_id": record.execution_id, "reported_outcome": said}
        if record.run_duration_ms is not None:
            fields["run_duration_ms"] = record.run_duration_ms
            observability.milliseconds(observability.RUN_DURATION, record.run_duration_ms)
        observability.declare("reported", f"run reported {said}", **fields)
        if record.reported_outcome is ReportedOutcome.FAILED:
            self._alert(schedule, record)
        self._release_buffered(schedule, record.execution_id)

    def _alert(self, schedule: Schedule, record: ExecutionRecord) -> None:
        """A reported failure alerts as a failed dispatch does (``Alerter.run_finished``):
        once per slot, never failing the report (the sweep alerts what this could not)."""
        if self._alerter is None or record.trigger is not ExecutionTrigger.SCHEDULED:
            return
        from chalicelib.timeline import next_due, planned_slot

        try:
            slot = planned_slot(schedule, parse_iso(record.scheduled_time), self._grace)
            if slot is not None:
                self._alerter.run_reported(schedule, slot, record, self._now(),
                                           next_due(schedule, slot.time, self._grace))
        except (ServiceError, ValueError) as exc:
            logger.warning("reported failure of %s not alerted yet (the sweep will): %s", record.execution_id, exc)

    def _release_buffered(self, schedule: Schedule, reported: str) -> None:
        """The buffer_one slot that waited for the run that just reported: sent to the target
        function now, the way run-now sends a run (its claim decides, so a repeat is harmless).
        A failure to send it fails the call (the report is stored: its retry sends it)."""
        waiting, current = schedule.buffered_run, schedule.current_run
        if waiting is None or self._invoker is None or current is None or current.execution_id != reported:
            return
        try:
            self._invoker().invoke_async({
                "schedule_id": schedule.id, "scheduled_time": waiting.scheduled_time,
                "execution_id": waiting.execution_id, "attempt": waiting.attempt, "trigger": waiting.trigger.value,
            })
        except NotAvailableHere:  # `make local`: no target function to run it
            logger.warning("buffered run %s of %s not sent: no target function here", waiting.execution_id, schedule.id)


def same_report(record: ExecutionRecord, report: RunReport) -> None:
    """Nothing when ``report`` says what ``record`` keeps; else Conflict naming the first
    field that differs."""
    stored = {"outcome": record.reported_outcome.value if record.reported_outcome else None,
              "message": record.reported_message, "details": record.reported_details}
    given = {"outcome": report.outcome.value, "message": report.message, "details": report.details}
    for field, value in given.items():
        if value != stored[field]:
            raise Conflict(f"{field}: execution {record.execution_id} was already reported "
                           f"({stored['outcome']}); a report cannot change its {field}")


def with_report(record: ExecutionRecord, report: RunReport, now: datetime) -> ExecutionRecord:
    """The execution with the report: when, what, and the run's duration from its dispatch."""
    since = record.dispatched_at or record.started_at
    try:
        duration = max(0, int((now - parse_iso(since)).total_seconds() * 1000))
    except ValueError:
        duration = None
    return record.model_copy(update={
        "reported_at": iso(now), "reported_outcome": report.outcome, "reported_message": report.message,
        "reported_details": report.details, "run_duration_ms": duration,
    })


def report_write(table_name: str, schedule: Schedule, record: ExecutionRecord) -> list[dict[str, Any]]:
    """The report's one transaction: the execution (only while unreported and dispatched);
    the record's ``current_run`` when it names this run, and the summary when the run
    failed."""
    values: dict[str, Any] = {":at": record.reported_at, ":said": record.reported_outcome, ":started":
                              ExecutionOutcome.STARTED.value, ":dispatched": ExecutionOutcome.SUCCEEDED.value}
    sets = ["#at = :at", "#said = :said"]
    for name, value in (("reported_message", record.reported_message), ("run_duration_ms", record.run_duration_ms),
                        ("reported_details", json.dumps(record.reported_details, separators=(",", ":"))
                         if record.reported_details is not None else None)):
        if value is not None:
            sets.append(f"#{name} = :{name}")
            values[f":{name}"] = value
    execution = {"Update": {
        "TableName": table_name,
        "Key": {"id": execution_item_id(record.schedule_id, record.execution_id)},
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": "attribute_exists(id) AND attribute_not_exists(#said) "
        "AND (#outcome = :started OR #outcome = :dispatched)",
        "ExpressionAttributeNames": {"#at": "reported_at", "#said": "reported_outcome", "#outcome": "outcome",
                                     **{f"#{name}": name for name in ("reported_message", "run_duration_ms",
                                                                       "reported_details") if f":{name}" in values}},
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }}
    summary = record_update(table_name, schedule, record)
    return [execution] if summary is None else [execution, summary]


def record_update(table_name: str, schedule: Schedule, record: ExecutionRecord) -> dict[str, Any] | None:
    """What the report changes on the schedule's record (None: nothing)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    conditions = ["attribute_exists(id)"]
    current = schedule.current_run
    if current is not None and current.execution_id == record.execution_id:
        names.update({"#run": "current_run", "#run_id": "execution_id", "#run_said": "reported_outcome"})
        values.update({":id": record.execution_id, ":said": record.reported_outcome})
        sets.append("#run.#run_said = :said")
        conditions.append("#run.#run_id = :id")
    if record.reported_outcome is ReportedOutcome.FAILED:
        names.update({"#x": "executions", "#failed": "failed"})
        values.update({":zero": 0, ":one": 1})
        sets.append("#x.#failed = if_not_exists(#x.#failed, :zero) + :one")
        if schedule.executions.last_execution_id == record.execution_id:
            names.update({"#last_id": "last_execution_id", "#last_outcome": "last_outcome"})
            values.update({":id": record.execution_id, ":failed": ExecutionOutcome.FAILED.value})
            sets.append("#x.#last_outcome = :failed")
            conditions.append("#x.#last_id = :id")
    if not sets:
        return None
    return {"Update": {
        "TableName": table_name,
        "Key": {"id": schedule.id},
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }}


def write_report(client: Any, table_name: str, schedule: Schedule, record: ExecutionRecord) -> bool:
    """Write the report (``report_write``); False when the execution or the record changed
    meanwhile (the caller reads them again)."""
    steps = report_write(table_name, schedule, record)
    try:
        client.transact_write_items(TransactItems=steps)
        return True
    except ClientError as exc:
        reasons = exc.response.get("CancellationReasons") or []
        if reasons and any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
            if not plain_item(reasons[0].get("Item")) and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise NotFound(f"execution {record.execution_id} of schedule {schedule.id} does not exist") from exc
            return False
        raise translate(exc, "schedules table") from exc
    except BotoCoreError as exc:
        raise translate(exc, "schedules table") from exc


class ResultsHandler:
    """The results topic's consumer: each message is one report. A report that cannot be
    recorded (not JSON, a field wrong, an unknown execution, a contradiction, a run never
    dispatched) is rejected to the notifications topic with the reason and changes
    nothing; only an AWS failure that a retry may fix raises (SNS delivers it again)."""

    def __init__(self, reports: Callable[[], ReportService], rejecter: Callable[[], Rejecter]):
        self._reports = reports
        self._rejecter = rejecter

    def handle(self, sns: dict[str, Any]) -> dict[str, Any]:
        message_id = str(sns.get("MessageId") or "")
        text = sns.get("Message")
        try:
            report = parse_report(text)
            recorded = self._reports().report(report)
        except (ValidationError, NotFound, Conflict) as exc:
            observability.count(observability.REPORTS_REFUSED)
            return self._rejecter().reject(names.HANDLE_RESULTS, exc.code, exc.message, text, message_id)
        record = recorded.record
        return {
            "outcome": "recorded" if recorded.new else "duplicate",
            "schedule_id": record.schedule_id,
            "execution_id": record.execution_id,
            "slot": record.scheduled_time,
            "reported_outcome": record.reported_outcome.value if record.reported_outcome else None,
            "run_duration_ms": record.run_duration_ms,
            "reported_message": record.reported_message,
        }


def parse_report(text: Any) -> RunReport:
    """A results-topic message as a report (the execution id required: no path names it)."""
    try:
        body = strict_json.loads(text) if isinstance(text, str) else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValidationError("the message must be a JSON object", field="body")
    report = parse_model(RunReport, body)
    if not report.execution_id:
        raise ValidationError("required field is missing", field="execution_id")
    return report


MAX_EXECUTION_ID = 512


def route_report(body: dict[str, Any], execution_id: str) -> RunReport:
    """The route's report: the body, for the execution the path names (404 when the path
    cannot name one; 400 when the body names another)."""
    if not execution_id or len(execution_id) > MAX_EXECUTION_ID:
        raise NotFound(f"execution {execution_id[:MAX_EXECUTION_ID]} does not exist")
    report = parse_model(RunReport, body)
    if report.execution_id is not None and report.execution_id != execution_id:
        raise ValidationError("must be the execution the path names (or left out)", field="execution_id")
    return report.model_copy(update={"execution_id": execution_id})
