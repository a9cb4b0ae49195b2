"""Who you are on the open local stage: ``X-Created-By`` acts as that owner; naming nobody
acts as ``anonymous``, the open stage's admin, so the README's "create as team-golf, then
look at it" works as pasted. Deployed modes never take an identity from a header."""

from __future__ import annotations

import pytest

from chalicelib import auth
from chalicelib.config import get_settings
from chalicelib.errors import Unauthenticated
from tests.support import TEE_TIMES, post

GOLF = {"X-Created-By": "team-golf"}
HOCKEY = {"X-Created-By": "team-hockey"}


def test_the_readme_flow_works_as_pasted(chalice_client):
    # GIVEN a schedule created as team-golf
    created = post(chalice_client, "/api/schedules", TEE_TIMES, GOLF).json_body
    schedule_id = created["id"]
    assert created["created_by"] == "team-golf"
    # WHEN the person, naming nobody, reads it and lists team-golf's and everyone's
    fetched = chalice_client.http.get(f"/api/schedules/{schedule_id}")
    by_owner = chalice_client.http.get("/api/schedules?created_by=team-golf")
    everyone = chalice_client.http.get("/api/schedules")
    # THEN each answers it
    assert fetched.status_code == 200, fetched.json_body
    assert fetched.json_body["created_by"] == "team-golf"
    assert [item["id"] for item in by_owner.json_body["items"]] == [schedule_id]
    assert schedule_id in [item["id"] for item in everyone.json_body["items"]]


def test_acting_as_another_owner_still_sees_only_its_own(chalice_client):
    # GIVEN team-golf's schedule
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES, GOLF).json_body["id"]
    # WHEN team-hockey reads it, lists team-golf's and lists its own
    fetched = chalice_client.http.get(f"/api/schedules/{schedule_id}", headers=HOCKEY)
    by_owner = chalice_client.http.get("/api/schedules?created_by=team-golf", headers=HOCKEY)
    own = chalice_client.http.get("/api/schedules", headers=HOCKEY)
    # THEN the ownership rules of a deployed stage hold for a named owner
    assert fetched.status_code == 404
    assert by_owner.status_code == 400
    assert own.json_body["items"] == []


def settings(**env: str):
    return get_settings({"STAGE": "dev", **env})


@pytest.mark.parametrize("mode", ["iam", "cognito"])
def test_a_deployed_stage_never_takes_an_identity_or_admin_from_headers(mode):
    # GIVEN a deployed stage's mode and a request that its authorizer left without identity
    stage = settings(AUTH_MODE=mode, COGNITO_USER_POOL_ARNS="arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_x")
    # WHEN it names nobody, or names someone in X-Created-By, THEN it is refused
    for headers in ({}, {"x-created-by": "anonymous"}, {"x-created-by": "team-golf"}):
        with pytest.raises(Unauthenticated):
            auth.caller_from({}, headers, stage)
