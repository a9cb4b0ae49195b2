"""The API's answers as models, for the OpenAPI document (chalicelib.openapi) only: the views
build these bodies with ``Schedule.to_api()`` and friends; the generated requests check that
the two agree."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.models import (
    Action,
    ExecutionRecord,
    ExecutionSummary,
    ScheduleDefinition,
    ScheduleStatus,
)


class ErrorBody(BaseModel):
    """Every error: a stable code and a message naming the field and the rule."""

    model_config = ConfigDict(extra="forbid")

    Code: str = Field(description="ValidationError, BadRequest, NotFound, Conflict, VersionConflict, ...")
    Message: str


class ScheduleView(ScheduleDefinition):
    """A schedule as clients see it: its definition's fields, then the service's."""

    id: str = Field(description="the schedule id (a UUID)")
    status: ScheduleStatus
    pending_action: Action | None = Field(None, description="the change being applied, if any")
    created_by: str
    created_date: str
    updated_date: str
    version: int = Field(description="send it back in If-Match to change exactly this version")
    eventbridge_arn: str | None = None
    last_error: str | None = None
    executions: ExecutionSummary
    last_drift: list[str] | None = Field(None, description="fields the last reconcile repaired")
    last_drift_repaired_at: str | None = None
    next_fire_times: list[str] | None = Field(
        None, description="the next fire times (UTC) of an active schedule; GET only"
    )


class SchedulePage(BaseModel):
    items: list[ScheduleView]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last")


class ExecutionPage(BaseModel):
    items: list[ExecutionRecord]
    next_cursor: str | None


class PreviewView(BaseModel):
    valid: bool
    schedule_expression: str
    timezone: str
    next: list[str] = Field(description="the next fire times, UTC ISO 8601 with Z")
    warnings: list[str]




class LastExecution(BaseModel):
    execution_id: str
    scheduled_time: str | None = None
    outcome: str | None = None


class ScheduleDetail(ScheduleView):
    """One schedule, read alone: its view plus what its timeline says of it."""

    last_execution: LastExecution | None = None
    next_fire_time: str | None = Field(None, description="the next slot, UTC (null unless active)")
    health: str = Field(description="paused for a paused schedule; else ok, late, missing or failing, from the recent timeline")


class RunLinks(BaseModel):
    executions: str
    timeline: str


class RunAccepted(BaseModel):
    """A run asked for now: the target is invoked at once with its own execution id."""

    schedule_id: str
    execution_id: str = Field(description="manual-<uuid>: find it in the executions and the timeline")
    trigger: str = Field(description="always manual")
    requested_at: str
    repeated: bool = Field(description="true when an Idempotency-Key answered an earlier request's run")
    links: RunLinks


class HistoryEntry(BaseModel):
    """One change to a schedule: who, when, what."""

    action: str = Field(description="create, update, pause, resume, delete, repair, run, auto_pause, ...")
    by: str | None = None
    at: str
    version: int | None = None
    fields: list[str] = Field(description="the definition's fields the change touched")
    reason: str | None = None
    state: str | None = None
    previous_state: str | None = None
    execution_id: str | None = None


class HistoryPage(BaseModel):
    items: list[HistoryEntry]
    next_cursor: str | None


class TimelineRun(BaseModel):
    execution_id: str
    outcome: str
    started_at: str
    attempt: int | None = None
    duration_ms: int | None = None
    error: str | None = None


class TimelineEntry(BaseModel):
    """One expected slot (or a manual run) and what happened in it."""

    time: str = Field(description="the slot, UTC")
    trigger: str = Field(description="scheduled or manual")
    state: str = Field(description="succeeded, failed, running, late, missed, skipped or upcoming")
    deadline: str | None = Field(None, description="after this a slot without a run is missed")
    planned: bool | None = Field(None, description="false for a run at a time the plan does not have")
    execution: TimelineRun | None = None


class TimelinePage(BaseModel):
    schedule_id: str
    from_: str = Field(alias="from")
    to: str
    now: str
    grace_seconds: int
    items: list[TimelineEntry]
    next_cursor: str | None
