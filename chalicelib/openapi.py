"""The API's OpenAPI 3.1 document, generated from the routes and the pydantic models.

Each view in ``app.py`` is declared once with ``@api.operation(...)`` (summary, request
model, response model, query parameters, headers, errors); ``document()`` joins those
declarations with the Chalice routes (``app.routes``: paths, methods, path parameters) and
the models' JSON Schemas (``model_json_schema``). Changing a route or a model changes the
document; a route nobody declared, or a declaration no route serves, is reported by
``undeclared()`` / ``unrouted()`` (the tests fail on either).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

OPENAPI_VERSION = "3.1.0"
TITLE = "rez-agent schedules"
API_VERSION = "1.0.0"
SCHEMA_REF = "#/components/schemas/{model}"

F = TypeVar("F", bound=Callable[..., Any])

# --- declarations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A query parameter or a request header."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class Operation:
    view_name: str
    summary: str
    description: str = ""
    tag: str = "schedules"
    request: str | None = None  # a model's name, in chalicelib.models or chalicelib.api_models
    response: str | None = None
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses with the same answer (a dry run's 200)
    media_type: str = "application/json"
    query: tuple[Param, ...] = ()
    headers: tuple[Param, ...] = ()
    response_headers: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    secured: bool = True
    links: tuple[str, ...] = ()  # views that take this answer's ``id`` as their ``{id}``


IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "A retried create with the same key (from the same caller) answers the same schedule; "
    "the same key with a different definition is a 409. 1-256 printable ASCII characters.",
    {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[\\x20-\\x7e]{1,256}$"},
)
BULK_IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "A repeated bulk call with the same key writes (or runs) nothing twice: each schedule's "
    "write carries a token derived from the key.",
    {"type": "string", "minLength": 1, "maxLength": 256},
)
IF_MATCH = Param(
    "If-Match",
    "The schedule's ETag this change applies to (\"<version>\", or the version unquoted; 1-15 "
    "digits), or * for any version; another version is a 409, anything else a 400.",
    {"type": "string", "pattern": r'^(\*|"[1-9][0-9]{0,14}"|[1-9][0-9]{0,14})$'},
)
CREATED_BY = Param(
    "X-Created-By",
    "Who is asking, on a stage without authentication (ignored when the stage authenticates): "
    "a caller sees and changes only its own schedules.",
    {"type": "string", "minLength": 1, "maxLength": 128},
)
LABEL_FILTER = Param(
    "label",
    "Only schedules with this label, key=value; repeat it for several (all must match).",
    {"type": "array", "items": {"type": "string", "pattern": "^[^=]+=.*$", "maxLength": 385}, "maxItems": 5},
)
ETAG = Param("ETag", "The schedule's version, quoted: send it back as If-Match.", {"type": "string"})
LOCATION = Param(
    "Location",
    "The new schedule's URL, from the stage's configured base URL or API Gateway's domain "
    "(root-relative when neither is known); never from the request's Host.",
    {"type": "string", "format": "uri-reference"},
)


def limit_param(maximum: int) -> Param:
    return Param("limit", "Items per page.", {"type": "integer", "minimum": 1, "maximum": maximum, "default": 50})


LIST_LIMIT_MAX = 100  # chalicelib.service.MAX_LIST_LIMIT (a test holds them equal); no import at cold start
CURSOR = Param(
    "cursor",
    "The next_cursor of the previous page, as given: signed by the stage, so any other value is a 400.",
    {"type": "string", "minLength": 3, "maxLength": 4096, "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$"},
)
# What every JSON body is held to before its model (chalicelib.strict_json); a test holds
# these figures equal to the parser's.
BODY_RULES = (
    "A JSON object of at most 300,000 bytes (413 above), nested at most 64 levels deep, with no "
    "number of more than 38 digits (or an exponent of more than 3), no NaN or Infinity and no key "
    "twice in one object; anything else is a 400 naming the rule."
)

_ERROR_TEXT = {
    400: "The request breaks a rule: the message says which in words, Errors lists each failing field.",
    404: "No such schedule.",
    401: "The request carries no identity the stage accepts.",
    403: "API Gateway's authorizer refused the request (its own body: {\"message\": ...}).",
    409: "A conflict: the schedule is deleted, changed since the version sent, or the key was used.",
    413: "The body or the payload is too large.",
    415: "The body is not application/json.",
    429: "The caller has as many live schedules as the stage allows.",
    500: "An unexpected error: the message names only a request id to report (the logs carry it).",
    501: "This stage cannot do it: run now or backfill where no target function is deployed (make local on moto).",
    502: "AWS rejected the request.",
    503: "AWS is unavailable or throttling; retry later.",
}
_ALWAYS = (500, 502, 503)
_ERROR_MODEL = {400: "InvalidRequestBody"}  # a 400 lists each failing field
_GATEWAY_REFUSAL = {"type": "object", "properties": {"message": {"type": ["string", "null"]}}}
_PATH_PARAM = re.compile(r"{([^}]+)}")


class Registry:
    """Declarations of the API's operations, keyed by view function name."""

    def __init__(self) -> None:
        self._operations: dict[str, Operation] = {}

    def operation(self, summary: str, **details: Any) -> Callable[[F], F]:
        def register(view: F) -> F:
            # keyed by name, so importing app.py again (as packaging does) re-declares in place;
            # Chalice itself refuses two views of one name
            self._operations[view.__name__] = Operation(view_name=view.__name__, summary=summary, **details)
            return view

        return register

    @property
    def operations(self) -> dict[str, Operation]:
        return dict(self._operations)

    def _routed_views(self, routes: dict[str, dict[str, Any]]) -> set[str]:
        return {
            entry.view_name
            for methods in routes.values()
            for entry in methods.values()
            if entry.view_name in self._operations
        }

    def undeclared(self, routes: dict[str, dict[str, Any]]) -> list[str]:
        """``METHOD path`` of every route without a declaration."""
        return sorted(
            f"{method} {path}"
            for path, methods in routes.items()
            for method, entry in methods.items()
            if entry.view_name not in self._operations
        )

    def unrouted(self, routes: dict[str, dict[str, Any]]) -> list[str]:
        """Declared views that no route serves."""
        served = {entry.view_name for methods in routes.values() for entry in methods.values()}
        return sorted(set(self._operations) - served)

    def document(
        self,
        routes: dict[str, dict[str, Any]],
        auth_mode: str = "none",
        server_url: str | None = None,
    ) -> dict[str, Any]:
        schemas: dict[str, Any] = {}
        schemas["ErrorBody"] = _schema("ErrorBody", "serialization", schemas)
        schemas["InvalidRequestBody"] = _schema("InvalidRequestBody", "serialization", schemas)
        paths: dict[str, Any] = {}
        for path in sorted(routes):
            for method in sorted(routes[path]):
                entry = routes[path][method]
                declared = self._operations.get(entry.view_name)
                if declared is None:
                    continue
                paths.setdefault(path, {})[method.lower()] = _operation(
                    path, declared, schemas, auth_mode, self._routed_views(routes)
                )
        document: dict[str, Any] = {
            "openapi": OPENAPI_VERSION,
            "info": {
                "title": TITLE,
                "version": API_VERSION,
                "description": "Schedules that fire web actions, notifications or custom targets "
                "through EventBridge Scheduler. Writes answer 202: the schedule is pending until "
                "the command handler applies it.",
            },
            "paths": paths,
            "components": {"schemas": dict(sorted(schemas.items()))},
        }
        if server_url:
            document["servers"] = [{"url": server_url}]
        scheme = _security_scheme(auth_mode)
        if scheme:
            document["components"]["securitySchemes"] = {auth_mode: scheme}
        return document


