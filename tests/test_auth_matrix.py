"""Who may do what, route by route: every route of the API x {owner, other caller, admin,
anonymous}, with the caller passed the way API Gateway's authorizer passes it (IAM: the
signer's ARN in ``requestContext.identity``; Cognito: the token's claims in
``requestContext.authorizer.claims``). A refusal must leave the table and the command topic
untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib import clients, names
from tests.gateway_events import (
    Answer,
    Identity,
    api_event,
    cognito,
    iam,
    invoke,
    nobody,
)
from tests.support import REGION, TEE_TIMES, Tap, create_stage_resources
from tests.timeline_support import create_target_function

ACCOUNT = "111122223333"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ScheduleAdmins"
ADMIN_GROUP = "schedule-admins"
USER_POOL = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_Example1"

CALLERS: dict[str, dict[str, Identity]] = {
    "iam": {
        "owner": iam("owner", f"arn:aws:iam::{ACCOUNT}:user/alice"),
        "other": iam("other", f"arn:aws:iam::{ACCOUNT}:user/bob"),
        # a session of a role listed as admin
        "admin": iam("admin", f"arn:aws:sts::{ACCOUNT}:assumed-role/ScheduleAdmins/carol"),
        "anonymous": nobody(),
    },
    "cognito": {
        "owner": cognito("owner", "0d6f3e8a-1111-4c55-9a11-6a3b5e0c0001", "alice"),
        "other": cognito("other", "0d6f3e8a-2222-4c55-9a11-6a3b5e0c0002", "bob", groups="readers"),
        "admin": cognito("admin", "0d6f3e8a-3333-4c55-9a11-6a3b5e0c0003", "carol", groups=f"readers,{ADMIN_GROUP}"),
        "anonymous": nobody(),
    },
}
MODES = sorted(CALLERS)
CALLER_KINDS = ("owner", "other", "admin", "anonymous")

CHANGED = {**TEE_TIMES, "schedule_expression": "cron(30 7 * * ? *)"}
PREVIEW = {"schedule_expression": "rate(1 hour)", "count": 2}
# a past day: the new schedule has no slots in it, so the backfill (202) starts nothing
BACKFILL = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "slots": "all"}
TEMPLATE = {"name": "tee", "parameters": {"hour": {"type": "integer"}},
            "schedule": {**TEE_TIMES, "schedule_expression": "cron(0 {{hour}} * * ? *)"}}

CALENDAR = {"name": "tee", "timezone": "America/New_York", "dates": ["2026-12-25"]}
SNOOZE_END = (datetime.now(UTC) + timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class Route:
    """One method of one route, and how to call it about the owner's schedule."""

    name: str
    method: str
    resource: str
    body: Any = None
    query: Callable[[str], dict[str, str]] | None = None  # from the owner's principal
    reads_schedule: bool = False  # a 200 lists or shows the owner's schedule
    writes: bool = False


ROUTES = [
    Route("create", "POST", "/api/schedules", body=TEE_TIMES, writes=True),
    Route("list", "GET", "/api/schedules", reads_schedule=True),
    Route("list_by_owner", "GET", "/api/schedules", query=lambda owner: {"created_by": owner}, reads_schedule=True),
    Route("get", "GET", "/api/schedules/{id}", reads_schedule=True),
    Route("overview", "GET", "/api/overview", reads_schedule=True),
    Route("update", "PUT", "/api/schedules/{id}", body=CHANGED, writes=True),
    Route("pause", "POST", "/api/schedules/{id}/pause", writes=True),
    Route("resume", "POST", "/api/schedules/{id}/resume", writes=True),
    Route("delete", "DELETE", "/api/schedules/{id}", writes=True),
    Route("executions", "GET", "/api/schedules/{id}/executions"),
    Route("run", "POST", "/api/schedules/{id}/run", writes=True),
    Route("backfill", "POST", "/api/schedules/{id}/backfill", body=BACKFILL, writes=True),
    Route("history", "GET", "/api/schedules/{id}/history"),
    Route("timeline", "GET", "/api/schedules/{id}/timeline"),
    Route("preview", "POST", "/api/expressions/preview", body=PREVIEW),
    Route("bulk", "POST", "/api/schedules/bulk", body={"selector": {"status": "pending"}, "action": "pause", "dry_run": True}),
    Route("reapply", "POST", "/api/schedules/{id}/reapply", writes=True),
    Route("create_template", "POST", "/api/templates", body=TEMPLATE, writes=True),
    Route("list_templates", "GET", "/api/templates"),
    Route("get_template", "GET", "/api/templates/{name}"),
    Route("update_template", "PUT", "/api/templates/{name}", body=TEMPLATE, writes=True),
    Route("delete_template", "DELETE", "/api/templates/{name}", writes=True),
    Route("skip", "POST", "/api/schedules/{id}/skip", body={"count": 1}, writes=True),
    Route("unskip", "DELETE", "/api/schedules/{id}/skip", writes=True),
    Route("snooze", "POST", "/api/schedules/{id}/snooze", body={"until": SNOOZE_END}, writes=True),
    Route("create_calendar", "POST", "/api/calendars", body=CALENDAR, writes=True),
    Route("list_calendars", "GET", "/api/calendars"),
    Route("get_calendar", "GET", "/api/calendars/{name}"),
    Route("update_calendar", "PUT", "/api/calendars/{name}", body=CALENDAR, writes=True),
    Route("delete_calendar", "DELETE", "/api/calendars/{name}", writes=True),
    Route("openapi", "GET", "/api/openapi.json"),
    Route("docs", "GET", "/api/docs"),
    # a worker's report on a run of the owner's schedule (dispatched, not yet reported)
    Route("report", "POST", "/api/executions/{execution_id}/report",
          body=lambda schedule_id: {"schedule_id": schedule_id, "outcome": "succeeded"}, writes=True),
]
REPORTED_EXECUTION = "execution-1"

