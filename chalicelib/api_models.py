"""The API's answers as models, for the OpenAPI document (chalicelib.openapi) only: the views
build these bodies with ``Schedule.to_api()`` and friends; the generated requests check that
the two agree."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel

from chalicelib.calendars import CalendarDefinition, CalendarPreviewRequest
from chalicelib.expressions import MAX_PREVIEW_COUNT
from chalicelib.models import (
    Action,
    ExecutionRecord,
    RequestedSkip,
    RunCounts,
    ScheduleDefinition,
    ScheduleStatus,
    TemplateUse,
)
from chalicelib.templates import TemplateDefinition, TemplateInstance


class ErrorBody(BaseModel):
    """Every error: a stable code and a message naming the field and the rule."""

    model_config = ConfigDict(extra="forbid")

    Code: str = Field(description="ValidationError, BadRequest, NotFound, Conflict, VersionConflict, ...")
    Message: str


class FieldErrorView(BaseModel):
    """One failing field of a refused request."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        description="the field's name, a dotted path for a nested one (retry_policy.maximum_retry_attempts), "
        "or the header or query parameter (If-Match, limit)"
    )
    message: str = Field(description="the rule it broke, in words")


class InvalidRequestBody(ErrorBody):
    """A 400: the message in words, and each failing field on its own, so a form can place
    each message under its field. ``Errors`` is empty when the request as a whole is
    malformed (not JSON, not an object, empty)."""

    Errors: list[FieldErrorView]


class SkippedSlot(BaseModel):
    """A planned slot that does not run, and why: ``calendar <name>``, ``requested`` (a
    skip) or ``snoozed until <time>``."""

    time: str
    reason: str


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
    executions: RunCounts
    last_drift: list[str] | None = Field(None, description="fields the last reconcile repaired")
    last_drift_repaired_at: str | None = None
    next_fire_times: list[str] | None = Field(
        None, description="the next fire times (UTC) of an active schedule; GET only"
    )
    skipped_fire_times: list[SkippedSlot] | None = Field(
        None, description="slots before the last of next_fire_times that do not run, and why; GET only"
    )
    skip: RequestedSkip | None = Field(None, description="a requested skip: slots before its until do not run")
    snoozed_until: str | None = Field(None, description="snoozed: no slot runs before this time (UTC)")
    template: TemplateUse | None = Field(None, description="the template it was made from")


class BulkResult(BaseModel):
    """What became of one selected schedule."""

    id: str
    name: str
    version: int = Field(description="the version that was selected (and written at)")
    result: str = Field(description="planned (dry run), done, skipped or failed")
    reason: str | None = Field(None, description="why it was skipped or failed")
    code: str | None = Field(None, description="the error code of a failure")
    execution_id: str | None = Field(None, description="the run started (action run)")


class BulkReport(BaseModel):
    action: str
    dry_run: bool
    counts: dict[str, int] = Field(description="how many schedules each result has")
    results: list[BulkResult]
    next_cursor: str | None = Field(description="send as cursor for the next up to 1,000 schedules; null on the last")


class LastExecution(BaseModel):
    execution_id: str
    scheduled_time: str | None = None
    outcome: str | None = None


class ScheduleListItem(ScheduleView):
    """A schedule in a listing: its view plus what its record says of its runs, with no
    further read (chalicelib.fleet)."""

    health: str | None = Field(
        description="now, from the record: ok, missing (the slot after the last run is past its "
        "deadline), failing (the last run failed), paused; null for other statuses"
    )
    next_fire_time: str | None = Field(description="the next slot, UTC (null unless active)")
    last_execution: LastExecution | None = None


class SchedulePage(BaseModel):
    items: list[ScheduleListItem]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last")


class ExecutionPage(BaseModel):
    items: list[ExecutionRecord]
    next_cursor: str | None


class PreviewView(BaseModel):
    valid: bool
    schedule_expression: str
    timezone: str
    next: list[str] = Field(description="the next fire times, UTC ISO 8601 with Z")
    skipped: list[SkippedSlot] | None = Field(
        None, description="slots among the count looked at that do not run (calendars named or given)")
    warnings: list[str]




class ScheduleDetail(ScheduleView):
    """One schedule, read alone: its view plus what its timeline says of it."""

    last_execution: LastExecution | None = None
    next_fire_time: str | None = Field(None, description="the next slot, UTC (null unless active)")
    health: str = Field(description="paused for a paused schedule; else ok, late, missing or failing, from the recent timeline")


class FleetSchedule(BaseModel):
    """One schedule in the overview."""

    id: str
    name: str
    status: ScheduleStatus
    health: str | None
    schedule_expression: str
    timezone: str
    next_fire_time: str | None
    last_outcome: str | None
    last_scheduled_time: str | None


