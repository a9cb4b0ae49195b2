"""Configuration: every environment variable the service reads, read at call time.

``get_settings()`` builds a frozen ``Settings`` from ``os.environ`` each time it is called
(it is cheap), so tests and the command line can change the environment freely. Resource
names follow the stage: ``resource_names(stage)`` is the single source of them for the
app, the stack command and the IAM policy.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

APP_NAME = "rez-agent"
DEFAULT_REGION = "us-east-1"

# Environment variable names, in one place.
ENV_STAGE = "STAGE"
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"
ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_LOCALSTACK_ENDPOINT = "LOCALSTACK_ENDPOINT"
ENV_ACCOUNT_ID = "AWS_ACCOUNT_ID"
ENV_TABLE = "SCHEDULES_TABLE_NAME"
# The command topic (create, update, pause, resume, delete); its variable keeps the name the
# first stages were deployed with, as the topic keeps its name.
ENV_COMMAND_TOPIC = "SCHEDULE_CREATION_TOPIC_NAME"
ENV_WEB_ACTIONS_TOPIC = "WEB_ACTIONS_TOPIC_NAME"
ENV_NOTIFICATIONS_TOPIC = "NOTIFICATIONS_TOPIC_NAME"
ENV_RESULTS_TOPIC = "RESULTS_TOPIC_NAME"
ENV_EXECUTION_ROLE = "EVENTBRIDGE_EXECUTION_ROLE_NAME"
ENV_GROUP = "SCHEDULE_GROUP_NAME"
ENV_DEAD_LETTER_QUEUE = "DEAD_LETTER_QUEUE_NAME"
ENV_TARGET_FUNCTION_ARN = "TARGET_FUNCTION_ARN"
ENV_DELETED_TTL_DAYS = "DELETED_SCHEDULE_TTL_DAYS"
ENV_EXECUTION_TTL_DAYS = "EXECUTION_RECORD_TTL_DAYS"
ENV_RECONCILE_MINUTES = "RECONCILE_INTERVAL_MINUTES"
ENV_ALERT_SWEEP_MINUTES = "ALERT_SWEEP_INTERVAL_MINUTES"
ENV_LATE_GRACE_SECONDS = "LATE_GRACE_SECONDS"
ENV_HISTORY_TTL_DAYS = "HISTORY_TTL_DAYS"
ENV_ROLE_PROPAGATION_ATTEMPTS = "ROLE_PROPAGATION_RETRY_ATTEMPTS"
ENV_ROLE_PROPAGATION_DELAY = "ROLE_PROPAGATION_RETRY_DELAY_SECONDS"
ENV_RECONCILE_CONCURRENCY = "RECONCILE_CONCURRENCY"
ENV_RECONCILE_SPOT_CHECKS = "RECONCILE_SPOT_CHECKS"
ENV_ERROR_RETRY_BASE = "ERROR_RETRY_BASE_SECONDS"
ENV_ERROR_RETRY_CAP = "ERROR_RETRY_CAP_SECONDS"
ENV_DENIED_RETRY_LIMIT = "DENIED_RETRY_LIMIT"
ENV_MAX_SCHEDULES_PER_OWNER = "MAX_SCHEDULES_PER_OWNER"
ENV_AUTH_MODE = "AUTH_MODE"
ENV_COGNITO_USER_POOL_ARNS = "COGNITO_USER_POOL_ARNS"
ENV_ADMIN_PRINCIPALS = "ADMIN_PRINCIPALS"
ENV_ADMIN_COGNITO_GROUP = "ADMIN_COGNITO_GROUP"
ENV_CORS_ALLOWED_ORIGINS = "CORS_ALLOWED_ORIGINS"
ENV_CURSOR_SIGNING_KEY = "CURSOR_SIGNING_KEY"
ENV_API_BASE_URL = "API_BASE_URL"

# A stage's name: a letter, then letters, digits or '_', at most 16 (the longest resource
# name, the execution role's, must stay within IAM's 64 characters). No '-': the stage's
# names end at the first '-' after it, so one stage's prefix (``rez-agent-custom-dev-``) can
# never cover another stage's names (``dev-eu`` would be ``rez-agent-custom-dev-eu-``).
STAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}")


def check_stage(stage: str) -> str:
    """``stage``, or ``ValueError`` saying why it cannot name a stage."""
    if not STAGE_NAME.fullmatch(stage):
        raise ValueError(
            f"stage {stage!r}: a stage's name is a letter, then up to 15 letters, digits or '_' "
            "(no '-': it would make one stage's resource prefix cover another's)"
        )
    return stage


def partition_of(region: str) -> str:
    """The standard partition a region belongs to (what its ARNs start with)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# How the API authenticates its callers (see chalicelib/auth.py and docs/security.md).
