"""Alarms, a dashboard and X-Ray tracing in the app's packaged template, per stage.

``add_monitoring(template, stage)`` adds to the template CloudFormation gets:

- an SNS topic ``rez-agent-alarms-<stage>`` every alarm notifies (subscribe to it:
  docs/operations.md, "Watching a stage");
- alarms on failed executions, missed runs, dead letters waiting, command handler errors
  (the function raised, or a command failed) and API 5xx answers, each linking its section
  of docs/runbook.md;
- a dashboard ``rez-agent-schedules-<stage>`` with the app's metrics for the stage;
- when the stage sets ``"xray": true`` in ``.chalice/config.json`` (Chalice then marks the
  functions ``Tracing: Active``): tracing on the REST API stage, and the X-Ray write
  permission on the functions' roles.

The metrics are the embedded-metric-format documents ``chalicelib.observability`` prints
(namespace ``RezAgent/Schedules``, dimension ``stage``), plus AWS/Lambda and AWS/SQS ones.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import names
from chalicelib import observability as obs
from chalicelib.config import APP_NAME, resource_names

ALARM_TOPIC_LOGICAL_ID = "AlarmTopic"
DASHBOARD_LOGICAL_ID = "Dashboard"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_API = "AWS::Serverless::Api"
XRAY_WRITE_POLICY = "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
PERIOD_SECONDS = 300
# Each alarm's section in the runbook (a heading named as the alarm, without the stage).
RUNBOOK = "docs/runbook.md"


def alarm_topic_name(stage: str) -> str:
    return f"{APP_NAME}-alarms-{stage}"


def dead_letter_queue_name(stage: str) -> str:
    """The runs' dead-letter queue as the stage names it (``DEAD_LETTER_QUEUE_NAME``
    overrides it, as for the functions)."""
    return resource_names(stage).dead_letter_queue


def dashboard_name(stage: str) -> str:
    return f"{APP_NAME}-schedules-{stage}"


def runbook_link(name: str) -> str:
    """Where the runbook says what the alarm ``name`` means and what to do (its section)."""
    return f"{RUNBOOK}#{name}"


def _alarm(stage: str, name: str, description: str, namespace: str, metric: str,
           dimensions: dict[str, str], statistic: str = "Sum") -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": f"{APP_NAME}-{stage}-{name}",
            "AlarmDescription": f"{description} Runbook: {runbook_link(name)}",
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
            "Statistic": statistic,
            "Period": PERIOD_SECONDS,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC_LOGICAL_ID}],
            "OKActions": [{"Ref": ALARM_TOPIC_LOGICAL_ID}],
        },
    }


def alarms(stage: str) -> dict[str, dict[str, Any]]:
    """Logical id -> alarm resource, for the stage."""
    own = {"stage": stage}
    command_function = resource_names(stage).function(names.SCHEDULE_COMMAND)
    return {
        "FailedExecutionsAlarm": _alarm(
            stage, "failed-executions", "A schedule's run failed (see the execution's error).",
            obs.NAMESPACE, obs.EXECUTIONS_FAILED, own,
        ),
        "MissedRunsAlarm": _alarm(
            stage, "missed-runs", "A schedule's slot passed with no run.",
            obs.NAMESPACE, obs.MISSED_RUNS, own,
        ),
        "DeadLettersAlarm": _alarm(
            stage, "dead-letters", "Runs EventBridge Scheduler could not deliver are waiting in the dead-letter queue.",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": dead_letter_queue_name(stage)}, "Maximum",
        ),
        "CommandHandlerErrorsAlarm": _alarm(
            stage, "command-handler-errors", "The schedule-command handler raised (SNS retries the command).",
            "AWS/Lambda", "Errors", {"FunctionName": command_function},
        ),
        "CommandsFailedAlarm": _alarm(
            stage, "commands-failed", "A command could not be applied (the schedule is in error, or the message was dropped).",
            obs.NAMESPACE, obs.COMMANDS_FAILED, own,
        ),
        "Api5xxAlarm": _alarm(
            stage, "api-5xx", "The API answered 5xx (the log line with the same request id says why).",
            obs.NAMESPACE, obs.API_SERVER_ERRORS, own,
        ),
    }


def _widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": stat,
            "period": PERIOD_SECONDS,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def dashboard_body(stage: str) -> dict[str, Any]:
    """The dashboard's widgets: every metric the app emits, for this stage."""
    namespace = obs.NAMESPACE

    def own(*metric_names: str) -> list[list[Any]]:
        return [[namespace, name, "stage", stage] for name in metric_names]

    api_by_status = [{
        "expression": f"SEARCH('{{{namespace},route,stage,status_class}} MetricName=\"{obs.API_REQUESTS}\" stage=\"{stage}\"', 'Sum', {PERIOD_SECONDS})",
        "label": "requests by route and status class",
        "id": "api",
    }]
    widgets = [
        _widget("API requests by route and status class", [api_by_status], 0, 0),
        _widget("API 5xx answers", own(obs.API_SERVER_ERRORS), 12, 0),
        _widget("Commands", own(obs.COMMANDS_ACCEPTED, obs.COMMANDS_APPLIED, obs.COMMANDS_REJECTED,
                                obs.COMMANDS_FAILED), 0, 6),
        _widget("Executions", own(obs.EXECUTIONS_SUCCEEDED, obs.EXECUTIONS_FAILED, obs.EXECUTIONS_SKIPPED,
                                  obs.EXECUTIONS_DUPLICATE), 12, 6),
        _widget("Start latency (start minus scheduled time), ms", own(obs.START_LATENCY), 0, 12, "p90"),
        _widget("Dispatch duration, ms", own(obs.DISPATCH_DURATION), 12, 12, "p90"),
        _widget("Missed and late runs, alerts", own(obs.MISSED_RUNS, obs.LATE_RUNS, obs.ALERTS_RAISED), 0, 18),
        _widget("Drift repaired", own(obs.DRIFT_REPAIRED), 12, 18),
        _widget(
            "Dead letters waiting",
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dead_letter_queue_name(stage)]],
            0, 24, "Maximum",
        ),
        _widget(
            "Command handler errors",
            [["AWS/Lambda", "Errors", "FunctionName", resource_names(stage).function(names.SCHEDULE_COMMAND)]],
            12, 24,
        ),
    ]
    return {"widgets": widgets}


