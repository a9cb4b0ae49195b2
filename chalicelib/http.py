"""HTTP plumbing for the views in app.py: body parsing, query parameters, identity, and
the one place where service errors become responses."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

from chalice.app import Response

from chalicelib import auth, names, strict_json
from chalicelib.config import get_settings
from chalicelib.errors import (
    BadRequest,
    FieldError,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    UnsupportedMediaType,
    ValidationError,
)
from chalicelib.identity import Caller
from chalicelib.observability import correlation_id

logger = logging.getLogger("rez_agent.http")
P = ParamSpec("P")

MAX_BODY_BYTES = 300_000
CREATED_BY_HEADER = auth.CREATED_BY_HEADER
IF_MATCH_HEADER = "if-match"


def error_response(error: ServiceError) -> Response:
    """``{"Code", "Message"}``; a 400 adds ``Errors``, one ``{"field", "message"}`` per
    failing field (empty when the request as a whole is malformed)."""
    body: dict[str, Any] = {"Code": error.code, "Message": error.message}
    if error.status_code == 400:
        failing = error.errors if isinstance(error, ValidationError) else []
        body["Errors"] = [{"field": each.field, "message": each.message} for each in failing]
    return Response(
        body=body,
        status_code=error.status_code,
        headers={"Content-Type": "application/json"},
    )


def handles_errors(view: Callable[P, Any]) -> Callable[P, Any]:
    """Translate service errors into ``{"Code", "Message"}`` responses; answer anything
    unexpected with a 500 that names the request id its log lines carry (API Gateway's
    request id, the ``correlation_id`` of the invocation) and nothing internal."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            return view(*args, **kwargs)
        except ServiceError as error:
            if error.status_code >= 500 and not error.public:
                # AWS's own text stays in the log: the client gets the code and a request id
                request_id = correlation_id()
                logger.warning("upstream error (request %s): %s", request_id, error.message)
                return _server_error(error.status_code, error.code, request_id)
            return error_response(error)
        except Exception:
            request_id = correlation_id()
            logger.exception("unexpected error (request %s)", request_id)
            return _server_error(500, "InternalError", request_id)

    return wrapper


_SERVER_MESSAGES = {
    "UpstreamUnavailable": "a service this API depends on is unavailable; retry later",
    "UpstreamRejected": "a service this API depends on refused the request",
}


def _server_error(status: int, code: str, request_id: str) -> Response:
    message = _SERVER_MESSAGES.get(code, "internal error")
    return Response(
        body={"Code": code, "Message": f"{message}; request id {request_id}"},
        status_code=status,
        headers={"Content-Type": "application/json"},
    )


def json_object(request: Any) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx that says what is wrong with it."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not {content_type or 'missing'}"
        )
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    if not raw.strip():
        raise BadRequest("request body is empty; expected a JSON object")
    try:
        body = strict_json.loads(raw)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    except strict_json.JsonRefused as exc:
        raise BadRequest(f"request body {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def loads_strict(text: str | bytes) -> Any:
    """JSON as the API reads it (chalicelib.strict_json: bounded depth and numbers, no NaN
    or Infinity, no key twice in one object)."""
    return strict_json.loads(text)


def base_url(request: Any) -> str:
    """The API's root URL, never from a header the client writes (``Host``,
    ``X-Forwarded-Proto``): the stage's ``API_BASE_URL`` when configured; else, behind API
    Gateway, the domain it received the request on and the stage or base path it matched
    (``requestContext``); else a root-relative reference (``""``)."""
    configured = get_settings().api_base_url
    if configured:
        return configured
    context = request.context or {}
    domain = str(context.get("domainName") or "")
    prefix = _matched_prefix(request)
    if _DOMAIN.fullmatch(domain):
        return f"https://{domain}{prefix}"
    return prefix


def resource_url(request: Any, *parts: str) -> str:
    """The URL of a resource below the requested route (``base_url`` + route + ``parts``)."""
    route = (getattr(request, "path", "") or "").rstrip("/")
    return f"{base_url(request)}{route}/" + "/".join(parts)


_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)+")


def _matched_prefix(request: Any) -> str:
    """What API Gateway matched before the route: the stage (``/dev``) or a custom
    domain's base path; empty when there is none."""
    route = (getattr(request, "path", "") or "").rstrip("/")
    context_path = str((request.context or {}).get("path") or "").rstrip("/")
    if route and context_path.endswith(route):
        return context_path[: len(context_path) - len(route)]
    return ""


def query(request: Any) -> dict[str, str]:
    return dict(request.query_params or {})


def label_filter(request: Any) -> dict[str, str] | None:
    """The ``label`` query parameters (``key=value``, repeated) as one selector."""
    from chalicelib.models import MAX_LABELS, parse_label

    params = request.query_params
    if not params or "label" not in params:
        return None
    texts = params.getlist("label")
    if len(texts) > MAX_LABELS:
        raise ValidationError(f"at most {MAX_LABELS} labels", field="label")
    labels: dict[str, str] = {}
    for text in texts:
        key, value = parse_label(text)
        if labels.get(key, value) != value:
            raise ValidationError(f"names {key} twice with different values (no schedule matches)", field="label")
        labels[key] = value
    return labels


