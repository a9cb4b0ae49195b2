"""The OpenAPI document: generated from the routes and the models, complete, valid, and
served with a page to read and try it."""

from __future__ import annotations

import json
import re

import pytest
from chalice import Chalice
from openapi_spec_validator import validate

import app as app_module
from chalicelib.calendars import CalendarPreviewRequest
from chalicelib.models import PreviewRequest, ScheduleDefinition
from chalicelib.openapi import IF_MATCH, Registry, api, paths_and_methods

ROUTES = app_module.app.routes


@pytest.fixture
def document(chalice_client):
    response = chalice_client.http.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json_body


def operations(document):
    return {(path, method): op for path, methods in document["paths"].items() for method, op in methods.items()}


def test_the_served_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_is_declared_and_every_declaration_is_routed():
    # A route added without @api.operation(...) (or a declaration left behind) fails here,
    # naming what to declare.
    assert api.undeclared(ROUTES) == [], "declare these routes with @api.operation(...) in app.py"
    assert api.unrouted(ROUTES) == [], "these declarations have no route"


def test_the_document_has_exactly_the_apps_routes(document):
    routed = {(path, method) for path, methods in ROUTES.items() for method in methods}
    documented = set(paths_and_methods(document))
    assert routed - documented == set(), "routes missing from the document"
    assert documented - routed == set(), "documented operations that do not exist"


def test_bodies_come_from_the_pydantic_models(document):
    schemas = document["components"]["schemas"]
    ops = operations(document)
    assert ops[("/api/schedules", "post")]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScheduleRequest"
    }
    # a schedule's definition, or a template's name and parameters
    assert schemas["ScheduleRequest"]["anyOf"] == [
        {"$ref": "#/components/schemas/ScheduleDefinition"}, {"$ref": "#/components/schemas/TemplateInstance"}
    ]
    definition = ScheduleDefinition.model_json_schema(ref_template="#/components/schemas/{model}")
    definition.pop("$defs")
    assert schemas["ScheduleDefinition"] == definition
    preview = CalendarPreviewRequest.model_json_schema(ref_template="#/components/schemas/{model}")["properties"]
    assert schemas["CalendarPreviewRequest"]["properties"] == preview
    # the preview takes what an expression's preview took, and calendars
    assert set(PreviewRequest.model_fields) < set(preview)
    # the schedule answered lists every definition field plus the service's
    view = schemas["ScheduleView"]["properties"]
    assert set(ScheduleDefinition.model_fields) < set(view)
    assert {"id", "status", "version", "created_by", "next_fire_times"} <= set(view)


