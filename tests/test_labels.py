"""Labels on schedules: validated like AWS tags, stored on the record, and a list filter
(``?label=team=golf``, several ANDed) that reads only the schedules carrying the label."""

from __future__ import annotations

import json

import pytest

from tests.support import TEE_TIMES, deliver_commands, post


def labelled(name, **labels):
    return {**TEE_TIMES, "name": name, "labels": labels}


def names_of(response):
    assert response.status_code == 200, response.json_body
    return [item["name"] for item in response.json_body["items"]]


def test_labels_are_stored_and_listed_by_label_with_several_anded(chalice_client, moto_stage):
    # GIVEN golf and tennis schedules of alice, and a golf one of bob
    alice = {"X-Created-By": "alice"}
    post(chalice_client, "/api/schedules", labelled("g1", team="golf", env="prod"), alice)
    post(chalice_client, "/api/schedules", labelled("g2", team="golf", env="dev"), alice)
    post(chalice_client, "/api/schedules", labelled("t1", team="tennis", env="prod"), alice)
    post(chalice_client, "/api/schedules", labelled("b1", team="golf"), {"X-Created-By": "bob"})
    # WHEN alice lists by one label, then by two
    golf = chalice_client.http.get("/api/schedules?label=team=golf", headers=alice)
    both = chalice_client.http.get("/api/schedules?label=team=golf&label=env=prod", headers=alice)
    # THEN she sees only her own schedules with every label asked for, newest first
    assert names_of(golf) == ["g2", "g1"]
    assert names_of(both) == ["g1"]
    assert golf.json_body["items"][0]["labels"] == {"team": "golf", "env": "dev"}


@pytest.mark.parametrize(
    ("labels", "field"),
    [
        ({"bad key": "x"}, "labels.bad key"),
        ({"aws:team": "x"}, "labels.aws:team"),
        ({"team": "a b"}, "labels.team"),
        ({f"k{n}": "v" for n in range(6)}, "labels: at most 5"),
    ],
)
def test_invalid_labels_are_a_400_naming_the_label(chalice_client, moto_stage, labels, field):
    response = post(chalice_client, "/api/schedules", labelled("bad", **labels))
    assert response.status_code == 400
    assert field in response.json_body["Message"]


@pytest.mark.parametrize("query", ["label=team", "label==golf", "label=aws:x=1"])
def test_an_invalid_label_filter_is_a_400_naming_it(chalice_client, moto_stage, query):
    response = chalice_client.http.get(f"/api/schedules?{query}")
    assert response.status_code == 400
    assert response.json_body["Message"].startswith("label")


def test_changing_labels_moves_the_schedule_between_listings(chalice_client, moto_stage, names):
    # GIVEN a golf schedule, applied
    created = post(chalice_client, "/api/schedules", labelled("s", team="golf")).json_body
    deliver_commands(chalice_client, moto_stage, names)
    # WHEN its labels are replaced
    response = chalice_client.http.put(
        f"/api/schedules/{created['id']}", headers={"Content-Type": "application/json"},
        body=json.dumps(labelled("s", team="tennis")),
    )
    assert response.status_code == 202
    # THEN it lists under the new label only, at once and after the change is applied
    for _ in range(2):
        assert names_of(chalice_client.http.get("/api/schedules?label=team=golf")) == []
        assert names_of(chalice_client.http.get("/api/schedules?label=team=tennis")) == ["s"]
        deliver_commands(chalice_client, moto_stage, names)
    # AND once deleted it leaves the label listing
    chalice_client.http.delete(f"/api/schedules/{created['id']}")
    deliver_commands(chalice_client, moto_stage, names)
    assert names_of(chalice_client.http.get("/api/schedules?label=team=tennis")) == []
