"""examples/worker.py, the worker docs/runs.md shows: it takes a run from the web-actions topic
and reports how it ended on the results topic. Driven through the target function's Lambda
entry on the moto stage, the report read from the results topic as the handler receives it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import boto3
import pytest

from tests.support import REGION, STAGE, TEE_TIMES, deliver_commands, post

WORKER = Path(__file__).resolve().parent.parent / "examples" / "worker.py"


def load_worker():
    spec = importlib.util.spec_from_file_location("example_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def worker(moto_stage, names):
    """The worker's queue subscribed to the stage's web-actions topic, as the worker makes it."""
    module = load_worker()
    module.subscribe(boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION),
                     moto_stage["topics"][names.web_actions_topic], f"rez-agent-example-worker-{STAGE}")
    return module


def fire_one_run(chalice_client, moto_stage, names) -> str:
    """A web-action schedule, created over the API and fired once by its target function."""
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    event = {"schedule_id": schedule_id, "execution_id": "run-1", "scheduled_time": "2026-11-24T11:00:00Z", "attempt": "1"}
    fired = chalice_client.lambda_.invoke("schedule_target", event)
    assert fired.payload["outcome"] == "succeeded", fired.payload
    return schedule_id, "run-1"


@pytest.mark.parametrize(("flags", "outcome"), [([], "succeeded"), (["--fail"], "failed")])
def test_the_worker_reports_each_run_it_takes_on_the_results_topic(chalice_client, moto_stage, names, worker, capsys, flags, outcome):
    # GIVEN a run published to the web-actions topic while the worker listens
    schedule_id, execution_id = fire_one_run(chalice_client, moto_stage, names)

    # WHEN the worker takes it
    assert worker.main(["--stage", STAGE, "--runs", "1", "--seconds", "0", *flags]) == 0

    # THEN the results topic received one report of that run, with the outcome and a message
    (report,) = moto_stage["tap"].drain(names.results_topic)
    assert report == {"schedule_id": schedule_id, "execution_id": execution_id, "outcome": outcome,
                      "message": report["message"]}
    assert "check_tee_times" in report["message"]
    # AND the results function records it on the run
    event = chalice_client.events.generate_sns_event(message=json.dumps(report), subject="rez-agent run report")
    assert chalice_client.lambda_.invoke("handle_results", event).payload["outcome"] == "recorded"
    (run,) = chalice_client.http.get(f"/api/schedules/{schedule_id}/executions").json_body["items"]
    assert (run["reported_outcome"], run["reported_message"]) == (outcome, report["message"])
    # AND the worker said so
    assert f"run {execution_id} of tee-times: reported {outcome}" in capsys.readouterr().out


def test_the_worker_reports_where_the_run_says(chalice_client, moto_stage, names, worker):
    # GIVEN a run that names the topic to report to
    sns = boto3.client("sns", region_name=REGION)
    elsewhere = sns.create_topic(Name="rez-agent-custom-dev-reports")["TopicArn"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue = worker.subscribe(sns, sqs, elsewhere, "rez-agent-custom-dev-reports-tap")
    run = {"execution_id": "run-9", "name": "tee-times", "payload": {}, "schedule_id": "s-1", "report": {"topic_arn": elsewhere}}
    sns.publish(TopicArn=moto_stage["topics"][names.web_actions_topic], Message=json.dumps(run))

    # WHEN the worker takes it
    worker.main(["--stage", STAGE, "--runs", "1", "--seconds", "0"])

    # THEN the report went there, and not to the stage's results topic
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert json.loads(message["Body"])["execution_id"] == "run-9"
    assert moto_stage["tap"].drain(names.results_topic) == []