def _operation(
    path: str, op: Operation, schemas: dict[str, Any], auth_mode: str, routed: set[str]
) -> dict[str, Any]:
    parameters = _parameters(path, op)
    secured = bool(op.secured and _security_scheme(auth_mode))
    operation: dict[str, Any] = {
        "operationId": op.view_name,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {str(status): _success(op, schemas, routed) for status in (op.status, *op.also)},
    }
    if op.description:
        operation["description"] = op.description
    if parameters:
        operation["parameters"] = parameters
    if op.request is not None:
        operation["requestBody"] = {
            "required": True,
            "description": BODY_RULES,
            "content": {"application/json": {"schema": _ref(op.request, "validation", schemas)}},
        }
    for status in _error_statuses(op, parameters, secured):
        body = _GATEWAY_REFUSAL if status == 403 else {"$ref": SCHEMA_REF.format(model=_ERROR_MODEL.get(status, "ErrorBody"))}
        operation["responses"][str(status)] = {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": body}},
        }
    if secured:
        operation["security"] = [{auth_mode: []}]
    elif _security_scheme(auth_mode):
        operation["security"] = [{}]
    return operation


def _parameters(path: str, op: Operation) -> list[dict[str, Any]]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": "the schedule id",
            "schema": {"type": "string", "format": "uuid"},
        }
        for name in _PATH_PARAM.findall(path)
    ]
    parameters += [_param(param, "query") for param in op.query]
    parameters += [_param(param, "header") for param in op.headers]
    return parameters


