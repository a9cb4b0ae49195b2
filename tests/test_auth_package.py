"""The packaged API, stage by stage: the stage's authorizer on every method of every route
(none only on ``local``), API Gateway's throttle and its own answers in the API's error
format; a stage other than local declared open is not packaged unless told to."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.config import AUTH_IAM, AUTH_NONE, ENV_AUTH_MODE
from chalicelib import names
from ops import app_stack, policy
from ops import run as local_run
from tests.support import PACKAGE_BUCKET, PACKAGED_STAGES

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head"}
ROUTES_OF_THE_APP = 9  # methods x paths of app.py, at least


def api_definition(template: dict) -> dict:
    return template["Resources"][app_stack.REST_API_LOGICAL_ID]["Properties"]["DefinitionBody"]


def methods(definition: dict):
    for path, operations in definition["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_declared_stage_is_packaged_and_only_local_runs_open():
    assert "local" in PACKAGED_STAGES and len(PACKAGED_STAGES) >= 2
    for stage in PACKAGED_STAGES:
        assert (policy.stage_access(stage).auth == AUTH_NONE) == (stage == "local"), stage


def test_every_method_of_every_route_carries_the_stage_authorizer(packaged):
    # GIVEN a stage packaged as make deploy packages it
    stage, chalice_template, prepared, _ = packaged
    declared = policy.stage_access(stage).auth
    for template in (chalice_template, prepared):
        definition = api_definition(template)
        found = list(methods(definition))
        assert len(found) >= ROUTES_OF_THE_APP
        if stage == "local":
            # THEN the local stage alone has no authorizer anywhere
            assert declared == AUTH_NONE
            assert "securityDefinitions" not in definition
            assert [f"{m} {p}" for p, m, op in found if "security" in op] == []
        else:
            # THEN every other stage signs every method with IAM (the default)
            assert declared == AUTH_IAM
            assert definition["securityDefinitions"] == {
                "sigv4": {"in": "header", "type": "apiKey", "name": "Authorization", "x-amazon-apigateway-authtype": "awsSigv4"}
            }
            for path, method, operation in found:
                assert method in HTTP_METHODS, f"{method} {path}"  # no unauthenticated preflight: no origin declared
                if path in names.PUBLIC_PATHS:  # the console's static files, open on every stage
                    assert "security" not in operation, f"{method.upper()} {path}"
                else:
                    assert operation.get("security") == [{"sigv4": []}], f"{method.upper()} {path}"
            # AND every /api route is signed: only the console's files are public
            assert {path for path in names.PUBLIC_PATHS} <= {path for path, _, _ in found}
            assert not any(path.startswith("/api") for path in names.PUBLIC_PATHS)


def test_every_function_is_told_the_stage_auth_mode(packaged):
    stage, _, prepared, _ = packaged
    for logical_id, resource in prepared["Resources"].items():
        if resource["Type"] == app_stack.SERVERLESS_FUNCTION:
            assert resource["Properties"]["Environment"]["Variables"][ENV_AUTH_MODE] == policy.stage_access(stage).auth, logical_id


def test_the_stage_is_throttled(packaged):
    # GIVEN a packaged stage (declared with the default throttle: 50 per second, bursts of 100)
    stage, _, prepared, _ = packaged
    access = policy.stage_access(stage)
    assert (access.throttle_rate, access.throttle_burst) == (50.0, 100)
    # THEN API Gateway throttles every method of its API stage at that rate
    settings = prepared["Resources"][app_stack.REST_API_LOGICAL_ID]["Properties"]["MethodSettings"]
    assert settings == [
        {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 50.0, "ThrottlingBurstLimit": 100}
    ]


SAMPLE_CONTEXT = {
    "$context.error.messageString": json.dumps("Missing Authentication Token"),
    "$context.error.responseType": "BAD_REQUEST_BODY",
}


def render(template: str) -> dict:
    """A gateway response's template as API Gateway fills it in."""
    for placeholder, value in SAMPLE_CONTEXT.items():
        template = template.replace(placeholder, value)
    assert "$" not in template, template
    return json.loads(template)


