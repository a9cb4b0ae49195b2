"""API Gateway's REST proxy events, as its authorizers pass the caller, for invoking the API
handler directly (chalice.test's client cannot set the request context).

With IAM auth API Gateway puts the signer in ``requestContext.identity``; with a Cognito user
pool authorizer it puts the token's claims in ``requestContext.authorizer.claims``; an
unsigned request carries neither.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from chalice.local import LambdaContext

ACCOUNT = "111122223333"
API_STAGE = "api"


@dataclass(frozen=True)
class Identity:
    """How one caller reaches the handler: an IAM signer, Cognito claims, or nobody."""

    label: str
    user_arn: str | None = None
    claims: dict[str, Any] | None = None

    @property
    def principal(self) -> str | None:
        if self.user_arn:
            return self.user_arn
        if self.claims:
            return str(self.claims["sub"])
        return None


def iam(label: str, user_arn: str) -> Identity:
    return Identity(label, user_arn=user_arn)


def cognito(label: str, sub: str, username: str, groups: str | None = None) -> Identity:
    claims: dict[str, Any] = {"sub": sub, "cognito:username": username, "token_use": "id"}
    if groups is not None:
        claims["cognito:groups"] = groups
    return Identity(label, claims=claims)


def nobody(label: str = "anonymous") -> Identity:
    return Identity(label)


def request_context(identity: Identity, resource: str, method: str, path: str) -> dict[str, Any]:
    context: dict[str, Any] = {
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/{API_STAGE}{path}",
        "stage": API_STAGE,
        "accountId": ACCOUNT,
        "apiId": "a1b2c3d4e5",
        "requestId": str(uuid.uuid4()),
        "identity": {
            "sourceIp": "203.0.113.7",
            "userAgent": "tests",
            "userArn": identity.user_arn,
            "caller": identity.user_arn.split(":")[-1] if identity.user_arn else None,
            "accountId": ACCOUNT if identity.user_arn else None,
            "accessKey": "ASIAEXAMPLE" if identity.user_arn else None,
        },
    }
    if identity.claims is not None:
        context["authorizer"] = {"claims": dict(identity.claims)}
    return context


def api_event(
    identity: Identity,
    method: str,
    resource: str,
    path_parameters: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event API Gateway hands the API handler for ``method resource``."""
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    all_headers = {"Host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    raw_body = None
    if body is not None:
        raw_body = body if isinstance(body, str) else json.dumps(body)
        all_headers.setdefault("Content-Type", "application/json")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": request_context(identity, resource, method, path),
        "body": raw_body,
        "isBase64Encoded": False,
    }


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def invoke(app: Any, event: dict[str, Any]) -> Answer:
    """Run the API handler on ``event`` as Lambda would; the answer with its JSON body."""
    context = LambdaContext("api_handler", 512)
    result = app(event, context)
    raw = result.get("body")
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    headers = {k: v for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, ",".join(values))
    return Answer(result["statusCode"], headers, body)
