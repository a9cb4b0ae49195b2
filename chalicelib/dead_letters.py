"""Dead letters: runs that EventBridge Scheduler or Lambda gave up on, recorded on their
schedule so nothing disappears.

The stage's dead-letter queue receives two kinds of message:

- EventBridge Scheduler's dead-letter event, when it could not invoke the target function
  (after its retry policy): the body is the target's Input (our invocation event) and the
  message attributes say why: ``ERROR_CODE``, ``ERROR_MESSAGE``, ``EXECUTION_ID``,
  ``SCHEDULED_TIME``, ``SCHEDULE_ARN``, ``TARGET_ARN``, ``RETRY_ATTEMPTS``,
  ``EXHAUSTED_RETRY_CONDITION``. The run never reached us: recorded ``undelivered``.
- Lambda's on-failure destination record, when the target function failed every attempt
  of an asynchronous invoke: a JSON body with ``requestContext`` (``condition``,
  ``approximateInvokeCount``), ``requestPayload`` (our invocation event) and
  ``responsePayload`` (``errorType``, ``errorMessage``). Our function gave up: recorded
  ``failed``.

Each becomes an execution on its schedule (keyed by the execution id the message carries),
with the reason; a redelivered message finds the execution already recorded and changes
nothing. A message about no run of ours, or one no retry can record (too deep, not an
invocation), is rejected: a bounded ``rejected`` event on the notifications topic
(chalicelib.rejections), and the record leaves the queue. Only a transient failure keeps a
record on the queue, and only that record: the consumer answers Lambda's partial batch
response (``batchItemFailures``; the event source mapping reports batch item failures).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import strict_json
from chalicelib.clock import Clock, system_clock
from chalicelib.errors import ServiceError
from chalicelib.invocations import Invocation, parse_invocation
from chalicelib.models import ExecutionOutcome
from chalicelib.rejections import Rejecter, invocation_problem
from chalicelib.runs import RunStore

logger = logging.getLogger("rez_agent.dead_letters")

MAX_REASON = 1000


class NotOurs(ValueError):
    """A dead letter about no run of ours (what rule: the message)."""


@dataclass(frozen=True)
class DeadLetter:
    invocation: Invocation
    outcome: ExecutionOutcome
    reason: str


def read_dead_letter(body: str, attributes: dict[str, Any] | None, now: datetime) -> DeadLetter | None:
    """The run a dead-letter message is about, or None when it is about none of ours
    (``now``: the time the reader reads it, for an Input that names no scheduled time)."""
    try:
        data = strict_json.loads(body)
    except (TypeError, ValueError):  # JsonRefused and UnicodeDecodeError are ValueErrors
        data = None
    if isinstance(data, dict) and isinstance(data.get("requestContext"), dict) and "requestPayload" in data:
        return _from_lambda(data, now)
    values = _attribute_values(attributes or {})
    if values.get("ERROR_CODE") is not None or values.get("SCHEDULE_ARN") is not None:
        return _from_scheduler(data if isinstance(data, dict) else {}, values, now)
    return None


def _from_lambda(record: dict[str, Any], now: datetime) -> DeadLetter | None:
    payload = record.get("requestPayload")
    if not isinstance(payload, dict) or not payload.get("schedule_id"):
        return None
    context = record["requestContext"]
    response = record.get("responsePayload")
    error = ""
    if isinstance(response, dict):
        error = ": ".join(str(part) for part in (response.get("errorType"), response.get("errorMessage")) if part)
    elif response:
        error = str(response)
    condition = context.get("condition") or "failed"
    invokes = context.get("approximateInvokeCount")
    reason = f"the target function gave up ({condition}"
    reason += f" after {invokes} attempts)" if invokes else ")"
    if error:
        reason += f": {error}"
    return DeadLetter(_invocation(payload, now), ExecutionOutcome.FAILED, reason[:MAX_REASON])


def _from_scheduler(body: dict[str, Any], values: dict[str, str], now: datetime) -> DeadLetter | None:
    event = dict(body)
    if not event.get("schedule_id") and values.get("SCHEDULE_ARN"):
        event["schedule_id"] = values["SCHEDULE_ARN"].rsplit("/", 1)[-1]
    if not event.get("schedule_id"):
        return None
    for key, attribute in (("execution_id", "EXECUTION_ID"), ("scheduled_time", "SCHEDULED_TIME")):
        if values.get(attribute) and (not event.get(key) or str(event[key]).startswith("<aws.")):
            event[key] = values[attribute]
    code = values.get("ERROR_CODE") or "unknown error"
    reason = f"EventBridge Scheduler could not invoke the target ({code}"
    if values.get("RETRY_ATTEMPTS") is not None:
        reason += f", {values['RETRY_ATTEMPTS']} retries"
    if values.get("EXHAUSTED_RETRY_CONDITION"):
        reason += f", {values['EXHAUSTED_RETRY_CONDITION']} exhausted"
    reason += ")"
    if values.get("ERROR_MESSAGE"):
        reason += f": {values['ERROR_MESSAGE']}"
    return DeadLetter(_invocation(event, now), ExecutionOutcome.UNDELIVERED, reason[:MAX_REASON])


def _invocation(event: dict[str, Any], now: datetime) -> Invocation:
    problem = invocation_problem(event)
    if problem:
        raise NotOurs(f"the run it names is not one of ours: {problem}")
    return parse_invocation(event, now)


def _attribute_values(attributes: dict[str, Any]) -> dict[str, str]:
    """Message attributes as plain strings, whichever casing the reader used (the SQS API
    says ``StringValue``, a Lambda SQS event ``stringValue``)."""
    values = {}
    for name, attribute in attributes.items():
        if isinstance(attribute, dict):
            value = attribute.get("StringValue", attribute.get("stringValue"))
            if value is not None:
                values[name] = str(value)
        elif attribute is not None:
            values[name] = str(attribute)
    return values


class DeadLetterRecorder:
    """Records each dead letter on its schedule; rejects what is about none."""

    def __init__(self, store: RunStore, rejecter: Rejecter | None = None, clock: Clock = system_clock):
        self._store = store
        self._clock = clock
        self._rejecter = rejecter

    def record(self, body: str, attributes: dict[str, Any] | None = None, message_id: str = "") -> dict[str, Any]:
        letter = read_dead_letter(body, attributes, self._clock())
        if letter is None:
            raise NotOurs("the message is not a dead letter about a run of this stage")
        done = self._store.record_dead_letter(letter.invocation, letter.outcome, letter.reason)
        logger.info("dead letter %s: execution %s of schedule %s %s", message_id,
                    letter.invocation.execution_id, letter.invocation.schedule_id, done)
        return {"message_id": message_id, "schedule_id": letter.invocation.schedule_id,
                "execution_id": letter.invocation.execution_id, "outcome": letter.outcome.value, "done": done}

    def record_batch(self, records: Iterable[dict[str, Any]]) -> dict[str, Any]:
        """Each record of a Lambda SQS event: recorded, or rejected (never retried), or,
        on a transient failure, named in ``batchItemFailures`` so only it comes back (what
        was already recorded is not recorded twice)."""
        results: list[dict[str, Any]] = []
        failures: list[dict[str, str]] = []
        for record in records:
            message_id = str(record.get("messageId") or "")
            body = record.get("body")
            try:
                results.append(self.record(body if isinstance(body, str) else "", record.get("messageAttributes"), message_id))
            except ServiceError as exc:
                if exc.status_code < 500:
                    results.append(self._reject(record, message_id, exc.code, exc.message))
                    continue
                logger.warning("dead letter %s not recorded yet (it comes back): %s", message_id, exc.message)
                failures.append({"itemIdentifier": message_id})
            except (BotoCoreError, ClientError) as exc:  # AWS failed: only this record comes back
                logger.warning("dead letter %s not recorded yet (it comes back): %s", message_id, exc)
                failures.append({"itemIdentifier": message_id})
            except Exception as exc:  # nothing a retry can change: rejected, never looped on
                if not isinstance(exc, NotOurs):
                    logger.exception("dead letter %s could not be recorded", message_id)
                results.append(self._reject(record, message_id, type(exc).__name__, str(exc) or "cannot be recorded"))
        return {"recorded": results, "batchItemFailures": failures}

    def _reject(self, record: dict[str, Any], message_id: str, code: str, reason: str) -> dict[str, Any]:
        if self._rejecter is None:
            logger.warning("dead letter %s dropped (%s): %s", message_id, code, reason)
            return {"message_id": message_id, "outcome": "dropped", "reason": reason}
        rejected = self._rejecter.reject("dead_letters", code, reason, record.get("body"), message_id)
        return {"message_id": message_id, **rejected}
