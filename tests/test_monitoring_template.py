"""The packaged template of every stage has the alarms, the alarm topic, the dashboard, and
(on deployed stages) X-Ray tracing; cfn-lint accepts it (tests/test_package_lint.py lints the
same prepared template)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib import names as function_names
from chalicelib import observability as obs
from chalicelib.config import resource_names
from ops import app_stack, monitoring

ROOT = Path(__file__).resolve().parent.parent
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
STAGES = sorted(CONFIG["stages"])
# Every stage but the emulator's is deployed to AWS, where X-Ray runs.
DEPLOYED = [stage for stage in STAGES if stage != "local"]
BUCKET = "rez-agent-artifacts-123456789012-us-east-1"

pytestmark = pytest.mark.slow  # packages the app per stage


@pytest.fixture(scope="module", params=STAGES)
def prepared(request, tmp_path_factory) -> tuple[str, dict]:
    stage = request.param
    out = app_stack.package(stage, tmp_path_factory.mktemp(f"monitoring-{stage}") / "out", region="us-east-1")
    template = json.loads((out / "sam.json").read_text())
    return stage, app_stack.prepare_template(template, stage, BUCKET, f"{stage}/deployment-0123456789abcdef.zip")


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == kind}


def test_alarms_notify_the_stage_alarm_topic(prepared):
    stage, template = prepared
    [(topic_id, topic)] = of_type(template, "AWS::SNS::Topic").items()
    assert topic["Properties"]["TopicName"] == f"rez-agent-alarms-{stage}"
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    watched = {
        (props["Namespace"], props["MetricName"], tuple((d["Name"], d["Value"]) for d in props["Dimensions"]))
        for props in (alarm["Properties"] for alarm in alarms.values())
    }
    own = (("stage", stage),)
    assert (obs.NAMESPACE, obs.EXECUTIONS_FAILED, own) in watched
    assert (obs.NAMESPACE, obs.MISSED_RUNS, own) in watched
    assert (obs.NAMESPACE, obs.API_SERVER_ERRORS, own) in watched
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", f"rez-agent-dead-letters-{stage}"),)) in watched
    command_function = resource_names(stage).function(function_names.SCHEDULE_COMMAND)
    assert ("AWS/Lambda", "Errors", (("FunctionName", command_function),)) in watched
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["AlarmName"].startswith(f"rez-agent-{stage}-")


def test_the_dashboard_shows_every_metric_for_the_stage(prepared):
    stage, template = prepared
    [dashboard] = of_type(template, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"rez-agent-schedules-{stage}"
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    shown, searches = set(), []
    for widget in body["widgets"]:
        assert widget["properties"]["region"] == "${AWS::Region}"
        for metric in widget["properties"]["metrics"]:
            if isinstance(metric[0], dict):
                searches.append(metric[0]["expression"])
            elif metric[0] == obs.NAMESPACE:
                assert metric[2:] == ["stage", stage]
                shown.add(metric[1])
    assert shown == {
        obs.API_SERVER_ERRORS, obs.COMMANDS_APPLIED, obs.COMMANDS_FAILED, obs.EXECUTIONS_SUCCEEDED,
        obs.EXECUTIONS_FAILED, obs.EXECUTIONS_DUPLICATE, obs.START_LATENCY, obs.DISPATCH_DURATION,
        obs.DRIFT_REPAIRED, obs.MISSED_RUNS, obs.LATE_RUNS, obs.ALERTS_RAISED,
        obs.EXECUTIONS_SKIPPED, obs.COMMANDS_ACCEPTED, obs.COMMANDS_REJECTED,
    }
    [search] = searches
    assert obs.API_REQUESTS in search and f'stage="{stage}"' in search


@pytest.mark.parametrize("stage", DEPLOYED)
def test_deployed_stages_trace_the_api_and_every_function(stage, tmp_path):
    out = app_stack.package(stage, tmp_path / "out", region="us-east-1")
    template = app_stack.prepare_template(json.loads((out / "sam.json").read_text()), stage, BUCKET, "k.zip")
    functions = of_type(template, "AWS::Serverless::Function")
    assert functions and all(f["Properties"]["Tracing"] == "Active" for f in functions.values())
    [api] = of_type(template, "AWS::Serverless::Api").values()
    assert api["Properties"]["TracingEnabled"] is True
    for function in functions.values():
        role = template["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert {"Fn::Sub": monitoring.XRAY_WRITE_POLICY} in role["Properties"]["ManagedPolicyArns"]


def test_tracing_is_configured_per_stage():
    for stage in DEPLOYED:
        assert CONFIG["stages"][stage].get("xray") is True
    assert CONFIG["stages"]["local"].get("xray") is False


def test_each_alarm_links_its_runbook_section():
    import re
    from pathlib import Path

    from ops import monitoring

    runbook = Path(__file__).resolve().parents[1] / monitoring.RUNBOOK
    sections = set(re.findall(r"^## (\S+)$", runbook.read_text(), flags=re.MULTILINE))
    for logical_id, alarm in monitoring.alarms("dev").items():
        description = alarm["Properties"]["AlarmDescription"]
        [link] = re.findall(r"Runbook: (\S+)$", description)
        page, anchor = link.split("#")
        assert page == monitoring.RUNBOOK, logical_id
        assert anchor in sections, f"{logical_id}: no section {anchor!r} in {page}"
