"""The schedule group provider against a stubbed Scheduler client: exact calls and retries."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib import errors
from chalicelib.config import get_settings
from ops.stack.group import (
    ENV_CONFLICT_RETRY_ATTEMPTS,
    ENV_CONFLICT_RETRY_DELAY,
    ScheduleGroupProvider,
    conflict_retry,
)
from ops.stack.model import Absent, Delete, Observed, Unowned

NAME = "rez-agent-unit"
ARN = f"arn:aws:scheduler:us-east-1:111122223333:schedule-group/{NAME}"
OURS = {"rez-agent:app": "rez-agent", "rez-agent:stage": "unit", "rez-agent:logical-id": "schedule-group"}


@pytest.fixture
def scheduler():
    client = boto3.client(
        "scheduler", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def provider_for(client, sleeps: list, **env) -> ScheduleGroupProvider:
    """A provider whose conflict retry reads ``env`` (not the process environment)."""
    settings = get_settings({"STAGE": "unit", "AWS_ACCOUNT_ID": "111122223333"})
    return ScheduleGroupProvider(
        settings, "schedule-group", NAME, sleep=sleeps.append, client_factory=lambda _: client,
        retry=conflict_retry(env, sleep=sleeps.append),
    )


def expect_read_back(stubber, tags=OURS, state="ACTIVE"):
    stubber.add_response("get_schedule_group", {"Arn": ARN, "Name": NAME, "State": state}, {"Name": NAME})
    stubber.add_response(
        "list_tags_for_resource",
        {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]},
        {"ResourceArn": ARN},
    )


def test_create_rides_conflicts_with_the_configured_delay_and_reads_back(scheduler):
    # GIVEN CreateScheduleGroup conflicts twice (the old group is DELETING), then works
    client, stubber = scheduler
    for _ in range(2):
        stubber.add_client_error("create_schedule_group", "ConflictException", http_status_code=409)
    stubber.add_response("create_schedule_group", {"ScheduleGroupArn": ARN}, {"Name": NAME, "Tags": ANY})
    expect_read_back(stubber)
    sleeps: list = []
    provider = provider_for(client, sleeps)

    # WHEN the create step is applied
    final = provider.apply(provider.diff(provider.desired(), Absent(NAME)))

    # THEN it waited 2 s twice and returned what the cloud reported afterwards
    assert sleeps == [2.0, 2.0]
    assert final == Observed(NAME, ARN, {"state": "ACTIVE"}, OURS)


def test_conflict_that_outlasts_the_attempts_is_a_conflict_error(scheduler, monkeypatch):
    # GIVEN the stack command's environment allows 3 attempts, and the group conflicts 3 times
    client, stubber = scheduler
    for _ in range(3):
        stubber.add_client_error("create_schedule_group", "ConflictException", http_status_code=409)
    monkeypatch.setenv(ENV_CONFLICT_RETRY_ATTEMPTS, "3")
    monkeypatch.setenv(ENV_CONFLICT_RETRY_DELAY, "0.5")
    sleeps: list = []
    settings = get_settings({"STAGE": "unit", "AWS_ACCOUNT_ID": "111122223333"})
    provider = ScheduleGroupProvider(settings, "schedule-group", NAME, sleep=sleeps.append,
                                     client_factory=lambda _: client)

    # WHEN the create step is applied THEN it gives up after the third call, as a Conflict
    with pytest.raises(errors.Conflict, match=NAME):
        provider.apply(provider.diff(provider.desired(), Absent(NAME)))
    assert sleeps == [0.5, 0.5]


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 400, errors.UpstreamUnavailable),
        ("InternalServerException", 500, errors.UpstreamUnavailable),
        ("ValidationException", 400, errors.UpstreamRejected),
        ("AccessDeniedException", 403, errors.UpstreamRejected),
    ],
)
def test_other_errors_are_not_retried_and_are_translated(scheduler, code, status, error):
    client, stubber = scheduler
    stubber.add_client_error("create_schedule_group", code, http_status_code=status)
    sleeps: list = []
    provider = provider_for(client, sleeps)

    with pytest.raises(error):
        provider.apply(provider.diff(provider.desired(), Absent(NAME)))
    assert sleeps == []


def test_read_of_a_deleting_group_is_absent(scheduler):
    client, stubber = scheduler
    deleting = {"Arn": ARN, "Name": NAME, "State": "DELETING"}
    stubber.add_response("get_schedule_group", deleting, {"Name": NAME})
    assert provider_for(client, []).read() == Absent(NAME)


def test_read_of_a_group_without_our_tags_is_unowned(scheduler):
    client, stubber = scheduler
    expect_read_back(stubber, tags={"team": "payments"})
    assert isinstance(provider_for(client, []).read(), Unowned)


def test_delete_of_a_group_that_is_already_gone_is_a_noop(scheduler):
    # GIVEN the group vanished between plan and delete
    client, stubber = scheduler
    stubber.add_client_error("delete_schedule_group", "ResourceNotFoundException", http_status_code=404)
    stubber.add_client_error("get_schedule_group", "ResourceNotFoundException", http_status_code=404)
    provider = provider_for(client, [])

    # WHEN the delete step is applied THEN it succeeds and reads back absent
    assert provider.apply(Delete("schedule-group", "schedule-group", NAME, arn=ARN)) == Absent(NAME)


def test_adoption_sets_ownership_tags_then_removes_foreign_ones(scheduler):
    # GIVEN a foreign group being adopted
    client, stubber = scheduler
    foreign = {"team": "payments", "rez-agent:stage": "prod"}
    stubber.add_response(
        "tag_resource",
        {},
        {"ResourceArn": ARN, "Tags": [{"Key": k, "Value": v} for k, v in sorted(OURS.items())]},
    )
    stubber.add_client_error("untag_resource", "ConflictException", http_status_code=409)
    stubber.add_response("untag_resource", {}, {"ResourceArn": ARN, "TagKeys": ["team"]})
    expect_read_back(stubber)
    provider = provider_for(client, [])

    # WHEN the adopting update is applied
    step = provider.diff(provider.desired(), Unowned(NAME, ARN, {}, foreign))
    final = provider.apply(step)

    # THEN tags were set, the foreign key removed (through one conflict), and it is ours
    assert isinstance(final, Observed)
