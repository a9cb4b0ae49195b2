"""The one clock: every time the service writes, the DynamoDB TTLs included, is read from
the clock wiring holds, so a test that sets it once moves them all (moto)."""

from __future__ import annotations

import re
from pathlib import Path

import boto3

from chalicelib.config import get_settings
from tests.support import JSON, deliver_commands
from tests.timeline_support import HOURLY, at, create, fire

DAY = 86400
ROOT = Path(__file__).resolve().parent.parent
TIME_OF_DAY = re.compile(r"\b(datetime\.(now|utcnow|today)|time\.time(_ns)?|date\.today)\(")


def items_of(schedule_id: str) -> dict[str, dict]:
    """Every item the service keeps for the schedule, by kind, as stored."""
    settings = get_settings()
    table = boto3.resource("dynamodb", region_name=settings.region).Table(settings.table_name)
    found: dict[str, dict] = {}
    for item in table.scan()["Items"]:
        if str(item["id"]).startswith(schedule_id):
            kind = str(item.get("record_type", "schedule"))
            found[kind if kind != "history" else f"history {item.get('action')}"] = item
    return found


def epoch(text: str) -> int:
    return int(at(text).timestamp())


def test_dates_and_ttls_follow_the_clock_the_test_sets_once(chalice_client, moto_stage, names, clock):
    settings = get_settings()
    # GIVEN the service's clock on 2026-03-02 (years before the machine's own time)
    sid = create(chalice_client, moto_stage, names, clock, "2026-03-02T00:30:00Z", HOURLY)
    # WHEN its 01:00 slot runs at 01:00:02, and it is deleted at 02:00
    fire(chalice_client, clock, sid, "2026-03-02T01:00:00Z", "2026-03-02T01:00:02Z")
    clock.set("2026-03-02T02:00:00Z")
    assert chalice_client.http.delete(f"/api/schedules/{sid}", headers=JSON).status_code == 202
    deliver_commands(chalice_client, moto_stage, names)
    items = items_of(sid)
    # THEN the record's dates are the clock's
    record = items["schedule"]
    assert (record["created_date"], record["updated_date"]) == ("2026-03-02T00:30:00Z", "2026-03-02T02:00:00Z")
    # AND each TTL counts from the clock's time of the write, not from the machine's
    assert int(record["ttl"]) == epoch("2026-03-02T02:00:00Z") + settings.deleted_ttl_days * DAY
    assert int(items["execution"]["ttl"]) == epoch("2026-03-02T01:00:02Z") + settings.execution_ttl_days * DAY
    assert items["execution"]["started_at"].startswith("2026-03-02T01:00:02")
    created = items["history create"]
    assert created["created_date"].startswith("2026-03-02T00:30:00")
    assert int(created["ttl"]) == epoch("2026-03-02T00:30:00Z") + settings.history_ttl_days * DAY


def test_nothing_but_the_clock_asks_the_system_for_the_time_of_day():
    # GIVEN the code the functions run (durations use time.monotonic, which no test moves)
    sources = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    # THEN only chalicelib/clock.py reads the time of day; everything else is handed the clock
    readers = [f"{path.relative_to(ROOT)}:{number}" for path in sources if path.name != "clock.py"
               for number, line in enumerate(path.read_text().splitlines(), 1) if TIME_OF_DAY.search(line)]
    assert readers == []
