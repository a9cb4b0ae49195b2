"""``make bench``: every figure of every ``bench/bench_*.py`` module, against its baseline
measured in the same run and its target.

Each module's ``run() -> list[dict]`` returns its figures, each
``{"name", "value", "unit", "baseline", "ratio", "target", "met"}``. This prints them as one
table and writes them to bench/results.json. A module that fails is reported as a failed
figure and the others still run. Exit status 1 when a target is missed or a module failed.

Run: .venv/bin/python bench/run.py [name ...]   (names select modules, e.g. ``reconcile``)
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

FIELDS = ("name", "value", "unit", "baseline", "ratio", "target", "met")


def discover(selected: list[str]) -> list[str]:
    modules = sorted(path.stem for path in HERE.glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if m.removeprefix("bench_") in selected or m in selected]
    return modules


def run_module(module_name: str) -> tuple[list[dict[str, Any]], float]:
    started = time.perf_counter()
    try:
        figures = list(importlib.import_module(module_name).run())
    except Exception:  # noqa: BLE001 - one module's failure is a figure, the rest go on
        traceback.print_exc()
        figures = [{"name": f"{module_name}: failed to run", "value": float("nan"), "unit": "",
                    "baseline": None, "ratio": None, "target": "runs", "met": False}]
    for figure in figures:
        missing = [key for key in FIELDS if key not in figure]
        if missing:
            raise ValueError(f"{module_name}: figure {figure.get('name')!r} lacks {missing}")
        figure["module"] = module_name
    return figures, time.perf_counter() - started


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table(figures: list[dict[str, Any]]) -> str:
    header = ("figure", "value", "baseline", "ratio", "target", "met")
    rows = [
        (f["name"], f"{_cell(f['value'])} {f['unit']}".strip(),
         f"{_cell(f['baseline'])} {f['unit']}".strip() if f["baseline"] is not None else "-",
         _cell(f["ratio"]), f["target"], _cell(bool(f["met"])))
        for f in figures
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    figures: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    for module_name in discover(argv):
        print(f"running {module_name} ...", flush=True)
        found, seconds = run_module(module_name)
        figures.extend(found)
        timings[module_name] = round(seconds, 1)
        print(f"  {module_name}: {len(found)} figure(s) in {seconds:.1f} s", flush=True)
    print()
    print(table(figures))
    results = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "module_seconds": timings,
        "figures": figures,
    }
    (HERE / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {HERE / 'results.json'}")
    return 0 if all(f["met"] for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
