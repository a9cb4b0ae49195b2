"""The functions' JSON log lines, rendered for people (``make run``'s stream).

Each function writes one JSON line per event (``chalicelib.observability``); ``render``
turns one into one readable line: time, function, event, schedule, outcome and what matters
for that kind of event. Failures (the WARNING and ERROR lines: each function logs a success at
INFO, whatever its outcome) are marked ``!!`` and shown in red on a terminal. Hidden unless verbose: the Lambda platform's START/END/REPORT lines, the metric
(EMF) documents, and the periodic reconcile when it changed nothing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

RED = "\033[31m"
RESET = "\033[0m"
PLATFORM_PREFIXES = ("START RequestId:", "END RequestId:", "REPORT RequestId:", "INIT_START", "EXTENSION", "INIT_REPORT")
FAILURE_LEVELS = ("WARNING", "ERROR", "CRITICAL")


def clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%H:%M:%S")


def parse(message: str) -> dict[str, Any] | None:
    text = message.strip()
    if not text.startswith("{"):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _short(schedule_id: Any) -> str:
    return f"schedule {str(schedule_id)[:8]}" if schedule_id else ""


def _slot(value: Any) -> str:
    text = str(value or "")
    return text[11:19] if len(text) >= 19 else text


def _report(line: dict[str, Any], reason: str) -> str:
    """A worker's report of a run: what it reported, and how long the run took."""
    slot = f" of the {_slot(line['slot'])} slot" if line.get("slot") else ""
    took = f" after {line['run_duration_ms']} ms" if line.get("run_duration_ms") is not None else ""
    reported = f", run {line['reported_outcome']}{took}" if line.get("reported_outcome") else ""
    said = f": {line['reported_message']}" if line.get("reported_message") else ""
    return f"report{slot} -> {line.get('outcome')}{reported}  {_short(line.get('schedule_id'))}{said}{reason}"


def render_event(line: dict[str, Any]) -> str | None:
    """The event part of a readable line, or None when it is noise."""
    event = line.get("event")
    outcome = line.get("outcome")
    reason = f" ({line['reason']})" if line.get("reason") else ""
    if event == "api_request":
        return (
            f"{line.get('method')} {line.get('route')} {line.get('status')}  {_short(line.get('schedule_id'))}"
            f"  {line.get('duration_ms')} ms{reason}"
        )
    if event == "command":
        status = f" ({line['status']})" if line.get("status") else ""
        version = f" v{line['version']}" if line.get("version") is not None else ""
        return (
            f"command {line.get('action')}{version} -> {outcome}{status}"
            f"  {_short(line.get('schedule_id'))}{reason}"
        )
    if event == "execution":
        latency = f", started {line['start_latency_ms']} ms after its slot" if "start_latency_ms" in line else ""
        return (
            f"run of the {_slot(line.get('slot'))} slot, attempt {line.get('attempt')} -> {outcome}"
            f"  {_short(line.get('schedule_id'))}  {line.get('duration_ms')} ms{latency}{reason}"
        )
    if event == "report":
        return _report(line, reason)
    if event == "drift_repair":
        return f"drift {line.get('action')} -> {outcome}  {_short(line.get('schedule_id'))}{reason}"
    if event == "reconcile":
        counts = line.get("counts") or {}
        changed = {action: n for action, n in counts.items() if action != "noop"}
        if not changed:
            return None
        return f"reconcile: {', '.join(f'{n} {action}' for action, n in sorted(changed.items()))}"
    if event == "invocation":
        return f"invocation -> {outcome}  {line.get('duration_ms')} ms{reason}"
    return str(line.get("message", ""))


def render(message: str, label: str, timestamp_ms: int, verbose: bool = False, color: bool = False) -> str | None:
    """One line for one log event, or None to hide it."""
    text = message.rstrip("\n")
    if verbose:
        return f"{clock(timestamp_ms)} [{label}] {text}"
    if text.startswith(PLATFORM_PREFIXES):
        return None
    line = parse(text)
    if line is None:
        return f"{clock(timestamp_ms)} {label:<16} {text}" if text.strip() else None
    if "_aws" in line:  # an EMF metrics document
        return None
    body = render_event(line)
    if body is None:
        return None
    function = line.get("function_name") or label
    failed = line.get("level") in FAILURE_LEVELS
    rendered = f"{clock(timestamp_ms)} {function:<16} {'!! ' if failed else ''}{body}"
    return f"{RED}{rendered}{RESET}" if failed and color else rendered
