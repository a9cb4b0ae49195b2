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


