"""Domain models (pydantic v2). No boto3, no chalice.

Three shapes, kept separate on purpose:
- ``ScheduleDefinition``: what a client sends (HTTP body); strict, unknown fields rejected.
- ``ScheduleCommand``: the SNS command (create | update | pause | resume | delete).
- ``Schedule``: the stored record: the definition plus status, owner, version, ARN, errors
  and a summary of recent executions.
``ExecutionRecord`` is one run of a schedule's target.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

from chalicelib import expressions, names
from chalicelib.errors import FieldError, InvalidExpression, PayloadTooLarge, ValidationError

NAME_PATTERN = re.compile(r"[0-9A-Za-z_.\-]{1,64}")


def check_name(value: str) -> str:
    """A schedule's or template's name, by EventBridge Scheduler's rule for schedule names."""
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError("must be 1-64 characters of letters, digits, '-', '_' or '.'")
    return value
MAX_PAYLOAD_BYTES = 256_000  # leaves room for the envelope under SNS's 262,144-byte limit
MAX_DESCRIPTION = 512
# Labels (``key=value``), checked like AWS tags: at most MAX_LABELS a schedule (each one
# is an index entry), keys without '=' (a filter ``?label=team=golf`` splits at the first
# '='), no ``aws:`` prefix.
MAX_LABELS = names.LABEL_SLOTS
MAX_EXCLUDE_CALENDARS = 5  # each is one read when a slot fires
LABEL_KEY_PATTERN = re.compile(r"[\w.:/+\-@]{1,128}")
LABEL_VALUE_PATTERN = re.compile(r"[\w.:/=+\-@]{0,256}")


class ScheduleStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PAUSED = "paused"
    DELETED = "deleted"
    ERROR = "error"
    COMPLETED = "completed"  # can never fire again (a past at(), a passed end date)


class TargetType(StrEnum):
    WEB_ACTION = "web_action"
    NOTIFICATION = "notification"
    CUSTOM = "custom"


