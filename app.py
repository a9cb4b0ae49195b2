"""rez-agent schedules: the HTTP API, the schedule-command handler and the schedule target.

Views are thin: read the request, call one service method, shape the answer. The service
objects are built on first use (chalicelib.wiring), errors become responses in one place
(chalicelib.http.handles_errors), and every function's logs, metrics and traces come from one
middleware (chalicelib.observability). The models, the expression engine and the service are
loaded on first use (chalicelib.lazy), so a cold start's ``import app`` stays near bare Chalice.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Chalice, Rate, Response

from chalicelib import auth, names, observability, wiring
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
from chalicelib.lazy import lazy_module

if TYPE_CHECKING:
    from chalicelib import expressions, models, service
else:  # loaded by the first request that reads one of their names
    expressions = lazy_module("chalicelib.expressions")
    models = lazy_module("chalicelib.models")
    service = lazy_module("chalicelib.service")

app = Chalice(app_name="rez-agent-schedules")
# JSON log lines, EMF metrics and traces for every function, present and future.
app.register_middleware(observability.middleware, "all")

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
    definition = models.parse_model(models.ScheduleDefinition, json_object(request))
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
        limit=int_param(params, "limit", 50, 1, service.MAX_LIST_LIMIT),
        cursor=params.get("cursor"),
    )
    return {"items": [schedule.to_api() for schedule in page], "next_cursor": page.cursor}


@app.route("/api/schedules/{id}", methods=["GET"], authorizer=AUTHORIZER)
@handles_errors
def get_schedule(id):
    schedules = wiring.schedule_service()
    schedule = schedules.get(schedule_id(id), caller(app.current_request))
    body = schedule.to_api(next_fires=schedules.next_fire_times(schedule))
    body.update(wiring.timeline_service().summary(schedule))
    return Response(
        body=body,
        headers={"ETag": etag(schedule.version), "Content-Type": "application/json"},
    )


@app.route("/api/schedules/{id}", methods=["PUT"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@handles_errors
def update_schedule(id):
    request = app.current_request
    definition = models.parse_model(models.ScheduleDefinition, json_object(request))
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
        schedule_id(id), caller(request), int_param(params, "limit", 50, 1, service.MAX_LIST_LIMIT),
        params.get("cursor"),
    )
    return {"items": [record.to_api() for record in page], "next_cursor": page.cursor}


@app.route("/api/schedules/{id}/run", methods=["POST"], authorizer=AUTHORIZER)
@handles_errors
def run_schedule_now(id: str) -> Response:
    request = app.current_request
    run = wiring.run_now_service().run(schedule_id(id), caller(request), request.headers.get("idempotency-key"))
    return Response(body=run, status_code=202, headers={"Content-Type": "application/json"})


@app.route("/api/schedules/{id}/history", methods=["GET"], authorizer=AUTHORIZER)
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
@handles_errors
def schedule_timeline(id: str) -> dict[str, Any]:
    request = app.current_request
    params = query(request)
    only_params(params, {"from", "to", "cursor"})
    schedule = wiring.schedule_service().get(schedule_id(id), caller(request))
    return wiring.timeline_service().timeline(schedule, params.get("from"), params.get("to"), params.get("cursor"))


# --- expressions ---------------------------------------------------------------------


@app.route("/api/expressions/preview", methods=["POST"], content_types=["application/json", "text/plain"], authorizer=AUTHORIZER)
@handles_errors
def preview_expression():
    request = models.parse_model(models.PreviewRequest, json_object(app.current_request))
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
        command = models.parse_model(models.ScheduleCreationRequest, json.loads(event.message))
    except (ValueError, ServiceError) as exc:
        app.log.error("dropping a command that does not parse: %s", exc)
        observability.annotate(reason=f"the message does not parse: {exc}")
        return {"outcome": "dropped"}
    schedule = wiring.command_handler().handle(command)
    if schedule is not None and schedule.last_error:
        observability.annotate(reason=schedule.last_error)
    return {"outcome": "applied", "status": schedule.status.value if schedule else None}


# --- the schedule target -------------------------------------------------------------


@app.lambda_function(name=names.SCHEDULE_TARGET)
def schedule_target(event, context):
    """Invoked by EventBridge Scheduler when a schedule fires."""
    return wiring.target_runner().run(event)


# --- the periodic alert sweep -------------------------------------------------------


@app.schedule(Rate(_SETTINGS_AT_IMPORT.alert_sweep_interval_minutes, unit=Rate.MINUTES), name=names.ALERT_SWEEP)
def alert_sweep(event: Any) -> dict[str, Any]:
    """Publish one alert per missed, late or failed slot (see chalicelib.alerts)."""
    report = wiring.alert_sweep().run()
    app.log.info("alert sweep: %s", json.dumps(report.to_dict()))
    return report.to_dict()


# --- the periodic reconcile ----------------------------------------------------------


@app.schedule(Rate(_SETTINGS_AT_IMPORT.reconcile_interval_minutes, unit=Rate.MINUTES), name=names.RECONCILE)
def reconcile(event):
    """Repair schedules that drifted from their records; orphans are only reported."""
    return wiring.reconciler().run(prune=False)


def _status(raw: str | None) -> models.ScheduleStatus | None:
    if raw is None:
        return None
    try:
        return models.ScheduleStatus(raw)
    except ValueError:
        allowed = ", ".join(status.value for status in models.ScheduleStatus)
        raise ValidationError(f"must be one of {allowed}", field="status") from None
