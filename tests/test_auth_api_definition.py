"""The API definition each authentication mode produces (the swagger Chalice puts in the
packaged template), for modes no committed stage declares: Cognito, and CORS."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from chalice.deploy.swagger import SwaggerGenerator

from chalicelib import names

ROOT = Path(__file__).resolve().parent.parent
POOLS = [
    "arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_Example1",
    "arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_Example2",
]
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head"}


def swagger_of_app(monkeypatch, **env: str) -> dict:
    """app.py imported afresh with the stage's environment ``env``, as ``chalice package``
    imports it, and the API definition Chalice generates from it."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location("app_as_packaged", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return SwaggerGenerator("us-east-1", {"api_handler_arn": "arn:aws:lambda:us-east-1:111122223333:function:api"}).generate_swagger(module.app)


def operations(swagger: dict):
    """Every method of every /api route (the console's public files are tested below)."""
    for path, methods in swagger["paths"].items():
        if path in names.PUBLIC_PATHS:
            continue
        for method, operation in methods.items():
            yield path, method, operation


def test_only_the_consoles_files_are_public_on_a_signed_stage(monkeypatch):
    # GIVEN a stage that signs its API with IAM
    swagger = swagger_of_app(monkeypatch, AUTH_MODE="iam", CORS_ALLOWED_ORIGINS="")
    # THEN the console's page and files carry no authorizer, and they are all it serves openly
    public = {path for path, methods in swagger["paths"].items() if not any("security" in op for op in methods.values())}
    assert public == set(names.PUBLIC_PATHS)


def test_cognito_mode_puts_the_user_pool_authorizer_on_every_method(monkeypatch):
    # GIVEN a stage declared with auth cognito and two user pools
    swagger = swagger_of_app(monkeypatch, AUTH_MODE="cognito", COGNITO_USER_POOL_ARNS=",".join(POOLS), CORS_ALLOWED_ORIGINS="")
    # THEN one Cognito authorizer over both pools guards every method of every route
    (name, definition), = swagger["securityDefinitions"].items()
    assert definition["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    assert definition["x-amazon-apigateway-authorizer"]["providerARNs"] == POOLS
    assert definition["name"] == "Authorization" and definition["in"] == "header"
    found = list(operations(swagger))
    assert len(found) >= 9
    for path, method, operation in found:
        assert operation.get("security") == [{name: []}], f"{method.upper()} {path}"


def test_iam_mode_signs_every_method(monkeypatch):
    swagger = swagger_of_app(monkeypatch, AUTH_MODE="iam", CORS_ALLOWED_ORIGINS="")
    assert swagger["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    for path, method, operation in operations(swagger):
        assert operation.get("security") == [{"sigv4": []}], f"{method.upper()} {path}"


def test_an_open_stage_has_no_authorizer(monkeypatch):
    swagger = swagger_of_app(monkeypatch, AUTH_MODE="none", CORS_ALLOWED_ORIGINS="")
    assert "securityDefinitions" not in swagger
    assert all("security" not in operation for _, _, operation in operations(swagger))


def test_with_an_allowed_origin_only_the_preflights_are_unauthenticated(monkeypatch):
    # GIVEN a stage that allows the console's origin
    origin = "https://console.example.com"
    swagger = swagger_of_app(monkeypatch, AUTH_MODE="iam", CORS_ALLOWED_ORIGINS=origin)
    for path, method, operation in operations(swagger):
        if method == "options":
            # THEN a preflight is answered by API Gateway itself, naming the origin
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "mock", path
            headers = integration["responses"]["default"]["responseParameters"]
            assert headers["method.response.header.Access-Control-Allow-Origin"] == f"'{origin}'"
            assert "If-Match" in headers["method.response.header.Access-Control-Allow-Headers"]
        else:
            # AND every other method still needs a signature
            assert method in HTTP_METHODS
            assert operation.get("security") == [{"sigv4": []}], f"{method.upper()} {path}"


def test_without_an_origin_there_are_no_preflights(monkeypatch):
    swagger = swagger_of_app(monkeypatch, AUTH_MODE="iam", CORS_ALLOWED_ORIGINS="")
    assert not [path for path, method, _ in operations(swagger) if method == "options"]


@pytest.mark.parametrize("env, message", [
    ({"AUTH_MODE": "cognito", "COGNITO_USER_POOL_ARNS": ""}, "COGNITO_USER_POOL_ARNS is empty"),
    ({"AUTH_MODE": "open"}, "AUTH_MODE must be one of"),
])
def test_an_app_that_cannot_tell_its_authorizer_does_not_import(monkeypatch, env, message):
    with pytest.raises(ValueError, match=message):
        swagger_of_app(monkeypatch, CORS_ALLOWED_ORIGINS="", **env)
