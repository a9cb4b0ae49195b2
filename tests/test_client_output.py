"""The client's tables, from answers as the API sends them (no server needed)."""

from __future__ import annotations

import re

from rez_client.commands import BY_NAME
from rez_client.output import render


def cells(line: str) -> list[str]:
    """A table line's cells (columns are two or more spaces apart)."""
    return re.split(r"\s{2,}", line.strip())


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


def test_executions_show_what_the_worker_reported_and_how_long_the_run_took():
    # GIVEN runs reported failed after 95 s, succeeded after 2.5 s, skipped, and one not reported yet
    run = {"scheduled_time": "2026-12-06T08:00:00Z", "trigger": "scheduled", "outcome": "succeeded",
           "started_at": "2026-12-06T08:00:01Z", "duration_ms": 40, "execution_id": "e1"}
    body = {"items": [
        {**run, "dispatched_at": "2026-12-06T08:00:01Z"},
        {**run, "reported_outcome": "failed", "run_duration_ms": 95_000, "reported_message": "site answered 503"},
        {**run, "reported_outcome": "succeeded", "run_duration_ms": 2500},
        {**run, "outcome": "skipped", "duration_ms": None, "skip_reason": "overlap policy skip"},
    ], "next_cursor": None}
    # WHEN the executions are printed as a table
    header, waiting, failed, succeeded, skipped = lines(body, "executions")
    # THEN the report's columns are there, each run's report in them
    assert cells(header) == ["SCHEDULED", "TRIGGER", "OUTCOME", "STARTED", "DURATION", "REPORTED", "RAN FOR",
                             "MESSAGE", "SKIPPED BECAUSE", "ATTEMPTS", "EXECUTION"]
    assert cells(failed)[5:9] == ["failed", "95.0 s", "site answered 503", "-"]
    assert cells(succeeded)[5:9] == ["succeeded", "2.5 s", "-", "-"]
    assert cells(skipped)[8] == "overlap policy skip"
    assert cells(waiting)[5:9] == ["-", "-", "-", "-"]
    # AND runs without any report print the table as before
    plain = lines({"items": [run], "next_cursor": None}, "executions")[0]
    assert "REPORTED" not in plain and "RAN FOR" not in plain


def test_a_timeline_shows_running_overdue_and_timed_out_slots_and_why_a_slot_was_skipped():
    started = {"started_at": "2026-12-06T08:00:01Z", "duration_ms": 40}
    body = {"items": [
        {"time": "2026-12-06T08:00:00Z", "result": "failed", "trigger": "scheduled", "reason": "site answered 503",
         "execution": {**started, "reported_outcome": "failed", "run_duration_ms": 95_000}},
        {"time": "2026-12-06T09:00:00Z", "result": "skipped", "trigger": "scheduled", "reason": "run_if previous_succeeded"},
        {"time": "2026-12-06T10:00:00Z", "result": "timed_out", "trigger": "scheduled", "execution": started},
        {"time": "2026-12-06T11:00:00Z", "result": "overdue", "trigger": "scheduled", "execution": started},
        {"time": "2026-12-06T12:00:00Z", "result": "running", "trigger": "scheduled", "execution": started},
    ], "next_cursor": None}
    header, failed, skipped, timed_out, overdue, running = lines(body, "timeline")
    assert header.split() == ["TIME", "RESULT", "TRIGGER", "STARTED", "DURATION", "REPORTED", "RAN", "FOR", "REASON"]
    assert cells(failed)[1:] == ["failed", "scheduled", "2026-12-06T08:00:01Z", "40 ms", "failed", "95.0 s", "site answered 503"]
    assert cells(skipped)[1] == "skipped" and cells(skipped)[-1] == "run_if previous_succeeded"
    assert [line.split()[1] for line in (timed_out, overdue, running)] == ["timed_out", "overdue", "running"]
