"""docs/architecture.md describes the table the stack creates: every index with its keys."""

from __future__ import annotations

from pathlib import Path

from ops.stack.table import SCHEDULES_INDEXES

ARCHITECTURE = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def test_every_index_is_described_with_its_keys():
    rows = {line.split("|")[1].strip(): line for line in ARCHITECTURE.read_text().splitlines() if line.startswith("| `")}
    for name, spec in SCHEDULES_INDEXES.items():
        row = rows.get(f"`{name}`")
        assert row, f"docs/architecture.md has no row for the index {name}"
        cells = [cell.strip() for cell in row.split("|")]
        assert cells[2] == f"`{spec['hash']['attribute']}`" or cells[2].startswith(f"`{spec['hash']['attribute']}` "), row
        assert cells[3] == f"`{spec['range']['attribute']}`", row
    described = {key.strip("`") for key in rows if key.strip("`").endswith("-index")}
    assert described == set(SCHEDULES_INDEXES), f"indexes described but not created: {described - set(SCHEDULES_INDEXES)}"

