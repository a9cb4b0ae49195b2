"""Calendars, skip and snooze on the deployed local stage (the app as ``make run`` deploys it,
EventBridge Scheduler's schedules firing on the emulator).

- A snooze holds the schedule in EventBridge Scheduler itself (its StartDate) and it resumes
  on time with no tick of the service. Measured: ministack 1.5.33 honours StartDate (its
  scheduler tick skips an ENABLED schedule while now < StartDate), so this holds there.
- A slot on a calendar's day fires and is recorded skipped, with the calendar's name, and
  nothing is dispatched.

On the session's ministack (integration/conftest.py), or the endpoint named by
``LOCALSTACK_ENDPOINT`` / ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.models import iso, parse_iso
from integration.deployed import eventually, http
from ops import run as local_run

STAGE = local_run.LOCAL_STAGE
EXAMPLE = json.loads(local_run.EXAMPLE)
EVERY_MINUTE = {**EXAMPLE, "name": "snoozed-every-minute", "schedule_expression": "rate(1 minute)",
                "timezone": "UTC", "description": "rate(1 minute), snoozed for a while"}
# Three minutes shows a snooze ending on time as well as ten (SNOOZE_TEST_MINUTES=10 runs
# the ten): the test waits for all of it.
SNOOZE = timedelta(minutes=int(os.environ.get("SNOOZE_TEST_MINUTES", "3")))
ON_TIME = timedelta(seconds=90)  # the first slot on the schedule's phase after the end, plus the emulator's 10 s tick


@pytest.fixture(scope="module")
def deployed(local_stages) -> Any:
    with local_stages.pointed():
        outputs = local_stages.up(STAGE)
        yield outputs, local_stages.logs[STAGE]


def _active(base: str, body: dict, outputs: Any, log: Any) -> dict:
    status, created = http("POST", f"{base}/api/schedules", body)
    assert status == 202, created

    def active() -> Any:
        code, shown = http("GET", f"{base}/api/schedules/{created['id']}")
        return shown if code == 200 and shown.get("status") == "active" and not shown.get("pending_action") else None

    return eventually("the schedule becomes active", active, 60, outputs, log, every=2)


def _runs(base: str, schedule_id: str) -> list[dict]:
    status, page = http("GET", f"{base}/api/schedules/{schedule_id}/executions?limit=100")
    assert status == 200, page
    return list(page["items"])


def test_a_snooze_resumes_on_time(deployed):
    outputs, log = deployed
    base = outputs.base_url
    schedule = _active(base, EVERY_MINUTE, outputs, log)
    # WHEN it is snoozed for a few minutes
    until = (datetime.now(UTC) + SNOOZE).replace(microsecond=0)
    status, snoozed = http("POST", f"{base}/api/schedules/{schedule['id']}/snooze", {"until": iso(until)})
    assert status == 202, snoozed
    eventually("the snooze is applied", lambda: http("GET", f"{base}/api/schedules/{schedule['id']}")[1]
               .get("pending_action") is None, 60, outputs, log, every=2)
    # a fire the emulator started before the snooze reached it may still be finishing
    applied = datetime.now(UTC) + timedelta(seconds=30)
    # THEN no run starts while it is snoozed (EventBridge holds it), and the record says until when
    shown = http("GET", f"{base}/api/schedules/{schedule['id']}")[1]
    assert (shown["status"], shown["snoozed_until"]) == ("active", iso(until))

    def resumed() -> Any:
        started = [parse_iso(run["started_at"]) for run in _runs(base, schedule["id"])]
        return [moment for moment in started if moment > applied] or None

    runs = eventually("a run after the snooze", resumed, SNOOZE.total_seconds() + ON_TIME.total_seconds() + 60,
                      outputs, log, every=10)
    # AND the first run after it starts at its end, on time, with no reconcile or sweep
    first = min(runs)
    assert until <= first <= until + ON_TIME, (iso(until), iso(first))
    history = http("GET", f"{base}/api/schedules/{schedule['id']}/history")[1]["items"]
    assert any(entry["action"] == "snooze" for entry in history), history


def test_a_slot_on_a_calendars_day_fires_as_skipped(deployed):
    outputs, log = deployed
    base = outputs.base_url
    today = datetime.now(UTC).date()
    calendar = {"name": f"today-{today.isoformat()}", "timezone": "UTC",
                "ranges": [{"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}]}
    status, made = http("POST", f"{base}/api/calendars", calendar)
    assert status in (201, 409), made
    schedule = _active(base, {**EVERY_MINUTE, "name": "calendar-every-minute", "exclude_calendars": [calendar["name"]]},
                       outputs, log)

    def skipped() -> Any:
        return [run for run in _runs(base, schedule["id"]) if run["outcome"] == "skipped"] or None

    [first, *_] = eventually("a fire recorded skipped", skipped, 150, outputs, log, every=5)
    assert first["skip_reason"] == f"calendar {calendar['name']}"
    assert all(run["outcome"] == "skipped" for run in _runs(base, schedule["id"]))
    # the calendar cannot go while the schedule names it
    status, refused = http("DELETE", f"{base}/api/calendars/{calendar['name']}")
    assert status == 409 and schedule["id"] in refused["Message"]
    http("DELETE", f"{base}/api/schedules/{schedule['id']}")