def test_headers_parameters_and_errors_are_documented(document):
    ops = operations(document)
    create = ops[("/api/schedules", "post")]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"] if p["in"] == "header"]
    assert create["responses"]["202"]["headers"]["Location"]["schema"]["format"] == "uri-reference"
    for path, method in [
        ("/api/schedules/{id}", "put"),
        ("/api/schedules/{id}", "delete"),
        ("/api/schedules/{id}/pause", "post"),
        ("/api/schedules/{id}/resume", "post"),
    ]:
        headers = {p["name"]: p for p in ops[(path, method)]["parameters"] if p["in"] == "header"}
        assert headers[IF_MATCH.name]["schema"]["pattern"]
        assert "409" in ops[(path, method)]["responses"]
    listing = {p["name"]: p for p in ops[("/api/schedules", "get")]["parameters"]}
    assert listing["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}
    assert listing["status"]["schema"] == {"$ref": "#/components/schemas/ScheduleStatus"}
    assert "deleted" in document["components"]["schemas"]["ScheduleStatus"]["enum"]
    from chalicelib.service import MAX_LIST_LIMIT

    assert listing["limit"]["schema"]["maximum"] == MAX_LIST_LIMIT
    get = ops[("/api/schedules/{id}", "get")]
    assert get["parameters"][0] == {
        "name": "id", "in": "path", "required": True, "description": "the schedule id",
        "schema": {"type": "string", "format": "uuid"},
    }
    error = {"$ref": "#/components/schemas/ErrorBody"}
    invalid = {"$ref": "#/components/schemas/InvalidRequestBody"}
    for (path, method), op in ops.items():
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                expected = invalid if status == "400" else error
                assert response["content"]["application/json"]["schema"] == expected, (path, method, status)
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["Code", "Message"]
    assert document["components"]["schemas"]["InvalidRequestBody"]["required"] == ["Code", "Message", "Errors"]


def test_the_error_bodies_the_api_answers_match_the_document(chalice_client, document):
    # GIVEN a request the API refuses
    response = chalice_client.http.post(
        "/api/schedules", headers={"Content-Type": "application/json"}, body='{"name": "a", "name": "b"}'
    )
    # THEN its body is the documented error body, naming the duplicated key
    assert response.status_code == 400
    assert set(response.json_body) == {"Code", "Message", "Errors"}
    assert "'name' appears more than once" in response.json_body["Message"]
    assert response.json_body["Errors"] == []  # the body as a whole is malformed, no one field


def test_a_400_lists_each_failing_field_as_the_document_says(chalice_client, document):
    import jsonschema

    # GIVEN a definition breaking three rules: a bad name, a nested bound, an unknown field
    body = {
        "name": "no spaces", "schedule_expression": "rate(1 hour)", "target_type": "web_action",
        "retry_policy": {"maximum_event_age_in_seconds": 60, "maximum_retry_attempts": 999},
        "colour": "green",
    }
    # WHEN it is sent
    response = chalice_client.http.post(
        "/api/schedules", headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )
    # THEN each failing field is one entry, named by its path, and the message still reads
    assert response.status_code == 400
    errors = {entry["field"]: entry["message"] for entry in response.json_body["Errors"]}
    assert set(errors) == {"name", "retry_policy.maximum_retry_attempts", "colour"}
    assert errors["colour"] == "unknown field"
    assert errors["name"].startswith("must be 1-64 characters")
    assert "name: must be 1-64 characters" in response.json_body["Message"]
    # and the body is what the document declares for a 400
    schema = {"$ref": "#/components/schemas/InvalidRequestBody", "components": document["components"]}
    jsonschema.validate(response.json_body, schema)


def test_a_rule_between_fields_names_the_field_it_refuses(chalice_client):
    body = {"name": "n", "schedule_expression": "rate(1 hour)", "target_type": "web_action", "target_arn": "arn:aws:sns:us-east-1:123456789012:x"}
    response = chalice_client.http.post(
        "/api/schedules", headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )
    assert response.json_body["Errors"] == [
        {"field": "target_arn", "message": "allowed only when target_type is custom"}
    ]


def test_a_header_or_query_parameter_is_the_failing_field(chalice_client):
    response = chalice_client.http.get("/api/schedules?limit=0")
    assert response.json_body["Errors"] == [{"field": "limit", "message": "must be from 1 to 100"}]
    response = chalice_client.http.get("/api/schedules?colour=red&size=9")
    assert [entry["field"] for entry in response.json_body["Errors"]] == ["colour", "size"]
    assert response.json_body["Message"].startswith("query: unknown query parameter(s) colour, size; allowed: ")


def test_a_new_route_and_its_model_change_the_document():
    # GIVEN an app with one declared route, and one route nobody declared
    registry = Registry()
    scratch = Chalice(app_name="scratch")

    @scratch.route("/things/{id}", methods=["PUT"])
    @registry.operation("Replace a thing", request="PreviewRequest", response="PreviewRequest", headers=(IF_MATCH,))
    def replace_thing(id):
        return {}

    @scratch.route("/other", methods=["GET"])
    def undeclared_view():
        return {}

    # WHEN the document is generated
    document = registry.document(scratch.routes)
    # THEN the declared route is there with its model, and the undeclared one is named
    validate(document)
    op = document["paths"]["/things/{id}"]["put"]
    assert op["operationId"] == "replace_thing"
    assert "PreviewRequest" in document["components"]["schemas"]
    assert registry.undeclared(scratch.routes) == ["GET /other"]
    assert "/other" not in document["paths"]


def test_the_stage_auth_scheme_is_in_the_document():
    iam = api.document(ROUTES, auth_mode="iam")
    validate(iam)
    refusals = iam["paths"]["/api/schedules"]["get"]["responses"]
    assert refusals["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert "403" in refusals
    assert iam["components"]["securitySchemes"]["iam"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert iam["paths"]["/api/schedules"]["get"]["security"] == [{"iam": []}]
    assert iam["paths"]["/api/openapi.json"]["get"]["security"] == [{"iam": []}]
    cognito = api.document(ROUTES, auth_mode="cognito")
    assert cognito["components"]["securitySchemes"]["cognito"]["name"] == "Authorization"
    none = api.document(ROUTES)
    assert "securitySchemes" not in none["components"]
    assert "security" not in none["paths"]["/api/schedules"]["get"]


def test_the_server_is_the_stages_own_url_never_the_clients_host(chalice_client, monkeypatch):
    # GIVEN a client that forges Host and X-Forwarded-Proto
    forged = {"Host": "evil.example", "X-Forwarded-Proto": "http"}
    # THEN with no configured base URL the server is relative to the document
    assert chalice_client.http.get("/api/openapi.json", headers=forged).json_body["servers"] == [{"url": "/"}]
    # AND with one, it is that URL
    monkeypatch.setenv("API_BASE_URL", "https://api.example.com/schedules")
    servers = chalice_client.http.get("/api/openapi.json", headers=forged).json_body["servers"]
    assert servers == [{"url": "https://api.example.com/schedules"}]


def test_the_docs_page_runs_no_inline_script_under_its_csp(chalice_client):
    response = chalice_client.http.get("/api/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    # THEN a Content-Security-Policy allows scripts and styles from the API's own origin only
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    page = response.body.decode()
    # AND the page holds no inline script, style or handler, and nothing from another origin
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert "<style" not in page and re.findall(r"\son[a-z]+=", page) == []
    assert re.findall(r'(?:src|href)="(?:https?:)?//', page) == []
    # AND its script is served, and is the one that fetches the document
    [script] = re.findall(r'<script src="\.\./console/([a-z.]+)"', page)
    served = chalice_client.http.get(f"/console/{script}")
    assert served.status_code == 200
    assert 'fetch("openapi.json")' in served.body.decode()
