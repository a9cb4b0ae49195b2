"""A fleet of healthy every-minute schedules, written as the app leaves them: for each, the
record as the command handler settles it, its alert watch as the settle starts it, and the
watch as an on-time run of ``ran`` moves it (the app's own item builders and write requests,
applied one item at a time). moto copies the whole table for every transaction step, so
driving thousands of creates and runs through their transactions would measure moto; the
paths themselves are tested through the functions' entries (tests/test_sweep_cost.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib import wiring
from chalicelib.activity import watch_moved
from chalicelib.config import Settings
from chalicelib.models import Schedule, ScheduleDefinition, ScheduleStatus, iso, new_id
from chalicelib.repository import schedule_to_item
from chalicelib.timeline import next_due, planned_slot, slot_key

EVERY_MINUTE = ScheduleDefinition(name="fleet", schedule_expression="rate(1 minute)", target_type="web_action",
                                  payload={"action": "report"})


def seed_healthy_fleet(settings: Settings, count: int, created: datetime, ran: datetime,
                       owner: str = "fleet-owner") -> list[str]:
    """``count`` active every-minute schedules created at ``created`` whose slot reported at
    ``ran`` ran on time: their ids."""
    table = wiring.clients.resource("dynamodb", settings).Table(settings.table_name)
    activity = wiring.activity(settings)
    grace = timedelta(seconds=settings.late_grace_seconds)
    ids = []
    with table.batch_writer() as batch:
        for n in range(count):
            schedule = Schedule(
                id=new_id(), definition=EVERY_MINUTE.model_copy(update={"name": f"fleet-{n}"}),
                status=ScheduleStatus.ACTIVE, version=1, created_by=owner, created_date=iso(created),
                updated_date=iso(created),
            )
            batch.put_item(Item=schedule_to_item(schedule))
            ids.append(schedule)
    for schedule in ids:
        slot = planned_slot(schedule, ran, grace)
        assert slot is not None, f"no slot at {ran}"
        first = next_due(schedule, created, grace)
        table.update_item(**activity.watch_request(schedule.id, created, first))
        following = next_due(schedule, slot.time, grace)
        assert following is not None
        table.update_item(**_single(watch_moved(table.name, schedule.id, slot_key(slot.time), iso(slot.deadline),
                                                iso(following))))
    return [schedule.id for schedule in ids]


def _single(step: dict[str, Any]) -> dict[str, Any]:
    """A transaction's Update step as a plain UpdateItem request."""
    update = dict(step["Update"])
    update.pop("TableName")
    return update
