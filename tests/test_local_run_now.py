"""Run now on a stage without a target function (``make local`` on its embedded moto): a
clear 501 that says why and what runs it, nothing remembered, so the same key runs later."""

from __future__ import annotations

from tests.support import TEE_TIMES, deliver_commands, post


def test_run_now_without_a_target_function_says_why(chalice_client, moto_stage, names):
    # GIVEN an active schedule on a stage where no target function is deployed
    schedule_id = post(chalice_client, "/api/schedules", TEE_TIMES).json_body["id"]
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN a person asks to run it now
    response = chalice_client.http.post(
        f"/api/schedules/{schedule_id}/run", headers={"Idempotency-Key": "try-1"}
    )
    # THEN the answer says the stage cannot, why, and where it can
    assert response.status_code == 501, response.json_body
    assert response.json_body["Code"] == "NotAvailableHere"
    message = response.json_body["Message"]
    assert "target function, which is not deployed here" in message and "make run" in message
    # and no run is remembered (the history holds only the create)
    history = chalice_client.http.get(f"/api/schedules/{schedule_id}/history").json_body
    assert [entry["action"] for entry in history["items"]] == ["create"]
