"""Benchmark: memory of previewing many distinct expressions (issue: the parse cache kept
~150 KiB per distinct never-firing expression, so a 128 MB function died after ~470).

Run: .venv/bin/python bench/bench_preview_memory.py [--count N]

In a fresh subprocess: one warm-up preview, then ``count`` previews of distinct
expressions that never fire (February 30th and the like: each scans every month to 2199,
the worst case for the day cache), and the growth of the process's resident set size
(VmRSS). The baseline, in another fresh subprocess of the same run, previews one
expression ``count`` times: what the interpreter and allocator grow by anyway.
Target: under 20 MB for 10,000 distinct previews.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COUNT = 10_000
TARGET_MB = 20.0

_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from chalicelib import expressions
from chalicelib.clock import system_clock

# never-firing days: February 30th and 31st, the 31st of 30-day months
DAYS = [(30, 2), (31, 2), (31, 4), (31, 6), (31, 9), (31, 11)]
YEARS = ["*", "1970-2199"]

def distinct(i):
    day, month = DAYS[(i // 1440) % len(DAYS)]
    years = YEARS[(i // (1440 * len(DAYS))) % len(YEARS)]
    return f"cron({i % 60} {(i // 60) % 24} {day} {month} ? {years})"

def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")

count, same = int(sys.argv[2]), sys.argv[3] == "same"
expressions.preview(distinct(count + 1), after=system_clock())
before = rss()
for i in range(count):
    expressions.preview(distinct(0) if same else distinct(i), after=system_clock())
print(json.dumps({"growth": rss() - before, "cached": expressions._parse_cached.cache_info().currsize}))
"""


def _measure(count: int, same: bool) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT), str(count), "same" if same else "distinct"],
        capture_output=True, text=True, timeout=600, check=True,
    )
    return json.loads(result.stdout)


def run(count: int = COUNT) -> list[dict]:
    distinct = _measure(count, same=False)
    baseline = _measure(count, same=True)
    growth_mb = distinct["growth"] / 2**20
    baseline_mb = baseline["growth"] / 2**20
    return [
        {
            "name": f"RSS growth, {count:,} distinct never-firing previews",
            "value": round(growth_mb, 2),
            "unit": "MB",
            "baseline": round(baseline_mb, 2),
            "ratio": round(growth_mb / baseline_mb, 2) if baseline_mb >= 1 else None,
            "target": f"< {TARGET_MB:g} MB (baseline: one expression previewed {count:,} times)",
            "met": growth_mb < TARGET_MB,
        }
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=COUNT)
    for figure in run(parser.parse_args().count):
        print(json.dumps(figure))


if __name__ == "__main__":
    main()