def int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"must be a whole number from {low} to {high}", field=name) from None
    if not low <= value <= high:
        raise ValidationError(f"must be from {low} to {high}", field=name)
    return value


def text_param(params: dict[str, str], name: str, max_length: int) -> str | None:
    """An optional text parameter: 1 to ``max_length`` printable characters."""
    raw = params.get(name)
    if raw is None:
        return None
    if not 1 <= len(raw) <= max_length or not raw.isprintable():
        raise ValidationError(f"must be 1-{max_length} printable characters", field=name)
    return raw


def only_params(params: dict[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        choices = ", ".join(sorted(allowed))
        raise ValidationError(
            f"query: unknown query parameter(s) {', '.join(unknown)}; allowed: {choices}",
            errors=[FieldError(name, f"unknown query parameter; allowed: {choices}") for name in unknown],
        )


def caller(request: Any) -> Caller:
    """Who is asking, as the stage's authorizer established it (chalicelib.auth): the IAM
    principal or the Cognito user; ``X-Created-By`` (else anonymous) only on an open stage."""
    return auth.caller_from(request.context, request.headers, get_settings())


def authenticate(
    request: Any, get_response: Callable[[Any], Response], routes: Mapping[str, Any], cors: Any = None
) -> Response:
    """For the app's HTTP middleware: a request reaches a view only with a caller the stage
    accepts, and a path no route serves answers 404 in the API's error format (with the
    stage's CORS headers, so a browser can read why)."""
    refusal: ServiceError | None = None
    if request is None:
        refusal = NotFound("no route serves this request")
    elif request.context.get("resourcePath") not in routes:
        refusal = NotFound(f"no route serves {request.method} {request.path}")
    elif request.context.get("resourcePath") in names.PUBLIC_PATHS:
        return get_response(request)  # the console's files: no data, no caller needed
    else:
        try:
            caller(request)
        except ServiceError as error:
            refusal = error
    if refusal is None:
        return get_response(request)
    source = ((request.context or {}).get("identity") or {}).get("sourceIp") if request else None
    logger.info("refused %s: %s %s (from %s)", refusal.status_code, refusal.code, refusal.message, source)
    response = error_response(refusal)
    if cors is not None:
        response.headers.update(cors.get_access_control_headers())
    return response


MAX_IDEMPOTENCY_KEY = 256


def idempotency_key(request: Any) -> str | None:
    """The client's ``Idempotency-Key`` header (1-256 printable ASCII characters), None when
    it sent none."""
    key: str | None = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not (key.isascii() and key.isprintable()):
        raise ValidationError(f"must be 1-{MAX_IDEMPOTENCY_KEY} printable ASCII characters", field="Idempotency-Key")
    return key


def etag(version: int) -> str:
    """The ``ETag`` of a schedule: its version, quoted (what ``If-Match`` takes back)."""
    return f'"{version}"'


MAX_VERSION_DIGITS = 15
_IF_MATCH = re.compile(rf'"?([1-9][0-9]{{0,{MAX_VERSION_DIGITS - 1}}})"?')


def expected_version(request: Any) -> int | None:
    """Optimistic concurrency: ``If-Match: "<version>"`` (the ETag as given; unquoted
    accepted) or ``*`` (any current version). Anything else is a 400: one version, ASCII
    digits, at most 15 of them, quotes on both sides or neither."""
    raw = request.headers.get(IF_MATCH_HEADER)
    if raw is None or raw.strip() == "*":
        return None
    match = _IF_MATCH.fullmatch(raw.strip())
    if not match or raw.strip().count('"') == 1:
        raise ValidationError(
            f'must be one ETag of this schedule ("<version>", 1-{MAX_VERSION_DIGITS} digits) or *', field="If-Match"
        )
    return int(match.group(1))


def schedule_id(value: str) -> str:
    """Ids are UUIDs: anything else cannot exist (404, not a lookup)."""
    from chalicelib.models import is_schedule_id  # pydantic: on first use, not at import

    if not is_schedule_id(value):
        raise NotFound(f"schedule {value} does not exist")
    return value


def template_name(value: str) -> str:
    """A template's name from the path (404 when it cannot be one)."""
    from chalicelib.models import NAME_PATTERN

    if not NAME_PATTERN.fullmatch(value):
        raise NotFound(f"template {value[:64]} does not exist")
    return value


def calendar_name(value: str) -> str:
    """A calendar's name from the path (404 when it cannot be one)."""
    from chalicelib.models import NAME_PATTERN

    if not NAME_PATTERN.fullmatch(value):
        raise NotFound(f"calendar {value[:64]} does not exist")
    return value
