"""rez-agent schedules: the HTTP API, the schedule-command handler and the schedule target.

Views are thin: read the request, call one service method, shape the answer. The service
objects are built on first use (chalicelib.wiring), errors become responses in one place
(chalicelib.http.handles_errors), and every function's logs, metrics and traces come from one
middleware (chalicelib.observability). The models, the expression engine and the service are
loaded on first use (chalicelib.lazy), so a cold start's ``import app`` stays near bare Chalice.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, CloudWatchEvent, Rate, Request, Response, SNSEvent, SQSEvent

from chalicelib import apidocs, auth, console, names, observability, wiring
from chalicelib.config import get_settings
from chalicelib.errors import ValidationError
from chalicelib.http import (
    authenticate,
    calendar_name,
    caller,
    etag,
    expected_version,
    handles_errors,
    idempotency_key,
    int_param,
    json_object,
    label_filter,
    only_params,
    query,
    resource_url,
    schedule_id,
    template_name,
    text_param,
)
from chalicelib.lazy import lazy_module
from chalicelib.openapi import (
    BULK_IDEMPOTENCY_KEY,
    CREATED_BY,
    CURSOR,
    ETAG,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LABEL_FILTER,
    LIST_LIMIT_MAX,
    LOCATION,
    Param,
    api,
    limit_param,
)

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib import (
        calendar_store,
        calendars,
        exclusions,
        expressions,
        fleet,
        invocations,
        models,
        rejections,
        reports,
        service,
        templates,
    )
else:  # loaded by the first request that reads one of their names
    calendar_store = lazy_module("chalicelib.calendar_store")
    calendars = lazy_module("chalicelib.calendars")
    exclusions = lazy_module("chalicelib.exclusions")
    invocations = lazy_module("chalicelib.invocations")
    expressions = lazy_module("chalicelib.expressions")
    reports = lazy_module("chalicelib.reports")
    fleet = lazy_module("chalicelib.fleet")
    models = lazy_module("chalicelib.models")
    rejections = lazy_module("chalicelib.rejections")
    service = lazy_module("chalicelib.service")
    templates = lazy_module("chalicelib.templates")

# `chalice deploy` would leave out what `make deploy` adds to Chalice's template (the target's
# dead-letter destination, the API's throttle and error answers, alarms, dashboard, the open-API
# check): docs/decisions/0007-deploy-with-chalice-package.md. It loads this module first.
if os.path.basename(sys.argv[0]) == "chalice" and "deploy" in sys.argv[1:]:
    raise SystemExit(
        "rez-agent schedules is not deployed with `chalice deploy`: run `make deploy STAGE=<stage>` "
        "(the stage's resources, then `chalice package` + CloudFormation; docs/operations.md)"
    )

app = Chalice(app_name="rez-agent-schedules")
# JSON log lines, EMF metrics and traces for every function, present and future.
app.register_middleware(partial(observability.middleware, now=wiring.now), "all")

_SETTINGS_AT_IMPORT = get_settings()
# The stage's authentication (AUTH_MODE, chalicelib/auth.py): every route carries AUTHORIZER.
AUTHORIZER = auth.route_authorizer(_SETTINGS_AT_IMPORT)
app.api.cors = auth.cors_config(_SETTINGS_AT_IMPORT) or False


@app.middleware("http")
def _authenticate(request: Request, get_response: Callable[[Request], Response]) -> Response:
    return authenticate(request, get_response, app.routes, app.api.cors or None)


MAX_CREATED_BY_FILTER = 256
# The operations that take a schedule's id: the document links every answer with one to them.
SCHEDULE_LINKS = (
    "get_schedule", "update_schedule", "pause_schedule", "resume_schedule", "delete_schedule", "list_executions",
    "backfill_schedule",
)


# --- schedules -----------------------------------------------------------------------


@app.route("/api/schedules", methods=["POST"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@api.operation(
    "Create a schedule",
    description="The body is a schedule's definition, or a template's name and parameters "
    "(the record keeps the template's name, version and the parameters).",
    request="ScheduleRequest", response="ScheduleView", status=202,
    headers=(IDEMPOTENCY_KEY, CREATED_BY), response_headers=(LOCATION,), errors=(404, 409, 429), links=SCHEDULE_LINKS,
)
@handles_errors
def create_schedule() -> Response:
    request = app.current_request
    definition, template = _definition(request)
    schedule = wiring.schedule_service().create(
        definition, caller(request), idempotency_key(request), template=template
    )
    return Response(
        body=schedule.to_api(),
        status_code=202,
        headers={"Location": resource_url(request, schedule.id), "Content-Type": "application/json"},
    )


@app.route("/api/schedules", methods=["GET"], authorizer=AUTHORIZER)
@api.operation(
    "List schedules, newest first",
    response="SchedulePage",
    query=(
        Param("status", "Only schedules with this status.", {"$ref": "#/components/schemas/ScheduleStatus"}),
        Param(
            "created_by", "Only schedules this principal created.",
            {"type": "string", "minLength": 1, "maxLength": MAX_CREATED_BY_FILTER},
        ),
        LABEL_FILTER,
        Param("template", "Only schedules made from this template (yours, or created_by's).",
              {"type": "string", "pattern": "^[0-9A-Za-z_.\\-]{1,64}$"}),
        limit_param(LIST_LIMIT_MAX),
        CURSOR,
    ),
    headers=(CREATED_BY,),
)
@handles_errors
def list_schedules() -> dict[str, Any]:
    request = app.current_request
    params = query(request)
    only_params(params, {"status", "created_by", "label", "template", "limit", "cursor"})
    status = _status(params.get("status"))
    page = wiring.schedule_service().list(
        caller(request),
        status=status,
        created_by=text_param(params, "created_by", MAX_CREATED_BY_FILTER),
        limit=int_param(params, "limit", 50, 1, service.MAX_LIST_LIMIT),
        cursor=params.get("cursor"),
        labels=label_filter(request),
        template=text_param(params, "template", 64),
    )
    glance = wiring.glance()
    now = glance.now()
    items = [schedule.to_api() | glance.of(schedule, now) for schedule in page]
    return {"items": items, "next_cursor": page.cursor}


@app.route("/api/overview", methods=["GET"], authorizer=AUTHORIZER)
@api.operation(
    "The caller's schedules at a glance: counts by status and health, those failing or missing now, "
    "the next fires",
    response="Overview", headers=(CREATED_BY,),
)
@handles_errors
def fleet_overview() -> dict[str, Any]:
    request = app.current_request
    only_params(query(request), set())
    who = caller(request)
    schedules = wiring.schedule_service()
    return fleet.overview(lambda limit, cursor: schedules.list(who, limit=limit, cursor=cursor), wiring.glance())


@app.route("/api/schedules/bulk", methods=["POST"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@api.operation(
    "Pause, resume, delete or run every schedule a selector picks (up to 1,000 a call)",
    description="With dry_run the answer lists what would be done and nothing changes. Each "
    "schedule is written exactly as its own route would (history, ownership, its selected "
    "version); the report says per schedule: done, skipped and why, failed and why.",
    request="BulkRequest", response="BulkReport", headers=(BULK_IDEMPOTENCY_KEY, CREATED_BY),
)
@handles_errors
def bulk_action() -> dict[str, Any]:
    request = app.current_request
    body = models.parse_model(models.BulkRequest, json_object(request))
    return wiring.bulk_service().apply(body, caller(request), idempotency_key(request))


@app.route("/api/schedules/{id}", methods=["GET"], authorizer=AUTHORIZER)
@api.operation(
    "Get a schedule, with its next fire times when active",
    response="ScheduleDetail", headers=(CREATED_BY,), response_headers=(ETAG,), links=SCHEDULE_LINKS,
)
@handles_errors
def get_schedule(id: str) -> Response:
    schedules = wiring.schedule_service()
    schedule = schedules.get(schedule_id(id), caller(app.current_request))
    timeline = wiring.timeline_service()
    excluded = timeline.exclusions(schedule)  # its calendars read once, for the plan and the summary
    planned = schedules.next_fire_times(schedule, excluded=excluded)
    body = schedule.to_api(next_fires=planned[0] if planned else None)
    if planned and planned[1]:
        body["skipped_fire_times"] = planned[1]
    body.update(timeline.run_overview(schedule, excluded))
    return Response(
        body=body,
        headers={"ETag": etag(schedule.version), "Content-Type": "application/json"},
    )


@app.route("/api/schedules/{id}", methods=["PUT"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@api.operation(
    "Replace a schedule's definition",
    description="A definition unlinks the schedule from any template; a template's name and "
    "parameters make the definition from the template's current version.",
    request="ScheduleRequest", response="ScheduleView", status=202, headers=(IF_MATCH, CREATED_BY), errors=(409,),
    links=SCHEDULE_LINKS,
)
@handles_errors
def update_schedule(id: str) -> Response:
    request = app.current_request
    definition, template = _definition(request)
    schedule = wiring.schedule_service().update(
        schedule_id(id), definition, caller(request), expected_version(request), template=template
    )
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}/pause", methods=["POST"], authorizer=AUTHORIZER)
@api.operation(
    "Pause a schedule", response="ScheduleView", status=202, headers=(IF_MATCH, CREATED_BY), errors=(409,),
    links=SCHEDULE_LINKS,
)
@handles_errors
def pause_schedule(id: str) -> Response:
    request = app.current_request
    schedule = wiring.schedule_service().pause(schedule_id(id), caller(request), expected_version(request))
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}/resume", methods=["POST"], authorizer=AUTHORIZER)
@api.operation(
    "Resume a paused schedule", response="ScheduleView", status=202, headers=(IF_MATCH, CREATED_BY), errors=(409,),
    links=SCHEDULE_LINKS,
)
@handles_errors
def resume_schedule(id: str) -> Response:
    request = app.current_request
    schedule = wiring.schedule_service().resume(schedule_id(id), caller(request), expected_version(request))
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}", methods=["DELETE"], authorizer=AUTHORIZER)
@api.operation(
    "Delete a schedule (deleting a deleted one answers it as it is)",
    response="ScheduleView", status=202, headers=(IF_MATCH, CREATED_BY), errors=(409,),
)
@handles_errors
def delete_schedule(id: str) -> Response:
    request = app.current_request
    schedule = wiring.schedule_service().delete(schedule_id(id), caller(request), expected_version(request))
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}/skip", methods=["POST"], content_types=["application/json", "text/plain"],
           authorizer=AUTHORIZER)
@api.operation(
    "Skip the next count slots, or the slots before until",
    description="The slots show as skipped (reason requested) in the plan and are recorded skipped when "
    "they fire; a new skip replaces the one before. DELETE undoes it.",
    request="SkipRequest", response="ScheduleView", status=202, headers=(IF_MATCH, CREATED_BY), errors=(409,),
    links=SCHEDULE_LINKS,
)
@handles_errors
def skip_slots(id: str) -> Response:
    request = app.current_request
    body = models.parse_model(models.SkipRequest, json_object(request))
    schedule = wiring.schedule_service().skip(schedule_id(id), body, caller(request), expected_version(request))
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}/skip", methods=["DELETE"], authorizer=AUTHORIZER)
@api.operation(
    "Undo a requested skip", response="ScheduleView", status=202, headers=(IF_MATCH, CREATED_BY), errors=(409,),
    links=SCHEDULE_LINKS,
)
@handles_errors
def unskip_slots(id: str) -> Response:
    request = app.current_request
    schedule = wiring.schedule_service().unskip(schedule_id(id), caller(request), expected_version(request))
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}/snooze", methods=["POST"], content_types=["application/json", "text/plain"],
           authorizer=AUTHORIZER)
@api.operation(
    "Snooze a schedule: no run until a time, when it resumes by itself",
    description="EventBridge Scheduler holds the schedule until then (its StartDate), so it resumes on "
    "time without any tick of the service; POST /resume ends a snooze early, /pause replaces it.",
    request="SnoozeRequest", response="ScheduleView", status=202, headers=(IF_MATCH, CREATED_BY), errors=(409,),
    links=SCHEDULE_LINKS,
)
@handles_errors
def snooze_schedule(id: str) -> Response:
    request = app.current_request
    body = models.parse_model(models.SnoozeRequest, json_object(request))
    schedule = wiring.schedule_service().snooze(schedule_id(id), body.until, caller(request), expected_version(request))
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}/executions", methods=["GET"], authorizer=AUTHORIZER)
@api.operation(
    "List a schedule's executions, newest first",
    response="ExecutionPage", query=(limit_param(LIST_LIMIT_MAX), CURSOR), headers=(CREATED_BY,),
)
@handles_errors
def list_executions(id: str) -> dict[str, Any]:
    request = app.current_request
    params = query(request)
    only_params(params, {"limit", "cursor"})
    page = wiring.schedule_service().list_executions(
        schedule_id(id), caller(request), int_param(params, "limit", 50, 1, service.MAX_LIST_LIMIT),
        params.get("cursor"),
    )
    return {"items": [record.to_api() for record in page], "next_cursor": page.cursor}


@app.route("/api/schedules/{id}/run", methods=["POST"], authorizer=AUTHORIZER)
@api.operation(
    "Run a schedule's target now (active or paused schedules)",
    response="RunAccepted", status=202, headers=(IDEMPOTENCY_KEY, CREATED_BY), errors=(409, 501),
)
@handles_errors
def run_schedule_now(id: str) -> Response:
    request = app.current_request
    run = wiring.run_now_service().run(schedule_id(id), caller(request), idempotency_key(request))
    return Response(body=run, status_code=202, headers={"Content-Type": "application/json"})


@app.route("/api/schedules/{id}/backfill", methods=["POST"], content_types=["application/json", "text/plain"],
           authorizer=AUTHORIZER)
@api.operation(
    "Run a schedule's past slots once each, oldest first (missed, failed or all in a window)",
    description="At most 1,000 planned slots in a window of at most 31 days, ending now or "
    "earlier. With dry_run the answer (200) lists the slots it would run and runs nothing; "
    "otherwise (202) their runs start, one after another, each with an execution id derived "
    "from its slot, so a repeated backfill runs nothing twice. docs/backfill.md.",
    request="BackfillRequest", response="BackfillView", status=202, also=(200,), headers=(CREATED_BY,),
    errors=(409, 501),
)
@handles_errors
def backfill_schedule(id: str) -> Response:
    request = app.current_request
    body = models.parse_model(models.BackfillRequest, json_object(request))
    answer = wiring.backfill_service().backfill(schedule_id(id), caller(request), body)
    return Response(body=answer, status_code=200 if body.dry_run else 202,
                    headers={"Content-Type": "application/json"})


@app.route("/api/schedules/{id}/history", methods=["GET"], authorizer=AUTHORIZER)
@api.operation(
    "List a schedule's changes, newest first",
    response="HistoryPage", query=(limit_param(LIST_LIMIT_MAX), CURSOR), headers=(CREATED_BY,),
)
@handles_errors
def schedule_history(id: str) -> dict[str, Any]:
    request = app.current_request
    params = query(request)
    only_params(params, {"limit", "cursor"})
    schedule = wiring.schedule_service().get(schedule_id(id), caller(request))
    page = wiring.activity(get_settings()).list_history(
        schedule.id, int_param(params, "limit", 50, 1, service.MAX_LIST_LIMIT), params.get("cursor")
    )
    return {"items": list(page), "next_cursor": page.cursor}


@app.route("/api/schedules/{id}/timeline", methods=["GET"], authorizer=AUTHORIZER)
@api.operation(
    "Every expected slot in a window, planned against what ran",
    response="TimelinePage",
    query=(
        Param("from", "Start of the window (ISO 8601; default 24 hours ago).", {"type": "string"}),
        Param("to", "End of the window (ISO 8601; default 24 hours ahead; at most 31 days).", {"type": "string"}),
        CURSOR,
    ),
    headers=(CREATED_BY,),
)
@handles_errors
def schedule_timeline(id: str) -> dict[str, Any]:
    request = app.current_request
    params = query(request)
    only_params(params, {"from", "to", "cursor"})
    schedule = wiring.schedule_service().get(schedule_id(id), caller(request))
    return wiring.timeline_service().timeline(schedule, params.get("from"), params.get("to"), params.get("cursor"))


@app.route("/api/executions/{execution_id}/report", methods=["POST"], content_types=["application/json", "text/plain"],
           authorizer=AUTHORIZER)
@api.operation(
    "Report how a run ended (its worker, the schedule's owner or an admin)",
    description="The body names the run's schedule (the schedule_id of the message the worker received). "
    "The same report again answers the stored one; a different one is refused (409, naming the field).",
    request="RunReport", response="ReportRecorded", headers=(CREATED_BY,), errors=(404, 409),
)
@handles_errors
def report_run(execution_id: str) -> dict[str, Any]:
    request = app.current_request
    report = reports.route_report(json_object(request), execution_id)
    return wiring.report_service().report(report, caller(request)).to_api()


# --- the console (static files; no data, so no authorizer) ---------------------------


@app.route("/", methods=["GET"])
@api.operation("The schedule console (a web page)", tag="console", media_type="text/html", secured=False)
@handles_errors
def console_page() -> Response:
    body, headers = console.asset(console.PAGE)
    return Response(body=body, status_code=200, headers=headers)


@app.route("/console/{name}", methods=["GET"])
@api.operation(
    "One of the console's files (app.js, style.css, config.json)", tag="console", media_type="text/plain",
    secured=False, errors=(404,),
)
@handles_errors
def console_asset(name: str) -> Response:
    if name == console.CONFIG:
        return Response(body=console.page_config(get_settings()), status_code=200,
                        headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    body, headers = console.asset(name)
    return Response(body=body, status_code=200, headers=headers)


# --- expressions ---------------------------------------------------------------------


@app.route("/api/expressions/preview", methods=["POST"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@api.operation(
    "Validate an expression and list its next fire times", tag="expressions",
    description="The body names an expression, or a template and parameters (the expression, "
    "time zone and dates of the schedule they make).",
    request="PreviewBody", response="PreviewView", errors=(404,),
)
@handles_errors
def preview_expression() -> dict[str, Any]:
    body = json_object(app.current_request)
    if "template" in body:
        return _template_preview(body)
    request = models.parse_model(calendars.CalendarPreviewRequest, body)
    answer = expressions.preview(
        request.schedule_expression,
        request.timezone,
        after=request.after or _this_second(),
        count=request.count,
        start_date=request.start_date,
        end_date=request.end_date,
    )
    excluded = wiring.calendar_store().preview_exclusions(caller(app.current_request), request.exclude_calendars,
                                                           request.calendars)
    return exclusions.split_preview(answer, excluded)


def _this_second() -> datetime:
    """Where a preview starts when the request names no time: now, to the second."""
    return wiring.clock()().replace(microsecond=0)


def _template_preview(body: dict[str, Any]) -> dict[str, Any]:
    count = body.pop("count", 10)
    instance = models.parse_model(templates.TemplateInstance, body)
    preview = models.parse_model(models.PreviewRequest, {"schedule_expression": "rate(1 hour)", "count": count})
    who = caller(app.current_request)
    definition, _ = wiring.template_service().definition_from(instance, who)
    answer = expressions.preview(
        definition.schedule_expression, definition.timezone, after=_this_second(), count=preview.count,
        start_date=definition.start_date, end_date=definition.end_date,
    )
    return exclusions.split_preview(answer, wiring.calendar_store().preview_exclusions(who, definition.exclude_calendars))


# --- calendars -------------------------------------------------------------------------

@app.route("/api/calendars", methods=["POST"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@api.operation(
    "Create an exclusion calendar: days (dates, ranges, yearly, or an iCalendar file) a schedule skips",
    tag="calendars", request="CalendarDefinition", response="CalendarView", status=201, headers=(CREATED_BY,),
    errors=(409,),
)
@handles_errors
def create_calendar() -> Response:
    request = app.current_request
    definition = calendar_store.parse_calendar(json_object(request))
    calendar = wiring.calendar_store().create(definition, caller(request))
    return Response(body=calendar.to_api(), status_code=201, headers=_template_headers(calendar.version))


@app.route("/api/calendars", methods=["GET"], authorizer=AUTHORIZER)
@api.operation(
    "List your calendars, newest first", tag="calendars", response="CalendarPage",
    query=(limit_param(LIST_LIMIT_MAX), CURSOR), headers=(CREATED_BY,),
)
@handles_errors
def list_calendars() -> dict[str, Any]:
    request = app.current_request
    params = query(request)
    only_params(params, {"limit", "cursor"})
    page = wiring.calendar_store().list(
        caller(request), int_param(params, "limit", 50, 1, service.MAX_LIST_LIMIT), params.get("cursor")
    )
    return {"items": [calendar.to_api() for calendar in page], "next_cursor": page.cursor}


@app.route("/api/calendars/{name}", methods=["GET"], authorizer=AUTHORIZER)
@api.operation("Get a calendar", tag="calendars", response="CalendarView", headers=(CREATED_BY,), response_headers=(ETAG,))
@handles_errors
def get_calendar(name: str) -> Response:
    calendar = wiring.calendar_store().get(calendar_name(name), caller(app.current_request))
    return Response(body=calendar.to_api(), headers=_template_headers(calendar.version))


@app.route("/api/calendars/{name}", methods=["PUT"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@api.operation(
    "Replace a calendar's days (the slots not yet run follow them)", tag="calendars",
    request="CalendarDefinition", response="CalendarView", headers=(IF_MATCH, CREATED_BY), errors=(409,),
)
@handles_errors
def update_calendar(name: str) -> Response:
    request = app.current_request
    definition = calendar_store.parse_calendar(json_object(request))
    calendar = wiring.calendar_store().update(calendar_name(name), definition, caller(request), expected_version(request))
    return Response(body=calendar.to_api(), headers=_template_headers(calendar.version))


@app.route("/api/calendars/{name}", methods=["DELETE"], authorizer=AUTHORIZER)
@api.operation(
    "Delete a calendar (refused, 409, while a schedule names it)", tag="calendars", response=None,
    headers=(IF_MATCH, CREATED_BY), errors=(409,),
)
@handles_errors
def delete_calendar(name: str) -> dict[str, Any]:
    request = app.current_request
    wiring.calendar_service().delete(calendar_name(name), caller(request), expected_version(request))
    return {"name": name, "deleted": True}


# --- templates -------------------------------------------------------------------------

@app.route("/api/templates", methods=["POST"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@api.operation(
    "Create a template: a schedule definition with {{parameters}}", tag="templates",
    request="TemplateDefinition", response="TemplateView", status=201, headers=(CREATED_BY,), errors=(409,),
)
@handles_errors
def create_template() -> Response:
    request = app.current_request
    definition = models.parse_model(templates.TemplateDefinition, json_object(request))
    template = wiring.template_service().store.create(definition, caller(request))
    return Response(body=template.to_api(), status_code=201, headers=_template_headers(template.version))


@app.route("/api/templates", methods=["GET"], authorizer=AUTHORIZER)
@api.operation(
    "List your templates, newest first", tag="templates", response="TemplatePage",
    query=(limit_param(LIST_LIMIT_MAX), CURSOR), headers=(CREATED_BY,),
)
@handles_errors
def list_templates() -> dict[str, Any]:
    request = app.current_request
    params = query(request)
    only_params(params, {"limit", "cursor"})
    page = wiring.template_service().store.list(
        caller(request), int_param(params, "limit", 50, 1, service.MAX_LIST_LIMIT), params.get("cursor")
    )
    return {"items": [template.to_api() for template in page], "next_cursor": page.cursor}


@app.route("/api/templates/{name}", methods=["GET"], authorizer=AUTHORIZER)
@api.operation("Get a template", tag="templates", response="TemplateView", headers=(CREATED_BY,), response_headers=(ETAG,))
@handles_errors
def get_template(name: str) -> Response:
    template = wiring.template_service().store.get(template_name(name), caller(app.current_request))
    return Response(body=template.to_api(), headers=_template_headers(template.version))


@app.route("/api/templates/{name}", methods=["PUT"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@api.operation(
    "Replace a template (a new version; schedules made from it change only when re-applied)", tag="templates",
    request="TemplateDefinition", response="TemplateView", headers=(IF_MATCH, CREATED_BY), errors=(409,),
)
@handles_errors
def update_template(name: str) -> Response:
    request = app.current_request
    definition = models.parse_model(templates.TemplateDefinition, json_object(request))
    template = wiring.template_service().store.update(
        template_name(name), definition, caller(request), expected_version(request)
    )
    return Response(body=template.to_api(), headers=_template_headers(template.version))


@app.route("/api/templates/{name}", methods=["DELETE"], authorizer=AUTHORIZER)
@api.operation(
    "Delete a template (schedules made from it stay as they are)", tag="templates", response=None,
    headers=(IF_MATCH, CREATED_BY), errors=(409,),
)
@handles_errors
def delete_template(name: str) -> dict[str, Any]:
    request = app.current_request
    wiring.template_service().store.delete(template_name(name), caller(request), expected_version(request))
    return {"name": name, "deleted": True}


@app.route("/api/schedules/{id}/reapply", methods=["POST"], authorizer=AUTHORIZER)
@api.operation(
    "Make a schedule again from its template's current version", tag="templates",
    description="?dry_run=true answers the fields that would change and changes nothing.",
    query=(Param("dry_run", "Only show what would change.", {"type": "boolean", "default": False}),),
    response="ReapplyView", headers=(IF_MATCH, CREATED_BY), errors=(409,),
)
@handles_errors
def reapply_template(id: str) -> dict[str, Any]:
    request = app.current_request
    params = query(request)
    only_params(params, {"dry_run"})
    dry_run = params.get("dry_run", "false")
    if dry_run not in ("true", "false"):
        raise ValidationError("must be true or false", field="dry_run")
    return wiring.template_service().reapply(
        schedule_id(id), caller(request), dry_run == "true", expected_version(request)
    )


def _definition(request: Any) -> tuple[models.ScheduleDefinition, models.TemplateUse | None]:
    """A request's schedule definition: as given, or made from a template and parameters."""
    body = json_object(request)
    if "template" in body:
        instance = models.parse_model(templates.TemplateInstance, body)
        return wiring.template_service().definition_from(instance, caller(request))
    return models.parse_model(models.ScheduleDefinition, body), None