def test_api_gateway_answers_in_the_api_error_format(packaged):
    # GIVEN the packaged API
    stage, _, prepared, _ = packaged
    responses = api_definition(prepared)[app_stack.GATEWAY_RESPONSES]
    # THEN API Gateway's own answers (no route, no credentials, throttled, any 4xx/5xx) are
    # {"Code", "Message"} JSON
    assert {"MISSING_AUTHENTICATION_TOKEN", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for kind, response in responses.items():
        body = render(response["responseTemplates"]["application/json"])
        assert set(body) == {"Code", "Message"}, kind
        assert response["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"
    missing = render(responses["MISSING_AUTHENTICATION_TOKEN"]["responseTemplates"]["application/json"])
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "403"
    assert missing["Code"] == "Forbidden" and "no route serves" in missing["Message"]
    assert (responses["THROTTLED"]["statusCode"], render(responses["THROTTLED"]["responseTemplates"]["application/json"])["Code"]) == ("429", "TooManyRequests")
    if stage != "local":
        assert "Signature Version 4" in missing["Message"]


def test_a_template_with_a_method_outside_the_authorizer_is_refused():
    # GIVEN a deployed stage's template where one method lost its authorizer
    signed = {"security": [{"sigv4": []}]}
    template = {
        "Transform": app_stack.SAM_TRANSFORM,
        "Resources": {app_stack.REST_API_LOGICAL_ID: {"Type": app_stack.SERVERLESS_API, "Properties": {
            "DefinitionBody": {"paths": {
                "/api/schedules": {"get": dict(signed), "post": dict(signed)},
                "/api/schedules/{id}": {"get": dict(signed), "delete": {}},
            }},
        }}},
    }
    # WHEN it is prepared for CloudFormation, THEN it is refused, naming the method
    with pytest.raises(app_stack.DeployError, match=re.escape("have no authorizer: DELETE /api/schedules/{id}")):
        app_stack.prepare_template(template, "dev", PACKAGE_BUCKET, "dev/deployment.zip")
    # AND the same template passes once the method is signed
    template["Resources"][app_stack.REST_API_LOGICAL_ID]["Properties"]["DefinitionBody"]["paths"]["/api/schedules/{id}"]["delete"] = signed
    assert app_stack.prepare_template(template, "dev", PACKAGE_BUCKET, "dev/deployment.zip")


# --- an open API anywhere but local ---------------------------------------------------


@pytest.fixture
def dev_declared_open(monkeypatch):
    monkeypatch.setitem(policy.STAGE_ACCESS, "dev", policy.StageAccess(auth=AUTH_NONE))
    monkeypatch.delenv(app_stack.ENV_ALLOW_OPEN_API, raising=False)


def test_packaging_a_deployed_stage_declared_open_fails_saying_why(dev_declared_open, tmp_path):
    # GIVEN dev declared with auth none, and the committed Chalice config
    before = (policy.CHALICE_DIR / "config.json").read_text()
    # WHEN it is packaged
    with pytest.raises(app_stack.DeployError) as refused:
        app_stack.package("dev", tmp_path / "out")
    # THEN packaging stops before anything is written, saying why and how to override
    message = str(refused.value)
    assert "stage dev declares auth none" in message
    assert "Only the local stage runs open" in message
    assert "--allow-open-api" in message and "REZ_AGENT_ALLOW_OPEN_API=1" in message
    assert not (tmp_path / "out").exists()
    assert (policy.CHALICE_DIR / "config.json").read_text() == before


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_an_explicit_override_lets_an_open_stage_through_with_a_warning(dev_declared_open, monkeypatch, capsys, how):
    if how == "environment":
        monkeypatch.setenv(app_stack.ENV_ALLOW_OPEN_API, "1")
    access = app_stack.check_access("dev", allow_open_api=True if how == "flag" else None)
    assert access.auth == AUTH_NONE
    assert "OPEN API" in capsys.readouterr().err


def test_the_local_stage_is_open_without_an_override(monkeypatch):
    monkeypatch.delenv(app_stack.ENV_ALLOW_OPEN_API, raising=False)
    assert app_stack.check_access("local").auth == AUTH_NONE


@pytest.mark.parametrize("access, problem", [
    (policy.StageAccess(auth="cognito"), "needs cognito_user_pool_arns"),
    (policy.StageAccess(auth="open"), "auth must be one of iam, cognito, none"),
    (policy.StageAccess(cors_origins=("https://a.example.com", "https://b.example.com")), "allows one origin"),
    (policy.StageAccess(throttle_rate=0), "must be positive"),
])
def test_a_declaration_that_cannot_be_deployed_is_refused(monkeypatch, access, problem):
    monkeypatch.setitem(policy.STAGE_ACCESS, "prod", access)
    with pytest.raises(app_stack.DeployError, match=problem):
        app_stack.check_access("prod")


def test_a_cognito_stage_tells_its_functions_the_pools_and_admins(monkeypatch):
    pool = "arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_Example1"
    monkeypatch.setitem(policy.STAGE_ACCESS, "prod", policy.StageAccess(
        auth="cognito", cognito_user_pool_arns=(pool,), admin_cognito_group="schedule-admins",
        cors_origins=("https://console.example.com",),
    ))
    environment = policy.stage_config("prod")["environment_variables"]
    assert environment["AUTH_MODE"] == "cognito"
    assert environment["COGNITO_USER_POOL_ARNS"] == pool
    assert environment["ADMIN_COGNITO_GROUP"] == "schedule-admins"
    assert environment["CORS_ALLOWED_ORIGINS"] == "https://console.example.com"
    assert "ADMIN_PRINCIPALS" not in environment


def test_make_run_says_the_local_api_is_open():
    assert "The local API is OPEN" in local_run.open_api_notice("local")
    assert "X-Created-By" in local_run.open_api_notice("local")
