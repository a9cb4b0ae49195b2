"""rez-agent schedules: the HTTP API, the schedule-command handler and the schedule target.

Views are thin: read the request, call one service method, shape the answer. The service
objects are built on first use (chalicelib.wiring), errors become responses in one place
(chalicelib.http.handles_errors).
"""

from __future__ import annotations

import json
import logging

from chalice import Chalice, Rate, Response

from chalicelib import console, auth, expressions, names, wiring
from chalicelib.config import get_settings
from chalicelib.errors import ServiceError, ValidationError
from chalicelib.http import (
    authenticate,
    caller,
    etag,
    expected_version,
    handles_errors,
    int_param,
    json_object,
    only_params,
    query,
    schedule_id,
)
from chalicelib.models import (
    PreviewRequest,
    ScheduleCreationRequest,
    ScheduleDefinition,
    ScheduleStatus,
    parse_model,
)
from chalicelib.service import MAX_LIST_LIMIT

app = Chalice(app_name="rez-agent-schedules")
app.log.setLevel(logging.INFO)
logging.getLogger("rez_agent").setLevel(logging.INFO)
if not logging.getLogger().handlers:  # the Lambda runtime installs one; some emulators do not
    logging.basicConfig(level=logging.WARNING)  # our INFO lines pass; botocore's chatter does not

_SETTINGS_AT_IMPORT = get_settings()
# The stage's authentication (AUTH_MODE, chalicelib/auth.py): every route carries AUTHORIZER.
AUTHORIZER = auth.route_authorizer(_SETTINGS_AT_IMPORT)
app.api.cors = auth.cors_config(_SETTINGS_AT_IMPORT) or False


@app.middleware("http")
def _authenticate(request, get_response):
    return authenticate(request, get_response, app.routes, app.api.cors or None)


# --- schedules -----------------------------------------------------------------------


@app.route("/api/schedules", methods=["POST"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@handles_errors
def create_schedule():
    request = app.current_request
    definition = parse_model(ScheduleDefinition, json_object(request))
    schedule = wiring.schedule_service().create(
        definition, caller(request), request.headers.get("idempotency-key")
    )
    return Response(
        body=schedule.to_api(),
        status_code=202,
        headers={"Location": f"/api/schedules/{schedule.id}", "Content-Type": "application/json"},
    )


@app.route("/api/schedules", methods=["GET"], authorizer=AUTHORIZER)
@handles_errors
def list_schedules():
    request = app.current_request
    params = query(request)
    only_params(params, {"status", "created_by", "limit", "cursor"})
    status = _status(params.get("status"))
    page = wiring.schedule_service().list(
        caller(request),
        status=status,
        created_by=params.get("created_by"),
        limit=int_param(params, "limit", 50, 1, MAX_LIST_LIMIT),
        cursor=params.get("cursor"),
    )
    return {"items": [schedule.to_api() for schedule in page], "next_cursor": page.cursor}


@app.route("/api/schedules/{id}", methods=["GET"], authorizer=AUTHORIZER)
@handles_errors
def get_schedule(id):
    service = wiring.schedule_service()
    schedule = service.get(schedule_id(id), caller(app.current_request))
    return Response(
        body=schedule.to_api(next_fires=service.next_fire_times(schedule)),
        headers={"ETag": etag(schedule.version), "Content-Type": "application/json"},
    )


@app.route("/api/schedules/{id}", methods=["PUT"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@handles_errors
def update_schedule(id):
    request = app.current_request
    definition = parse_model(ScheduleDefinition, json_object(request))
    schedule = wiring.schedule_service().update(
        schedule_id(id), definition, caller(request), expected_version(request)
    )
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}/pause", methods=["POST"], authorizer=AUTHORIZER)
@handles_errors
def pause_schedule(id):
    request = app.current_request
    schedule = wiring.schedule_service().pause(schedule_id(id), caller(request), expected_version(request))
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}/resume", methods=["POST"], authorizer=AUTHORIZER)
@handles_errors
def resume_schedule(id):
    request = app.current_request
    schedule = wiring.schedule_service().resume(schedule_id(id), caller(request), expected_version(request))
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}", methods=["DELETE"], authorizer=AUTHORIZER)
@handles_errors
def delete_schedule(id):
    request = app.current_request
    schedule = wiring.schedule_service().delete(schedule_id(id), caller(request), expected_version(request))
    return Response(body=schedule.to_api(), status_code=202)


@app.route("/api/schedules/{id}/executions", methods=["GET"], authorizer=AUTHORIZER)
@handles_errors
def list_executions(id):
    request = app.current_request
    params = query(request)
    only_params(params, {"limit", "cursor"})
    page = wiring.schedule_service().list_executions(
        schedule_id(id), caller(request), int_param(params, "limit", 50, 1, MAX_LIST_LIMIT),
        params.get("cursor"),
    )
    return {"items": [record.to_api() for record in page], "next_cursor": page.cursor}


# --- the console (static files; no data, so no authorizer) ---------------------------


@app.route("/", methods=["GET"])
@handles_errors
def console_page() -> Response:
    body, headers = console.asset(console.PAGE)
    return Response(body=body, status_code=200, headers=headers)


@app.route("/console/{name}", methods=["GET"])
@handles_errors
def console_asset(name: str) -> Response:
    if name == console.CONFIG:
        return Response(body=console.page_config(get_settings()), status_code=200,
                        headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    body, headers = console.asset(name)
    return Response(body=body, status_code=200, headers=headers)


# --- expressions ---------------------------------------------------------------------


@app.route("/api/expressions/preview", methods=["POST"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@handles_errors
def preview_expression():
    request = parse_model(PreviewRequest, json_object(app.current_request))
    return expressions.preview(
        request.schedule_expression,
        request.timezone,
        after=request.after,
        count=request.count,
        start_date=request.start_date,
        end_date=request.end_date,
    )


# --- the schedule-command handler ----------------------------------------------------


@app.on_sns_message(topic=_SETTINGS_AT_IMPORT.creation_topic_name, name=names.SCHEDULE_COMMAND)
def schedule_command(event):
    """Apply one command. A message that does not parse is logged and dropped (retrying
    cannot fix it); a transient AWS failure raises so Lambda retries the event."""
    try:
        command = parse_model(ScheduleCreationRequest, json.loads(event.message))
    except (ValueError, ServiceError) as exc:
        app.log.error("dropping a command that does not parse: %s", exc)
        return {"outcome": "dropped"}
    schedule = wiring.command_handler().handle(command)
    return {"outcome": "applied", "status": schedule.status.value if schedule else None}


# --- the schedule target -------------------------------------------------------------


@app.lambda_function(name=names.SCHEDULE_TARGET)
def schedule_target(event, context):
    """Invoked by EventBridge Scheduler when a schedule fires."""
    return wiring.target_runner().run(event)


# --- the periodic reconcile ----------------------------------------------------------


@app.schedule(Rate(_SETTINGS_AT_IMPORT.reconcile_interval_minutes, unit=Rate.MINUTES), name=names.RECONCILE)
def reconcile(event):
    """Repair schedules that drifted from their records; orphans are only reported."""
    report = wiring.reconciler().run(prune=False)
    app.log.info("reconcile: %s", json.dumps(report["counts"]))
    return report


def _status(raw: str | None) -> ScheduleStatus | None:
    if raw is None:
        return None
    try:
        return ScheduleStatus(raw)
    except ValueError:
        allowed = ", ".join(status.value for status in ScheduleStatus)
        raise ValidationError(f"must be one of {allowed}", field="status") from None
