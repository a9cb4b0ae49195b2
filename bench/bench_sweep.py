"""Benchmark: AWS calls of the alert sweep over 10,000 every-minute schedules, and of a create
command.

Run: .venv/bin/python bench/bench_sweep.py (or through ``make bench``).

Everything runs on moto in this process (no network); calls are counted with a hook on the
botocore session, so the figures are exact counts, not timings.

- The fleet: 10,000 active every-minute schedules whose last slot ran on time, written as the
  command handler and an on-time run leave them (tests/fleet.py: the app's own item builders;
  moto copies the whole table for each transaction step, so 10,000 creates and runs through
  their transactions would measure moto). The sweep runs through ``wiring.alert_sweep()``,
  as its Lambda handler does. Baseline: the sweep as it was, which read every schedule with a
  slot due (its record, its runs, its watermark: 3 calls each, plus the query), measured on
  100 of them made due and scaled to the fleet.
- A missed slot: one more schedule whose run never came; its sweep costs the query plus that
  schedule's own alert.
- A create command: ``CommandHandler.handle_id`` on a record the API wrote. Baseline: the
  same handler writing the history entry and the watch on their own before the settle, as it
  did before they joined the settle's transaction.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import environment, figure, moto_credentials

STAGE = "dev"
REGION = "us-east-1"
FLEET = 10_000
BASELINE_SAMPLE = 100
ENVIRONMENT = {"STAGE": STAGE, "LATE_GRACE_SECONDS": "20", **moto_credentials(REGION)}
CREATED = datetime(2026, 3, 2, 0, 0, 30, tzinfo=UTC)
RAN = datetime(2026, 3, 2, 0, 1, 30, tzinfo=UTC)  # the slot every schedule of the fleet ran on time


def run() -> list[dict[str, Any]]:
    from moto import mock_aws

    with environment(ENVIRONMENT, unset=("AWS_ENDPOINT_URL", "AWS_PROFILE")), mock_aws():
        return _measure()


def _measure() -> list[dict[str, Any]]:
    from chalicelib import clients, wiring
    from tests.aws_calls import AwsCalls
    from tests.support import create_stage_resources

    clients.reset()
    create_stage_resources(STAGE)
    calls = AwsCalls().install()
    figures = _create_command(calls)
    settings = wiring.get_settings()
    silent = _create_silent(settings)
    from tests.fleet import seed_healthy_fleet

    fleet = seed_healthy_fleet(settings, FLEET, CREATED, RAN)
    wiring.use_clock(lambda: RAN + timedelta(seconds=10))  # before any deadline: nothing due
    try:
        calls.reset()
        wiring.alert_sweep(settings).run()
        healthy = float(calls.total)
        wiring.use_clock(lambda: RAN + timedelta(seconds=25))  # the silent one's slot is past its deadline
        calls.reset()
        report = wiring.alert_sweep(settings).run()
        missed = float(calls.total)
        assert len(report.alerts) == 1 and report.alerts[0]["schedule_id"] == silent, report.to_dict()
        per_due = _old_cost_per_due_schedule(settings, fleet[:BASELINE_SAMPLE], calls)
    finally:
        wiring.use_clock(None)
    baseline = 1 + per_due * FLEET
    figures.append(figure(f"AWS calls per alert sweep, {FLEET:,} healthy every-minute schedules", healthy, "calls",
                          baseline, "<= 5", healthy <= 5))
    figures.append(figure(f"AWS calls per alert sweep, {FLEET:,} healthy + 1 missed slot", missed, "calls",
                          None, "<= 7 (query + that slot's alert)", missed <= 7))
    return figures


def _create_silent(settings: Any) -> str:
    """One more every-minute schedule, through the API's service and the command handler,
    whose run never comes."""
    from chalicelib import wiring
    from chalicelib.identity import Caller
    from tests.fleet import EVERY_MINUTE

    wiring.use_clock(lambda: CREATED)
    try:
        schedule = wiring.schedule_service(settings).create(EVERY_MINUTE, Caller("bench-silent"))
        wiring.command_handler(settings).handle_id(schedule.id)
    finally:
        wiring.use_clock(None)
    return schedule.id


def _old_cost_per_due_schedule(settings: Any, sample: list[str], calls: Any) -> float:
    """What the sweep cost before runs moved their watches: every healthy schedule's watch
    was due at each slot's deadline. Made due again here and swept."""
    from chalicelib import wiring
    from chalicelib.activity import watch_id
    from chalicelib.models import iso

    table = wiring.clients.resource("dynamodb", settings).Table(settings.table_name)
    for schedule_id in sample:  # as before: due at each slot's deadline, its run found on time
        table.update_item(Key={"id": watch_id(schedule_id)}, UpdateExpression="SET created_date = :due",
                          ExpressionAttributeValues={":due": iso(RAN + timedelta(seconds=20))})
    wiring.use_clock(lambda: RAN + timedelta(seconds=26))
    calls.reset()
    report = wiring.alert_sweep(settings).run()
    assert report.examined >= len(sample), report.to_dict()
    return (calls.total - 1) / report.examined


def _create_command(calls: Any) -> list[dict[str, Any]]:
    from chalicelib import wiring
    from chalicelib.identity import Caller
    from chalicelib.service import CommandHandler
    from tests.fleet import EVERY_MINUTE

    settings = wiring.get_settings()
    service = wiring.schedule_service(settings)

    def measure(handler: CommandHandler) -> float:
        schedule = service.create(EVERY_MINUTE, Caller("bench-creator"))
        calls.reset()
        handler.handle_id(schedule.id)
        return float(sum(n for call, n in calls.calls.items() if not call.startswith("sts:")))

    now = measure(wiring.command_handler(settings))
    before = measure(CommandHandler(wiring.repository(settings), wiring.gateway(settings), settings.deleted_ttl_days,
                                    recorder=_SeparateWrites(wiring.activity(settings))))
    return [figure("AWS calls per create command", now, "calls", before, "<= 4", now <= 4)]


class _SeparateWrites:
    """The handler's history entry and watch written on their own, before the settle (as
    before they joined its transaction)."""

    def __init__(self, activity: Any):
        self._activity = activity

    def change_steps(self, schedule: Any, active: bool, now: datetime, expires_at: int | None = None) -> list[Any]:
        table = self._activity._table
        for step in self._activity.change_steps(schedule, active, now, expires_at):
            [(kind, request)] = step.items()
            request = {key: value for key, value in request.items() if key != "TableName"}
            {"Put": table.put_item, "Update": table.update_item, "Delete": table.delete_item}[kind](**request)
        return []


if __name__ == "__main__":
    for row in run():
        print(row)
