"""Logs, metrics and traces for every function, in one place (Powertools for AWS Lambda).

``app.py`` registers :func:`middleware` once for every event type, so each function the app
declares (HTTP routes, the SNS command handler, the schedule target, the periodic jobs, and
any handler added later) gets, with no code of its own:

- JSON log lines through one Powertools ``Logger`` (service ``rez-agent-schedules``), with
  ``cold_start``, ``function_name``, ``function_request_id`` and a ``correlation_id``: the API
  Gateway request id for API calls, the SNS message id for commands, the execution id for
  runs. The app's own stdlib loggers (``rez_agent.*``, ``chalicelib.*``, Chalice's
  ``app.log``) write through the same handler and carry the same keys.
- One summary line per event: ``api_request`` (method, route, status, schedule id,
  duration: the HTTP answer is the route's outcome); for every other function the outcome
  the handler itself declared (:func:`declare`): ``command`` (action, schedule id, version),
  ``execution`` (slot, attempt), ``invocation`` (anything else). Only a failure is WARNING
  or ERROR, with a ``reason``; a handler that raised is an ERROR line.
- CloudWatch embedded-metric-format documents on stdout (no API call, no IAM permission),
  namespace ``RezAgent/Schedules``, dimension ``stage``. Each handler counts its own
  metrics where the event happens (:func:`count`; the run in ``chalicelib.runs``, the sweep
  in ``chalicelib.alerts``); the middleware only flushes them with the common keys.
- On Lambda with X-Ray active tracing, a Powertools ``Tracer`` subsegment per invocation
  annotated with ``schedule_id`` and ``action``. Off Lambda the tracer is never imported.

Powertools itself is imported on the first event, not when ``app`` is imported.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from chalicelib import names
from chalicelib.config import ENV_STAGE, resource_names

if TYPE_CHECKING:
    from datetime import datetime

    from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "rez-agent-schedules"
NAMESPACE = "RezAgent/Schedules"
# stdlib loggers that write through the service's handler (their children included).
LOGGER_PARENTS = (SERVICE, "rez_agent", "chalicelib")

ENV_TRACING = "POWERTOOLS_TRACE_DISABLED"
ENV_XRAY_DAEMON = "AWS_XRAY_DAEMON_ADDRESS"
ENV_LAMBDA_FUNCTION = "AWS_LAMBDA_FUNCTION_NAME"
ENV_TRACE_HEADER = "_X_AMZN_TRACE_ID"

# Event names, as they appear in the ``event`` field of a log line.
API_REQUEST = "api_request"
COMMAND = "command"
EXECUTION = "execution"
DRIFT_REPAIR = "drift_repair"
RECONCILE = "reconcile"
INVOCATION = "invocation"
REPORT = "report"  # a worker's report of its run (handle_results)

# Metric names.
API_REQUESTS = "ApiRequests"
API_SERVER_ERRORS = "ApiServerErrors"
COMMANDS_APPLIED = "CommandsApplied"
COMMANDS_FAILED = "CommandsFailed"
EXECUTIONS_SUCCEEDED = "ExecutionsSucceeded"
EXECUTIONS_FAILED = "ExecutionsFailed"
EXECUTIONS_DUPLICATE = "ExecutionsDuplicate"
START_LATENCY = "StartLatency"
DISPATCH_DURATION = "DispatchDuration"
DRIFT_REPAIRED = "DriftRepaired"
MISSED_RUNS = "MissedRuns"
LATE_RUNS = "LateRuns"
ALERTS_RAISED = "AlertsRaised"

EXECUTIONS_SKIPPED = "ExecutionsSkipped"
RUN_DURATION = "RunDuration"  # a reported run: report time minus dispatch time
REPORTS_REFUSED = "ReportsRefused"
COMMANDS_ACCEPTED = "CommandsAccepted"
COMMANDS_REJECTED = "CommandsRejected"


@dataclass(frozen=True)
class Declared:
    """How a handler says its event ended: the summary line's outcome, level and message."""

    outcome: str
    message: str
    level: int = logging.INFO
    fields: dict[str, Any] = field(default_factory=dict)


class _State:
    """What is built on the first event (Powertools objects) and what one invocation knows."""

    logger: Logger | None = None
    metrics: Metrics | None = None
    tracer: Tracer | None = None
    tracer_checked = False
    cold_start = True
    correlation_id: str | None = None
    annotations: dict[str, Any] = {}  # noqa: RUF012 - replaced, never mutated in place
    stream: IO[str] | None = None
    declared: Declared | None = None


