"""The one place that builds boto3 clients.

Clients are built on first use (not at import) and cached per (service, region, endpoint),
so a Lambda cold start pays only for what it calls, and tests that point
``AWS_ENDPOINT_URL`` at an emulator get clients for that endpoint. ``reset()`` drops the
cache (tests call it between endpoints); what was built on the clients is ``wiring``'s to
forget, and it asks to be told (``on_reset``): this module imports nothing of the app.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

from chalicelib.config import Settings, get_settings

_RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=5,
    read_timeout=20,
)

# For a call that must not be sent twice (an alert's publish): a lost answer is an error,
# never a resend (chalicelib/alerts.py).
_SINGLE_ATTEMPT_CONFIG = _RETRY_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))

_lock = threading.Lock()
_clients: dict[tuple[str | None, ...], Any] = {}
# One session for every client, and one loader of botocore's data files for every session:
# a fresh session re-reads the endpoint and service JSON (~0.15 s a client). ``reset()``
# drops the session (credentials are resolved again) but keeps the loaded data.
_session: boto3.session.Session | None = None
_data_loader = botocore.loaders.create_loader()
_account_ids: dict[tuple[str | None, ...], str] = {}
# What to forget with the clients (``wiring`` registers the objects it built on them).
_reset_listeners: list[Callable[[], None]] = []


def client(service: str, settings: Settings | None = None, single_attempt: bool = False) -> Any:
    """A cached boto3 client for ``service`` on the configured region and endpoint
    (``single_attempt``: one that never resends a request)."""
    return _cached("client-once" if single_attempt else "client", service, settings or get_settings())


def resource(service: str, settings: Settings | None = None) -> Any:
    """A boto3 resource (DynamoDB tables) on the configured region and endpoint."""
    return _cached("resource", service, settings or get_settings())


def _cached(kind: str, service: str, settings: Settings) -> Any:
    key = (kind, service, settings.region, settings.endpoint_url)
    cached = _clients.get(key)
    if cached is not None:
        return cached
    with _lock:
        if key not in _clients:
            build = getattr(_shared_session(), kind.removesuffix("-once"))
            _clients[key] = build(
                service,
                region_name=settings.region,
                endpoint_url=settings.endpoint_url,
                config=_SINGLE_ATTEMPT_CONFIG if kind.endswith("-once") else _RETRY_CONFIG,
            )
        return _clients[key]


def _shared_session() -> boto3.session.Session:
    """The process's boto3 session (call with ``_lock`` held)."""
    global _session
    if _session is None:
        core = botocore.session.Session()
        core.register_component("data_loader", _data_loader)
        _session = boto3.session.Session(botocore_session=core)
        paths = _data_loader.search_paths  # boto3 appends its data path on every session
        paths[:] = list(dict.fromkeys(paths))
    return _session


def reset() -> None:
    """Forget every cached client, resource and account id, and (through the listeners
    ``on_reset`` registered) what was built on them."""
    global _session
    with _lock:
        _session = None
        _clients.clear()
        _account_ids.clear()
    for listener in list(_reset_listeners):
        listener()


def on_reset(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever the clients are reset (once per listener)."""
    if listener not in _reset_listeners:
        _reset_listeners.append(listener)


def account_id(settings: Settings | None = None) -> str:
    """The AWS account id: ``AWS_ACCOUNT_ID`` if set, else STS GetCallerIdentity (cached)."""
    settings = settings or get_settings()
    if settings.account_id:
        return settings.account_id
    key = (settings.region, settings.endpoint_url)
    if key not in _account_ids:
        _account_ids[key] = client("sts", settings).get_caller_identity()["Account"]
    return _account_ids[key]


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def topic_arn(name: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return f"arn:{partition(settings.region)}:sns:{settings.region}:{account_id(settings)}:{name}"


def queue_arn(name: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return f"arn:{partition(settings.region)}:sqs:{settings.region}:{account_id(settings)}:{name}"


def role_arn(name: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return f"arn:{partition(settings.region)}:iam::{account_id(settings)}:role/{name}"


def function_arn(name: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return (
        f"arn:{partition(settings.region)}:lambda:{settings.region}:"
        f"{account_id(settings)}:function:{name}"
    )