class Overview(BaseModel):
    """What the caller's default listing holds, counted (see chalicelib.fleet)."""

    now: str
    total: int = Field(description="schedules counted")
    complete: bool = Field(description="false when there were more than the overview counts (5,000)")
    by_status: dict[str, int]
    by_health: dict[str, int] = Field(description="ok, missing, failing, paused; none for statuses without health")
    attention: list[FleetSchedule] = Field(description="failing or missing now (the first 20)")
    attention_total: int
    next_fires: list[FleetSchedule] = Field(description="the next 10 to fire")


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


class BackfillItem(BaseModel):
    """One slot a backfill picked."""

    slot: str = Field(description="the planned slot, UTC: the run's scheduled_time")
    execution_id: str = Field(description="backfill-<id derived from the schedule and the slot>")
    result: str = Field(description="what the slot's own runs made of it: missed, failed, succeeded or late")
    run: str = Field(description="started (by this request), would_start (a dry run) or already_ran")
    outcome: str | None = Field(None, description="the outcome of the slot's backfill run so far, when it has one")


class BackfillLinks(BaseModel):
    timeline: str = Field(description="the window's timeline, where the runs show as they finish")
    executions: str


class BackfillView(BaseModel):
    """The slots a backfill picked, oldest first, and what it did with each."""

    schedule_id: str
    from_: str = Field(alias="from")
    to: str
    slots: str = Field(description="missed, failed or all")
    dry_run: bool
    items: list[BackfillItem]
    counts: dict[str, int] = Field(description="the items by run: started (would_start in a dry run) and already_ran")
    links: BackfillLinks


class HistoryEntry(BaseModel):
    """One change to a schedule: who, when, what."""

    action: str = Field(description="create, update, pause, resume, delete, repair, run, backfill, auto_pause, ...")
    by: str | None = None
    at: str
    version: int | None = None
    fields: list[str] = Field(description="the definition's fields the change touched")
    reason: str | None = None
    state: str | None = Field(None, description="the definition's state after the change: ENABLED or DISABLED "
                              "(DELETED once the schedule is deleted)")
    previous_state: str | None = Field(None, description="the definition's state before the change, where known")
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
    skip_reason: str | None = None
    dispatched_at: str | None = None
    reported_at: str | None = None
    reported_outcome: str | None = Field(None, description="what the worker reported: succeeded or failed")
    reported_message: str | None = None
    run_duration_ms: int | None = Field(None, description="reported_at minus dispatched_at")


class ReportRecorded(BaseModel):
    """A run's report, as stored."""

    recorded: bool = Field(description="false when this report was stored before (nothing changed)")
    execution: ExecutionRecord


class TimelineEntry(BaseModel):
    """One expected slot (or a manual run) and what happened in it."""

    time: str = Field(description="the slot, UTC")
    trigger: str = Field(description="scheduled or manual")
    result: str = Field(description="what became of the slot: succeeded, failed, running, late, missed, skipped, "
                        "upcoming, timed_out or overdue (formerly `state`)")
    deadline: str | None = Field(None, description="after this a slot without a run is missed")
    planned: bool | None = Field(None, description="false for a run at a time the plan does not have")
    reason: str | None = Field(None, description="why the slot was skipped, or what its run's failure said")
    note: str | None = Field(None, description="backfilled at <time>: the slot's run was a backfill")
    execution: TimelineRun | None = None


class TimelinePage(BaseModel):
    schedule_id: str
    from_: str = Field(alias="from")
    to: str
    now: str
    grace_seconds: int
    items: list[TimelineEntry]
    next_cursor: str | None


class ScheduleRequest(RootModel[ScheduleDefinition | TemplateInstance]):
    """A schedule's definition, or a template's name and parameters that make one."""


class PreviewFromTemplate(TemplateInstance):
    """The preview of the schedule a template makes with these parameters."""

    count: int = Field(10, ge=1, le=MAX_PREVIEW_COUNT)


class PreviewBody(RootModel[CalendarPreviewRequest | PreviewFromTemplate]):
    """An expression to preview, or a template and parameters."""


class TemplateView(TemplateDefinition):
    owner: str
    version: int = Field(description="send it back in If-Match to change exactly this version")
    created_date: str
    updated_date: str


class CalendarView(CalendarDefinition):
    """A stored calendar: its days (an ``ics`` given is read into them and not kept)."""

    owner: str
    version: int = Field(description="send it back in If-Match to change exactly this version")
    created_date: str
    updated_date: str
    used_by: list[str] = Field(description="the schedules that name it in exclude_calendars")


class CalendarPage(BaseModel):
    items: list[CalendarView]
    next_cursor: str | None


class TemplatePage(BaseModel):
    items: list[TemplateView]
    next_cursor: str | None


class ReapplyView(BaseModel):
    """A schedule made again from its template's current version."""

    dry_run: bool
    from_version: int = Field(description="the template version the schedule was made from")
    to_version: int = Field(description="the template's current version")
    changed_fields: list[str] = Field(description="the definition fields that change")
    definition: ScheduleDefinition = Field(description="the definition the schedule gets")