def stage() -> str:
    return os.environ.get(ENV_STAGE) or "dev"


def logger() -> Logger:
    """The service's Powertools logger, the root of the app's logger hierarchy."""
    if _State.logger is None:
        from aws_lambda_powertools import Logger

        service_logger = Logger(service=SERVICE, level="INFO", stream=_State.stream or sys.stdout)
        handler = service_logger.registered_handler
        for name in LOGGER_PARENTS:
            stdlib = logging.getLogger(name)
            for existing in list(stdlib.handlers):
                if existing is not handler:  # Chalice's plain-text handler on app.log
                    stdlib.removeHandler(existing)
            if handler not in stdlib.handlers:
                stdlib.addHandler(handler)
            stdlib.setLevel(logging.INFO)
            stdlib.propagate = False  # the Lambda runtime's root handler would print it again
        _State.logger = service_logger
    return _State.logger


def metrics() -> Metrics:
    """The invocation's metrics; flushed as one EMF document when the invocation ends."""
    if _State.metrics is None:
        from aws_lambda_powertools import Metrics

        built = Metrics(namespace=NAMESPACE)
        built.set_default_dimensions(stage=stage())
        _State.metrics = built
    return _State.metrics


def tracer() -> Tracer | None:
    """A Powertools Tracer on Lambda with X-Ray active tracing; None everywhere else."""
    if not _State.tracer_checked:
        _State.tracer_checked = True
        on_xray = bool(os.environ.get(ENV_LAMBDA_FUNCTION) and os.environ.get(ENV_XRAY_DAEMON))
        disabled = os.environ.get(ENV_TRACING, "").lower() in ("1", "true")
        if on_xray and not disabled:
            from aws_lambda_powertools import Tracer

            _State.tracer = Tracer(service=SERVICE)
    return _State.tracer


def configure(stream: IO[str] | None = None) -> None:
    """Rebuild the logging and metrics objects (tests: a stream to read the lines from)."""
    _State.stream = stream
    if _State.logger is not None:
        handler = _State.logger.registered_handler
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream or sys.stdout)
        _State.logger.clear_state()
    if _State.metrics is not None:
        _State.metrics.clear_metrics()
        _State.metrics.set_default_dimensions(stage=stage())
    _State.cold_start = True
    _State.correlation_id = None


def correlation_id() -> str:
    """The current invocation's correlation id (a fresh one outside an invocation)."""
    return _State.correlation_id or str(uuid.uuid4())