AuthMode = Literal["iam", "cognito", "none"]
AUTH_IAM: Final = "iam"
AUTH_COGNITO: Final = "cognito"
AUTH_NONE: Final = "none"
AUTH_MODES: tuple[AuthMode, ...] = (AUTH_IAM, AUTH_COGNITO, AUTH_NONE)


# Each resource name can be overridden by its environment variable; every consumer (the
# functions, the IAM policies, the execution role, the packaged template, the stack) reads
# the names through ``resource_names``, so an override is honoured everywhere at once.
NAME_OVERRIDES = {
    "table": ENV_TABLE,
    "command_topic": ENV_COMMAND_TOPIC,
    "web_actions_topic": ENV_WEB_ACTIONS_TOPIC,
    "notifications_topic": ENV_NOTIFICATIONS_TOPIC,
    "results_topic": ENV_RESULTS_TOPIC,
    "execution_role": ENV_EXECUTION_ROLE,
    "schedule_group": ENV_GROUP,
    "dead_letter_queue": ENV_DEAD_LETTER_QUEUE,
}


@dataclass(frozen=True)
class ResourceNames:
    """The names of one stage's resources (see DESIGN: Resources, per stage), with the
    overrides in force (environment variable -> name)."""

    stage: str
    overrides: tuple[tuple[str, str], ...] = ()

    def _named(self, variable: str, default: str) -> str:
        return dict(self.overrides).get(variable) or default

    @property
    def table(self) -> str:
        return self._named(ENV_TABLE, f"{APP_NAME}-schedules-{self.stage}")

    @property
    def command_topic(self) -> str:
        return self._named(ENV_COMMAND_TOPIC, f"{APP_NAME}-schedule-creation-{self.stage}")

    @property
    def web_actions_topic(self) -> str:
        return self._named(ENV_WEB_ACTIONS_TOPIC, f"{APP_NAME}-web-actions-{self.stage}")

    @property
    def notifications_topic(self) -> str:
        return self._named(ENV_NOTIFICATIONS_TOPIC, f"{APP_NAME}-notifications-{self.stage}")

    @property
    def results_topic(self) -> str:
        """Where workers publish how their runs ended."""
        return self._named(ENV_RESULTS_TOPIC, f"{APP_NAME}-results-{self.stage}")

    @property
    def execution_role(self) -> str:
        return self._named(
            ENV_EXECUTION_ROLE, f"{APP_NAME}-eventbridge-scheduler-execution-role-{self.stage}"
        )

    @property
    def schedule_group(self) -> str:
        return self._named(ENV_GROUP, f"{APP_NAME}-{self.stage}")

    @property
    def dead_letter_queue(self) -> str:
        """Runs EventBridge Scheduler or Lambda gave up on (see chalicelib.dead_letters)."""
        return self._named(ENV_DEAD_LETTER_QUEUE, f"{APP_NAME}-dead-letters-{self.stage}")

    @property
    def custom_target_prefix(self) -> str:
        """Custom targets must be named with this prefix (the IAM policy is scoped to it);
        stage names hold no '-' (``check_stage``), so it is this stage's alone."""
        return f"{APP_NAME}-custom-{self.stage}-"

    @property
    def chalice_app(self) -> str:
        return f"{APP_NAME}-schedules"

    def function(self, function_name: str) -> str:
        """Chalice names a deployed function ``<app>-<stage>-<function>``."""
        return f"{self.chalice_app}-{self.stage}-{function_name}"

    def environment(self) -> dict[str, str]:
        """The environment variables that carry these names to the functions."""
        return {variable: getattr(self, attribute) for attribute, variable in NAME_OVERRIDES.items()}

    def overridden(self) -> dict[str, str]:
        """Only the names that differ from the stage's defaults (environment -> name)."""
        return dict(self.overrides)