def _template_headers(version: int) -> dict[str, str | list[str]]:
    return {"ETag": etag(version), "Content-Type": "application/json"}


# --- the API's own description ------------------------------------------------------


@app.route("/api/openapi.json", methods=["GET"], authorizer=AUTHORIZER)
@api.operation("This document (OpenAPI 3.1)", tag="meta", response=None)
@handles_errors
def openapi_document() -> dict[str, Any]:
    return apidocs.document_for(app, app.current_request)


@app.route("/api/docs", methods=["GET"], authorizer=AUTHORIZER)
@api.operation("A page to read this document and try its operations", tag="meta", media_type="text/html")
@handles_errors
def api_docs() -> Response:
    return Response(body=apidocs.page(), status_code=200, headers=apidocs.PAGE_HEADERS)


# --- the schedule-command handler ----------------------------------------------------


@app.on_sns_message(topic=_SETTINGS_AT_IMPORT.command_topic_name, name=names.SCHEDULE_COMMAND)
def schedule_command(event: SNSEvent) -> dict[str, Any]:
    """Apply one message: the published contract (create/update/pause/resume/delete) or an
    internal command. A message the sender must fix is rejected to the notifications topic;
    a transient AWS failure raises so Lambda retries the event."""
    try:
        result = wiring.topic_messages().handle(event.to_dict()["Records"][0]["Sns"])
    except Exception:
        observability.command_raised()
        raise
    observability.command_outcome(result)
    return result


