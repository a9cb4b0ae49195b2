"""docs/operations.md says what the code does: its configuration table names exactly the
environment variables the code reads (every ``ENV_* = "NAME"`` declared in chalicelib/ and
ops/), and it names every metric the code declares and every alarm the template holds."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "docs" / "operations.md"
DECLARATION = re.compile(r'^ENV_[A-Z0-9_]+\s*(?::\s*\w+\s*)?=\s*"([A-Z][A-Z0-9_]+)"', re.M)
# Read by the Lambda runtime or Powertools, not configuration a person sets.
RUNTIME = {"AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_TRACE_DISABLED", "AWS_XRAY_DAEMON_ADDRESS", "_X_AMZN_TRACE_ID"}


def declared() -> set[str]:
    names: set[str] = set()
    for path in [*(ROOT / "chalicelib").rglob("*.py"), *(ROOT / "ops").rglob("*.py")]:
        names.update(DECLARATION.findall(path.read_text()))
    return names - RUNTIME


def documented() -> set[str]:
    page = OPERATIONS.read_text()
    section = page[page.index("## Configuration"):]
    section = section[: section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_variable_the_code_reads_is_documented():
    missing = sorted(declared() - documented())
    assert not missing, f"docs/operations.md's configuration table lacks {missing}"


def test_every_documented_variable_is_read_by_the_code():
    unknown = sorted(documented() - declared())
    assert not unknown, f"docs/operations.md documents variables nothing reads: {unknown}"


def test_every_metric_and_alarm_is_named_in_operations():
    from ops import monitoring

    page = OPERATIONS.read_text()
    source = (ROOT / "chalicelib" / "observability.py").read_text()
    metrics = re.findall(r'^[A-Z_]+ = "([A-Z][a-z]+(?:[A-Z][a-z]+)+)"$', source, re.M)
    assert len(metrics) >= 10, metrics
    alarm_names = [alarm["Properties"]["AlarmName"] for alarm in monitoring.alarms("dev").values()]
    suffixes = [name.removeprefix("rez-agent-dev") for name in alarm_names]
    missing = [f"`{m}`" for m in metrics if f"`{m}`" not in page] + [s for s in suffixes if f"`{s}`" not in page and f"-<stage>{s}`" not in page]
    assert not missing, f"docs/operations.md does not name {missing}"