def add_monitoring(template: dict[str, Any], stage: str, tracing: bool) -> dict[str, Any]:
    """The template with the stage's alarm topic, alarms, dashboard and (when ``tracing``)
    X-Ray on the API and the functions' roles. Changes ``template`` in place and returns it."""
    resources = template.setdefault("Resources", {})
    resources[ALARM_TOPIC_LOGICAL_ID] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {
            "TopicName": alarm_topic_name(stage),
            "Tags": [{"Key": "app", "Value": APP_NAME}, {"Key": "stage", "Value": stage}],
        },
    }
    resources.update(alarms(stage))
    resources[DASHBOARD_LOGICAL_ID] = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": dashboard_name(stage),
            "DashboardBody": {"Fn::Sub": json.dumps(dashboard_body(stage), separators=(",", ":"))},
        },
    }
    outputs = template.setdefault("Outputs", {})
    outputs["AlarmTopicArn"] = {"Value": {"Ref": ALARM_TOPIC_LOGICAL_ID}}
    outputs["DashboardName"] = {"Value": {"Ref": DASHBOARD_LOGICAL_ID}}
    if tracing:
        _enable_tracing(resources)
    return template


def _enable_tracing(resources: dict[str, Any]) -> None:
    roles = set()
    for resource in resources.values():
        properties = resource.setdefault("Properties", {})
        if resource.get("Type") == SERVERLESS_FUNCTION:
            properties["Tracing"] = "Active"
            role = properties.get("Role")
            if isinstance(role, dict) and "Fn::GetAtt" in role:
                roles.add(role["Fn::GetAtt"][0])
        elif resource.get("Type") == SERVERLESS_API:
            properties["TracingEnabled"] = True
    for logical_id in roles:
        role_properties = resources[logical_id].setdefault("Properties", {})
        managed = role_properties.setdefault("ManagedPolicyArns", [])
        if not any(isinstance(arn, dict) and arn.get("Fn::Sub") == XRAY_WRITE_POLICY for arn in managed):
            managed.append({"Fn::Sub": XRAY_WRITE_POLICY})