# --- the results topic's consumer ---------------------------------------------------


@app.on_sns_message(topic=_SETTINGS_AT_IMPORT.results_topic_name, name=names.HANDLE_RESULTS)
def handle_results(event: SNSEvent) -> dict[str, Any]:
    """Record one worker's report (chalicelib.reports); one it cannot record is rejected to
    the notifications topic, never retried."""
    result = wiring.results_handler().handle(event.to_dict()["Records"][0]["Sns"])
    level = logging.WARNING if result["outcome"] == "rejected" else logging.INFO
    observability.declare(result["outcome"], f"report {result['outcome']}", level, event=observability.REPORT,
                          **{k: v for k, v in result.items() if k != "outcome" and v is not None})
    return result


# --- the schedule target -------------------------------------------------------------


@app.lambda_function(name=names.SCHEDULE_TARGET)
def schedule_target(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Invoked by EventBridge Scheduler when a schedule fires. An event that cannot be an
    invocation is rejected (a ``rejected`` event), never retried."""
    problem = rejections.invocation_problem(event)
    if problem:
        return wiring.rejecter().reject(names.SCHEDULE_TARGET, "InvalidInvocation", problem, event)
    if invocations.WALK_SLOTS in event:  # a backfill's slots, run one after another
        return wiring.backfill_walker(getattr(context, "invoked_function_arn", None)).walk(event, context)
    return wiring.target_runner().run(event, context)


# --- dead letters ---------------------------------------------------------------------


@app.on_sqs_message(queue=_SETTINGS_AT_IMPORT.dead_letter_queue_name, name=names.DEAD_LETTERS)
def dead_letters(event: SQSEvent) -> dict[str, Any]:
    """Record each run EventBridge Scheduler or Lambda gave up on as an execution of its
    schedule (``undelivered`` or ``failed``, with the reason); reject what is about none; name
    only the records that failed transiently in ``batchItemFailures``."""
    return wiring.dead_letter_recorder().record_batch(record.to_dict() for record in event)


# --- the periodic alert sweep -------------------------------------------------------


@app.schedule(Rate(_SETTINGS_AT_IMPORT.alert_sweep_interval_minutes, unit=Rate.MINUTES), name=names.ALERT_SWEEP)
def alert_sweep(event: CloudWatchEvent) -> dict[str, Any]:
    """Publish one alert per missed, late or failed slot (see chalicelib.alerts)."""
    report = wiring.alert_sweep().run()
    report.declare()
    return report.to_dict()


# --- the periodic reconcile ----------------------------------------------------------


@app.schedule(Rate(_SETTINGS_AT_IMPORT.reconcile_interval_minutes, unit=Rate.MINUTES), name=names.RECONCILE)
def reconcile(event: CloudWatchEvent) -> dict[str, Any]:
    """Repair schedules that drifted from their records; orphans are only reported."""
    result = wiring.reconciler().run(prune=False)
    observability.reconcile_outcome(result)
    return result


def _status(raw: str | None) -> models.ScheduleStatus | None:
    if raw is None:
        return None
    try:
        return models.ScheduleStatus(raw)
    except ValueError:
        allowed = ", ".join(status.value for status in models.ScheduleStatus)
        raise ValidationError(f"must be one of {allowed}", field="status") from None
