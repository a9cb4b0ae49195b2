"""Identity from the authorizer only: what each authentication mode takes as the caller,
who is an admin, the authorizer each mode puts on the routes, CORS, ETags, and the JSON
errors the app answers itself."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from chalice import CognitoUserPoolAuthorizer, IAMAuthorizer

from chalicelib import auth
from chalicelib.config import get_settings
from chalicelib.errors import Unauthenticated, ValidationError
from tests.gateway_events import api_event, cognito, iam, invoke, nobody
from tests.support import TEE_TIMES

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
POOL = f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/us-east-1_Example1"


def settings(**env: str):
    return get_settings({"STAGE": "dev", **env})


def iam_context(user_arn: str | None) -> dict:
    return {"identity": {"userArn": user_arn, "sourceIp": "203.0.113.7"}}


def claims_context(**claims: object) -> dict:
    return {"identity": {"sourceIp": "203.0.113.7"}, "authorizer": {"claims": claims}}


# --- IAM ------------------------------------------------------------------------------


def test_iam_caller_is_the_signer_and_the_created_by_header_is_ignored():
    # GIVEN a request API Gateway authenticated as alice that also claims to be bob
    # WHEN the caller is read
    caller = auth.caller_from(iam_context(ALICE), {"x-created-by": "bob"}, settings(AUTH_MODE="iam"))
    # THEN it is alice, not an admin
    assert (caller.principal, caller.is_admin) == (ALICE, False)


def test_iam_without_a_signer_is_unauthenticated_even_with_a_created_by_header():
    with pytest.raises(Unauthenticated, match="Signature Version 4"):
        auth.caller_from(iam_context(None), {"x-created-by": "bob"}, settings(AUTH_MODE="iam"))


def test_an_iam_mode_stage_is_the_default():
    assert get_settings({"STAGE": "prod"}).auth_mode == "iam"


@pytest.mark.parametrize(
    "admins, signer, is_admin",
    [
        (ALICE, ALICE, True),  # listed by exact ARN
        (f"arn:aws:iam::{ACCOUNT}:role/Ops", f"arn:aws:sts::{ACCOUNT}:assumed-role/Ops/carol", True),
        (f"arn:aws:iam::{ACCOUNT}:role/team/Ops", f"arn:aws:sts::{ACCOUNT}:assumed-role/Ops/dave", True),
        (f"arn:aws:iam::{ACCOUNT}:role/Ops", f"arn:aws:sts::{ACCOUNT}:assumed-role/Operators/carol", False),
        (f"arn:aws:iam::{ACCOUNT}:role/Ops", "arn:aws:sts::999999999999:assumed-role/Ops/carol", False),
        (f"arn:aws:iam::{ACCOUNT}:role/Ops", f"arn:aws:iam::{ACCOUNT}:user/Ops", False),
        ("", ALICE, False),
    ],
)
def test_iam_admins_are_listed_principals_or_sessions_of_a_listed_role(admins, signer, is_admin):
    caller = auth.caller_from(iam_context(signer), {}, settings(AUTH_MODE="iam", ADMIN_PRINCIPALS=admins))
    assert caller.is_admin is is_admin


# --- Cognito --------------------------------------------------------------------------


def test_cognito_caller_is_the_token_subject_shown_by_username():
    context = claims_context(sub="0d6f-1", **{"cognito:username": "alice"})
    caller = auth.caller_from(context, {"x-created-by": "bob"}, settings(AUTH_MODE="cognito", COGNITO_USER_POOL_ARNS=POOL))
    assert (caller.principal, caller.display, caller.name, caller.is_admin) == ("0d6f-1", "alice", "alice", False)


def test_cognito_access_tokens_name_the_user_username():
    caller = auth.caller_from(claims_context(sub="0d6f-1", username="alice"), {}, settings(AUTH_MODE="cognito"))
    assert caller.display == "alice"


@pytest.mark.parametrize("groups", ["ops,schedule-admins", "[ops schedule-admins]", ["ops", "schedule-admins"], "schedule-admins"])
def test_a_member_of_the_admin_group_is_an_admin(groups):
    context = claims_context(sub="0d6f-1", **{"cognito:groups": groups})
    caller = auth.caller_from(context, {}, settings(AUTH_MODE="cognito", ADMIN_COGNITO_GROUP="schedule-admins"))
    assert caller.is_admin


@pytest.mark.parametrize("groups", [None, "ops", "schedule-admins-readonly", "[]"])
def test_others_are_not_admins(groups):
    claims = {"sub": "0d6f-1"} if groups is None else {"sub": "0d6f-1", "cognito:groups": groups}
    caller = auth.caller_from(claims_context(**claims), {}, settings(AUTH_MODE="cognito", ADMIN_COGNITO_GROUP="schedule-admins"))
    assert not caller.is_admin


def test_cognito_without_claims_is_unauthenticated():
    with pytest.raises(Unauthenticated, match="Cognito"):
        auth.caller_from(iam_context(ALICE), {"x-created-by": "bob"}, settings(AUTH_MODE="cognito"))


# --- none (the local stage) -----------------------------------------------------------


def test_an_open_stage_takes_the_created_by_header_else_anonymous():
    open_stage = settings(AUTH_MODE="none", ADMIN_PRINCIPALS="root")
    assert auth.caller_from({}, {"x-created-by": "team-golf"}, open_stage).principal == "team-golf"
    assert auth.caller_from({}, {}, open_stage).principal == "anonymous"
    assert auth.caller_from({}, {}, open_stage).is_admin  # the open stage's default identity
    assert not auth.caller_from({}, {"x-created-by": "team-golf"}, open_stage).is_admin
    assert auth.caller_from({}, {"x-created-by": "root"}, open_stage).is_admin


def test_an_open_stage_refuses_an_unprintable_created_by():
    with pytest.raises(ValidationError, match="X-Created-By"):
        auth.caller_from({}, {"x-created-by": "a\x00b"}, settings(AUTH_MODE="none"))


def test_an_unknown_mode_is_refused_naming_the_variable_and_the_modes():
    with pytest.raises(ValueError, match="AUTH_MODE must be one of iam, cognito, none, not 'open'"):
        settings(AUTH_MODE="open")


# --- the authorizer on the routes -----------------------------------------------------


def test_each_mode_puts_its_authorizer_on_the_routes():
    assert isinstance(auth.route_authorizer(settings(AUTH_MODE="iam")), IAMAuthorizer)
    cognito_authorizer = auth.route_authorizer(settings(AUTH_MODE="cognito", COGNITO_USER_POOL_ARNS=f"{POOL}, {POOL}2"))
    assert isinstance(cognito_authorizer, CognitoUserPoolAuthorizer)
    assert cognito_authorizer.to_swagger()["x-amazon-apigateway-authorizer"]["providerARNs"] == [POOL, f"{POOL}2"]
    assert auth.route_authorizer(settings(AUTH_MODE="none")) is None


def test_cognito_without_a_user_pool_is_refused():
    with pytest.raises(ValueError, match="COGNITO_USER_POOL_ARNS is empty"):
        auth.route_authorizer(settings(AUTH_MODE="cognito"))


# --- through the API handler ----------------------------------------------------------


@pytest.fixture
def api(moto_stage, monkeypatch):
    import app as app_module

    monkeypatch.setenv("AUTH_MODE", "iam")
    return app_module.app


def test_the_owner_of_a_created_schedule_is_the_signer_not_the_header(api):
    answer = invoke(api, api_event(iam("alice", ALICE), "POST", "/api/schedules", body=TEE_TIMES, headers={"X-Created-By": "bob"}))
    assert answer.status == 202
    assert answer.body["created_by"] == ALICE


def test_a_schedule_answers_its_version_as_etag_and_if_match_takes_it_back(api):
    # GIVEN alice's schedule
    alice = iam("alice", ALICE)
    created = invoke(api, api_event(alice, "POST", "/api/schedules", body=TEE_TIMES)).body
    path = {"id": created["id"]}
    # WHEN she reads it
    read = invoke(api, api_event(alice, "GET", "/api/schedules/{id}", path))
    # THEN its ETag is its version, quoted
    assert read.headers["ETag"] == '"1"'
    # AND a change with that ETag is accepted, a change with a stale one refused
    changed = invoke(api, api_event(alice, "POST", "/api/schedules/{id}/pause", path, headers={"If-Match": read.headers["ETag"]}))
    assert changed.status == 202 and changed.body["version"] == 2
    stale = invoke(api, api_event(alice, "POST", "/api/schedules/{id}/resume", path, headers={"If-Match": '"1"'}))
    assert (stale.status, stale.body["Code"]) == (409, "VersionConflict")
    # AND "*" matches whatever the version is
    anyway = invoke(api, api_event(alice, "POST", "/api/schedules/{id}/resume", path, headers={"If-Match": "*"}))
    assert anyway.status == 202
    assert invoke(api, api_event(alice, "GET", "/api/schedules/{id}", path)).headers["ETag"] == '"3"'


def test_a_path_no_route_serves_is_a_json_404(api):
    answer = invoke(api, api_event(iam("alice", ALICE), "GET", "/api/nothing-here"))
    assert answer.status == 404
    assert answer.body == {"Code": "NotFound", "Message": "no route serves GET /api/nothing-here"}


def test_a_method_a_route_does_not_serve_is_a_json_405(api):
    answer = invoke(api, api_event(iam("alice", ALICE), "PATCH", "/api/schedules"))
    assert answer.status == 405
    assert set(answer.body) == {"Code", "Message"}


def test_an_unsigned_request_is_a_json_401_before_anything_else(api):
    answer = invoke(api, api_event(nobody(), "POST", "/api/schedules", body="not json"))
    assert answer.status == 401
    assert answer.body["Code"] == "Unauthenticated"


def test_the_cognito_username_is_what_people_read_and_the_subject_owns(api, monkeypatch):
    monkeypatch.setenv("AUTH_MODE", "cognito")
    alice = cognito("alice", "0d6f-1", "alice")
    answer = invoke(api, api_event(alice, "POST", "/api/schedules", body=TEE_TIMES))
    assert answer.body["created_by"] == "0d6f-1"


# --- CORS -----------------------------------------------------------------------------


def _app_imported_with(monkeypatch, **env: str):
    """A separate import of app.py with the stage's environment set to ``env``."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location("app_for_this_stage", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_without_allowed_origins_the_api_sends_no_cors_headers(monkeypatch):
    app = _app_imported_with(monkeypatch, AUTH_MODE="iam", CORS_ALLOWED_ORIGINS="")
    answer = invoke(app, api_event(iam("alice", ALICE), "POST", "/api/expressions/preview", body={"schedule_expression": "rate(1 hour)"}))
    assert answer.status == 200
    assert not any(name.lower().startswith("access-control-") for name in answer.headers)
    assert all(route.cors is None for methods in app.routes.values() for route in methods.values())


def test_an_allowed_origin_gets_cors_headers_on_answers_and_refusals(monkeypatch):
    origin = "https://console.example.com"
    app = _app_imported_with(monkeypatch, AUTH_MODE="iam", CORS_ALLOWED_ORIGINS=origin)
    body = {"schedule_expression": "rate(1 hour)"}
    for identity, status in ((iam("alice", ALICE), 200), (nobody(), 401)):
        answer = invoke(app, api_event(identity, "POST", "/api/expressions/preview", body=body))
        assert answer.status == status
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        allowed = {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"idempotency-key", "if-match", "authorization", "content-type"} <= allowed
        exposed = {h.strip().lower() for h in answer.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"location", "etag"} <= exposed


def test_a_stage_allows_one_origin(monkeypatch):
    with pytest.raises(ValueError, match="a stage allows one"):
        _app_imported_with(monkeypatch, CORS_ALLOWED_ORIGINS="https://a.example.com,https://b.example.com")