class ScheduleState(StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class ActionAfterCompletion(StrEnum):
    NONE = "NONE"
    DELETE = "DELETE"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    PAUSE = "pause"
    RESUME = "resume"
    DELETE = "delete"


class ExecutionOutcome(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNDELIVERED = "undelivered"  # EventBridge Scheduler gave up before reaching the target
    SKIPPED = "skipped"  # fired, and not dispatched on purpose (skip_reason says why)


class ReportedOutcome(StrEnum):
    """How a worker says its run ended (``POST /api/executions/{id}/report``, the results topic)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


class OverlapPolicy(StrEnum):
    """What a slot does while the previous run has not reported (Temporal's overlap policies,
    Kubernetes' concurrencyPolicy): run anyway, be skipped, or wait (at most one slot)."""

    ALLOW = "allow"
    SKIP = "skip"
    BUFFER_ONE = "buffer_one"


class RunCondition(StrEnum):
    """When a slot runs at all, judged on the previous run at fire time."""

    PREVIOUS_SUCCEEDED = "previous_succeeded"  # the previous run reported succeeded
    PREVIOUS_FINISHED = "previous_finished"  # the previous run reported, or ran out of time


# How long a run may take when its schedule waits for reports (an overlap policy or a
# run_if) and names no max_duration_seconds: past it, the run no longer holds later slots
# back, and its slot shows ``overdue``.
DEFAULT_REPORT_WAIT_SECONDS = 86_400
MAX_RUN_SECONDS = 7 * 86_400
# A report's message and details (serialized JSON) are kept up to these sizes.
MAX_REPORT_MESSAGE = 1000
MAX_REPORT_DETAILS_BYTES = 4096


class ExecutionTrigger(StrEnum):
    SCHEDULED = "scheduled"  # EventBridge Scheduler fired it
    MANUAL = "manual"  # POST /api/schedules/{id}/run
    BACKFILL = "backfill"  # POST /api/schedules/{id}/backfill: a past slot run late, on request


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z, to the microsecond when present (sorts as text)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(value: datetime | str) -> datetime:
    """The one reader of ISO 8601 times (``iso``'s inverse): a ``Z`` or an offset, or none,
    read as UTC; aware, in UTC. ``ValueError`` when the text is not such a time."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# A history entry's state once its schedule is deleted (beside ScheduleState's two).
DELETED_STATE = "DELETED"


def new_id() -> str:
    return str(uuid.uuid4())


def derived_id(*parts: str) -> str:
    """The one recipe for an id a retried request must find again (docs/decisions/0006):
    the SHA-256 of the parts, one a line, shaped as a UUID. The same parts, the same id."""
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return str(uuid.UUID(digest[:32], version=4))


_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_schedule_id(value: str) -> bool:
    return bool(_ID_PATTERN.fullmatch(value or ""))


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)


def bounded_utc(value: datetime | None) -> datetime | None:
    """A timestamp in UTC (no offset = UTC) within the years AWS schedules know, 1970-2199."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        value = None
    if value is None or not EARLIEST <= value <= LATEST:
        raise ValueError("must be between 1970-01-01 and 2199-12-31 (UTC)")
    return value


class RetryPolicy(BaseModel):
    """EventBridge Scheduler's target retry policy (AWS ranges)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    maximum_event_age_in_seconds: int = Field(86400, ge=60, le=86400)
    maximum_retry_attempts: int = Field(185, ge=0, le=185)


class AlertSettings(BaseModel):
    """When the alert sweep tells the notifications topic about a schedule, and when it
    pauses one that keeps failing (``null`` turns a rule off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_missed: bool = True
    on_late: bool = False
    after_failures: int | None = Field(1, ge=1, le=1000)
    pause_after_failures: int | None = Field(None, ge=1, le=1000)


DEFAULT_ALERTS = AlertSettings.model_validate({})


class ScheduleDefinition(BaseModel):
    """The HTTP request body that defines a schedule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN.pattern})
    schedule_expression: str = Field(
        description="cron(minutes hours day-of-month month day-of-week year), rate(value unit) "
        "or at(yyyy-mm-ddThh:mm:ss), as EventBridge Scheduler reads them",
        json_schema_extra={"examples": ["cron(0 6 * * ? *)", "rate(5 minutes)", "at(2030-01-01T09:00:00)"]},
    )
    timezone: str = Field(
        "UTC",
        description="an IANA time zone name (tzdata's list; localtime, posixrules, posix/*, right/* and Factory are refused)",
        json_schema_extra={"examples": ["America/New_York"]},
    )
    target_type: TargetType
    target_arn: str | None = Field(
        None,
        description="custom targets only: the ARN of an SNS topic, SQS queue or Lambda function (function:<name>"
        "[:<qualifier>]) in the stage's partition, region and account, named rez-agent-custom-<stage>-*; "
        "no FIFO (.fifo) topics or queues",
        json_schema_extra={"pattern": r"^arn:aws(-cn|-us-gov)?:(sns|sqs|lambda):[a-z0-9-]+:[0-9]{12}:.+$"},
    )
    payload: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    start_date: datetime | None = None
    end_date: datetime | None = None
    flexible_window_minutes: int | None = Field(None, ge=1, le=1440)
    retry_policy: RetryPolicy | None = None
    action_after_completion: ActionAfterCompletion = ActionAfterCompletion.NONE
    state: ScheduleState = ScheduleState.ENABLED
    alerts: AlertSettings | None = None
    max_duration_seconds: int | None = Field(
        None, ge=1, le=MAX_RUN_SECONDS,
        description="a run that has not reported how it ended this long after its dispatch is timed_out "
        "(alerted once); a late report still records its outcome",
    )
    overlap_policy: OverlapPolicy | None = Field(
        None, description="what a slot does while the previous run has not reported: allow (the default), "
        "skip, or buffer_one (at most one slot waits, and runs when the previous run reports)",
    )
    run_if: RunCondition | None = Field(
        None, description="run a slot only when the previous run reported succeeded (previous_succeeded) "
        "or has ended at all (previous_finished); otherwise the slot is skipped, naming the condition",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description=f"up to {MAX_LABELS} labels, key=value, to select schedules by (list, bulk, apply)",
        json_schema_extra={"maxProperties": MAX_LABELS, "examples": [{"team": "golf", "env": "prod"}]},
    )
    exclude_calendars: list[str] = Field(
        default_factory=list,
        description=f"up to {MAX_EXCLUDE_CALENDARS} of the owner's calendars (/api/calendars): a slot on one of "
        "their days is skipped",
        json_schema_extra={"maxItems": MAX_EXCLUDE_CALENDARS, "uniqueItems": True,
                           "items": {"type": "string", "pattern": NAME_PATTERN.pattern}},
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("exclude_calendars")
    @classmethod
    def _calendars(cls, value: list[str]) -> list[str]:
        return check_calendar_names(value)

    @field_validator("schedule_expression")
    @classmethod
    def _expression(cls, value: str, info: ValidationInfo) -> str:
        if not _trusted(info):
            try:
                expressions.parse_expression(value)
            except InvalidExpression as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str, info: ValidationInfo) -> str:
        if not _trusted(info):
            try:
                expressions.validate_timezone(value)
            except InvalidExpression as exc:
                raise ValueError(exc.rule) from None
        return value

    @field_validator("start_date", "end_date")
    @classmethod
    def _dates(cls, value: datetime | None) -> datetime | None:
        return bounded_utc(value)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        check_labels(value)
        return value

    @field_validator("payload")
    @classmethod
    def _payload_size(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except ValueError:
            raise ValueError("numbers must be finite (no NaN or Infinity)") from None
        except RecursionError:
            raise ValueError("is nested too deeply") from None
        size = len(text.encode())
        if size > MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(
                f"payload: serialized size {size} bytes exceeds the limit of "
                f"{MAX_PAYLOAD_BYTES} bytes"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleDefinition:
        if self.start_date and self.end_date and self.start_date >= self.end_date:
            raise ValueError("start_date: must be before end_date")
        if self.target_type is TargetType.CUSTOM and not self.target_arn:
            raise ValueError("target_arn: required when target_type is custom")
        if self.target_type is not TargetType.CUSTOM and self.target_arn:
            raise ValueError("target_arn: allowed only when target_type is custom")
        if self.target_arn:
            _check_custom_target(self.target_arn)
        return self

    @property
    def guards_runs(self) -> bool:
        """Whether a slot is decided at fire time on the previous run (an overlap policy other
        than allow, or a run_if): its runs hold the record's ``current_run`` marker."""
        return self.overlap_policy not in (None, OverlapPolicy.ALLOW) or self.run_if is not None

    @property
    def awaits_report(self) -> bool:
        """Whether a dispatched run is ``running`` until its worker reports (or its time runs
        out): only when the schedule asks for reports. A report for any run is recorded."""
        return self.max_duration_seconds is not None or self.guards_runs

    @property
    def report_wait(self) -> timedelta:
        """How long a run of a schedule that awaits reports may go unreported."""
        return timedelta(seconds=self.max_duration_seconds or DEFAULT_REPORT_WAIT_SECONDS)

    def to_storage(self) -> dict[str, Any]:
        """A DynamoDB-friendly dict: the payload as JSON text (no floats in DynamoDB)."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["payload"] = json.dumps(self.payload, separators=(",", ":"))
        if not self.labels:
            del data["labels"]  # records without labels stay as they were stored before labels
        if not self.exclude_calendars:
            del data["exclude_calendars"]  # nor without calendars
        return data

    @classmethod
    def from_storage(cls, data: dict[str, Any]) -> ScheduleDefinition:
        data = dict(data)
        if isinstance(data.get("payload"), str):
            data["payload"] = json.loads(data["payload"])
        for key in ("flexible_window_minutes", "max_duration_seconds"):
            if data.get(key) is not None:
                data[key] = int(data[key])
        if data.get("retry_policy"):
            data["retry_policy"] = {k: int(v) for k, v in data["retry_policy"].items()}
        return cls.model_validate(data, context={"trusted": True})


def check_labels(labels: dict[str, str], field: str = "labels") -> None:
    """Labels as AWS checks tags (bounded count, key and value characters and lengths);
    every problem names the label."""
    if len(labels) > MAX_LABELS:
        raise ValueError(f"{field}: at most {MAX_LABELS} labels, not {len(labels)}")
    for key, value in labels.items():
        if not LABEL_KEY_PATTERN.fullmatch(key) or key.lower().startswith("aws:"):
            raise ValueError(
                f"{field}.{key[:128]}: a key is 1-128 letters, digits or _ . : / + - @ "
                "(no '=', not starting with 'aws:')"
            )
        if not isinstance(value, str) or not LABEL_VALUE_PATTERN.fullmatch(value):
            raise ValueError(f"{field}.{key}: a value is 0-256 letters, digits or _ . : / = + - @")


def check_calendar_names(names: list[str], field: str = "exclude_calendars") -> list[str]:
    """A bounded list of distinct calendar names."""
    if len(names) > MAX_EXCLUDE_CALENDARS:
        raise ValueError(f"{field}: at most {MAX_EXCLUDE_CALENDARS} calendars, not {len(names)}")
    for index, name in enumerate(names):
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"{field}.{index}: a calendar's name is 1-64 letters, digits, '-', '_' or '.'")
    if len(set(names)) != len(names):
        raise ValueError(f"{field}: a calendar is named twice")
    return names


def parse_label(text: str, field: str = "label") -> tuple[str, str]:
    """``key=value`` as (key, value), checked like a stored label."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ValidationError("must be key=value", field=field)
    try:
        check_labels({key: value}, field)
    except ValueError as exc:
        raise ValidationError(str(exc).split(": ", 1)[1], field=field) from None
    return key, value


# A custom target, by AWS's ARN rules for the three kinds the target function delivers to:
# arn:<partition>:sns:<region>:<account>:<topic>, ...:sqs:...:<queue>,
# ...:lambda:...:function:<name>[:<version or alias>]. FIFO topics and queues (".fifo") are
# refused: they need a message group id the target does not send (docs/security.md).
_CUSTOM_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):(?P<service>sns|sqs|lambda)"
    r":(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}):(?P<account>[0-9]{12}):(?P<resource>.+)"
)
_TARGET_NAME = {
    "sns": re.compile(r"(?P<name>[A-Za-z0-9_\-]{1,256})"),  # topic names: 1-256 of these
    "sqs": re.compile(r"(?P<name>[A-Za-z0-9_\-]{1,80})"),  # queue names: 1-80 of these
    "lambda": re.compile(r"function:(?P<name>[A-Za-z0-9_\-]{1,64})(?::(?:\$LATEST|[A-Za-z0-9_\-]{1,128}))?"),
}
_TARGET_RULE = {
    "sns": "an SNS topic's name is 1-256 letters, digits, '-' or '_' (FIFO topics are not supported)",
    "sqs": "an SQS queue's name is 1-80 letters, digits, '-' or '_' (FIFO queues are not supported)",
    "lambda": "a Lambda function's ARN names function:<name> (1-64 letters, digits, '-' or '_'), "
    "optionally with :<version or alias>",
}


@dataclass(frozen=True)
class CustomTarget:
    """The parts of a custom target's ARN."""

    partition: str
    service: str
    region: str
    account: str
    name: str


def parse_custom_target(arn: str) -> CustomTarget:
    """The target's parts, or ``ValueError`` naming AWS's rule it breaks."""
    match = _CUSTOM_ARN.fullmatch(arn)
    if not match:
        raise ValueError(
            "target_arn: must be the ARN of an SNS topic, SQS queue or Lambda function "
            "(arn:aws:sns|sqs|lambda:<region>:<12-digit account>:<name>)"
        )
    service = match.group("service")
    named = _TARGET_NAME[service].fullmatch(match.group("resource"))
    if not named:
        raise ValueError(f"target_arn: {_TARGET_RULE[service]}")
    return CustomTarget(match.group("partition"), service, match.group("region"), match.group("account"), named.group("name"))


def _check_custom_target(arn: str) -> None:
    """Custom targets are SNS topics, SQS queues or Lambda functions named with the
    stage's custom prefix (the IAM policy grants exactly those); the prefix, partition,
    region and account are checked by the service, which knows the stage."""
    parse_custom_target(arn)


def custom_target_name(arn: str) -> str:
    try:
        return parse_custom_target(arn).name
    except ValueError:
        return ""


def custom_target_place(arn: str) -> tuple[str, str]:
    """The (region, account id) of a custom target's ARN (empty strings if it is none)."""
    try:
        target = parse_custom_target(arn)
    except ValueError:
        return ("", "")
    return (target.region, target.account)


def _trusted(info: ValidationInfo) -> bool:
    """Stored records are re-read without re-running the expression rules."""
    return bool(info.context and info.context.get("trusted"))


class ScheduleCommand(BaseModel):
    """The SNS command: converge schedule ``schedule_id`` after ``action``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    schedule_id: str
    request_id: str
    requested_by: str
    requested_at: datetime
    version: int = Field(ge=1)


class PreviewRequest(BaseModel):
    """The body of ``POST /api/expressions/preview``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule_expression: str
    timezone: str = "UTC"
    after: datetime | None = None
    count: int = Field(10, ge=1, le=expressions.MAX_PREVIEW_COUNT)
    start_date: datetime | None = None
    end_date: datetime | None = None

    @field_validator("after", "start_date", "end_date")
    @classmethod
    def _dates(cls, value: datetime | None) -> datetime | None:
        return bounded_utc(value)


MAX_BULK = 1000


class BulkAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    DELETE = "delete"
    RUN = "run"


class BulkSelector(BaseModel):
    """Which schedules a bulk action touches: all of these that are given must match. A
    caller who is not an admin selects among their own schedules only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: dict[str, str] = Field(default_factory=dict, description="every one of these labels")
    template: str | None = Field(None, description="made from this template", json_schema_extra={"pattern": NAME_PATTERN.pattern})
    status: ScheduleStatus | None = None
    owner: str | None = Field(None, min_length=1, max_length=256, description="this owner's (admins only)")
    ids: list[str] | None = Field(
        None, description=f"these schedules (up to {MAX_BULK}, each the caller's own unless an admin), "
        "taken in one call; the other fields, if given, must match them too",
        json_schema_extra={"maxItems": MAX_BULK, "uniqueItems": True},
    )

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        check_labels(value, "selector.labels")
        return value

    @field_validator("ids")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value or len(value) > MAX_BULK:
            raise ValueError(f"1 to {MAX_BULK} schedule ids, not {len(value)}")
        for index, each in enumerate(value):
            if not is_schedule_id(each):
                raise ValueError(f"ids.{index}: not a schedule id")
        if len(set(value)) != len(value):
            raise ValueError("an id is named twice")
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None and not NAME_PATTERN.fullmatch(value):
            raise ValueError("must be 1-64 characters of letters, digits, '-', '_' or '.'")
        return value

    @model_validator(mode="after")
    def _something(self) -> BulkSelector:
        if not (self.labels or self.template or self.status or self.owner or self.ids):
            raise ValueError("selector: name at least one of labels, template, status, owner or ids")
        return self


class BulkRequest(BaseModel):
    """The body of ``POST /api/schedules/bulk``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    selector: BulkSelector
    action: BulkAction
    dry_run: bool = Field(False, description="answer what would be done, and do nothing")
    reason: str | None = Field(None, max_length=MAX_DESCRIPTION, description="kept in each pause's history entry")
    limit: int = Field(MAX_BULK, ge=1, le=MAX_BULK, description="at most this many schedules in this call")
    cursor: str | None = Field(None, max_length=4096, description="the next_cursor of the previous call")


class BackfillSlots(StrEnum):
    """Which past slots a backfill runs (chalicelib.backfill)."""

    MISSED = "missed"  # no run of its own
    FAILED = "failed"  # its run failed, or was undelivered
    ALL = "all"  # every slot that was due while the schedule was enabled


class BackfillRequest(BaseModel):
    """The body of ``POST /api/schedules/{id}/backfill``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_: datetime = Field(alias="from", description="the window's start (ISO 8601), inclusive")
    to: datetime = Field(description="the window's end (ISO 8601), inclusive; not in the future")
    slots: BackfillSlots = Field(BackfillSlots.MISSED, description="missed (default), failed or all")
    dry_run: bool = Field(False, description="answer the slots it would run, and run nothing")

    @field_validator("from_", "to")
    @classmethod
    def _dates(cls, value: datetime) -> datetime:
        return bounded_utc(value) or value

    @model_validator(mode="after")
    def _window(self) -> BackfillRequest:
        if self.to <= self.from_:
            raise ValueError("to: must be after from")
        if self.to - self.from_ > MAX_BACKFILL_SPAN:
            raise ValueError("to: must be at most 31 days after from")
        return self


MAX_BACKFILL_SPAN = timedelta(days=31)


class RunCounts(BaseModel):
    """A record's runs, counted as each outcome is written: how many, how many failed, and the
    last one (the record's ``executions``; formerly the schema ExecutionSummary)."""

    model_config = ConfigDict(extra="ignore")

    total: int = 0
    failed: int = 0
    last_execution_id: str | None = None
    last_scheduled_time: str | None = None
    last_outcome: ExecutionOutcome | None = None


class LastChange(BaseModel):
    """The change the API last wrote on a record: who asked for what, when, at which
    version. The command handler turns it into a history entry when it settles that
    version, so the API's write path makes no extra call for the history."""

    model_config = ConfigDict(extra="ignore")

    action: str
    by: str
    at: str
    version: int | None = None  # None: the version the same write gave the record
    fields: list[str] = Field(default_factory=list)
    reason: str | None = None
    previous_state: ScheduleState | None = None


class TemplateUse(BaseModel):
    """Which template made a schedule's definition, at which version, with which parameters."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    version: int
    params: dict[str, str | int | bool] = Field(default_factory=dict)


RUN_GUARD_FIELDS = ("max_duration_seconds", "overlap_policy", "run_if")
MAX_SKIP_COUNT = 1000
MAX_SNOOZE = timedelta(days=366)


class RequestedSkip(BaseModel):
    """A skip kept on a record: the slots before ``until`` do not run."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    until: str = Field(description="slots before this time are skipped")
    count: int | None = Field(None, description="the number of slots asked for, when given as a count")
    by: str
    at: str


class SkipRequest(BaseModel):
    """The body of ``POST /api/schedules/{id}/skip``: the next ``count`` slots, or the slots
    before ``until``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int | None = Field(None, ge=1, le=MAX_SKIP_COUNT, description="skip the next count slots")
    until: datetime | None = Field(None, description="skip the slots before this time (ISO 8601)")

    @field_validator("until")
    @classmethod
    def _until(cls, value: datetime | None) -> datetime | None:
        return bounded_utc(value)

    @model_validator(mode="after")
    def _one(self) -> SkipRequest:
        if (self.count is None) == (self.until is None):
            raise ValueError("count: give exactly one of count and until")
        return self


class SnoozeRequest(BaseModel):
    """The body of ``POST /api/schedules/{id}/snooze``: no run until ``until``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    until: datetime = Field(description="the schedule resumes itself at this time (ISO 8601; at most a year ahead)")

    @field_validator("until")
    @classmethod
    def _until(cls, value: datetime) -> datetime:
        checked = bounded_utc(value)
        assert checked is not None
        return checked


def definition_digest(definition: ScheduleDefinition) -> dict[str, str]:
    """Each field of a definition as a short digest (the state as it is)."""
    digest: dict[str, str] = {}
    for field, value in definition.model_dump(mode="json").items():
        if (field in ("labels", "exclude_calendars") and not value) or (field in RUN_GUARD_FIELDS and value is None):
            continue  # as recorded before labels, calendars and runs' reports existed
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
        digest[field] = text if field == "state" else hashlib.sha256(text.encode()).hexdigest()[:16]
    return digest


class CurrentRun(BaseModel):
    """The latest dispatched run of a schedule that guards its runs: it holds later slots back
    until it reports (``reported_outcome``) or ``until`` passes."""

    model_config = ConfigDict(extra="ignore")

    execution_id: str
    scheduled_time: str
    until: str
    reported_outcome: ReportedOutcome | None = None


class BufferedRun(BaseModel):
    """The one slot of a buffer_one schedule that waits for the current run's report: the
    invocation the report path sends the target function."""

    model_config = ConfigDict(extra="ignore")

    execution_id: str
    scheduled_time: str
    attempt: int = 1
    trigger: ExecutionTrigger = ExecutionTrigger.SCHEDULED


class Schedule(BaseModel):
    """The stored record of one schedule."""

    model_config = ConfigDict(extra="ignore")

    id: str
    definition: ScheduleDefinition
    status: ScheduleStatus
    pending_action: Action | None = None
    created_by: str
    created_date: str
    updated_date: str
    version: int = 1
    eventbridge_arn: str | None = None
    last_error: str | None = None
    idempotency_key: str | None = None
    ttl: int | None = None
    executions: RunCounts = Field(default_factory=RunCounts)
    last_drift: list[str] = Field(default_factory=list)
    last_drift_repaired_at: str | None = None
    # EventBridge's LastModificationDate of the schedule when it was last applied and read
    # back matching this record: the reconcile reads a schedule again only when it differs.
    eventbridge_modified: str | None = None
    # A record in ``error`` is retried by the reconcile, with capped exponential backoff.
    error_retries: int = 0
    next_retry_at: str | None = None
    last_change: LastChange | None = None
    # what the command handler last applied, per definition field (a digest; the state as
    # it is): the next change's history entry names the fields it changed from this
    applied: dict[str, str] = Field(default_factory=dict)
    # the template (its version and the parameters given) the definition was made from
    template: TemplateUse | None = None
    # the latest run of a schedule that guards its runs (``guards_runs``), and the slot that
    # waits for it (buffer_one): what a fire-time decision reads (see chalicelib.runs)
    current_run: CurrentRun | None = None
    buffered_run: BufferedRun | None = None
    # slots before skip.until do not run (POST /api/schedules/{id}/skip)
    skip: RequestedSkip | None = None
    # a pause that resumes itself: EventBridge holds the schedule until then (its StartDate)
    snoozed_until: str | None = None

    @property
    def desired_state(self) -> ScheduleState:
        return self.definition.state

    @property
    def is_deleted(self) -> bool:
        """Deleted, or asked to be: nothing but the delete applies to it any more."""
        return self.status is ScheduleStatus.DELETED or self.pending_action is Action.DELETE

    def to_api(self, next_fires: list[str] | None = None) -> dict[str, Any]:
        """The record as clients see it: the definition's fields at top level."""
        body = self.definition.model_dump(mode="json", exclude_none=True)
        body.update(
            id=self.id,
            status=self.status.value,
            pending_action=self.pending_action.value if self.pending_action else None,
            created_by=self.created_by,
            created_date=self.created_date,
            updated_date=self.updated_date,
            version=self.version,
            eventbridge_arn=self.eventbridge_arn,
            last_error=self.last_error,
            executions=self.executions.model_dump(mode="json"),
        )
        if self.template is not None:
            body["template"] = self.template.model_dump(mode="json")
        if self.skip is not None:
            body["skip"] = self.skip.model_dump(mode="json", exclude_none=True)
        if self.snoozed_until is not None:
            body["snoozed_until"] = self.snoozed_until
        if self.last_drift:
            body["last_drift"] = self.last_drift
            body["last_drift_repaired_at"] = self.last_drift_repaired_at
        if next_fires is not None:
            body["next_fire_times"] = next_fires
        return body


class ExecutionRecord(BaseModel):
    """One invocation of a schedule's target, keyed by EventBridge's execution id."""

    model_config = ConfigDict(extra="ignore")

    schedule_id: str
    execution_id: str
    scheduled_time: str
    started_at: str
    attempt: int = 1  # EventBridge Scheduler's attempt number of the latest claim
    attempts: int = 1  # how many invocations claimed this run (Lambda retries included)
    attempt_log: list[dict[str, Any]] = Field(default_factory=list)  # each claim: attempt, started_at, request_id
    trigger: ExecutionTrigger = ExecutionTrigger.SCHEDULED
    outcome: ExecutionOutcome = ExecutionOutcome.STARTED
    claim_expires_at: str | None = None  # a started run is someone's until then
    duration_ms: int | None = None
    error: str | None = None
    skip_reason: str | None = None  # why a skipped run was not dispatched
    waiting: bool | None = None  # a buffer_one slot held until the previous run reports
    dispatched_at: str | None = None  # when its message reached the target
    report_due_at: str | None = None  # its schedule awaits a report: running until then
    max_duration_seconds: int | None = None  # its schedule's, when it set one: past it, timed_out
    reported_at: str | None = None
    reported_outcome: ReportedOutcome | None = None
    reported_message: str | None = None
    reported_details: dict[str, Any] | None = None
    run_duration_ms: int | None = None  # reported_at minus dispatched_at

    @field_validator("reported_details", mode="before")
    @classmethod
    def _stored_details(cls, value: Any) -> Any:
        """Details are stored as JSON text (DynamoDB keeps no floats)."""
        return json.loads(value) if isinstance(value, str) else value

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class RunReport(BaseModel):
    """How a worker says its run ended: the body of ``POST /api/executions/{execution_id}/report``
    and of a message on the results topic. ``schedule_id`` and ``execution_id`` are copied
    from the message the worker received (on the route the path names the execution)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule_id: str = Field(description="the schedule_id of the message the worker received",
                             json_schema_extra={"pattern": f"^{_ID_PATTERN.pattern}$"})
    execution_id: str | None = Field(
        None, min_length=1, max_length=512,
        description="the execution_id of the message the worker received (required on the results topic; "
        "on the route, if given, it must be the path's)",
    )
    outcome: ReportedOutcome
    message: str | None = Field(None, max_length=MAX_REPORT_MESSAGE, description="what the worker says, shown with a failure")
    details: dict[str, Any] | None = Field(
        None, description=f"anything else the worker wants kept (JSON, at most {MAX_REPORT_DETAILS_BYTES} bytes serialized)",
    )

    @field_validator("schedule_id")
    @classmethod
    def _schedule_id(cls, value: str) -> str:
        if not is_schedule_id(value):
            raise ValueError("must be a schedule id (the schedule_id of the message the worker received)")
        return value

    @field_validator("details")
    @classmethod
    def _details_size(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            size = len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())
        except ValueError:
            raise ValueError("numbers must be finite (no NaN or Infinity)") from None
        except RecursionError:
            raise ValueError("is nested too deeply") from None
        if size > MAX_REPORT_DETAILS_BYTES:
            raise ValueError(f"serialized size {size} bytes exceeds the limit of {MAX_REPORT_DETAILS_BYTES} bytes")
        return value


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    """Validate ``data`` into ``model``; every problem becomes one entry of a ValidationError
    that names the field (a dotted path for nested ones) and the rule."""
    try:
        return model.model_validate(data, context=context)
    except PydanticValidationError as exc:
        raise ValidationError("", errors=[_field_error(error) for error in exc.errors()]) from None


# "field: rule", where a path's later parts may be label keys (any text up to the first ": ")
_FIELD_PREFIX = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:(?!: ).)+?)*): (?P<rule>.+)$", re.DOTALL)


def _field_error(error: ErrorDetails) -> FieldError:
    location = ".".join(str(part) for part in error.get("loc", ()))
    kind = error.get("type", "")
    message = error.get("msg", "invalid")
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "required field is missing"
    named = _FIELD_PREFIX.match(message)
    if named is None:
        return FieldError(location or "body", message)
    # a validator named the field (or a part of it): a model's own, or a nested model's last part
    field, rule = named.group("field"), named.group("rule")
    parts = location.split(".") if location else []
    if parts and field.split(".")[0] == parts[-1]:
        parts = parts[:-1]
    elif parts and field.split(".")[0] == parts[0]:
        parts = []
    return FieldError(".".join([*parts, field]), rule)
