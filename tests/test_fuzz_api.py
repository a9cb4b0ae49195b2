"""Generated requests from the OpenAPI document, against the app served on 127.0.0.1 over
moto's server (tests/local_api.py).

Schemathesis reads the document the app serves, generates valid and invalid requests for
every operation, then walks the document's links (create -> get -> update -> pause ->
resume -> delete) as a state machine. Every answer must be: not a 5xx, a documented
status with a documented content type, headers and body; and a rejected request (4xx) must
have written nothing (no successful DynamoDB, SNS or Scheduler write on the app's clients).
"""

from __future__ import annotations

import json
import time
import zlib

import boto3
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import app as app_module
from chalicelib.config import resource_names
from chalicelib.openapi import paths_and_methods
from tests.local_api import LocalApi, local_api
from tests.support import REGION, STAGE

pytestmark = pytest.mark.slow  # the app served over moto's server, thousands of generated requests

MIN_REQUESTS = 2000
TIME_BOUND_SECONDS = 180
WALL_CLOCK_GUARD_SECONDS = 600
EXAMPLES_PER_OPERATION = {GenerationMode.POSITIVE: 120, GenerationMode.NEGATIVE: 55}
STATEFUL_SCENARIOS = 60
STATEFUL_STEPS = 12
# Valid bodies need a valid expression and time zone, which a JSON Schema cannot say: half of
# the valid-by-schema bodies get one of these (the other half keeps what was generated).
EXPRESSIONS = [
    "rate(5 minutes)", "rate(1 day)", "cron(0 6 * * ? *)", "cron(15 10 ? * MON-FRI *)",
    "cron(0/30 8-17 ? * 2-6 *)", "cron(0 12 L * ? *)", "at(2031-03-08T02:30:00)", "cron(30 2 ? * SUN#2 2030-2040)",
]
ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def served():
    with local_api(app_module.app) as api:
        yield api


class Driver:
    """Sends each generated case, checks it, and counts it."""

    def __init__(self, api: LocalApi):
        self.api = api
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.by_operation: dict[str, int] = {}

    def send(self, case: schemathesis.Case, realistic: bool = True) -> schemathesis.Response:
        if realistic:
            _realistic(case)
        self.api.recorder.writes.clear()
        # a fresh connection per request: the local server's keep-alive adds ~40 ms (Nagle)
        response = case.call(base_url=self.api.url, timeout=30)
        self.requests += 1
        self.by_operation[case.operation.label] = self.by_operation.get(case.operation.label, 0) + 1
        self.by_status[response.status_code] = self.by_status.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS)
        if 400 <= response.status_code < 500:
            assert self.api.recorder.writes == [], (
                f"{case.method} {case.formatted_path} answered {response.status_code} "
                f"but wrote {self.api.recorder.writes}"
            )
        return response


def test_generated_requests_find_no_failure(served: LocalApi):
    # GIVEN the document the app serves
    # (fetched, then loaded: schemathesis leaves out the operation it was loaded from)
    document = requests.get(f"{served.url}/api/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    driver = Driver(served)
    started, cpu_started = time.monotonic(), time.process_time()
    quick = settings(
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )

    # WHEN every operation gets valid and invalid requests
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode, examples in EXAMPLES_PER_OPERATION.items():
            try:
                _generate(driver, operation, mode, settings(quick, max_examples=examples))
            except hypothesis.errors.Unsatisfiable:
                # no invalid request exists for an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE and not operation.body and not any(
                    operation.iter_parameters()
                ), operation.label

    stateless = driver.requests

    # AND the links are walked as a state machine (create -> get -> update -> ... -> delete)
    machine = schema.as_state_machine()

    class Walk(machine):  # type: ignore[misc, valid-type]
        def call(self, case: schemathesis.Case, **kwargs: object) -> schemathesis.Response:
            return driver.send(case)

        def validate_response(self, response: object, case: object, **kwargs: object) -> None:
            return None  # Driver.send checked it

        def teardown(self) -> None:
            # each walk starts from an empty table: hypothesis replays a walk's choices and
            # fails ("inconsistent data generation") when the answers that fill its bundles
            # changed because an earlier walk left a name taken or a quota used
            empty_table(served)

    run_state_machine_as_test(
        Walk, settings=settings(quick, max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS)
    )
    stateful = driver.requests - stateless
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started

    # THEN nothing failed (the checks raise), enough was sent, within the time bound
    print(
        f"\nschemathesis: {driver.requests} requests ({stateless} per operation, {stateful} walking links) "
        f"in {elapsed:.0f} s ({cpu:.0f} s of CPU); statuses {dict(sorted(driver.by_status.items()))}; "
        f"per operation {driver.by_operation}"
    )
    assert len(driver.by_operation) == len(operations) == len(list(paths_and_methods(schema.raw_schema)))
    assert driver.requests >= MIN_REQUESTS
    # Client, app and moto all run in this process: its CPU time is the run's cost, whatever
    # else the machine is doing; the wall clock only guards against a hang.
    assert cpu < TIME_BOUND_SECONDS
    assert elapsed < WALL_CLOCK_GUARD_SECONDS
    assert driver.by_status.get(202, 0) > 0 and driver.by_status.get(200, 0) > 0


def empty_table(api: LocalApi) -> None:
    """Every item of the stage's table deleted (the walks' records, calendars, templates)."""
    table = boto3.resource("dynamodb", endpoint_url=api.moto_url, region_name=REGION).Table(resource_names(STAGE).table)
    kwargs: dict = {"ProjectionExpression": "id"}
    while True:
        page = table.scan(**kwargs)
        with table.batch_writer() as batch:
            for item in page["Items"]:
                batch.delete_item(Key={"id": item["id"]})
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _realistic(case: schemathesis.Case) -> None:
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("schedule_expression"), str):
        return
    pick = zlib.crc32(json.dumps(body, sort_keys=True, default=str).encode())
    if pick % 2:
        return
    body["schedule_expression"] = EXPRESSIONS[pick // 2 % len(EXPRESSIONS)]
    body["timezone"] = ZONES[pick // 7 % len(ZONES)]
    for bound in ("start_date", "end_date", "after"):
        body.pop(bound, None)
    if body.get("target_type") == "custom" and pick % 3:
        body["target_type"] = "notification"
        body.pop("target_arn", None)


def _generate(driver: Driver, operation: schemathesis.APIOperation, mode: GenerationMode, how: settings) -> None:
    @how
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        driver.send(case, realistic=mode is GenerationMode.POSITIVE)

    run()
