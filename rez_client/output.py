"""Printing answers: JSON as the API sent it, or a table for people (each command's own
columns, rez_client.commands)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rez_client.commands import Column

MAX_CELL = 48
# Columns of a page whose command declares none: the first of these present.
FALLBACK_COLUMNS = (
    "id", "name", "status", "schedule_expression", "timezone", "target_type", "version",
    "execution_id", "scheduled_time", "trigger", "outcome", "attempt", "duration_ms",
)
MAX_FALLBACK_COLUMNS = 7


def render(body: Any, output: str, columns: Sequence[Column] = ()) -> str:
    if output == "json":
        return json.dumps(body, indent=2, sort_keys=False)
    return table(body, columns)


def table(body: Any, columns: Sequence[Column] = ()) -> str:
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        text = _rows_table(body["items"], columns)
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
        return _rows_table(body, columns)
    return "" if body is None else str(body)


def _rows_table(rows: list[Any], columns: Sequence[Column]) -> str:
    if not rows:
        return "(none)"
    if not all(isinstance(row, dict) for row in rows):
        return "\n".join(_cell(row) for row in rows)
    shown = [c for c in columns or _fallback(rows) if not c.optional or any(_value(r, c.key) is not None for r in rows)]
    cells = [[_format(_value(row, column.key), column.kind) for column in shown] for row in rows]
    widths = [max(len(column.title), *(len(line[i]) for line in cells)) for i, column in enumerate(shown)]
    lines = ["  ".join(column.title.ljust(widths[i]) for i, column in enumerate(shown)).rstrip()]
    lines += ["  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip() for line in cells]
    return "\n".join(lines)


def _fallback(rows: list[dict[str, Any]]) -> list[Column]:
    keys: list[str] = []
    for row in rows:
        keys.extend(key for key in row if key not in keys)
    chosen = [key for key in FALLBACK_COLUMNS if key in keys][:MAX_FALLBACK_COLUMNS] or keys[:MAX_FALLBACK_COLUMNS]
    return [Column(key.upper(), key) for key in chosen]


def _value(row: dict[str, Any], key: str) -> Any:
    value: Any = row
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _format(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "duration_ms" and isinstance(value, (int, float)):
        return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"
    if kind == "list" and isinstance(value, list):
        return _cell(", ".join(str(item) for item in value) or "-")
    return _cell(value)


def _cell(value: Any, wide: bool = False) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if not wide and len(text) > MAX_CELL:
        return text[: MAX_CELL - 3] + "..."
    return text