def resource_names(stage: str, environ: Mapping[str, str] | None = None) -> ResourceNames:
    """The stage's resource names, with the overrides set in ``environ`` (default: the
    process environment)."""
    env = os.environ if environ is None else environ
    check_stage(stage)
    overrides = tuple(
        (variable, env[variable]) for variable in NAME_OVERRIDES.values() if env.get(variable)
    )
    return ResourceNames(stage, overrides)


@dataclass(frozen=True)
class Settings:
    """The service's configuration, frozen and hashable; build it with ``get_settings()``.

    A plain dataclass, not a pydantic model: the app builds one at import (a decorator
    argument reads it), and pydantic would add its own import time to every cold start."""

    stage: str
    region: str
    endpoint_url: str | None
    account_id: str | None
    table_name: str
    command_topic_name: str
    web_actions_topic_name: str
    notifications_topic_name: str
    results_topic_name: str
    execution_role_name: str
    schedule_group_name: str
    dead_letter_queue_name: str
    target_function_arn: str | None
    names: ResourceNames
    deleted_ttl_days: int = 7
    execution_ttl_days: int = 30
    reconcile_interval_minutes: int = 15
    alert_sweep_interval_minutes: int = 1
    late_grace_seconds: int = 120
    history_ttl_days: int = 90
    role_propagation_retry_attempts: int = 10
    role_propagation_retry_delay_seconds: float = 3.0
    reconcile_concurrency: int = 16
    reconcile_spot_checks: int = 5
    error_retry_base_seconds: float = 60.0
    error_retry_cap_seconds: float = 21600.0
    denied_retry_limit: int = 10
    max_schedules_per_owner: int = 1000
    auth_mode: AuthMode = AUTH_IAM
    cognito_user_pool_arns: tuple[str, ...] = ()
    admin_principals: tuple[str, ...] = ()
    admin_cognito_group: str | None = None
    cors_allowed_origins: tuple[str, ...] = ()
    cursor_signing_key: str | None = None
    api_base_url: str | None = None

    @property
    def cursor_key(self) -> bytes:
        """The key page cursors are signed with (chalicelib.cursors): the stage's
        ``CURSOR_SIGNING_KEY``, else one derived from the stage's names (signs, not secret)."""
        material = self.cursor_signing_key or f"{APP_NAME}\n{self.stage}\n{self.table_name}"
        return hashlib.sha256(b"rez-agent page cursors\n" + material.encode()).digest()


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    return int(raw) if raw not in (None, "") else default


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    return float(raw) if raw not in (None, "") else default


