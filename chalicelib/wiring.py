"""Builds the service objects from configuration, once per configuration.

``app.py`` asks for them here on first use, so importing the app creates no AWS client,
and tests that change the environment get objects for the new endpoint.
"""

from __future__ import annotations

from functools import lru_cache, partial

from chalicelib import clients, names
from chalicelib.config import Settings, get_settings
from chalicelib.publisher import AwsPublisher
from chalicelib.reconcile import ScheduleReconciler
from chalicelib.retry import role_propagation_retry
from chalicelib.repository import DynamoDBScheduleRepository
from chalicelib.scheduler import EventBridgeSchedulerGateway, Target
from chalicelib.service import CommandHandler, ScheduleService, TargetRunner



@lru_cache(maxsize=8)
def repository(settings: Settings) -> DynamoDBScheduleRepository:
    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    return DynamoDBScheduleRepository(table)


@lru_cache(maxsize=8)
def publisher(settings: Settings) -> AwsPublisher:
    return AwsPublisher(
        client_for=partial(_client, settings=settings),
        creation_topic_arn=partial(clients.topic_arn, settings.creation_topic_name, settings),
    )


@lru_cache(maxsize=8)
def gateway(settings: Settings) -> EventBridgeSchedulerGateway:
    function_arn = settings.target_function_arn or clients.function_arn(
        settings.names.function(names.SCHEDULE_TARGET), settings
    )
    return EventBridgeSchedulerGateway(
        clients.client("scheduler", settings),
        group_name=settings.schedule_group_name,
        target=Target(function_arn=function_arn, role_arn=clients.role_arn(settings.execution_role_name, settings)),
        role_retry=role_propagation_retry(settings),
    )


def schedule_service(settings: Settings | None = None) -> ScheduleService:
    settings = settings or get_settings()
    return ScheduleService(
        repository(settings),
        publisher(settings),
        custom_target_prefix=settings.names.custom_target_prefix,
        deleted_ttl_days=settings.deleted_ttl_days,
        region=settings.region,
        account_id=partial(clients.account_id, settings),
        max_schedules_per_owner=settings.max_schedules_per_owner,
    )


def command_handler(settings: Settings | None = None) -> CommandHandler:
    settings = settings or get_settings()
    return CommandHandler(repository(settings), gateway(settings), settings.deleted_ttl_days)


def target_runner(settings: Settings | None = None) -> TargetRunner:
    settings = settings or get_settings()
    return TargetRunner(
        repository(settings),
        publisher(settings),
        web_actions_topic_arn=partial(clients.topic_arn, settings.web_actions_topic_name, settings),
        notifications_topic_arn=partial(clients.topic_arn, settings.notifications_topic_name, settings),
        execution_ttl_days=settings.execution_ttl_days,
    )


def reconciler(settings: Settings | None = None) -> ScheduleReconciler:
    settings = settings or get_settings()
    return ScheduleReconciler(repository(settings), gateway(settings), command_handler(settings))


def reset() -> None:
    """Forget every built object (tests call it with clients.reset())."""
    for cached in (repository, publisher, gateway):
        cached.cache_clear()


def _client(service: str, settings: Settings):
    return clients.client(service, settings)