def declare(outcome: str, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """The handler's own word on how its event ended (``succeeded``, ``skipped``,
    ``applied``, ``rejected``...): the middleware writes it as the invocation's summary line,
    at ``level``, with ``fields``. A success is INFO; only a failure is ERROR."""
    _State.declared = Declared(outcome, message, level, fields)


def annotate(**fields: Any) -> None:
    """Add fields (a failure's ``reason``, say) to the current invocation's summary line."""
    _State.annotations = {**_State.annotations, **fields}


# --- metrics the timeline and the alert sweep report ------------------------------------


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Add ``value`` to a Count metric; with extra dimensions it is its own EMF document."""
    _add(name, "Count", value, dimensions)


def milliseconds(name: str, value: float, **dimensions: str) -> None:
    _add(name, "Milliseconds", value, dimensions)


def missed_runs(value: int = 1) -> None:
    """Slots that passed with no execution."""
    count(MISSED_RUNS, value)


def late_runs(value: int = 1) -> None:
    """Executions that started later than their slot allows."""
    count(LATE_RUNS, value)


def alerts_raised(value: int = 1) -> None:
    """Alerts sent (once per slot and condition)."""
    count(ALERTS_RAISED, value)


def _add(name: str, unit: str, value: float, dimensions: dict[str, str]) -> None:
    if not dimensions:
        metrics().add_metric(name=name, unit=unit, value=value)
        return
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name=name, unit=MetricUnit(unit), value=value, namespace=NAMESPACE, default_dimensions={"stage": stage()}
    ) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)


# --- the middleware ----------------------------------------------------------------------


def middleware(event: Any, get_response: Callable[[Any], Any], *, now: Callable[[], datetime]) -> Any:
    """Chalice middleware for every event type, reading the service's clock ``now``:
    ``app.register_middleware(partial(middleware, now=wiring.now), "all")``."""
    log = logger()
    kind = _kind(event)
    context = _context(event)
    keys = _keys_for(kind, event, now)
    log.clear_state()
    cold_start, _State.cold_start = _State.cold_start, False
    _State.correlation_id = keys.pop("correlation_id", None) or getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    log.append_keys(
        cold_start=cold_start,
        function_name=_function(context, kind),
        function_request_id=getattr(context, "aws_request_id", None),
        stage=stage(),
        **{key: value for key, value in keys.items() if value is not None},
    )
    log.set_correlation_id(_State.correlation_id)
    _State.annotations = {}
    _State.declared = None
    started = time.monotonic()
    try:
        with _segment(keys):
            response = get_response(event)
    except Exception as exc:
        _log_event(kind, event, keys, None, exc, _elapsed(started))
        raise
    else:
        _log_event(kind, event, keys, response, None, _elapsed(started))
        return response
    finally:
        flush_metrics()
        _State.correlation_id = None


def _segment(keys: dict[str, Any]) -> AbstractContextManager[Any]:
    active = tracer()
    if active is None or not os.environ.get(ENV_TRACE_HEADER):  # no trace for this invocation
        return nullcontext()
    return _annotated(active, keys)


@contextmanager
def _annotated(active: Tracer, keys: dict[str, Any]) -> Iterator[Any]:
    """An X-Ray subsegment for the handler, annotated with the schedule id and action."""
    with active.provider.in_subsegment("## handler") as subsegment:
        for key in ("schedule_id", "action"):
            if keys.get(key) is not None:
                subsegment.put_annotation(key=key, value=str(keys[key]))
        yield subsegment


def flush_metrics() -> None:
    """Print the invocation's metrics as one EMF document (the middleware calls it)."""
    built = _State.metrics
    if built is not None and built.metric_set:
        built.flush_metrics()
        built.set_default_dimensions(stage=stage())


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _kind(event: Any) -> str:
    from chalice.app import LambdaFunctionEvent, Request, SNSEvent

    if isinstance(event, Request):
        return API_REQUEST
    if isinstance(event, SNSEvent):
        return COMMAND
    if isinstance(event, LambdaFunctionEvent) and isinstance(event.event, dict) and "schedule_id" in event.event:
        return EXECUTION
    return INVOCATION


def _context(event: Any) -> Any:
    return getattr(event, "lambda_context", None) or getattr(event, "context", None)


def _function(context: Any, kind: str) -> str:
    deployed = str(getattr(context, "function_name", None) or "")
    if not deployed:
        return names.API_HANDLER if kind == API_REQUEST else "unknown"
    prefix = resource_names(stage()).function("")
    return deployed.removeprefix(prefix)


def _keys_for(kind: str, event: Any, now: Callable[[], datetime]) -> dict[str, Any]:
    """The keys every line of this invocation carries (and its correlation id)."""
    if kind == API_REQUEST:
        context = event.context or {}
        params = event.uri_params or {}
        return {
            "correlation_id": context.get("requestId"),
            "method": event.method,
            "route": context.get("resourcePath"),
            "schedule_id": params.get("id"),
        }
    if kind == COMMAND:
        record = (event.to_dict().get("Records") or [{}])[0]
        try:
            message = json.loads(event.message)
        except (TypeError, ValueError, RecursionError):  # the handler rejects it
            message = {}
        message = message if isinstance(message, dict) else {}
        return {
            "correlation_id": (record.get("Sns") or {}).get("MessageId"),
            "action": message.get("action"),
            "schedule_id": message.get("schedule_id"),
            "version": message.get("version"),
        }
    if kind == EXECUTION:
        from chalicelib.invocations import parse_invocation  # the ids the run records, as it reads them

        raw = event.event
        invocation = parse_invocation(raw, now())
        return {
            "correlation_id": invocation.execution_id,
            "schedule_id": invocation.schedule_id,
            "execution_id": invocation.execution_id,
            "slot": invocation.scheduled_time,
            "attempt": invocation.attempt,
            "trigger": invocation.trigger.value,
        }
    raw = event.to_dict() if hasattr(event, "to_dict") else {}
    return {"correlation_id": raw.get("id") if isinstance(raw, dict) else None}


def _log_event(
    kind: str, event: Any, keys: dict[str, Any], response: Any, error: BaseException | None, duration_ms: int
) -> None:
    """Log the one summary line of a handled event: the HTTP answer for an API request, else
    the outcome the handler declared (``declare``). Metrics are the handler's own."""
    if kind == API_REQUEST:
        _api_request(event, keys, response, error, duration_ms)
        return
    fields: dict[str, Any] = {"event": kind, "duration_ms": duration_ms, **_State.annotations}
    declared, _State.declared = _State.declared, None
    if error is not None:
        fields.update(outcome="failed", reason=_reason(error))
        logger().error(f"{kind} failed; the invocation raised", extra=fields)
        return
    if declared is None:
        fields["outcome"] = "ok"
        logger().info(f"{kind} done", extra=fields)
        return
    fields.update(declared.fields, outcome=declared.outcome)
    write = {logging.WARNING: logger().warning, logging.ERROR: logger().error}.get(declared.level, logger().info)
    write(declared.message, extra=fields)


def _reason(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error)
    return f"{type(error).__name__}: {message}"


def _api_request(event: Any, keys: dict[str, Any], response: Any, error: BaseException | None, duration_ms: int) -> None:
    status = 500 if error is not None else int(getattr(response, "status_code", 200))
    schedule = keys.get("schedule_id")
    body = getattr(response, "body", None)
    if schedule is None and isinstance(body, dict) and isinstance(body.get("id"), str):
        schedule = body["id"]
    route = keys.get("route") or event.path
    fields: dict[str, Any] = {
        "event": API_REQUEST,
        "method": event.method,
        "route": route,
        "status": status,
        "schedule_id": schedule,
        "duration_ms": duration_ms,
        "outcome": "ok" if status < 400 else ("client_error" if status < 500 else "server_error"),
    }
    level = logging.INFO
    if status >= 500:
        level = logging.ERROR
        fields["reason"] = _reason(error) if error is not None else _message_of(body)
    elif status >= 400:
        level = logging.WARNING
        fields["reason"] = _message_of(body)
    write = {logging.INFO: logger().info, logging.WARNING: logger().warning}.get(level, logger().error)
    write(f"{event.method} {route} {status}", extra=fields)
    count(API_REQUESTS, route=str(route), status_class=f"{status // 100}xx")
    if status >= 500:
        count(API_SERVER_ERRORS)


def _message_of(body: Any) -> str | None:
    if isinstance(body, dict):
        return str(body.get("Message") or body.get("Code") or "") or None
    return None


def command_outcome(result: dict[str, Any]) -> None:
    """The schedule-command handler's outcome, as ``TopicMessageHandler.handle`` states it:
    ``accepted`` (a published-contract message, written and queued) and ``applied`` are
    successes; ``rejected`` is the sender's to fix (a WARNING); an applied command that left
    the schedule in ``error`` is a failure."""
    outcome = str(result.get("outcome") or "")
    fields = {key: result[key] for key in ("status", "reason", "code") if result.get(key)}
    if outcome == "accepted":
        count(COMMANDS_ACCEPTED)
        declare("accepted", f"command accepted: {result.get('status')}", **fields)
    elif outcome == "applied" and result.get("status") != "error":
        count(COMMANDS_APPLIED)
        declare("applied", f"command applied: {result.get('status')}", **fields)
    elif outcome == "rejected":
        count(COMMANDS_REJECTED)
        declare("rejected", "command rejected; the sender must fix it", logging.WARNING, **fields)
    else:
        count(COMMANDS_FAILED)
        fields.setdefault("reason", str(result.get("last_error") or "the schedule is in error"))
        declare("failed", "command failed", logging.ERROR, **fields)


def command_raised() -> None:
    """The command handler raised (Lambda retries the event): a failed command."""
    count(COMMANDS_FAILED)


def reconcile_outcome(result: dict[str, Any]) -> None:
    """The periodic reconcile: one ``drift_repair`` line per repaired schedule and a
    ``reconcile`` summary."""
    applied = result.get("applied")
    _drift_repairs(applied if isinstance(applied, list) else [])
    declare("ok", "reconcile done", event=RECONCILE, counts=result.get("counts"),
            unchecked=result.get("unchecked_count", 0))


def _drift_repairs(applied: list[Any]) -> None:
    repaired = 0
    for step in applied:
        if not isinstance(step, dict):
            continue
        ok = bool(step.get("ok"))
        fields = {
            "event": DRIFT_REPAIR,
            "schedule_id": step.get("schedule_id"),
            "action": step.get("action"),
            "outcome": "repaired" if ok else "failed",
        }
        if ok:
            repaired += 1
            logger().info(f"drift {step.get('action')}: {step.get('detail')}", extra=fields)
        else:
            fields["reason"] = step.get("detail")
            logger().warning(f"drift {step.get('action')} failed", extra=fields)
    if repaired:
        count(DRIFT_REPAIRED, repaired)
