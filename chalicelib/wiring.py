"""Builds the service objects from configuration, once per configuration.

``app.py`` asks for them here on first use, so importing the app creates no AWS client,
and tests that change the environment get objects for the new endpoint. The modules behind
them (pydantic models, the repository, the gateway) are imported on first use too: a cold
start pays for them in the first request, not in ``import app``.

Every object that reads the time gets the one clock held here (``clock()``): the system's
UTC time, or the clock a test sets once with ``use_clock``.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from chalicelib import clients, names
from chalicelib.clock import Clock, system_clock
from chalicelib.config import Settings, get_settings

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.activity import ActivityStore
    from chalicelib.alerts import AlertSweep
    from chalicelib.backfill import BackfillService, BackfillWalker
    from chalicelib.bulk import BulkService
    from chalicelib.calendar_store import CalendarService, CalendarStore
    from chalicelib.dead_letters import DeadLetterRecorder
    from chalicelib.fleet import Glance
    from chalicelib.publisher import AwsPublisher
    from chalicelib.reconcile import ScheduleReconciler
    from chalicelib.rejections import Rejecter
    from chalicelib.reports import ReportService, ResultsHandler
    from chalicelib.repository import DynamoDBScheduleRepository
    from chalicelib.run_now import LambdaTargetInvoker, RunNowService
    from chalicelib.runs import RunStore, TargetRunner
    from chalicelib.scheduler import EventBridgeSchedulerGateway
    from chalicelib.service import CommandHandler, ScheduleService
    from chalicelib.sns_messages import TopicMessageHandler
    from chalicelib.template_store import TemplateService
    from chalicelib.timeline import TimelineService


_clock: Clock = system_clock


def clock() -> Clock:
    """The clock every service object reads."""
    return _clock


def now() -> datetime:
    """The time now, by the service's clock."""
    return _clock()


def use_clock(chosen: Clock | None) -> None:
    """Read ``chosen`` from now on (None: the system's time again); what was built on the
    previous clock is built again on first use."""
    global _clock
    _clock = chosen or system_clock
    _forget_built()


@lru_cache(maxsize=8)
def repository(settings: Settings) -> DynamoDBScheduleRepository:
    from chalicelib.repository import DynamoDBScheduleRepository

    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    return DynamoDBScheduleRepository(table, clock=_clock)


@lru_cache(maxsize=8)
def publisher(settings: Settings) -> AwsPublisher:
    from chalicelib.publisher import AwsPublisher

    return AwsPublisher(
        client_for=partial(_client, settings=settings),
        command_topic_arn=partial(clients.topic_arn, settings.command_topic_name, settings),
    )


@lru_cache(maxsize=8)
def alert_publisher(settings: Settings) -> AwsPublisher:
    """The alert sweep's publisher: one attempt per publish, so an answer lost on the way
    back is never sent again (chalicelib/alerts.py)."""
    from chalicelib.publisher import AwsPublisher

    return AwsPublisher(
        client_for=partial(clients.client, settings=settings, single_attempt=True),
        command_topic_arn=partial(clients.topic_arn, settings.command_topic_name, settings),
    )


@lru_cache(maxsize=8)
def activity(settings: Settings) -> ActivityStore:
    from chalicelib.activity import ActivityStore

    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    return ActivityStore(repository(settings), table, history_ttl_days=settings.history_ttl_days,
                         grace_seconds=settings.late_grace_seconds, clock=_clock)


def target_function_arn(settings: Settings) -> str:
    """The stage's target function: what EventBridge Scheduler and run-now invoke."""
    return settings.target_function_arn or clients.function_arn(
        settings.names.function(names.SCHEDULE_TARGET), settings
    )


@lru_cache(maxsize=8)
def gateway(settings: Settings) -> EventBridgeSchedulerGateway:
    from chalicelib.retry import role_propagation_retry
    from chalicelib.scheduler import EventBridgeSchedulerGateway, Target

    return EventBridgeSchedulerGateway(
        clients.client("scheduler", settings),
        group_name=settings.schedule_group_name,
        target=Target(
            function_arn=target_function_arn(settings),
            role_arn=clients.role_arn(settings.execution_role_name, settings),
            dead_letter_arn=clients.queue_arn(settings.dead_letter_queue_name, settings),
        ),
        role_retry=role_propagation_retry(settings),
        clock=_clock,
    )


