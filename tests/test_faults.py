"""The fault injector and the call recorder on the cached clients (moto in process)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from chalicelib import clients
from integration.faults import VARIANTS, FaultInjector
from integration.recorder import CallRecorder, CallSite
from tests.support import REGION


@pytest.fixture
def table(moto_stage, names):
    """The stage's table through the code's own cached resource."""
    return clients.resource("dynamodb").Table(names.table)


def stored(names, key: str) -> dict | None:
    raw = boto3.resource("dynamodb", region_name=REGION).Table(names.table)
    return raw.get_item(Key={"id": key}, ConsistentRead=True).get("Item")


def test_a_lost_response_is_sent_again_by_botocore_after_the_endpoint_carried_it_out(table, names, faults):
    # GIVEN the answer to the next UpdateItem is lost
    lost = faults.lose_response("dynamodb", "UpdateItem")
    # WHEN the code increments a counter once
    response = table.update_item(
        Key={"id": "counter"}, UpdateExpression="ADD hits :one", ExpressionAttributeValues={":one": 1}
    )
    # THEN botocore sent the request twice, and the endpoint applied both
    assert lost.sent == 2 and lost.resent
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert stored(names, "counter")["hits"] == 2


def test_a_conditional_write_whose_response_was_lost_meets_its_own_write(table, names, faults):
    # GIVEN the answer to a create-if-absent is lost
    faults.lose_response("dynamodb", "PutItem")
    # WHEN the code writes the item, THEN the resent request fails its condition
    with pytest.raises(ClientError) as raised:
        table.put_item(Item={"id": "only-once"}, ConditionExpression="attribute_not_exists(id)")
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    # AND the first request was stored
    assert stored(names, "only-once") == {"id": "only-once"}


def test_timeouts_are_raised_for_the_call_and_nothing_reaches_the_endpoint(table, names, faults):
    faults.timeout("dynamodb", "PutItem")
    faults.timeout("dynamodb", "PutItem", connect=True)
    with pytest.raises(ReadTimeoutError):
        table.put_item(Item={"id": "late"})
    with pytest.raises(ConnectTimeoutError):
        table.put_item(Item={"id": "late"})
    assert stored(names, "late") is None
    table.put_item(Item={"id": "late"})  # the faults are spent
    assert stored(names, "late") == {"id": "late"}


def test_skip_lets_calls_through_before_the_fault(table, names, faults):
    # GIVEN AccessDenied on the third GetItem
    denied = faults.inject("dynamodb", "GetItem", "access-denied", skip=2)
    # WHEN the code reads four times, THEN only the third fails
    results = []
    for _ in range(4):
        try:
            table.get_item(Key={"id": "x"})
            results.append("ok")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])
    assert results == ["ok", "ok", "AccessDeniedException", "ok"]
    assert denied.injected == 1


@pytest.mark.parametrize(
    ("service", "variant", "code", "status"),
    [
        ("dynamodb", "throttling", "ThrottlingException", 400),
        ("sns", "throttling", "Throttling", 400),
        ("scheduler", "http500", "InternalServerException", 500),
        ("sns", "access-denied", "AuthorizationError", 403),
        ("scheduler", "access-denied", "AccessDeniedException", 403),
    ],
)
def test_each_variant_answers_with_the_services_own_error(moto_stage, faults, service, variant, code, status):
    operation = {"dynamodb": "ListTables", "sns": "ListTopics", "scheduler": "ListScheduleGroups"}[service]
    faults.inject(service, operation, variant)
    call = getattr(clients.client(service), {"ListTables": "list_tables", "ListTopics": "list_topics",
                                             "ListScheduleGroups": "list_schedule_groups"}[operation])
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    call()  # once only


def test_an_unknown_variant_is_refused(moto_stage, faults):
    with pytest.raises(ValueError, match="one of " + ", ".join(VARIANTS)):
        faults.inject("dynamodb", "GetItem", "earthquake")


def test_the_recorder_names_call_sites_through_clients_and_resources(table, moto_stage):
    # GIVEN a recorder on the cached clients
    recorder = CallRecorder(["dynamodb", "sns"]).attach()
    try:
        # WHEN the code reads twice through the table resource and lists topics
        table.get_item(Key={"id": "a"})
        clients.client("sns").list_topics()
        table.get_item(Key={"id": "b"})
    finally:
        recorder.detach()
    # THEN each call is a site: service, operation and its occurrence
    assert recorder.sites == [
        CallSite("dynamodb", "GetItem", 0), CallSite("sns", "ListTopics", 0), CallSite("dynamodb", "GetItem", 1),
    ]
    assert recorder.mutating == []


def test_cleared_faults_leave_the_clients_alone(table, names):
    faults = FaultInjector()
    faults.inject("dynamodb", "PutItem", "http500")
    faults.clear()
    table.put_item(Item={"id": "fine"})
    assert stored(names, "fine") == {"id": "fine"}
