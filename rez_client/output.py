"""Printing answers: JSON as the API sent it, or a table for people."""

from __future__ import annotations

import json
from typing import Any

# The columns shown first for a page of items, when present.
PREFERRED_COLUMNS = (
    "id", "name", "status", "schedule_expression", "timezone", "target_type", "version",
    "execution_id", "scheduled_time", "trigger", "outcome", "attempt", "duration_ms",
    "slot", "at", "event", "by", "health",
)
MAX_COLUMNS = 7
MAX_CELL = 48


def render(body: Any, output: str) -> str:
    if output == "json":
        return json.dumps(body, indent=2, sort_keys=False)
    return table(body)


def table(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        text = _rows_table(body["items"])
        if body.get("next_cursor"):
            text += f"\nnext page: --cursor {body['next_cursor']}"
        return text
    if isinstance(body, dict) and isinstance(body.get("next"), list):  # a preview
        lines = [f"{body.get('schedule_expression')} in {body.get('timezone')}:"]
        lines += [f"  {moment}" for moment in body["next"]] or ["  (no fire times)"]
        lines += [f"warning: {warning}" for warning in body.get("warnings", [])]
        return "\n".join(lines)
    if isinstance(body, dict):
        width = max((len(key) for key in body), default=0)
        return "\n".join(f"{key.ljust(width)}  {_cell(value, wide=True)}" for key, value in body.items())
    if isinstance(body, list):
        return _rows_table(body)
    return "" if body is None else str(body)


def _rows_table(rows: list[Any]) -> str:
    if not rows:
        return "(none)"
    if not all(isinstance(row, dict) for row in rows):
        return "\n".join(_cell(row) for row in rows)
    keys: list[str] = []
    for row in rows:
        keys.extend(key for key in row if key not in keys)
    columns = [key for key in PREFERRED_COLUMNS if key in keys][:MAX_COLUMNS]
    if not columns:
        columns = keys[:MAX_COLUMNS]
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.upper().ljust(widths[i]) for i, column in enumerate(columns))]
    lines += ["  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip() for line in cells]
    return "\n".join(lines)


def _cell(value: Any, wide: bool = False) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if not wide and len(text) > MAX_CELL:
        return text[: MAX_CELL - 3] + "..."
    return text
