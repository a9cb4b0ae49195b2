"""Run now, the timeline and the alerts, on the deployed app (ministack, as ``make run``).

The local stage as the other end-to-end tests share it (integration/conftest.py), then over
HTTP:
- a schedule whose target fails (a custom queue that does not exist) produces a ``failed``
  slot and one ``failed`` alert on the notifications topic;
- a schedule disabled out of band in EventBridge Scheduler (before reconcile repairs it)
  produces a ``missed`` slot and one ``missed`` alert;
- run-now executes within 15 s.

Both schedules fire every minute (``cron(* * * * ? *)``: ministack fires on whole minutes,
like AWS for this expression). The alert sweep is invoked directly (its periodic rule is not
what is under test), with the grace shortened to 30 s on the deployed functions (ministack
fires up to 10 s after the minute and starts the function cold) so a missed slot shows within
a minute of its time.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from chalicelib import clients
from chalicelib.config import ENV_LATE_GRACE_SECONDS, resource_names, settings_for
from integration.deployed import STAGE, eventually, http
from ops import run as local_run

EVERY_MINUTE = "cron(* * * * ? *)"
GRACE_SECONDS = "30"  # ministack fires on a 10 s tick, then starts the function cold
RUN_NOW_SECONDS = 15


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def shorten_grace(outputs) -> None:
    functions = clients.client("lambda", settings_for(STAGE))
    # every function that computes a slot's deadline: the API (timeline, health), the sweep,
    # the command handler (a new watch's first due time) and the target (its watch's move)
    for short in ("api_handler", "alert_sweep", "schedule_command", "schedule_target"):
        name = outputs.functions[short]
        current = functions.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})
        functions.update_function_configuration(
            FunctionName=name, Environment={"Variables": {**current, ENV_LATE_GRACE_SECONDS: GRACE_SECONDS}}
        )


def sweep(outputs) -> dict:
    functions = clients.client("lambda", settings_for(STAGE))
    event = {"version": "0", "id": "sweep", "detail-type": "Scheduled Event", "source": "aws.events",
             "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
             "resources": [], "detail": {}}
    response = functions.invoke(FunctionName=outputs.functions["alert_sweep"], Payload=json.dumps(event).encode())
    return json.loads(response["Payload"].read() or b"null")


@pytest.fixture
def endpoint_url(local_stages):
    """This process pointed at the session's endpoint (integration/conftest.py)."""
    with local_stages.pointed():
        yield local_stages.url