def _success(op: Operation, schemas: dict[str, Any], routed: set[str]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        schema = _ref(op.response, "serialization", schemas)
    else:
        schema = {"type": "object" if op.media_type == "application/json" else "string"}
    success["content"] = {op.media_type: {"schema": schema}}
    if op.response_headers:
        success["headers"] = {
            header.name: {"description": header.description, "schema": header.schema, "required": True}
            for header in op.response_headers
        }
    links = {
        target: {"operationId": target, "parameters": {"id": "$response.body#/id"}}
        for target in op.links
        if target in routed
    }
    if links:
        success["links"] = links
    return success


def _error_statuses(op: Operation, parameters: list[dict[str, Any]], secured: bool) -> list[int]:
    errors = set(op.errors) | set(_ALWAYS)
    if parameters or op.request is not None:
        errors.add(400)
    if op.request is not None:
        errors |= {413, 415}
    if any(p["in"] == "path" for p in parameters):
        errors.add(404)
    if secured:
        errors |= {401, 403}
    return sorted(errors)


def _param(param: Param, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": param.name, "in": where, "description": param.description, "schema": param.schema}
    if param.required:
        out["required"] = True
    return out


def _ref(name: str, mode: str, schemas: dict[str, Any]) -> dict[str, Any]:
    schemas[name] = _schema(name, mode, schemas)
    return {"$ref": SCHEMA_REF.format(model=name)}


def _schema(name: str, mode: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON Schema; the models load here, not when app.py declares its views
    (a cold start imports no pydantic)."""
    from chalicelib import api_models, models

    model = getattr(api_models, name, None) or getattr(models, name)
    schema: dict[str, Any] = model.model_json_schema(ref_template=SCHEMA_REF, mode=mode)
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    return schema


def _security_scheme(auth_mode: str) -> dict[str, Any] | None:
    if auth_mode == "iam":
        return {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": "AWS Signature Version 4 with the caller's IAM credentials (service execute-api).",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    if auth_mode == "cognito":
        return {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": "A Cognito user pool ID or access token, as is, in the Authorization header.",
        }
    return None


def auth_mode_of(settings: Any) -> str:
    """The stage's authentication (``none`` unless the configuration names one)."""
    return str(getattr(settings, "auth_mode", None) or "none")


def paths_and_methods(document: dict[str, Any]) -> Iterable[tuple[str, str]]:
    for path, methods in document.get("paths", {}).items():
        for method in methods:
            yield path, method.upper()



api = Registry()