def schedule_service(settings: Settings | None = None) -> ScheduleService:
    from chalicelib.service import ScheduleService

    settings = settings or get_settings()
    return ScheduleService(
        repository(settings),
        publisher(settings),
        custom_target_prefix=settings.names.custom_target_prefix,
        deleted_ttl_days=settings.deleted_ttl_days,
        region=settings.region,
        account_id=partial(clients.account_id, settings),
        max_schedules_per_owner=settings.max_schedules_per_owner,
        clock=_clock,
        calendars=calendar_store(settings),
    )


def calendar_store(settings: Settings | None = None) -> CalendarStore:
    """Exclusion calendars (chalicelib.calendar_store), in the schedules table."""
    return _calendar_store(settings or get_settings())


def calendar_service(settings: Settings | None = None) -> CalendarService:
    from chalicelib.calendar_store import CalendarService

    settings = settings or get_settings()
    return CalendarService(_calendar_store(settings), repository(settings))


@lru_cache(maxsize=8)
def _calendar_store(settings: Settings) -> CalendarStore:
    from chalicelib.calendar_store import CalendarStore

    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    return CalendarStore(table, clock=_clock)


def command_handler(settings: Settings | None = None) -> CommandHandler:
    from chalicelib.backoff import ErrorBackoff
    from chalicelib.service import CommandHandler

    settings = settings or get_settings()
    return CommandHandler(
        repository(settings), gateway(settings), settings.deleted_ttl_days,
        backoff=ErrorBackoff(
            settings.error_retry_base_seconds, settings.error_retry_cap_seconds, settings.denied_retry_limit,
        ),
        recorder=activity(settings),
        clock=_clock,
    )


def topic_messages(settings: Settings | None = None) -> TopicMessageHandler:
    from chalicelib.sns_messages import TopicMessageHandler

    settings = settings or get_settings()
    return TopicMessageHandler(
        schedules=partial(schedule_service, settings),
        commands=partial(command_handler, settings),
        publisher=partial(publisher, settings),
        notifications_topic_arn=partial(clients.topic_arn, settings.notifications_topic_name, settings),
        clock=_clock,
    )


def target_runner(settings: Settings | None = None) -> TargetRunner:
    settings = settings or get_settings()
    return _target_runner(settings)


@lru_cache(maxsize=8)
def _target_runner(settings: Settings) -> TargetRunner:
    """One per configuration: it keeps the definitions it has read (by version)."""
    from chalicelib.alerts import Alerter
    from chalicelib.runs import TargetRunner

    notifications = partial(clients.topic_arn, settings.notifications_topic_name, settings)
    return TargetRunner(
        run_store(settings),
        publisher(settings),
        web_actions_topic_arn=partial(clients.topic_arn, settings.web_actions_topic_name, settings),
        notifications_topic_arn=notifications,
        alerter=Alerter(activity(settings), publisher(settings), notifications),
        grace_seconds=settings.late_grace_seconds,
        results_topic_arn=partial(clients.topic_arn, settings.results_topic_name, settings),
        clock=_clock,
        calendars=calendar_store(settings).days,
    )


def report_service(settings: Settings | None = None) -> ReportService:
    """Records what workers report (chalicelib.reports): the route's and the results topic's."""
    from chalicelib.alerts import Alerter
    from chalicelib.reports import ReportService

    settings = settings or get_settings()
    notifications = partial(clients.topic_arn, settings.notifications_topic_name, settings)
    return ReportService(
        run_store(settings), repository(settings),
        alerter=Alerter(activity(settings), publisher(settings), notifications),
        invoker=partial(target_invoker, settings), grace_seconds=settings.late_grace_seconds, clock=_clock,
    )


def results_handler(settings: Settings | None = None) -> ResultsHandler:
    from chalicelib.reports import ResultsHandler

    settings = settings or get_settings()
    return ResultsHandler(reports=partial(report_service, settings), rejecter=partial(rejecter, settings))


@lru_cache(maxsize=8)
def run_store(settings: Settings) -> RunStore:
    from chalicelib.runs import RunStore

    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    return RunStore(table, ttl_days=settings.execution_ttl_days, clock=_clock, records=repository(settings))


def dead_letter_recorder(settings: Settings | None = None) -> DeadLetterRecorder:
    from chalicelib.dead_letters import DeadLetterRecorder

    settings = settings or get_settings()
    return DeadLetterRecorder(run_store(settings), rejecter(settings), clock=_clock)


def rejecter(settings: Settings | None = None) -> Rejecter:
    """Rejection events to the notifications topic (chalicelib.rejections)."""
    from chalicelib.rejections import Rejecter

    settings = settings or get_settings()
    return Rejecter(
        partial(publisher, settings), partial(clients.topic_arn, settings.notifications_topic_name, settings), clock=_clock,
    )