def test_failed_and_missed_slots_alert_once_and_run_now_runs(endpoint_url, local_stages):
    settings = settings_for(STAGE)
    names = resource_names(STAGE)
    tap = None
    try:
        outputs = local_stages.up(STAGE)
        log = local_stages.logs[STAGE]
        assert "alert_sweep" in outputs.functions
        shorten_grace(outputs)
        base = outputs.base_url
        tap = local_run.topic_tap(STAGE, log)
        tap.start()
        notes: list[dict] = []

        def poll_alerts() -> list[dict]:
            tap.poll(lambda label, message: notes.append(message) if label == "notifications" else None)
            return [m for m in notes if isinstance(m, dict) and m.get("kind")]

        account = clients.account_id(settings)
        failing_body = {
            "name": "fails", "schedule_expression": EVERY_MINUTE, "target_type": "custom",
            "target_arn": f"arn:aws:sqs:{settings.region}:{account}:{names.custom_target_prefix}absent",
            "alerts": {"on_missed": False},
        }
        silent_body = {"name": "silenced", "schedule_expression": EVERY_MINUTE, "target_type": "web_action",
                       "payload": {"action": "noop"}}
        status, failing = http("POST", f"{base}/api/schedules", failing_body)
        assert status == 202, failing
        status, silent = http("POST", f"{base}/api/schedules", silent_body)
        assert status == 202, silent
        # a healthy rate() schedule: its slots keep the creation second, which ministack
        # reports floored to the minute (the join's other rule)
        healthy_body = {"name": "healthy", "schedule_expression": "rate(1 minute)", "target_type": "web_action",
                        "payload": {"action": "noop"}}
        status, healthy = http("POST", f"{base}/api/schedules", healthy_body)
        assert status == 202, healthy

        def active(schedule_id):
            return lambda: http("GET", f"{base}/api/schedules/{schedule_id}")[1].get("status") == "active"

        eventually("the schedules become active",
                   lambda: active(failing["id"])() and active(silent["id"])() and active(healthy["id"])(),
                   90, outputs, log)  # command handlers start cold on a loaded machine
        # out of band: disable the second one in EventBridge Scheduler
        scheduler = clients.client("scheduler", settings)
        observed = scheduler.get_schedule(Name=silent["id"], GroupName=names.schedule_group)
        scheduler.update_schedule(
            Name=silent["id"], GroupName=names.schedule_group, ScheduleExpression=observed["ScheduleExpression"],
            FlexibleTimeWindow=observed["FlexibleTimeWindow"], Target=observed["Target"], State="DISABLED",
        )

        # run now: executes within 15 s
        asked = time.monotonic()
        status, run = http("POST", f"{base}/api/schedules/{silent['id']}/run")
        assert status == 202, run

        def ran():
            items = http("GET", f"{base}/api/schedules/{silent['id']}/executions")[1].get("items", [])
            return [i for i in items if i["execution_id"] == run["execution_id"] and i["outcome"] == "succeeded"]

        [manual] = eventually("the manual run executes", ran, 30, outputs, log, every=0.5)
        assert manual["trigger"] == "manual"
        started_after = (_when(manual["started_at"]) - _when(run["requested_at"])).total_seconds()
        print(f"run-now started {started_after:.1f}s after the request "
              f"(seen over HTTP after {time.monotonic() - asked:.1f}s)")
        assert started_after <= RUN_NOW_SECONDS

        def alerted(kind, schedule_id):
            def check():
                sweep(outputs)
                return [a for a in poll_alerts() if a["kind"] == kind and a["schedule_id"] == schedule_id]
            return check

        # one alert per slot: a slot missed or failed each minute, each alerted once
        failed_alerts = eventually("a failed alert", alerted("failed", failing["id"]), 150, outputs, log, every=3)
        missed_alerts = eventually("a missed alert", alerted("missed", silent["id"]), 150, outputs, log, every=3)
        failed_alert, missed_alert = failed_alerts[0], missed_alerts[0]

        # the timeline shows those slots so
        def slot_result(schedule_id, slot):
            body = http("GET", f"{base}/api/schedules/{schedule_id}/timeline")[1]
            return {i["time"]: i["result"] for i in body["items"] if i["trigger"] == "scheduled"}.get(slot)

        assert slot_result(failing["id"], failed_alert["slot"]) == "failed"
        assert slot_result(silent["id"], missed_alert["slot"]) == "missed"
        # and sweeping again alerts nothing more for any slot already alerted
        for _ in range(3):
            sweep(outputs)
        every = poll_alerts()
        keys = [(a["kind"], a["schedule_id"], a["slot"]) for a in every]
        assert len(keys) == len(set(keys)), keys
        assert ("failed", failing["id"], failed_alert["slot"]) in keys
        assert ("missed", silent["id"], missed_alert["slot"]) in keys
        # the healthy rate() schedule: runs joined to its slots, each minute once, no missed
        # slot, health ok, no alert; the failing one's health says failing
        def healthy_ran():
            body = http("GET", f"{base}/api/schedules/{healthy['id']}/timeline")[1]
            return [i for i in body["items"] if i["result"] == "succeeded"]

        eventually("the healthy schedule ran", healthy_ran, 120, outputs, log, every=5)
        items = http("GET", f"{base}/api/schedules/{healthy['id']}/timeline")[1]["items"]
        minutes = [i["time"][:16] for i in items]
        assert len(minutes) == len(set(minutes)), items
        assert not [i for i in items if i["result"] in ("missed", "failed") or i.get("planned") is False], items
        assert http("GET", f"{base}/api/schedules/{healthy['id']}")[1]["health"] == "ok"
        assert http("GET", f"{base}/api/schedules/{failing['id']}")[1]["health"] == "failing"
        sweep(outputs)
        assert not [a for a in poll_alerts() if a["schedule_id"] == healthy["id"]]
    finally:
        if tap is not None:
            tap.stop()
        try:
            local_stages.down(STAGE)  # its functions' grace is shortened: the next user deploys afresh
        except Exception as exc:  # noqa: BLE001 - the test already failed; say so, keep its error
            print(f"tear down failed: {exc}\n{local_stages.logs[STAGE].getvalue()}")
