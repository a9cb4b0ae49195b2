"""The client's tables, from answers as the API sends them (no server needed)."""

from __future__ import annotations

from rez_client.commands import BY_NAME
from rez_client.output import render


def lines(body, command):
    return render(body, "table", BY_NAME[command].columns).splitlines()


def test_a_list_shows_health_next_fire_and_last_run_only_when_the_api_sends_them():
    row = {"id": "a", "name": "n", "status": "active", "schedule_expression": "rate(1 hour)", "timezone": "UTC",
           "target_type": "web_action", "created_by": "team-golf"}
    plain = lines({"items": [row], "next_cursor": None}, "list")
    assert plain[0].split() == ["ID", "NAME", "STATUS", "EXPRESSION", "TIMEZONE", "TARGET", "CREATED", "BY"]
    rich = {**row, "health": "failing", "next_fire_time": "2026-12-06T09:00:00Z",
            "last_execution": {"execution_id": "x", "outcome": "failed"}}
    header, line = lines({"items": [rich, row], "next_cursor": "abc"}, "list")[:2]
    assert "HEALTH" in header and "NEXT FIRE" in header and "LAST RUN" in header
    assert line.split()[3] == "failing" and "2026-12-06T09:00:00Z" in line and "failed" in line


def test_a_timeline_reads_durations_and_a_slot_without_a_run():
    body = {"items": [
        {"time": "2026-12-06T08:00:00Z", "result": "late", "trigger": "scheduled",
         "execution": {"started_at": "2026-12-06T08:03:10Z", "duration_ms": 2500}},
        {"time": "2026-12-06T09:00:00Z", "result": "upcoming", "trigger": "scheduled"},
    ], "next_cursor": "more"}
    header, late, upcoming, more = lines(body, "timeline")
    assert header.split() == ["TIME", "RESULT", "TRIGGER", "STARTED", "DURATION"]
    assert late.split() == ["2026-12-06T08:00:00Z", "late", "scheduled", "2026-12-06T08:03:10Z", "2.5", "s"]
    assert upcoming.split() == ["2026-12-06T09:00:00Z", "upcoming", "scheduled", "-", "-"]
    assert more == "next page: --cursor more"


def test_history_lists_the_changed_fields():
    body = {"items": [{"version": 3, "action": "update", "by": "alice", "at": "2026-12-06T08:00:00Z",
                       "fields": ["description", "schedule_expression"]}], "next_cursor": None}
    header, entry = lines(body, "history")
    assert header.split() == ["VERSION", "ACTION", "BY", "AT", "FIELDS"]
    assert entry.split("  ")[-1] == "description, schedule_expression"
