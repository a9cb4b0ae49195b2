"""An example worker: it does the work a schedule's web action asks for, then reports how the
run ended on the stage's results topic (docs/runs.md).

    source .run/env                    # the emulator `make run` started
    python examples/worker.py          # report every run succeeded
    python examples/worker.py --fail   # report every run failed

It subscribes a queue of its own to the stage's web-actions topic, takes each run from it, and
publishes {"schedule_id", "execution_id", "outcome", "message"} (the ids copied from the run) to
the results topic the run names (``report.topic_arn``), else to the stage's
(``rez-agent-results-<stage>``). Who may publish there is
the topic's IAM policy; the message holds no secret.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import boto3


def subscribe(sns: Any, sqs: Any, topic_arn: str, queue_name: str) -> str:
    """A queue subscribed to ``topic_arn`` (idempotent); its URL."""
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return str(url)


def work(run: dict[str, Any], seconds: float, fail: bool) -> tuple[str, str]:
    """The job itself: here, wait ``seconds``. Returns (outcome, message)."""
    time.sleep(seconds)
    action = (run.get("payload") or {}).get("action", "the work")
    if fail:
        return "failed", f"{action}: the tee-time site answered 503"
    return "succeeded", f"{action}: done"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--fail", action="store_true", help="report every run failed")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each run's work takes")
    parser.add_argument("--runs", type=int, default=0, help="stop after this many runs (0: never)")
    parser.add_argument("--schedule", help="take only this schedule's runs (others are left to other workers)")
    args = parser.parse_args(argv)
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    account = boto3.client("sts").get_caller_identity()["Account"]
    prefix = f"arn:{sns.meta.partition}:sns:{sns.meta.region_name}:{account}:rez-agent"
    queue = subscribe(sns, sqs, f"{prefix}-web-actions-{args.stage}", f"rez-agent-example-worker-{args.stage}")
    print(f"waiting for runs of stage {args.stage} (Ctrl-C stops)", flush=True)
    done = 0
    while not args.runs or done < args.runs:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            run = json.loads(message["Body"])
            if args.schedule and run.get("schedule_id") != args.schedule:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])  # our copy only
                continue
            outcome, text = work(run, args.seconds, args.fail)
            report = {"schedule_id": run["schedule_id"], "execution_id": run["execution_id"],
                      "outcome": outcome, "message": text}
            # a Subject and a message attribute: AWS always sends both keys to a subscribed
            # function, ministack only when the publish set them (and Chalice needs them)
            sns.publish(TopicArn=(run.get("report") or {}).get("topic_arn") or f"{prefix}-results-{args.stage}",
                        Message=json.dumps(report), Subject="rez-agent run report",
                        MessageAttributes={"kind": {"DataType": "String", "StringValue": "run-report"}})
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            print(f"run {run['execution_id']} of {run.get('name')}: reported {outcome}", flush=True)
            done += 1
            if done == args.runs:
                break
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        raise SystemExit(0) from None
