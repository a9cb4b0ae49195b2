"""The deploy tooling's pure parts: template preparation, log following, stopping a run."""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError

from ops import app_stack, run
from ops.logs import LogFollower, shorten


def sam(functions: dict[str, dict]) -> dict:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": app_stack.SAM_TRANSFORM,
        "Resources": {
            logical_id: {
                "Type": app_stack.SERVERLESS_FUNCTION,
                "Properties": {"CodeUri": "./deployment.zip", "Handler": "app.x", **properties},
            }
            for logical_id, properties in functions.items()
        },
    }


def test_chalice_names_come_back_from_logical_ids():
    assert app_stack.chalice_name("APIHandler") == "api_handler"
    assert app_stack.chalice_name("ScheduleCommand") == "schedule_command"
    assert app_stack.chalice_name("Reconcile") == "reconcile"


def test_prepare_points_at_s3_names_functions_and_sets_the_names_in_force():
    # GIVEN a Chalice template whose configured environment names an older table
    template = sam(
        {
            "APIHandler": {},
            "ScheduleTarget": {"Environment": {"Variables": {"STAGE": "dev", "SCHEDULES_TABLE_NAME": "custom"}}},
        }
    )
    # WHEN it is prepared for CloudFormation
    prepared = app_stack.prepare_template(template, "dev", "bucket", "dev/code.zip")
    # THEN the code is in S3, the functions are named for the stage, and every function gets
    # the names the policies were generated from (not the stale configured one)
    assert template["Resources"]["APIHandler"]["Properties"]["CodeUri"] == "./deployment.zip"  # not mutated
    api = prepared["Resources"]["APIHandler"]["Properties"]
    target = prepared["Resources"]["ScheduleTarget"]["Properties"]
    assert api["CodeUri"] == {"Bucket": "bucket", "Key": "dev/code.zip"}
    assert api["FunctionName"] == "rez-agent-schedules-dev-api_handler"
    assert target["FunctionName"] == "rez-agent-schedules-dev-schedule_target"
    assert api["Environment"]["Variables"]["SCHEDULES_TABLE_NAME"] == "rez-agent-schedules-dev"
    assert target["Environment"]["Variables"]["SCHEDULES_TABLE_NAME"] == "rez-agent-schedules-dev"
    # AND the account id comes from CloudFormation, so no function calls STS for it
    assert target["Environment"]["Variables"]["AWS_ACCOUNT_ID"] == {"Ref": "AWS::AccountId"}
    assert app_stack.functions_of(prepared) == {
        "api_handler": "rez-agent-schedules-dev-api_handler",
        "schedule_target": "rez-agent-schedules-dev-schedule_target",
    }


def test_prepare_refuses_a_template_without_the_sam_transform():
    with pytest.raises(app_stack.DeployError):
        app_stack.prepare_template({"Resources": {}}, "dev", "b", "k")


def test_platform_lines_are_dropped_and_report_shortened():
    assert shorten("START RequestId: abc Version: $LATEST") is None
    assert shorten("END RequestId: abc") is None
    assert shorten("REPORT RequestId: abc\tDuration: 12 ms\tBilled Duration: 12 ms") == "-- invocation done in 12 ms"
    assert shorten("hello\n") == "hello"


class FakeLogs:
    def __init__(self):
        self.events: dict[str, list[dict]] = {}

    def filter_log_events(self, logGroupName, startTime, nextToken=None):
        if logGroupName not in self.events:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "FilterLogEvents")
        return {"events": [e for e in self.events[logGroupName] if e["timestamp"] >= startTime]}


def test_follower_prints_each_line_once_even_repeated_lines_and_waits_for_groups():
    logs = FakeLogs()
    out = io.StringIO()
    follower = LogFollower(logs, {"/aws/lambda/a": "a"}, out=out, since_ms=1_000)
    assert follower.poll() == 0  # the group does not exist yet
    logs.events["/aws/lambda/a"] = [
        {"timestamp": 2_000, "message": "START RequestId: 1", "logStreamName": "s"},
        {"timestamp": 2_000, "message": "same", "logStreamName": "s"},
        {"timestamp": 2_000, "message": "same", "logStreamName": "s"},
    ]
    assert follower.poll() == 2
    assert follower.poll() == 0  # the overlap window returns them again: not printed again
    logs.events["/aws/lambda/a"].append({"timestamp": 2_500, "message": "later", "logStreamName": "s"})
    assert follower.poll() == 1
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == ["[a] same", "[a] same", "[a] later"]


def test_stop_with_nothing_running(tmp_path, monkeypatch):
    for name, file in (("PID_FILE", "run.pid"), ("EMULATOR_PID_FILE", "ministack.pid"), ("ENV_FILE", "env")):
        monkeypatch.setattr(run, name, tmp_path / file)
    (tmp_path / "run.pid").write_text("999999999\n")  # a pid that is not running
    out = io.StringIO()
    assert run.stop(out) == 0
    assert "nothing was running" in out.getvalue()
    assert not (tmp_path / "run.pid").exists()


def test_the_printed_curl_is_the_documented_one():
    assert run.curl_create() == (
        "curl -X POST $BASE/api/schedules -H 'Content-Type: application/json' -d "
        '\'{"name":"tee-times","schedule_expression":"rate(1 minute)","target_type":"web_action",'
        '"payload":{"action":"check_tee_times"}}\''
    )
