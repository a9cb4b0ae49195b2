"""Schedules as code through the public API: ``python -m rez_client apply -f FILE [--prune]
[--dry-run]`` and ``export --label``, against the app served on 127.0.0.1 over moto."""

from __future__ import annotations

import io
import json

import pytest
import requests
import yaml

import app as app_module
from rez_client.cli import main
from tests.local_api import local_api

pytestmark = pytest.mark.slow  # the app served on 127.0.0.1 over moto's server

TEMPLATE = {
    "name": "tee-check",
    "parameters": {"club_id": {"type": "integer"}, "hour": {"type": "integer", "default": 6}},
    "schedule": {
        "name": "tee-{{club_id}}",
        "schedule_expression": "cron(0 {{hour}} * * ? *)",
        "timezone": "America/New_York",
        "target_type": "web_action",
        "payload": {"action": "check_tee_times", "club": "{{club_id}}"},
        "labels": {"team": "golf"},
    },
}


@pytest.fixture(scope="module")
def served():
    with local_api(app_module.app) as api:
        created = requests.post(f"{api.url}/api/templates", json=TEMPLATE, timeout=30)
        assert created.status_code == 201, created.text
        yield api


def cli(base, *argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(["--base", base, *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def write(path, schedules, labels=None):
    path.write_text(yaml.safe_dump({"labels": labels or {"team": "golf"}, "schedules": schedules}))
    return str(path)


def writes_during(served, *argv):
    """The command's exit code and output, and the AWS writes the API made meanwhile."""
    before = len(served.recorder.writes)
    code, out, err = cli(served.url, *argv)
    assert code == 0, err
    return out, served.recorder.writes[before:]


def test_a_file_of_fifty_from_a_template_applies_once_then_changes_one_then_prunes_one(served, tmp_path):
    fifty = [{"template": "tee-check", "params": {"club_id": n}} for n in range(1, 51)]
    path = write(tmp_path / "schedules.yaml", fifty)
    # WHEN the file is applied
    out, writes = writes_during(served, "apply", "-f", path)
    # THEN 50 schedules exist, each made from the template
    assert "applied: 50 to create, 0 to update, 0 to delete, 0 unchanged" in out
    listed = requests.get(f"{served.url}/api/schedules?label=team=golf&limit=100", timeout=30).json()["items"]
    assert sorted(item["name"] for item in listed) == sorted(f"tee-{n}" for n in range(1, 51))
    assert {item["template"]["name"] for item in listed} == {"tee-check"}
    # WHEN it is applied again
    out, writes = writes_during(served, "apply", "-f", path)
    # THEN nothing is written
    assert "applied: 0 to create, 0 to update, 0 to delete, 50 unchanged" in out
    assert writes == []
    # WHEN one line changes
    fifty[6] = {"template": "tee-check", "params": {"club_id": 7, "hour": 9}}
    out, writes = writes_during(served, "apply", "-f", write(tmp_path / "schedules.yaml", fifty))
    # THEN exactly that schedule is updated, with its changed fields printed
    assert "update    tee-7: payload, schedule_expression, template" not in out  # payload did not change
    assert "update    tee-7: schedule_expression, template" in out
    assert "applied: 0 to create, 1 to update, 0 to delete, 49 unchanged" in out
    assert writes.count("dynamodb.UpdateItem") == 1
    # WHEN a line is removed and the file applied with --prune (a dry run first)
    del fifty[9]
    path = write(tmp_path / "schedules.yaml", fifty)
    out, writes = writes_during(served, "apply", "-f", path, "--prune", "--dry-run")
    assert "delete    tee-10" in out and writes == []
    out, writes = writes_during(served, "apply", "-f", path, "--prune")
    # THEN exactly that one is deleted
    assert "applied: 0 to create, 0 to update, 1 to delete, 49 unchanged" in out
    listed = requests.get(f"{served.url}/api/schedules?label=team=golf&limit=100", timeout=30).json()["items"]
    deleting = [item["name"] for item in listed if item.get("pending_action") == "delete"]
    assert deleting == ["tee-10"]


def test_export_then_apply_is_a_no_op(served, tmp_path):
    # GIVEN plain schedules with labels, one paused
    for n, state in ((1, "ENABLED"), (2, "DISABLED")):
        body = {"name": f"range-{n}", "schedule_expression": "rate(1 hour)", "target_type": "notification",
                "payload": {"n": n}, "state": state, "labels": {"team": "range", "tier": str(n)}}
        assert requests.post(f"{served.url}/api/schedules", json=body, timeout=30).status_code == 202
    path = tmp_path / "range.yaml"
    # WHEN they are exported, then the file applied
    assert cli(served.url, "export", "--label", "team=range", "-f", str(path))[0] == 0
    exported = yaml.safe_load(path.read_text())
    assert exported["labels"] == {"team": "range"} and len(exported["schedules"]) == 2
    out, writes = writes_during(served, "apply", "-f", str(path), "--prune")
    # THEN nothing changes
    assert "applied: 0 to create, 0 to update, 0 to delete, 2 unchanged" in out and writes == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"schedules": [{"name": "x"}]}, "schedules/0"),
        ({"labels": {"aws:x": "1"}, "schedules": []}, "labels"),
        ({"schedules": [{"template": "t", "params": {"p": 1.5}}]}, "schedules/0"),
        ({"schedule": []}, "(file)"),
    ],
)
def test_a_file_that_breaks_its_schema_is_refused_before_any_call(tmp_path, document, message):
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(document))
    # an unreachable base: any call would fail differently
    code, _, err = cli("http://127.0.0.1:9", "apply", "-f", str(path))
    assert code == 2 and message in err and "schedules-file.schema.json" in err


def test_a_pruned_schedule_put_back_in_the_file_is_created_again(served, tmp_path):
    labels = {"team": "archery"}

    def entries(*numbers):
        return [{"name": f"back-{n}", "schedule_expression": "rate(1 hour)", "target_type": "notification"}
                for n in numbers]

    writes_during(served, "apply", "-f", write(tmp_path / "back.yaml", entries(1, 2), labels))
    # WHEN one is pruned, then put back in the file
    out, _ = writes_during(served, "apply", "-f", write(tmp_path / "back.yaml", entries(1), labels), "--prune")
    assert "delete    back-2" in out
    out, _ = writes_during(served, "apply", "-f", write(tmp_path / "back.yaml", entries(1, 2), labels))
    # THEN it is created again, and the next apply changes nothing
    assert "applied: 1 to create, 0 to update, 0 to delete, 1 unchanged" in out
    out, writes = writes_during(served, "apply", "-f", str(tmp_path / "back.yaml"))
    assert "applied: 0 to create, 0 to update, 0 to delete, 2 unchanged" in out and writes == []
