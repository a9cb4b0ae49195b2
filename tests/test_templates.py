"""Templates (``/api/templates``): typed parameters with defaults, schedules made from them
that keep the template's name and version, and a re-apply that shows its difference first."""

from __future__ import annotations

import json

import pytest

from tests.support import JSON, deliver_commands, post

ALICE = {"X-Created-By": "alice"}
TEE_TEMPLATE = {
    "name": "tee-check",
    "parameters": {
        "club_id": {"type": "integer", "description": "the club"},
        "hour": {"type": "string", "default": "6"},
    },
    "schedule": {
        "name": "tee-{{club_id}}",
        "schedule_expression": "cron(0 {{hour}} * * ? *)",
        "timezone": "America/New_York",
        "target_type": "web_action",
        "payload": {"action": "check_tee_times", "club": "{{club_id}}", "note": "club {{club_id}} at {{hour}}"},
        "labels": {"team": "golf", "club": "c{{club_id}}"},
    },
}


def ok(response, status=200):
    assert response.status_code == status, response.json_body
    return response.json_body


def send(client, method, path, body=None, headers=ALICE):
    kwargs = {"body": json.dumps(body)} if body is not None else {}
    return getattr(client.http, method)(path, headers={**JSON, **headers}, **kwargs)


@pytest.fixture
def template(chalice_client, moto_stage):
    return ok(send(chalice_client, "post", "/api/templates", TEE_TEMPLATE), 201)


