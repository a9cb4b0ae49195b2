"""Benchmark: the cold start's import, ``import app`` against bare ``import chalice, boto3``.

Run: .venv/bin/python bench/bench_import.py [--rounds N]

Each sample is a fresh Python process (nothing cached in ``sys.modules``) that times its
import with ``time.perf_counter`` and prints the seconds. The two imports alternate, round by
round, in the same run, so both see the same machine load; the figure is the ratio of the
medians. The app is imported with the ``dev`` stage's environment, as on Lambda. Touches no
network.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.3

BASELINE = "import chalice, boto3"
APP = "import app"
PROBE = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


def _stage_environment() -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"]["dev"]["environment_variables"])


def sample(statement: str, env: dict[str, str]) -> float:
    """Seconds one fresh interpreter takes to run ``statement``."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure(rounds: int = 21) -> dict[str, Any]:
    env = {**os.environ, **_stage_environment(), "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_ENDPOINT_URL", None)
    sample(APP, env)  # compile .pyc files once, outside the timing
    baseline: list[float] = []
    app: list[float] = []
    for round_ in range(rounds):
        pair = [(BASELINE, baseline), (APP, app)]
        for statement, into in pair if round_ % 2 == 0 else reversed(pair):
            into.append(sample(statement, env))
    base_ms = statistics.median(baseline) * 1000
    app_ms = statistics.median(app) * 1000
    return {"baseline_ms": base_ms, "app_ms": app_ms, "ratio": app_ms / base_ms, "rounds": rounds}


def run() -> list[dict[str, Any]]:
    """The figure for ``make bench`` (bench/run.py)."""
    figures = measure()
    return [
        {
            "name": "import app / import chalice, boto3",
            "value": round(figures["app_ms"], 1),
            "unit": "ms",
            "baseline": round(figures["baseline_ms"], 1),
            "ratio": round(figures["ratio"], 2),
            "target": f"<= {TARGET_RATIO}x",
            "met": figures["ratio"] <= TARGET_RATIO,
        }
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    figures = measure(args.rounds)
    print(
        f"import app: {figures['app_ms']:.1f} ms, import chalice, boto3: {figures['baseline_ms']:.1f} ms "
        f"(medians of {figures['rounds']} alternating fresh processes): {figures['ratio']:.2f}x "
        f"(target <= {TARGET_RATIO}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
