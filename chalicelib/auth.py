"""Who is calling, and how the API checks it: one authentication mode per stage.

- ``iam`` (every deployed stage unless declared otherwise): API Gateway's IAM authorizer on
  every route, so a request must be signed with SigV4. The caller is the signer's ARN,
  ``requestContext.identity.userArn``.
- ``cognito``: a Cognito user pool authorizer (the stage's pool ARNs) checks the ID or access
  token in ``Authorization``. The caller is the token's ``sub``, shown as its username; its
  ``cognito:groups`` decide who is an admin.
- ``none``: no authorizer, for the ``local`` stage only. The caller is whatever
  ``X-Created-By`` says (acting as that owner, admin only when listed), else ``anonymous``,
  the open stage's admin: a person who names nobody sees every schedule, as anyone who can
  reach an open port could by naming each owner in turn.

The mode reaches the app through the stage's environment (``AUTH_MODE``): the route
decorators read it once at import, each request's caller is read from what the authorizer
put in the request context, never from a header the caller writes (outside ``none``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalice.app import CognitoUserPoolAuthorizer, CORSConfig, IAMAuthorizer

from chalicelib.config import AUTH_COGNITO, AUTH_IAM, AUTH_NONE, Settings
from chalicelib.errors import Unauthenticated, ValidationError
from chalicelib.identity import Caller, anonymous

CREATED_BY_HEADER = "x-created-by"
COGNITO_AUTHORIZER_NAME = "CognitoUserPools"
CORS_ALLOWED_HEADERS = ["Idempotency-Key", "If-Match", "Authorization"]
CORS_EXPOSED_HEADERS = ["Location", "ETag"]
CORS_MAX_AGE_SECONDS = 600
MAX_CREATED_BY = 128

_ASSUMED_ROLE = re.compile(r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d+):assumed-role/(?P<role>[^/]+)/.+$")
_ROLE = re.compile(r"^arn:(?P<partition>[^:]+):iam::(?P<account>\d+):role/(?:.*/)?(?P<role>[^/]+)$")

Authorizer = IAMAuthorizer | CognitoUserPoolAuthorizer


def route_authorizer(settings: Settings) -> Authorizer | None:
    """The authorizer every ``/api`` route carries in this stage, or None when it is open."""
    if settings.auth_mode == AUTH_IAM:
        return IAMAuthorizer()
    if settings.auth_mode == AUTH_COGNITO:
        if not settings.cognito_user_pool_arns:
            raise ValueError(
                "AUTH_MODE is cognito but COGNITO_USER_POOL_ARNS is empty: "
                "declare the stage's user pool ARN(s)"
            )
        return CognitoUserPoolAuthorizer(
            COGNITO_AUTHORIZER_NAME, provider_arns=list(settings.cognito_user_pool_arns)
        )
    return None


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS for the stage's allowed origin, or None (no CORS) when none is configured.

    API Gateway answers a preflight from a fixed mock response, so a stage allows one origin."""
    origins = settings.cors_allowed_origins
    if not origins:
        return None
    if len(origins) > 1:
        raise ValueError(
            f"CORS_ALLOWED_ORIGINS names {len(origins)} origins; a stage allows one "
            "(API Gateway answers preflight requests with one fixed origin)"
        )
    return CORSConfig(
        allow_origin=origins[0],
        allow_headers=CORS_ALLOWED_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
        max_age=CORS_MAX_AGE_SECONDS,
    )


def caller_from(context: Mapping[str, Any] | None, headers: Mapping[str, str], settings: Settings) -> Caller:
    """The caller of one request, from what the stage's authorizer put in the request
    context; ``Unauthenticated`` when it holds no identity (API Gateway was bypassed or
    misconfigured: the service never falls back to a header outside ``none``)."""
    context = context or {}
    if settings.auth_mode == AUTH_IAM:
        return _iam_caller(context, settings)
    if settings.auth_mode == AUTH_COGNITO:
        return _cognito_caller(context, settings)
    if settings.auth_mode == AUTH_NONE:
        return _claimed_caller(headers, settings)
    raise Unauthenticated(f"unknown authentication mode {settings.auth_mode}")


def _iam_caller(context: Mapping[str, Any], settings: Settings) -> Caller:
    identity = context.get("identity") or {}
    principal = (identity.get("userArn") or "").strip()
    if not principal:
        raise Unauthenticated("this API needs a request signed with AWS Signature Version 4")
    return Caller(principal, is_admin=_iam_admin(principal, settings.admin_principals))


def _iam_admin(principal: str, admins: tuple[str, ...]) -> bool:
    """An admin is listed by its exact ARN; a role listed by its ARN covers every session
    of that role (``assumed-role/<role>/<session>``)."""
    if principal in admins:
        return True
    session = _ASSUMED_ROLE.match(principal)
    if not session:
        return False
    for admin in admins:
        role = _ROLE.match(admin)
        if role and role.group("partition", "account", "role") == session.group("partition", "account", "role"):
            return True
    return False


def _cognito_caller(context: Mapping[str, Any], settings: Settings) -> Caller:
    claims = (context.get("authorizer") or {}).get("claims") or {}
    subject = str(claims.get("sub") or "").strip()
    if not subject:
        raise Unauthenticated("this API needs a Cognito user pool token in the Authorization header")
    display = str(claims.get("cognito:username") or claims.get("username") or "").strip() or None
    groups = cognito_groups(claims.get("cognito:groups"))
    is_admin = subject in settings.admin_principals or (
        settings.admin_cognito_group is not None and settings.admin_cognito_group in groups
    )
    return Caller(subject, display=display, is_admin=is_admin)


def cognito_groups(raw: Any) -> frozenset[str]:
    """``cognito:groups`` as API Gateway passes it: a list, or a string such as
    ``"admins,ops"`` or ``"[admins ops]"`` (REST APIs flatten claims to strings)."""
    if raw is None:
        return frozenset()
    if isinstance(raw, (list, tuple)):
        return frozenset(str(group) for group in raw if str(group))
    text = str(raw).strip().strip("[]")
    return frozenset(group for group in re.split(r"[,\s]+", text) if group)


def _claimed_caller(headers: Mapping[str, str], settings: Settings) -> Caller:
    claimed = (headers.get(CREATED_BY_HEADER) or "").strip()
    if not claimed:
        return anonymous(is_admin=True)
    if len(claimed) > MAX_CREATED_BY or not claimed.isprintable():
        raise ValidationError(f"must be 1-{MAX_CREATED_BY} printable characters", field="X-Created-By")
    return Caller(claimed, is_admin=claimed in settings.admin_principals)