def test_a_schedule_made_from_a_template_keeps_its_name_version_and_params(chalice_client, moto_stage, template):
    # WHEN a schedule is created from the template with one parameter (the other defaults)
    created = ok(post(chalice_client, "/api/schedules", {"template": "tee-check", "params": {"club_id": 42}}, ALICE), 202)
    # THEN the definition has the parameters in place, typed where a value is one placeholder
    assert created["name"] == "tee-42"
    assert created["schedule_expression"] == "cron(0 6 * * ? *)"
    assert created["payload"] == {"action": "check_tee_times", "club": 42, "note": "club 42 at 6"}
    assert created["labels"] == {"team": "golf", "club": "c42"}
    # AND the record keeps the template's name, version and the parameters
    assert created["template"] == {"name": "tee-check", "version": 1, "params": {"club_id": 42}}
    # AND the list by template finds it
    listed = ok(chalice_client.http.get("/api/schedules?template=tee-check", headers=ALICE))["items"]
    assert [item["name"] for item in listed] == ["tee-42"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "params.club_id: required"),
        ({"club_id": 1, "colour": "red"}, "params: unknown parameter(s) colour"),
        ({"club_id": "one"}, "params.club_id: must be of type integer"),
        ({"club_id": 1, "hour": "25"}, "schedule_expression"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(chalice_client, moto_stage, template, params, message):
    response = post(chalice_client, "/api/schedules", {"template": "tee-check", "params": params}, ALICE)
    assert response.status_code == 400
    assert message in response.json_body["Message"]


def test_an_undeclared_placeholder_or_an_unknown_template_is_refused(chalice_client, moto_stage):
    bad = {**TEE_TEMPLATE, "parameters": {"hour": {"type": "string", "default": "6"}}}
    response = send(chalice_client, "post", "/api/templates", bad)
    assert response.status_code == 400 and "club_id" in response.json_body["Message"]
    response = post(chalice_client, "/api/schedules", {"template": "nope", "params": {}}, ALICE)
    assert response.status_code == 404


def test_a_template_whose_defaults_make_an_invalid_schedule_is_refused(chalice_client, moto_stage):
    broken = {**TEE_TEMPLATE, "parameters": {"club_id": {"type": "integer", "default": 1},
                                             "hour": {"type": "string", "default": "25"}}}
    response = send(chalice_client, "post", "/api/templates", broken)
    assert response.status_code == 400
    assert response.json_body["Message"].startswith("schedule.schedule_expression"), response.json_body


def test_templates_are_owned_and_versioned(chalice_client, moto_stage, template):
    # another owner does not see alice's template
    assert send(chalice_client, "get", "/api/templates/tee-check", headers={"X-Created-By": "bob"}).status_code == 404
    assert ok(send(chalice_client, "get", "/api/templates", headers={"X-Created-By": "bob"}))["items"] == []
    # a change names the version it replaces
    changed = {**TEE_TEMPLATE, "description": "v2"}
    assert send(chalice_client, "put", "/api/templates/tee-check", changed, {**ALICE, "If-Match": "7"}).status_code == 409
    assert ok(send(chalice_client, "put", "/api/templates/tee-check", changed, {**ALICE, "If-Match": "1"}))["version"] == 2
    assert [t["name"] for t in ok(send(chalice_client, "get", "/api/templates"))["items"]] == ["tee-check"]
    assert send(chalice_client, "delete", "/api/templates/tee-check", headers={**ALICE, "If-Match": "2"}).status_code == 200
    assert send(chalice_client, "get", "/api/templates/tee-check").status_code == 404


def test_a_changed_template_changes_a_schedule_only_when_reapplied(chalice_client, moto_stage, names, template):
    # GIVEN a schedule made from version 1, applied
    sid = ok(post(chalice_client, "/api/schedules", {"template": "tee-check", "params": {"club_id": 7}}, ALICE), 202)["id"]
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN the template's hour default changes
    v2 = {**TEE_TEMPLATE, "parameters": {**TEE_TEMPLATE["parameters"], "hour": {"type": "string", "default": "7"}}}
    ok(send(chalice_client, "put", "/api/templates/tee-check", v2))
    # THEN the schedule is unchanged
    before = ok(chalice_client.http.get(f"/api/schedules/{sid}", headers=ALICE))
    assert before["schedule_expression"] == "cron(0 6 * * ? *)"
    # AND a dry run of the re-apply shows the difference, changing nothing
    dry = ok(send(chalice_client, "post", f"/api/schedules/{sid}/reapply?dry_run=true"))
    assert (dry["from_version"], dry["to_version"], dry["changed_fields"]) == (1, 2, ["payload", "schedule_expression"])
    assert ok(chalice_client.http.get(f"/api/schedules/{sid}", headers=ALICE))["version"] == before["version"]
    # WHEN it is re-applied
    ok(send(chalice_client, "post", f"/api/schedules/{sid}/reapply"))
    deliver_commands(chalice_client, moto_stage, names)
    # THEN the schedule follows version 2, and its history names the changed field
    record = ok(chalice_client.http.get(f"/api/schedules/{sid}", headers=ALICE))
    assert record["schedule_expression"] == "cron(0 7 * * ? *)" and record["template"]["version"] == 2
    history = ok(chalice_client.http.get(f"/api/schedules/{sid}/history", headers=ALICE))["items"]
    assert (history[0]["action"], history[0]["fields"]) == ("update", ["payload", "schedule_expression"])


def test_the_preview_accepts_a_template_and_parameters(chalice_client, moto_stage, template):
    body = {"template": "tee-check", "params": {"club_id": 1, "hour": "9"}, "count": 2}
    preview = ok(send(chalice_client, "post", "/api/expressions/preview", body))
    assert preview["schedule_expression"] == "cron(0 9 * * ? *)" and len(preview["next"]) == 2


def test_a_bulk_selector_picks_the_schedules_of_one_template(chalice_client, moto_stage, template):
    # GIVEN two schedules from the template and one defined by hand, all team=golf
    for club in (1, 2):
        ok(post(chalice_client, "/api/schedules", {"template": "tee-check", "params": {"club_id": club}}, ALICE), 202)
    by_hand = {**TEE_TEMPLATE["schedule"], "name": "by-hand", "schedule_expression": "rate(1 hour)",
               "payload": {}, "labels": {"team": "golf"}}
    ok(post(chalice_client, "/api/schedules", by_hand, ALICE), 202)
    # WHEN a bulk pause selects the template
    body = {"selector": {"template": "tee-check", "labels": {"team": "golf"}}, "action": "pause", "dry_run": True}
    report = ok(send(chalice_client, "post", "/api/schedules/bulk", body))
    # THEN only the template's schedules are planned
    assert sorted(entry["name"] for entry in report["results"]) == ["tee-1", "tee-2"]