def reconciler(settings: Settings | None = None) -> ScheduleReconciler:
    from chalicelib.reconcile import ScheduleReconciler

    settings = settings or get_settings()
    return ScheduleReconciler(
        repository(settings), gateway(settings), command_handler(settings),
        concurrency=settings.reconcile_concurrency, spot_checks=settings.reconcile_spot_checks,
        activity=activity(settings),
        clock=_clock,
    )


def timeline_service(settings: Settings | None = None) -> TimelineService:
    from chalicelib.timeline import TimelineService

    settings = settings or get_settings()
    return TimelineService(activity(settings), grace_seconds=settings.late_grace_seconds, clock=_clock,
                           calendars=calendar_store(settings).days)


def glance(settings: Settings | None = None) -> Glance:
    """What a list item says of a schedule's runs, from its record alone (chalicelib.fleet)."""
    from chalicelib.fleet import Glance

    settings = settings or get_settings()
    return Glance(grace_seconds=settings.late_grace_seconds, clock=_clock)


def target_invoker(settings: Settings) -> LambdaTargetInvoker:
    """Sends a run to the stage's target function (run-now, a buffered slot released)."""
    from chalicelib.run_now import LambdaTargetInvoker

    return LambdaTargetInvoker(
        client_for=partial(_client, "lambda", settings=settings),
        function_arn=partial(target_function_arn, settings),
    )


def run_now_service(settings: Settings | None = None) -> RunNowService:
    from chalicelib.run_now import RunNowService

    settings = settings or get_settings()
    return RunNowService(repository(settings), activity(settings), target_invoker(settings), clock=_clock)


def backfill_service(settings: Settings | None = None) -> BackfillService:
    from chalicelib.backfill import NO_TARGET_FUNCTION, BackfillService
    from chalicelib.run_now import LambdaTargetInvoker

    settings = settings or get_settings()
    invoker = LambdaTargetInvoker(
        client_for=partial(_client, "lambda", settings=settings),
        function_arn=partial(target_function_arn, settings),
        unavailable=NO_TARGET_FUNCTION,
    )
    return BackfillService(repository(settings), activity(settings), invoker,
                           grace_seconds=settings.late_grace_seconds, clock=_clock,
                           calendars=calendar_store(settings).days)


def backfill_walker(function_arn: str | None = None, settings: Settings | None = None) -> BackfillWalker:
    """The walk of a backfill's slots, in the target function; it continues by invoking
    ``function_arn`` (the invocation's own, from its context), else the stage's target."""
    from chalicelib.backfill import BackfillWalker
    from chalicelib.run_now import LambdaTargetInvoker

    settings = settings or get_settings()
    invoker = LambdaTargetInvoker(
        client_for=partial(_client, "lambda", settings=settings),
        function_arn=(lambda: function_arn) if function_arn else partial(target_function_arn, settings),
    )
    return BackfillWalker(_target_runner(settings), invoker)


def bulk_service(settings: Settings | None = None) -> BulkService:
    from chalicelib.bulk import BulkService

    settings = settings or get_settings()
    return BulkService(schedule_service(settings), run_now_service(settings))


def template_service(settings: Settings | None = None) -> TemplateService:
    from chalicelib.template_store import TemplateService, TemplateStore

    settings = settings or get_settings()
    table = clients.resource("dynamodb", settings).Table(settings.table_name)
    return TemplateService(TemplateStore(table, clock=_clock), schedule_service(settings))


def alert_sweep(settings: Settings | None = None) -> AlertSweep:
    from chalicelib.alerts import AlertSweep

    settings = settings or get_settings()
    return AlertSweep(
        repository(settings),
        activity(settings),
        alert_publisher(settings),
        notifications_topic_arn=partial(clients.topic_arn, settings.notifications_topic_name, settings),
        pauser=schedule_service(settings),
        grace_seconds=settings.late_grace_seconds,
        clock=_clock,
        calendars=calendar_store(settings).days,
    )


def reset() -> None:
    """Forget every client and every object built on them (tests call it between stages and
    endpoints; ``clients.reset()`` does the same)."""
    clients.reset()


def _forget_built() -> None:
    for cached in (repository, publisher, alert_publisher, gateway, activity, _target_runner, run_store,
                   _calendar_store):
        cached.cache_clear()


clients.on_reset(_forget_built)


def _client(service: str, settings: Settings) -> Any:
    return clients.client(service, settings)
