"""The command-line client (``python -m rez_client``) against the app served on 127.0.0.1
over moto, and its agreement with the OpenAPI document."""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import app as app_module
from chalicelib.openapi import api as registry
from rez_client import main
from rez_client.api import Auth, operations, sigv4_headers
from rez_client.commands import COMMANDS, META_PATHS
from tests.local_api import local_api
from tests.support import STAGE, TEE_TIMES

pytestmark = pytest.mark.slow  # the app served on 127.0.0.1 over moto's server

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = registry.document(app_module.app.routes)


@pytest.fixture(scope="module")
def served():
    with local_api(app_module.app) as api:
        yield api


def cli(base, *argv, document=None):
    out, err = io.StringIO(), io.StringIO()
    code = main(["--base", base, *argv], document=document, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_every_operation_has_a_command_and_every_command_an_operation():
    known = operations(DOCUMENT)
    bound = {(command.method, command.path): command.name for command in COMMANDS}
    without_command = sorted(f"{m} {p}" for m, p in known if (m, p) not in bound and p not in META_PATHS)
    assert without_command == [], "add a command in rez_client/commands.py for these operations"
    missing = sorted(name for key, name in bound.items() if key not in known)
    # every command finds its operation in the document
    assert missing == [], f"commands without an operation: {missing}"


def test_each_commands_options_are_its_operations_parameters():
    # GIVEN the document's parameters for each operation, WHEN the client builds its commands
    from rez_client.cli import build_parser, option_name

    known = operations(DOCUMENT)
    parser = build_parser(known)
    subcommands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in COMMANDS:
        operation = known.get((command.method, command.path))
        if operation is None:
            continue
        options = {s for action in subcommands[command.name]._actions for s in action.option_strings}
        # THEN every query parameter and header is an option, and a body is --body
        for parameter in operation.parameters:
            if parameter.location != "path":
                assert option_name(parameter.name) in options, (command.name, parameter.name)
        assert ("--body" in options) == operation.has_body, command.name


def test_the_lifecycle_through_the_client(served):
    base = served.url
    # create
    code, out, err = cli(base, "create", "--body", json.dumps(TEE_TIMES), "--idempotency-key", "k-1")
    assert (code, err) == (0, "")
    created = json.loads(out)
    schedule_id = created["id"]
    assert created["status"] == "pending" and created["version"] == 1
    # get, list (table)
    code, out, _ = cli(base, "get", schedule_id)
    assert code == 0 and json.loads(out)["name"] == "tee-times"
    code, out, _ = cli(base, "--output", "table", "list", "--status", "pending", "--limit", "5")
    assert code == 0
    header, *rows = out.strip().splitlines()
    assert header.split()[:3] == ["ID", "NAME", "STATUS"]
    assert any(row.startswith(schedule_id) and "tee-times" in row for row in rows)
    # update with If-Match, pause, resume
    changed = {**TEE_TIMES, "schedule_expression": "rate(5 minutes)"}
    code, out, _ = cli(base, "update", schedule_id, "--body", json.dumps(changed), "--if-match", "1")
    assert code == 0 and json.loads(out)["schedule_expression"] == "rate(5 minutes)"
    assert json.loads(cli(base, "pause", schedule_id)[1])["state"] == "DISABLED"
    assert json.loads(cli(base, "resume", schedule_id, "--if-match", "3")[1])["state"] == "ENABLED"
    # executions (none yet), delete
    code, out, _ = cli(base, "executions", schedule_id)
    assert code == 0 and json.loads(out) == {"items": [], "next_cursor": None}
    code, out, _ = cli(base, "delete", schedule_id)
    assert code == 0 and json.loads(out)["pending_action"] == "delete"


def test_calendars_skip_and_snooze_through_the_client(served):
    base = served.url
    # a calendar, listed as a table
    calendar = {"name": "club-holidays", "timezone": "America/New_York", "dates": ["2026-12-25", "2027-01-01"]}
    code, out, err = cli(base, "calendar-create", "--body", json.dumps(calendar))
    assert (code, err) == (0, "") and json.loads(out)["version"] == 1
    code, out, _ = cli(base, "--output", "table", "calendars")
    header, row = out.strip().splitlines()
    assert header.split()[:3] == ["NAME", "TIMEZONE", "DATES"] and row.startswith("club-holidays")
    # a schedule that names it; the calendar cannot go while it does
    created = json.loads(cli(base, "create", "--body", json.dumps({**TEE_TIMES, "exclude_calendars": ["club-holidays"]}))[1])
    code, _, err = cli(base, "calendar-delete", "club-holidays")
    assert code == 1 and "409 Conflict" in err and created["id"] in err
    # skip two slots, undo it, snooze until a time (the positional argument)
    code, out, err = cli(base, "skip", created["id"], "--body", '{"count": 2}')
    assert (code, err) == (0, "") and json.loads(out)["skip"]["count"] == 2
    assert "skip" not in json.loads(cli(base, "unskip", created["id"])[1])
    code, out, err = cli(base, "snooze", created["id"], "2199-01-01T00:00:00Z")
    assert code == 1 and "until: must be at most 366 days ahead" in err
    soon = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    code, out, err = cli(base, "snooze", created["id"], soon.isoformat())
    assert (code, err) == (0, "") and json.loads(out)["snoozed_until"] == soon.isoformat().replace("+00:00", "Z")


def test_preview_takes_the_expression_as_an_argument(served):
    code, out, _ = cli(served.url, "--output", "table", "preview", "cron(0 9 ? * MON *)", "--body", '{"count": 2}')
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "cron(0 9 ? * MON *) in UTC:"
    assert len(lines) == 3 and lines[1].strip().endswith("T09:00:00Z")


def test_errors_show_the_apis_message_and_exit_non_zero(served):
    code, out, err = cli(served.url, "get", "8f7c1a52-0f53-4c1e-9d53-5b8a3f0f0e11")
    assert (code, out) == (1, "")
    assert err == "error: 404 NotFound: schedule 8f7c1a52-0f53-4c1e-9d53-5b8a3f0f0e11 does not exist\n"
    code, _, err = cli(served.url, "create", "--body", json.dumps({**TEE_TIMES, "name": "no spaces", "colour": "red"}))
    assert code == 1
    # each failing field on its own line
    assert err.splitlines() == [
        "error: 400 ValidationError",
        "  name: must be 1-64 characters of letters, digits, '-', '_' or '.'",
        "  colour: unknown field",
    ]
    code, _, err = cli(served.url, "pause", "8f7c1a52-0f53-4c1e-9d53-5b8a3f0f0e11", "--if-match", "x")
    assert code == 1 and "If-Match: must be one ETag of this schedule" in err


def test_report_takes_the_execution_and_the_outcome_as_arguments(served):
    # GIVEN a schedule with no run yet
    code, out, _ = cli(served.url, "create", "--body", json.dumps(TEE_TIMES))
    schedule_id = json.loads(out)["id"]
    # WHEN a worker reports a run by its execution id and outcome, naming the schedule in --body
    code, _, err = cli(served.url, "report", "exec-1", "failed", "--body",
                       json.dumps({"schedule_id": schedule_id, "message": "disk full"}))
    # THEN the API is asked about that run of that schedule (which has not run: 404)
    assert code == 1
    assert err == f"error: 404 NotFound: execution exec-1 of schedule {schedule_id} does not exist\n"
    # AND an outcome the API does not know is refused naming the field
    code, _, err = cli(served.url, "report", "exec-1", "done", "--body", json.dumps({"schedule_id": schedule_id}))
    assert code == 1 and "outcome" in err


def test_usage_errors_exit_2(served):
    assert cli(served.url, "create")[0] == 2
    code, _, err = cli(served.url, "create", "--body", "{not json")
    assert code == 2 and "--body is not valid JSON" in err

def test_the_base_is_required(monkeypatch):
    monkeypatch.delenv("BASE", raising=False)
    err = io.StringIO()
    assert main(["get", "x"], stdout=io.StringIO(), stderr=err) == 2
    assert "--base (or BASE) is required" in err.getvalue()


def test_an_unreachable_api_is_an_error_not_a_traceback():
    code, _, err = cli("http://127.0.0.1:9", "list")
    assert code == 1 and err.startswith("error: cannot reach http://127.0.0.1:9")


def test_a_command_the_api_does_not_offer_says_so():
    # GIVEN an API whose document has no executions operation
    document = copy.deepcopy(DOCUMENT)
    del document["paths"]["/api/schedules/{id}/executions"]
    # WHEN the command is used, THEN it is refused naming the operation
    code, _, err = cli("http://127.0.0.1:9", "executions", "abc", document=document)
    assert code == 1
    assert "does not offer executions (GET /api/schedules/{id}/executions)" in err


def test_python_dash_m_with_base_from_the_environment(served):
    env = {"BASE": served.url, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "rez_client", "--output", "table", "preview", "rate(1 hour)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rate(1 hour) in UTC:")


def test_sigv4_signs_for_execute_api_in_the_urls_region(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/dev/api/schedules"
    headers = sigv4_headers("GET", url, None, {"Accept": "application/json"})
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers


def test_cognito_sends_the_token_and_needs_one(monkeypatch):
    assert Auth("cognito", token="eyJ.token").headers_for("GET", "http://x", None, {})["Authorization"] == "eyJ.token"
    monkeypatch.delenv("REZ_TOKEN", raising=False)
    code, _, err = cli("http://127.0.0.1:9", "--auth", "cognito", "list", document=DOCUMENT)
    assert code == 1 and "needs a token" in err


def test_the_lambda_code_never_imports_the_client():
    sources = [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")]
    importing = [str(path.relative_to(ROOT)) for path in sources if "rez_client" in path.read_text()]
    assert importing == []


# --- as a person types it: python -m rez_client against the local API ----------------------


def rez(base, *argv, env=None, stdin=None):
    """``python -m rez_client`` in a subprocess, as typed in a shell."""
    environment = {"PATH": "/usr/bin:/bin", "BASE": base, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "rez_client", *argv], cwd=ROOT, env=environment, capture_output=True,
        text=True, timeout=60, input=stdin,
    )
    return result.returncode, result.stdout, result.stderr


def table_rows(out):
    header, *rows = out.strip().splitlines()
    return header.split("  "), rows


def titles(header):
    return [title.strip() for title in header if title.strip()]


def test_help_names_options_as_people_type_them_and_each_commands_key(served):
    # WHEN a person asks for run's and timeline's help
    _, run_help, _ = rez(served.url, "run", "--help")
    _, timeline_help, _ = rez(served.url, "timeline", "--help")
    _, create_help, _ = rez(served.url, "create", "--help")
    # THEN options read as typed, with what their value is, never the parser's internal names
    assert "--idempotency-key KEY" in run_help
    assert "--from TIME" in timeline_help and "--to TIME" in timeline_help
    for text in (run_help, timeline_help, create_help):
        assert "HEADER__" not in text and "QUERY__" not in text
        assert "--x-created-by" not in text  # who you are is the global --as
    # and run's key is described as a run's, create's as a create's
    flat_run, flat_create = " ".join(run_help.split()), " ".join(create_help.split())
    assert "same run" in flat_run and "schedule" not in flat_run.rsplit("--idempotency-key KEY", 1)[1]
    assert "same schedule" in flat_create


def created_by_team_golf(base):
    code, out, err = rez(base, "--as", "team-golf", "create", "--body", json.dumps(TEE_TIMES))
    assert code == 0, err
    return json.loads(out)


def test_as_and_rez_as_say_who_you_are_locally(served):
    # GIVEN a schedule created --as team-golf
    created = created_by_team_golf(served.url)
    assert created["created_by"] == "team-golf"
    # WHEN team-hockey (REZ_AS) and the local admin (nobody named) read it
    hockey = rez(served.url, "get", created["id"], env={"REZ_AS": "team-hockey"})
    admin = rez(served.url, "get", created["id"])
    golf = rez(served.url, "list", "--created-by", "team-golf", env={"REZ_AS": "team-golf"})
    # THEN another owner is told it does not exist, the admin and its owner see it
    assert hockey[0] == 1 and "404 NotFound" in hockey[2]
    assert rez(served.url, "get", created["id"], "--x-created-by", "team-hockey")[0] == 1  # the older spelling
    assert admin[0] == 0 and json.loads(admin[1])["created_by"] == "team-golf"
    assert created["id"] in [item["id"] for item in json.loads(golf[1])["items"]]


def test_as_is_refused_where_the_caller_is_who_authenticates(served):
    code, _, err = rez(served.url, "--auth", "sigv4", "--as", "team-golf", "list")
    assert code == 2 and "--as names you on an open (local) stage" in err


def test_list_table_has_the_schedules_columns(served):
    created = created_by_team_golf(served.url)
    code, out, err = rez(served.url, "--output", "table", "list", "--created-by", "team-golf")
    assert code == 0, err
    header, rows = table_rows(out)
    assert titles(header)[:3] == ["ID", "NAME", "STATUS"]
    assert {"EXPRESSION", "TIMEZONE", "TARGET", "CREATED BY"} <= set(titles(header))
    line = next(row for row in rows if row.startswith(created["id"]))
    assert "cron(0 6 * * ? *)" in line and "America/New_York" in line and "team-golf" in line


def record_a_run(schedule_id):
    """The target's claim and finish of a run that started now (as the target function does)."""
    from datetime import UTC, datetime, timedelta

    from chalicelib.models import ExecutionOutcome
    from tests.timeline_support import Clock, record_run

    now = datetime.now(UTC).replace(microsecond=0)
    slot = (now - timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    record_run(Clock(now), schedule_id, slot, now.isoformat().replace("+00:00", "Z"), ExecutionOutcome.SUCCEEDED)
    return slot


def test_timeline_table_shows_time_result_trigger_started_and_duration(served):
    # GIVEN a schedule with one run
    schedule_id = created_by_team_golf(served.url)["id"]
    slot = record_a_run(schedule_id)
    # WHEN its timeline is printed as a table
    code, out, err = rez(served.url, "--output", "table", "timeline", schedule_id)
    # THEN each slot reads with its result, trigger, when its run started and how long it took
    assert code == 0, err
    header, rows = table_rows(out)
    assert titles(header) == ["TIME", "RESULT", "TRIGGER", "STARTED", "DURATION"]
    ran = next(row.split() for row in rows if row.startswith(slot))
    assert ran[1:3] == ["succeeded", "scheduled"] and ran[3].startswith(slot[:10]) and ran[4:] == ["10", "ms"]
    assert any(row.split()[1:3] == ["upcoming", "scheduled"] and row.split()[3] == "-" for row in rows)


def apply_commands(served, project):
    """The command handler applies what the API published (as the stage's function does)."""
    from chalice.test import Client

    with Client(app_module.app, stage_name=STAGE, project_dir=project) as client:
        for command in served.resources["tap"].drain(f"rez-agent-schedule-creation-{STAGE}"):
            event = client.events.generate_sns_event(message=json.dumps(command))
            assert client.lambda_.invoke("schedule_command", event).payload["outcome"] == "applied"


def test_history_and_executions_tables_have_their_columns(served, unit_test_project):
    schedule_id = created_by_team_golf(served.url)["id"]
    apply_commands(served, unit_test_project)
    record_a_run(schedule_id)
    assert rez(served.url, "pause", schedule_id)[0] == 0
    apply_commands(served, unit_test_project)
    code, out, err = rez(served.url, "--output", "table", "history", schedule_id)
    assert code == 0, err
    header, rows = table_rows(out)
    assert titles(header)[:5] == ["VERSION", "ACTION", "BY", "AT", "FIELDS"]
    assert rows and rows[-1].split()[:3] == ["1", "create", "team-golf"]
    code, out, err = rez(served.url, "--output", "table", "executions", schedule_id)
    assert code == 0, err
    header, rows = table_rows(out)
    assert titles(header)[:5] == ["SCHEDULED", "TRIGGER", "OUTCOME", "STARTED", "DURATION"]
    assert rows[0].split()[1:3] == ["scheduled", "succeeded"]


def test_publish_sends_a_message_to_the_stages_command_topic(served):
    # GIVEN the stage's command topic (moto, with a queue subscribed to it)
    message = {"action": "create", "schedule": {**TEE_TIMES, "name": "via-sns"}}
    env = {"AWS_ENDPOINT_URL": served.moto_url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1"}
    topic = f"rez-agent-schedule-creation-{STAGE}"
    served.resources["tap"].drain(topic)  # what earlier tests published
    # WHEN a message is published from standard input, naming its namespace
    code, out, err = rez(
        served.url, "publish", "-", "--stage", STAGE, "--namespace", "report-pipeline", env=env, stdin=json.dumps(message)
    )
    # THEN it is on the topic as sent, with its subject and attributes
    assert code == 0, err
    assert json.loads(out)["topic"].endswith(":rez-agent-schedule-creation-" + STAGE)
    sent = served.resources["tap"].drain(topic)
    assert sent == [message]


def test_publish_to_a_stage_that_is_not_there_says_so(served):
    env = {"AWS_ENDPOINT_URL": served.moto_url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1"}
    code, _, err = rez(served.url, "publish", '{"action": "delete", "schedule_id": "x"}', "--stage", "nowhere", env=env)
    assert code == 1 and "no topic rez-agent-schedule-creation-nowhere here" in err


def test_backfill_takes_its_window_and_choice_as_options(served):
    # GIVEN a schedule
    code, out, _ = cli(served.url, "create", "--body", json.dumps(TEE_TIMES))
    schedule_id = json.loads(out)["id"]
    # WHEN a dry run of a past day's slots is asked for with options
    code, out, err = cli(served.url, "backfill", schedule_id, "--from", "2026-01-01T00:00:00Z",
                         "--to", "2026-01-02T00:00:00Z", "--slots", "all", "--dry-run")
    # THEN the body carried them (the schedule did not exist then: no slots)
    assert (code, err) == (0, "")
    answer = json.loads(out)
    assert (answer["from"], answer["to"], answer["slots"], answer["dry_run"], answer["items"]) == (
        "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "all", True, [])
    # AND the API's rules come back per field; a choice it does not know is a usage error
    code, _, err = cli(served.url, "backfill", schedule_id, "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z")
    assert code == 1 and "to: must be after from" in err
    assert cli(served.url, "backfill", schedule_id, "--slots", "some")[0] == 2
