"""The command topic's messages (``rez-agent-schedule-creation-<stage>``): the public ``ScheduleMessage`` and the internal
``ScheduleCommand``, told apart by ``request_id`` and handled separately.

Two shapes arrive on the same topic, kept apart on purpose:

- ``ScheduleMessage``: the contract other services publish (agents, pipelines):
  ``{"action": "create", "schedule": {...definition...}}``, or ``{"action": "update",
  "schedule_id": ..., "schedule": {...}}``, or ``{"action": "pause" | "resume" | "delete",
  "schedule_id": ...}``. It goes through the same ``ScheduleService`` methods as the HTTP
  API, so it is validated exactly as the API validates.
- ``ScheduleCommand`` (chalicelib.models): the command (create | update | pause | resume |
  delete) the service itself publishes after writing a record; it always carries
  ``request_id``, only names the record, and goes to the command handler, which converges
  the record's schedule.

Who a message acts as (docs/security.md, "The SNS command topic"): the topic's publishers
are one principal of the stage, ``sns``. A ``created_by`` message attribute names a
namespace inside it (``sns:<name>``), never an API caller's identity: a message can touch only
the schedules created over SNS in its own namespace, and each namespace has its own cap.

A create is idempotent under redelivery: the SNS message id is its idempotency key. A
message that cannot be applied is never silently dropped nor retried forever: it is logged
with the rule it broke and published to the notifications topic as a ``rejected`` event
(chalicelib.rejections), the original cut to fit SNS's size limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib import rejections, strict_json
from chalicelib.clock import Clock, system_clock
from chalicelib.errors import BadRequest, ServiceError
from chalicelib.identity import Caller
from chalicelib.models import (
    Action,
    Schedule,
    ScheduleCommand,
    ScheduleDefinition,
    is_schedule_id,
    parse_model,
)
from chalicelib.ports import MessagePublisher

logger = logging.getLogger("rez_agent.messages")

CREATED_BY_ATTRIBUTE = "created_by"
# The principal every publisher of the stage's command topic acts as; a namespace inside it
# is ``sns:<name>``. No API caller's identity has this form (an IAM ARN starts with "arn:",
# a Cognito sub is a bare UUID), so the two never meet.
SNS_CALLER = "sns"
NAMESPACE_PREFIX = f"{SNS_CALLER}:"
NAMESPACE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
REJECTED_EVENT = rejections.REJECTED_EVENT
MAX_VERSION = 10**15  # far beyond any schedule's history; within DynamoDB's numbers


_NEEDS_DEFINITION = {Action.CREATE, Action.UPDATE}


class ScheduleMessage(BaseModel):
    """A published request to change a schedule (the topic's public contract)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    schedule: ScheduleDefinition | None = None
    schedule_id: str | None = None
    version: int | None = Field(
        None, ge=1, le=MAX_VERSION, description="the version the change applies to (like If-Match); optional"
    )

    @model_validator(mode="after")
    def _fields_for_action(self) -> ScheduleMessage:
        action = self.action.value
        if self.action in _NEEDS_DEFINITION and self.schedule is None:
            raise ValueError(f"schedule: required when action is {action}")
        if self.action not in _NEEDS_DEFINITION and self.schedule is not None:
            raise ValueError(f"schedule: allowed only when action is create or update, not {action}")
        if self.action is Action.CREATE:
            if self.schedule_id is not None:
                raise ValueError("schedule_id: not allowed when action is create (the service assigns it)")
            if self.version is not None:
                raise ValueError("version: not allowed when action is create")
        elif self.schedule_id is None:
            raise ValueError(f"schedule_id: required when action is {action}")
        elif not is_schedule_id(self.schedule_id):
            raise ValueError("schedule_id: must be a schedule id (a UUID)")
        return self


class Schedules(Protocol):
    """The ``ScheduleService`` methods the topic's contract maps to."""

    def create(self, definition: ScheduleDefinition, caller: Caller, idempotency_key: str | None = None) -> Schedule: ...

    def update(
        self, schedule_id: str, definition: ScheduleDefinition, caller: Caller, expected_version: int | None = None
    ) -> Schedule: ...

    def pause(self, schedule_id: str, caller: Caller, expected_version: int | None = None) -> Schedule: ...

    def resume(self, schedule_id: str, caller: Caller, expected_version: int | None = None) -> Schedule: ...

    def delete(self, schedule_id: str, caller: Caller, expected_version: int | None = None) -> Schedule: ...


class Commands(Protocol):
    def handle(self, command: ScheduleCommand) -> Schedule | None: ...


class TopicMessageHandler:
    """Applies one message from the command topic (one SNS record)."""

    def __init__(
        self,
        schedules: Callable[[], Schedules],
        commands: Callable[[], Commands],
        publisher: Callable[[], MessagePublisher],
        notifications_topic_arn: Callable[[], str],
        clock: Clock = system_clock,
    ):
        self._schedules = schedules
        self._clock = clock
        self._commands = commands
        self._publisher = publisher
        self._notifications_topic_arn = notifications_topic_arn

    def handle(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` is the ``Sns`` object of the Lambda event's record. Transient AWS
        failures raise (Lambda retries the event); anything the sender must fix is rejected."""
        text = record.get("Message") or ""
        if not isinstance(text, str):
            text = str(text)
        message_id = str(record.get("MessageId") or "")[:rejections.MAX_ID]
        try:
            data = _json_object(text)
            if "request_id" in data:
                command = parse_model(ScheduleCommand, data)
                schedule = self._commands().handle(command)
                applied: dict[str, Any] = {"outcome": "applied", "status": schedule.status.value if schedule else None}
                if schedule is not None and schedule.last_error:
                    applied["last_error"] = schedule.last_error
                return applied
            message = parse_model(ScheduleMessage, data)
            caller = caller_from(record.get("MessageAttributes") or {})
            schedule = self._apply(message, caller, message_id)
        except ServiceError as error:
            if error.status_code >= 500:
                raise
            return self._reject(text, message_id, error.code, error.message)
        except (BotoCoreError, ClientError):
            raise  # AWS failed (a timeout the adapter did not translate): Lambda retries the event
        except Exception as exc:  # a message no retry can apply: rejected, never looped on
            logger.exception("message %s could not be applied", message_id or "without id")
            return self._reject(text, message_id, "InternalError", f"the message could not be applied ({type(exc).__name__})")
        logger.info("applied %s for schedule %s from message %s", message.action.value, schedule.id, message_id)
        return {
            "outcome": "accepted",
            "action": message.action.value,
            "schedule_id": schedule.id,
            "status": schedule.status.value,
        }

    def _apply(self, message: ScheduleMessage, caller: Caller, message_id: str) -> Schedule:
        schedules = self._schedules()
        if message.action is Action.CREATE:
            assert message.schedule is not None
            key = f"sns:{message_id}" if message_id else None
            return schedules.create(message.schedule, caller, key)
        schedule_id = message.schedule_id or ""
        if message.action is Action.UPDATE:
            assert message.schedule is not None
            return schedules.update(schedule_id, message.schedule, caller, message.version)
        if message.action is Action.PAUSE:
            return schedules.pause(schedule_id, caller, message.version)
        if message.action is Action.RESUME:
            return schedules.resume(schedule_id, caller, message.version)
        return schedules.delete(schedule_id, caller, message.version)

    def _reject(self, text: str, message_id: str, code: str, reason: str) -> dict[str, Any]:
        logger.error("rejected message %s (%s): %s", message_id or "without id", code, reason)
        event = rejections.rejection_event("schedule_command", code, reason, text, self._clock(), message_id)
        self._publisher().publish(self._notifications_topic_arn(), event, attributes={"event": REJECTED_EVENT})
        return {"outcome": REJECTED_EVENT, "code": code, "reason": event["reason"]}


def caller_from(attributes: dict[str, Any]) -> Caller:
    """The topic's principal ``sns``, or its namespace ``sns:<name>`` when the message's
    ``created_by`` attribute (String) names one (``<name>`` or ``sns:<name>``). Anything else,
    an IAM ARN or any text that is not a namespace name, is refused: a message never acts as
    an API caller."""
    attribute = attributes.get(CREATED_BY_ATTRIBUTE) or {}
    value = attribute.get("Value", attribute.get("StringValue")) if isinstance(attribute, dict) else None
    name = str(value or "").strip()
    if not name:
        return Caller(SNS_CALLER)
    namespace = name[len(NAMESPACE_PREFIX):] if name.startswith(NAMESPACE_PREFIX) else name
    if not NAMESPACE.fullmatch(namespace):
        raise BadRequest(
            f"message attribute {CREATED_BY_ATTRIBUTE}: must name a namespace of the topic's publishers "
            "(sns:<name>, <name> 1-64 letters, digits, '-', '_' or '.'); a message cannot act as an API caller"
        )
    return Caller(NAMESPACE_PREFIX + namespace)


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = strict_json.loads(text)
    except strict_json.JsonRefused as exc:
        raise BadRequest(f"message {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("message must be a JSON object")
    return data