# What each caller gets; the owner's schedule exists. "list" is what the caller sees by
# default (their own schedules); "list_by_owner" asks for the owner's schedules by name.
OK = {"create": 202, "list": 200, "overview": 200, "list_by_owner": 200, "get": 200, "update": 202, "pause": 202,
      "resume": 202, "delete": 202, "executions": 200, "preview": 200, "run": 202, "backfill": 202, "history": 200,
      "timeline": 200, "openapi": 200, "docs": 200,
      # the owner's schedule was not made from a template, and no template exists
      "bulk": 200, "reapply": 409, "create_template": 201, "list_templates": 200, "get_template": 404,
      "update_template": 404, "delete_template": 404, "report": 200,
      # no calendar exists
      "skip": 202, "unskip": 202, "snooze": 202, "create_calendar": 201, "list_calendars": 200,
      "get_calendar": 404, "update_calendar": 404, "delete_calendar": 404}
EXPECTED: dict[tuple[str, str], int | None] = {}
for _route in ROUTES:
    EXPECTED[(_route.name, "owner")] = OK[_route.name]
    EXPECTED[(_route.name, "admin")] = OK[_route.name]
    EXPECTED[(_route.name, "anonymous")] = 401
    # another caller: a schedule of someone else does not exist for them (404, no leak);
    # creating and previewing are theirs to do; a list never shows the owner's schedule
    EXPECTED[(_route.name, "other")] = 404 if "{id}" in _route.resource else OK[_route.name]
EXPECTED[("report", "other")] = 404  # a run of someone else's schedule does not exist for them
EXPECTED[("list_by_owner", "other")] = None  # refused or empty: never the owner's schedule

# The cells that need the service's ownership checks; they pass once those land, and then
# these marks must go (strict: an unexpected pass fails).
# Cognito: the same rules, shown on the routes that read and change one schedule.
COGNITO_ROUTES = {"create", "get", "update", "delete"}


def _cells():
    for mode in MODES:
        for route in ROUTES:
            if mode == "cognito" and route.name not in COGNITO_ROUTES:
                continue
            for kind in CALLER_KINDS:
                yield pytest.param(mode, route, kind, id=f"{mode}-{route.name}-{kind}")


@pytest.fixture(scope="module")
def module_stage():
    """The stage's resources on moto, once for the module (each test empties the table)."""
    with mock_aws():
        clients.reset()
        resources = create_stage_resources()
        resources["tap"] = Tap(resources["queues"])
        create_target_function()  # run-now invokes it
        yield resources
        clients.reset()


@pytest.fixture
def moto_stage(module_stage, names):
    """The module's stage, emptied for each test."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    for item in table.scan(ProjectionExpression="id")["Items"]:
        table.delete_item(Key={"id": item["id"]})
    for topic in module_stage["queues"]:
        module_stage["tap"].drain(topic)
    return module_stage


@pytest.fixture
def stage_auth(moto_stage, monkeypatch):
    """The API handler with the stage's authentication set to ``mode``."""
    import app as app_module

    def configure(mode: str):
        monkeypatch.setenv("AUTH_MODE", mode)
        monkeypatch.setenv("ADMIN_PRINCIPALS", ADMIN_ROLE)
        monkeypatch.setenv("ADMIN_COGNITO_GROUP", ADMIN_GROUP)
        monkeypatch.setenv("COGNITO_USER_POOL_ARNS", USER_POOL)
        return app_module.app

    return configure