def _list(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    """A comma-separated list; blanks dropped."""
    return tuple(item.strip() for item in (env.get(key) or "").split(",") if item.strip())


def _auth_mode(env: Mapping[str, str]) -> AuthMode:
    raw = (env.get(ENV_AUTH_MODE) or AUTH_IAM).strip().lower()
    for mode in AUTH_MODES:
        if raw == mode:
            return mode
    raise ValueError(f"{ENV_AUTH_MODE} must be one of {', '.join(AUTH_MODES)}, not {raw!r}")


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the configuration from the environment now."""
    env = os.environ if environ is None else environ
    stage = env.get(ENV_STAGE) or "dev"
    names = resource_names(stage, env)
    endpoint = env.get(ENV_ENDPOINT_URL) or env.get(ENV_LOCALSTACK_ENDPOINT) or None
    return Settings(
        stage=stage,
        region=env.get(ENV_REGION) or env.get(ENV_DEFAULT_REGION) or DEFAULT_REGION,
        endpoint_url=endpoint,
        account_id=env.get(ENV_ACCOUNT_ID) or None,
        names=names,
        table_name=names.table,
        command_topic_name=names.command_topic,
        web_actions_topic_name=names.web_actions_topic,
        notifications_topic_name=names.notifications_topic,
        results_topic_name=names.results_topic,
        execution_role_name=names.execution_role,
        schedule_group_name=names.schedule_group,
        dead_letter_queue_name=names.dead_letter_queue,
        target_function_arn=env.get(ENV_TARGET_FUNCTION_ARN) or None,
        deleted_ttl_days=_int(env, ENV_DELETED_TTL_DAYS, 7),
        execution_ttl_days=_int(env, ENV_EXECUTION_TTL_DAYS, 30),
        reconcile_interval_minutes=_int(env, ENV_RECONCILE_MINUTES, 15),
        alert_sweep_interval_minutes=_int(env, ENV_ALERT_SWEEP_MINUTES, 1),
        late_grace_seconds=_int(env, ENV_LATE_GRACE_SECONDS, 120),
        history_ttl_days=_int(env, ENV_HISTORY_TTL_DAYS, 90),
        role_propagation_retry_attempts=_int(env, ENV_ROLE_PROPAGATION_ATTEMPTS, 10),
        role_propagation_retry_delay_seconds=_float(env, ENV_ROLE_PROPAGATION_DELAY, 3.0),
        reconcile_concurrency=max(1, _int(env, ENV_RECONCILE_CONCURRENCY, 16)),
        reconcile_spot_checks=max(0, _int(env, ENV_RECONCILE_SPOT_CHECKS, 5)),
        error_retry_base_seconds=_float(env, ENV_ERROR_RETRY_BASE, 60.0),
        error_retry_cap_seconds=_float(env, ENV_ERROR_RETRY_CAP, 21600.0),
        denied_retry_limit=_int(env, ENV_DENIED_RETRY_LIMIT, 10),
        max_schedules_per_owner=_int(env, ENV_MAX_SCHEDULES_PER_OWNER, 1000),
        auth_mode=_auth_mode(env),
        cognito_user_pool_arns=_list(env, ENV_COGNITO_USER_POOL_ARNS),
        admin_principals=_list(env, ENV_ADMIN_PRINCIPALS),
        admin_cognito_group=(env.get(ENV_ADMIN_COGNITO_GROUP) or "").strip() or None,
        cors_allowed_origins=_list(env, ENV_CORS_ALLOWED_ORIGINS),
        cursor_signing_key=env.get(ENV_CURSOR_SIGNING_KEY) or None,
        api_base_url=_base_url(env),
    )


def _base_url(env: Mapping[str, str]) -> str | None:
    """``API_BASE_URL``: the stage's public root URL (a custom domain with its base path,
    or the local server), from which ``Location`` and the OpenAPI ``servers`` are built."""
    raw = (env.get(ENV_API_BASE_URL) or "").strip().rstrip("/")
    if not raw:
        return None
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~\-/]*)?", raw):
        raise ValueError(f"{ENV_API_BASE_URL} must be an http(s) URL such as https://api.example.com/schedules, not {raw!r}")
    return raw


def settings_for(stage: str, environ: Mapping[str, str] | None = None) -> Settings:
    """The configuration with ``stage`` as the stage (the rest from the environment)."""
    env = dict(os.environ if environ is None else environ)
    env[ENV_STAGE] = stage
    return get_settings(env)
