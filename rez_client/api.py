"""Talking to the API: its document, its operations, signed requests, its errors."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

DOCUMENT_PATH = "/api/openapi.json"
AUTH_MODES = ("none", "sigv4", "cognito")
TIMEOUT_SECONDS = 30
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


class ClientError(Exception):
    """Anything the user must read: the API's answer to a refused request, or why none came."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        code: str | None = None,
        errors: list[tuple[str, str]] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.errors = errors or []  # (field, message) for each field a 400 names

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        if self.errors:  # one failing field per line
            return f"{self.status} {self.code or 'Error'}\n" + "\n".join(f"  {f}: {m}" for f, m in self.errors)
        return f"{self.status} {self.code or 'Error'}: {self.message}"


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header
    required: bool
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    parameters: tuple[Parameter, ...]
    has_body: bool


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Auth:
    mode: str = "none"
    token: str | None = None
    region: str | None = None

    def headers_for(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        if self.mode == "none":
            return headers
        if self.mode == "cognito":
            if not self.token:
                raise ClientError("--auth cognito needs a token: --token or REZ_TOKEN")
            return {**headers, "Authorization": self.token}
        if self.mode == "sigv4":
            return sigv4_headers(method, url, body, headers, self.region)
        raise ClientError(f"--auth must be one of {', '.join(AUTH_MODES)}")


def sigv4_headers(
    method: str, url: str, body: bytes | None, headers: dict[str, str], region: str | None = None
) -> dict[str, str]:
    """The headers of a request signed for API Gateway (service ``execute-api``) with the
    caller's AWS credentials (the usual chain: environment, profile, instance role)."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = botocore.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise ClientError("--auth sigv4 needs AWS credentials (environment, profile or role)")
    region = region or _region_of(url) or session.get_config_variable("region")
    if not region:
        raise ClientError("--auth sigv4 needs a region: --region or AWS_REGION")
    request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def _region_of(url: str) -> str | None:
    match = _REGION_IN_HOST.search(urllib.parse.urlsplit(url).netloc)
    return match.group(1) if match else os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


@dataclass
class Api:
    base: str
    auth: Auth = field(default_factory=Auth)
    timeout: float = TIMEOUT_SECONDS
    acting_as: str | None = None  # X-Created-By on an open (local) stage

    def __post_init__(self) -> None:
        self.base = self.base.rstrip("/")
        if not self.base.startswith(("http://", "https://")):
            raise ClientError(f"--base must be an http(s) URL, not {self.base!r}")

    def document(self) -> dict[str, Any]:
        answer = self.send("GET", DOCUMENT_PATH)
        if not isinstance(answer.body, dict) or "paths" not in answer.body:
            raise ClientError(f"{self.base}{DOCUMENT_PATH} is not an OpenAPI document")
        return answer.body

    def send(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> Answer:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        sent = {"Accept": "application/json", **(headers or {})}
        if self.acting_as:
            sent["X-Created-By"] = self.acting_as
        if data is not None:
            sent["Content-Type"] = "application/json"
        sent = self.auth.headers_for(method, url, data, sent)
        request = urllib.request.Request(url, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Answer(response.status, dict(response.headers.items()), _decode(response.read()))
        except urllib.error.HTTPError as error:
            raise refusal(error.code, _decode(error.read()), str(error.reason)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ClientError(f"cannot reach {self.base}: {reason}") from None


def refusal(status: int, payload: Any, reason: str) -> ClientError:
    """The API's refusal as a ClientError: its message, code and failing fields."""
    if not isinstance(payload, dict):
        return ClientError(str(payload or reason), status=status)
    message = payload.get("Message") or payload.get("message") or json.dumps(payload)
    errors = [
        (str(entry.get("field")), str(entry.get("message")))
        for entry in payload.get("Errors") or []
        if isinstance(entry, dict)
    ]
    return ClientError(str(message), status=status, code=payload.get("Code"), errors=errors)


def operations(document: dict[str, Any]) -> dict[tuple[str, str], Operation]:
    """Every operation of the document, keyed by (METHOD, path)."""
    out: dict[tuple[str, str], Operation] = {}
    for path, methods in document.get("paths", {}).items():
        for method, spec in methods.items():
            parameters = tuple(
                Parameter(
                    name=p["name"],
                    location=p["in"],
                    required=bool(p.get("required")),
                    description=p.get("description", ""),
                    schema=p.get("schema", {}),
                )
                for p in spec.get("parameters", [])
            )
            out[(method.upper(), path)] = Operation(
                method=method.upper(),
                path=path,
                operation_id=spec.get("operationId", ""),
                summary=spec.get("summary", ""),
                parameters=parameters,
                has_body="requestBody" in spec,
            )
    return out


def _decode(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