def _call(app, identity: Identity, route: Route, schedule_id: str | None, owner: str) -> Answer:
    event = api_event(
        identity,
        route.method,
        route.resource,
        path_parameters=(
            {"id": schedule_id} if "{id}" in route.resource and schedule_id
            else {"name": "tee"} if "{name}" in route.resource
            else {"execution_id": REPORTED_EXECUTION} if "{execution_id}" in route.resource else None
        ),
        body=route.body(schedule_id) if callable(route.body) else route.body,
        query=route.query(owner) if route.query else None,
    )
    return invoke(app, event)


def _table(names) -> list[dict]:
    items = boto3.resource("dynamodb", region_name=REGION).Table(names.table).scan()["Items"]
    return sorted(items, key=lambda item: item["id"])


@pytest.mark.parametrize("mode, route, kind", list(_cells()))
def test_who_may_call_what(stage_auth, moto_stage, names, mode, route, kind):
    # GIVEN the stage authenticates with `mode`, and the owner has a schedule
    app = stage_auth(mode)
    callers = CALLERS[mode]
    owner = callers["owner"]
    created = invoke(app, api_event(owner, "POST", "/api/schedules", body=TEE_TIMES))
    assert created.status == 202, created.body
    schedule_id = created.body["id"]
    assert created.body["created_by"] == owner.principal
    moto_stage["tap"].drain(names.command_topic)
    if "{execution_id}" in route.resource:
        _dispatched_run(names, schedule_id)
    before = _table(names)

    # WHEN the caller calls the route
    answer = _call(app, callers[kind], route, schedule_id, owner.principal)

    # THEN the answer is the one this caller gets
    expected = EXPECTED[(route.name, kind)]
    commands = moto_stage["tap"].drain(names.command_topic)
    if expected is None:
        assert not (answer.status == 200 and _shows(answer, schedule_id)), answer.body
        expected_refusal = True
    else:
        assert answer.status == expected, answer.body
        expected_refusal = expected >= 400
    if answer.status >= 400:
        assert set(answer.body) - {"Errors"} == {"Code", "Message"}, answer.body  # a 400 adds Errors
    if expected_refusal:
        # AND a refusal wrote nothing and published nothing
        assert _table(names) == before
        assert commands == []
    elif route.reads_schedule:
        # AND what the caller reads is the owner's schedule exactly when it may see it
        if kind == "owner" or (kind == "admin" and route.name != "list"):
            assert _shows(answer, schedule_id), answer.body
        elif kind == "other":
            assert not _shows(answer, schedule_id), answer.body
    if not expected_refusal and route.writes and "{id}" in route.resource:
        # AND a change by the owner or an admin leaves the owner the owner
        stored = {item["id"]: item for item in _table(names)}[schedule_id]
        assert stored["created_by"] == owner.principal


def _dispatched_run(names, schedule_id: str) -> None:
    """A run of the schedule, dispatched and awaiting its report, as the target records it."""
    boto3.resource("dynamodb", region_name=REGION).Table(names.table).put_item(Item={
        "id": f"{schedule_id}#execution#{REPORTED_EXECUTION}", "record_type": "execution",
        "status": f"execution#{schedule_id}", "created_date": "2026-11-24T11:00:00Z",
        "schedule_id": schedule_id, "execution_id": REPORTED_EXECUTION, "scheduled_time": "2026-11-24T11:00:00Z",
        "started_at": "2026-11-24T11:00:01Z", "dispatched_at": "2026-11-24T11:00:01Z", "outcome": "succeeded",
        "attempt": 1, "trigger": "scheduled",
    })


def _shows(answer: Answer, schedule_id: str) -> bool:
    body = answer.body or {}
    if "by_status" in body:  # the overview: the owner's schedule is the only one in the table
        return bool(body["total"])
    if "items" in body:
        return any(item["id"] == schedule_id for item in body["items"])
    return body.get("id") == schedule_id


def test_the_matrix_covers_every_route_of_the_api():
    # GIVEN the app's routes
    import app as app_module

    declared = {
        (method, path)
        for path, methods in app_module.app.routes.items()
        for method in methods
        if path not in names.PUBLIC_PATHS  # the console's files: no data, open on every stage
    }
    # THEN every one of them has a row in the matrix
    covered = {(route.method, route.resource) for route in ROUTES}
    assert declared == covered
