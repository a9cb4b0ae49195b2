"""A deployed stage with IAM auth, over HTTP, on an emulator that serves API Gateway.

The stage is packaged and deployed exactly as ``make deploy`` does (``chalice package`` +
CloudFormation), with ``auth: iam``. An unsigned request must be refused before it reaches
anything; a request signed with SigV4 (botocore's signer, as the README shows) is served and
its schedule is owned by the signer; a forged signature writes nothing.

ministack enforces the IAM authorizer's presence (an unsigned request answers 403 Missing
Authentication Token) but does not verify signatures: a forged one reaches the function,
where the app refuses it because no authenticated principal came with it.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from chalicelib import clients
from chalicelib.config import resource_names, settings_for
from ops import run as local_run

STAGE = "dev"  # a deployed stage: its declaration says auth iam
EXAMPLE = json.loads(local_run.EXAMPLE)
REGION = "us-east-1"


@dataclass
class Deployed:
    base: str
    kind: str
    log: io.StringIO


@pytest.fixture(scope="module")
def deployed(local_stages):
    """The dev stage deployed on the session's endpoint (integration/conftest.py), beside the
    local stage the other end-to-end tests share."""
    with local_stages.pointed():
        outputs = local_stages.up(STAGE)
        yield Deployed(outputs.base_url, local_stages.kind, local_stages.logs[STAGE])


def send(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json"} if data else {}
    all_headers.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def signed(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """The README's recipe: botocore's SigV4 signer, credentials from the environment."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json"} if data else {}
    all_headers.update(headers or {})
    request = AWSRequest(method=method, url=url, data=data, headers=all_headers)
    credentials = boto3.Session().get_credentials().get_frozen_credentials()
    SigV4Auth(credentials, "execute-api", REGION).add_auth(request)
    return send(method, url, body, dict(request.headers))


def records() -> list[dict]:
    table = clients.resource("dynamodb", settings_for(STAGE)).Table(resource_names(STAGE).table)
    return table.scan()["Items"]


UNSIGNED = [
    ("GET", "/api/schedules", None),
    ("POST", "/api/schedules", EXAMPLE),
    ("GET", "/api/schedules/025cf345-2a46-42d7-8838-a13d3f43fb4f", None),
    ("DELETE", "/api/schedules/025cf345-2a46-42d7-8838-a13d3f43fb4f", None),
    ("POST", "/api/expressions/preview", {"schedule_expression": "rate(1 hour)"}),
]


@pytest.mark.parametrize("method, path, body", UNSIGNED, ids=[f"{m} {p}" for m, p, _ in UNSIGNED])
def test_an_unsigned_request_is_refused_and_writes_nothing(deployed, method, path, body):
    # GIVEN the deployed stage's records
    before = records()
    # WHEN a request arrives with no signature, claiming a creator
    status, answer = send(method, deployed.base + path, body, {"X-Created-By": "mallory"})
    # THEN API Gateway refuses it, and nothing was written
    assert status == 403, answer
    assert records() == before


def test_a_signed_request_is_served_and_its_schedule_is_owned_by_the_signer(deployed):
    # GIVEN a caller with AWS credentials (the emulator's test keys)
    # WHEN they create a schedule with a signed request that claims another creator
    status, created = signed("POST", deployed.base + "/api/schedules", EXAMPLE, {"X-Created-By": "mallory"})
    # THEN it is accepted, and owned by the signer's principal, not by the claim
    assert status == 202, created
    signer = clients.client("sts", settings_for(STAGE)).get_caller_identity()["Arn"]
    assert created["created_by"] == signer, created
    # AND the signer reads it back
    status, read = signed("GET", f"{deployed.base}/api/schedules/{created['id']}")
    assert status == 200, read
    assert read["created_by"] == signer


def test_a_forged_signature_is_refused_and_writes_nothing(deployed):
    # GIVEN the deployed stage's records
    before = records()
    forged = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "X-Amz-Date": "20260101T000000Z",
        "X-Created-By": "mallory",
    }
    # WHEN a request arrives with a signature nobody made
    status, answer = send("POST", deployed.base + "/api/schedules", EXAMPLE, forged)
    # THEN it is refused (by API Gateway on AWS; by the function on an emulator that does not
    # verify signatures), and nothing was written
    assert status in (401, 403), answer
    assert records() == before


def test_a_path_no_route_serves_answers_in_the_api_error_format(deployed, request):
    if deployed.kind == "ministack":
        request.applymarker(pytest.mark.xfail(
            strict=True,
            reason="ministack answers API Gateway's own {\"message\": ...} and ignores the "
            "API's gateway responses (x-amazon-apigateway-gateway-responses)",
        ))
    status, answer = signed("GET", deployed.base + "/api/no-such-route")
    assert status in (403, 404)
    assert isinstance(answer, dict) and set(answer) == {"Code", "Message"}, answer
