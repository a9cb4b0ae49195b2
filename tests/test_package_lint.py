"""The app's CloudFormation, linted offline: a template that CloudFormation would reject fails
here, before any deploy.

For every stage in ``.chalice/config.json``: ``chalice package --stage S`` (the same call
``make deploy`` and ``make run`` make), then cfn-lint on Chalice's SAM template and on the
template ``ops.app_stack`` hands CloudFormation (code in S3, function names, stage
environment). Chalice downloads the Lambda platform's wheels of requirements.txt from PyPI
once and caches the built dependencies in ``.chalice/deployments/`` (gitignored); after
that a stage packages in about a second and lints in one or two.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.config import ENV_STAGE, ENV_TARGET_FUNCTION_ARN, resource_names
from ops import app_stack
from tests.support import PACKAGE_BUCKET, PACKAGED_STAGES

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".chalice" / "config.json"
APP = ROOT / "app.py"
STAGES = PACKAGED_STAGES
LINT_REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
BUCKET = PACKAGE_BUCKET
FUNCTIONS = {"api_handler", "schedule_command", "schedule_target", "reconcile", "alert_sweep", "dead_letters", "handle_results"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not APP.exists() or not STAGES, reason="no Chalice app to package yet"),
]


def lint(template: dict, path: Path) -> list[str]:
    from cfnlint.api import ManualArgs, lint_file

    path.write_text(json.dumps(template, indent=1))
    matches = lint_file(path, config=ManualArgs(regions=LINT_REGIONS))
    return [f"{m.rule.id} {m.message} ({m.linenumber}:{m.columnnumber})" for m in matches]


# ``packaged`` (tests/conftest.py): each stage packaged once per session.


def test_chalice_package_output_lints(packaged, tmp_path):
    _, chalice_template, _, _ = packaged
    assert lint(chalice_template, tmp_path / "sam.json") == []


def test_the_template_cloudformation_gets_lints(packaged, tmp_path):
    _, _, prepared, _ = packaged
    assert lint(prepared, tmp_path / "template.json") == []


def test_the_package_holds_the_app_and_its_dependencies(packaged):
    import zipfile

    _, _, _, out = packaged
    with zipfile.ZipFile(out / "deployment.zip") as package:
        names = set(package.namelist())
    assert {"app.py", "chalicelib/__init__.py", "chalicelib/config.py"} <= names
    assert any(name.startswith("pydantic_core/") for name in names)
    assert not any(name.startswith(("ops/", "tests/", "integration/", "bench/")) for name in names)


def test_the_package_holds_exactly_the_modules_the_functions_import(packaged):
    # GIVEN the modules app.py reaches through its imports (at any depth, in any function)
    import zipfile

    _, _, _, out = packaged
    reachable = runtime_modules()
    # WHEN the deployment package is opened
    with zipfile.ZipFile(out / "deployment.zip") as package:
        packaged_modules = {
            name for name in package.namelist() if name.startswith("chalicelib/") and name.endswith(".py")
        }
    # THEN it holds those modules and nothing else of ours
    assert packaged_modules == reachable


def runtime_modules() -> set[str]:
    """The files of every chalicelib module app.py imports, directly or not (read from the
    source, so an import inside a function counts), plus the packages' __init__ files."""
    import ast

    seen: set[str] = set()
    pending = [ROOT / "app.py"]
    while pending:
        tree = ast.parse(pending.pop().read_text())
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for target in targets:
                if not target.startswith("chalicelib"):
                    continue
                parts = target.split(".")
                for depth in range(1, len(parts) + 1):
                    for candidate in (
                        ROOT.joinpath(*parts[:depth]).with_suffix(".py"),
                        ROOT.joinpath(*parts[:depth], "__init__.py"),
                    ):
                        relative = candidate.relative_to(ROOT).as_posix()
                        if candidate.exists() and relative not in seen:
                            seen.add(relative)
                            pending.append(candidate)
    return seen


def test_functions_are_named_as_the_stage_policies_and_execution_role_expect(packaged):
    stage, _, prepared, _ = packaged
    names = resource_names(stage)
    assert set(app_stack.functions_of(prepared)) == FUNCTIONS
    for short, deployed in app_stack.functions_of(prepared).items():
        assert deployed == names.function(short)


def test_every_function_knows_its_stage_and_the_target_function(packaged):
    stage, _, prepared, _ = packaged
    for logical_id, resource in prepared["Resources"].items():
        if resource["Type"] != app_stack.SERVERLESS_FUNCTION:
            continue
        properties = resource["Properties"]
        variables = properties["Environment"]["Variables"]
        assert variables[ENV_STAGE] == stage, logical_id
        for name, value in app_stack.stage_environment(stage).items():
            assert variables[name] == value, (logical_id, name)
        assert resource_names(stage).function("schedule_target") in variables[ENV_TARGET_FUNCTION_ARN]["Fn::Sub"]
        assert properties["CodeUri"]["Bucket"] == BUCKET


def test_the_command_handler_subscribes_to_the_stage_command_topic(packaged):
    stage, _, prepared, _ = packaged
    events = prepared["Resources"]["ScheduleCommand"]["Properties"]["Events"]
    (subscription,) = [e for e in events.values() if e["Type"] == "SNS"]
    assert subscription["Properties"]["Topic"]["Fn::Sub"].endswith(":" + resource_names(stage).command_topic)


def test_every_sns_subscription_is_to_the_topic_its_function_consumes(packaged):
    # GIVEN the topic each SNS-subscribed function of app.py consumes (the results handler's
    # subscription appears with the function; until then only the command handler has one)
    stage, _, prepared, _ = packaged
    names = resource_names(stage)
    consumes = {"ScheduleCommand": names.command_topic, "HandleResults": names.results_topic}
    # WHEN the template CloudFormation gets is read
    found = {
        logical_id: event["Properties"]["Topic"]["Fn::Sub"]
        for logical_id, resource in prepared["Resources"].items()
        if resource["Type"] == app_stack.SERVERLESS_FUNCTION
        for event in (resource["Properties"].get("Events") or {}).values()
        if event["Type"] == "SNS"
    }
    # THEN every subscription is to its own stage's topic, and the command handler has one
    assert "ScheduleCommand" in found
    for logical_id, topic in found.items():
        assert logical_id in consumes, f"{logical_id} subscribes to {topic}, which no function is meant to consume"
        assert topic.endswith(":" + consumes[logical_id]), (logical_id, topic)
