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
nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ServiceError
from chalicelib.models import ExecutionOutcome
from chalicelib.runs import Invocation, RunStore, parse_invocation

logger = logging.getLogger("rez_agent.dead_letters")

MAX_REASON = 1000


@dataclass(frozen=True)
class DeadLetter:
    invocation: Invocation
    outcome: ExecutionOutcome
    reason: str


def read_dead_letter(body: str, attributes: dict[str, Any] | None = None) -> DeadLetter | None:
    """The run a dead-letter message is about, or None when it is about none of ours."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("requestContext"), dict) and "requestPayload" in data:
        return _from_lambda(data)
    values = _attribute_values(attributes or {})
    if values.get("ERROR_CODE") is not None or values.get("SCHEDULE_ARN") is not None:
        return _from_scheduler(data if isinstance(data, dict) else {}, values)
    return None


def _from_lambda(record: dict[str, Any]) -> DeadLetter | None:
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
    return DeadLetter(parse_invocation(payload), ExecutionOutcome.FAILED, reason[:MAX_REASON])


def _from_scheduler(body: dict[str, Any], values: dict[str, str]) -> DeadLetter | None:
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
    return DeadLetter(parse_invocation(event), ExecutionOutcome.UNDELIVERED, reason[:MAX_REASON])


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
    """Records each dead letter on its schedule."""

    def __init__(self, store: RunStore):
        self._store = store

    def record(self, body: str, attributes: dict[str, Any] | None = None, message_id: str = "") -> dict[str, Any]:
        letter = read_dead_letter(body, attributes)
        if letter is None:
            logger.warning("dead letter %s is not about a run of ours; dropped", message_id)
            return {"message_id": message_id, "outcome": "dropped"}
        done = self._store.record_dead_letter(letter.invocation, letter.outcome, letter.reason)
        logger.info("dead letter %s: execution %s of schedule %s %s", message_id,
                    letter.invocation.execution_id, letter.invocation.schedule_id, done)
        return {"message_id": message_id, "schedule_id": letter.invocation.schedule_id,
                "execution_id": letter.invocation.execution_id, "outcome": letter.outcome.value, "done": done}

    def record_batch(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each record of a Lambda SQS event. A transient failure raises: the batch comes
        back, and what was already recorded is not recorded twice."""
        results = []
        for record in records:
            try:
                results.append(self.record(record.get("body", ""), record.get("messageAttributes"),
                                           record.get("messageId", "")))
            except ServiceError as exc:
                logger.error("dead letter %s not recorded yet: %s", record.get("messageId"), exc.message)
                raise
        return results
