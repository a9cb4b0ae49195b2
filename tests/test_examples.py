"""Every file in examples/ works as docs/examples.md uses it: a definition is created with
``python -m rez_client create --body @examples/<file>`` and becomes active with fire times;
a command-topic message is sent with ``python -m rez_client publish @examples/<file>`` and
the command handler applies it. Against the app served on 127.0.0.1 over moto."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import app as app_module
from tests.local_api import local_api
from tests.support import STAGE

pytestmark = pytest.mark.slow  # the app served on 127.0.0.1 over moto's server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
TEMPLATES = [path for path in EXAMPLES if "parameters" in json.loads(path.read_text())]
DEFINITIONS = [path for path in EXAMPLES if path not in TEMPLATES and "action" not in json.loads(path.read_text())]
MESSAGES = [path for path in EXAMPLES if path not in DEFINITIONS and path not in TEMPLATES]
COMMAND_TOPIC = f"rez-agent-schedule-creation-{STAGE}"


@pytest.fixture(scope="module")
def served():
    with local_api(app_module.app) as api:
        yield api


def rez(served, *argv):
    """``python -m rez_client`` as docs/examples.md runs it (from the project's root)."""
    env = {"PATH": "/usr/bin:/bin", "BASE": served.url, "AWS_ENDPOINT_URL": served.moto_url,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([sys.executable, "-m", "rez_client", *argv], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def apply_commands(served, project) -> list[str]:
    """The stage's command handler applies what reached the command topic; its outcomes."""
    from chalice.test import Client

    outcomes = []
    with Client(app_module.app, stage_name=STAGE, project_dir=project) as client:
        for index, command in enumerate(served.resources["tap"].drain(COMMAND_TOPIC)):
            event = client.events.generate_sns_event(message=json.dumps(command))
            event["Records"][0]["Sns"]["MessageId"] = f"example-{index}-{command.get('action')}"
            outcomes.append(client.lambda_.invoke("schedule_command", event).payload["outcome"])
    return outcomes


def test_there_are_examples_of_both_kinds():
    assert len(DEFINITIONS) >= 3 and MESSAGES
    assert (ROOT / "examples" / "tee-times.json") in DEFINITIONS  # the file the README uses


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda path: path.name)
def test_a_definition_creates_a_schedule_that_becomes_active(served, unit_test_project, path):
    # GIVEN the example file, WHEN it is created through the client and the command applied
    created = rez(served, "create", "--body", f"@examples/{path.name}")
    assert apply_commands(served, unit_test_project) == ["applied"]
    # THEN the schedule is active, with its next fire times
    shown = rez(served, "get", created["id"])
    assert shown["status"] == "active", shown
    assert shown["name"] == json.loads(path.read_text())["name"]
    assert shown["next_fire_times"]


@pytest.mark.parametrize("path", MESSAGES, ids=lambda path: path.name)
def test_a_message_is_published_and_applied(served, unit_test_project, path):
    served.resources["tap"].drain(COMMAND_TOPIC)  # what earlier tests left
    # GIVEN the example message, WHEN it is published through the client and handled
    sent = rez(served, "publish", f"@examples/{path.name}", "--stage", STAGE, "--namespace", "examples")
    assert sent["action"] == json.loads(path.read_text())["action"]
    assert apply_commands(served, unit_test_project) == ["accepted"]  # the record, as the API writes it
    assert apply_commands(served, unit_test_project) == ["applied"]  # then its schedule
    # THEN the schedule is listed for the local admin, active
    message = json.loads(path.read_text())
    statuses = {item["name"]: item["status"] for item in rez(served, "list")["items"]}
    assert statuses.get(message["schedule"]["name"]) == "active", statuses


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.name)
def test_a_template_is_created_and_makes_a_schedule(served, path):
    # GIVEN the example template, WHEN it is created through the client
    template = json.loads(path.read_text())
    created = rez(served, "template-create", "--body", f"@examples/{path.name}")
    assert (created["name"], created["version"]) == (template["name"], 1)
    # THEN a schedule made from it with its required parameters keeps the template's name
    params = {name: 7 if spec["type"] == "integer" else "x" for name, spec in template["parameters"].items()
              if "default" not in spec}
    made = rez(served, "create", "--body", json.dumps({"template": template["name"], "params": params}))
    assert made["template"]["name"] == template["name"], made


def test_every_example_is_shown_in_a_page():
    # GIVEN the README and the docs pages, THEN each example file is used by one of them (so run)
    pages = "".join(page.read_text() for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    assert [path.name for path in EXAMPLES if f"examples/{path.name}" not in pages] == []
