"""What `make run` installs is what running needs, and it agrees with what `make venv`
installs: the same pins, no development tool, a visible step per stage of the set-up."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_TOOLS = {"pytest", "mypy", "ruff", "schemathesis", "playwright", "cfn-lint", "hypothesis",
                     "openapi-spec-validator", "pytest-localstack", "localstack-client"}


def pins(name: str) -> dict[str, str]:
    """``package -> line`` of a requirements file, following ``-r`` includes."""
    found: dict[str, str] = {}
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found.update(pins(line[3:].strip()))
            continue
        package = re.split(r"[\[=<>!~ ]", line, maxsplit=1)[0].lower()
        found[package] = line
    return found


def test_running_installs_no_development_tool():
    assert DEVELOPMENT_TOOLS.isdisjoint(pins("requirements-run.txt")), sorted(
        DEVELOPMENT_TOOLS & set(pins("requirements-run.txt"))
    )


def version(line: str) -> str:
    return line.rsplit("==", 1)[-1].strip()


def test_running_and_developing_pin_the_same_versions():
    run, dev = pins("requirements-run.txt"), pins("requirements-dev.txt")
    differ = {package: (line, dev[package]) for package, line in run.items() if package in dev and version(line) != version(dev[package])}
    assert differ == {}


def dry_run(target: str) -> str:
    """What ``make TARGET`` would run from a fresh clone (every step, none executed)."""
    return subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_make_run_installs_requirements_run_and_says_each_step():
    steps = dry_run("run")
    assert "-r requirements-run.txt" in steps
    assert "requirements-dev.txt" not in steps
    assert "--quiet" not in steps  # pip shows its progress
    assert "==> the service" in steps and "==> the local AWS emulator" in steps


def test_make_test_still_installs_every_tool():
    steps = dry_run("test")
    assert "-r requirements-dev.txt" in steps and "-r requirements-run.txt" in steps
