"""Cases the generated requests found, and the preview cache's memory bound."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from chalicelib import expressions
from chalicelib.http import base_url, resource_url
from tests.support import TEE_TIMES, post, table_items

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "path, method",
    [("/api/schedules", "post"), ("/api/expressions/preview", "post"), ("/api/schedules/{id}", "put")],
)
def test_a_key_given_twice_is_a_400_naming_it_and_writes_nothing(chalice_client, moto_stage, names, path, method):
    # GIVEN a body that names schedule_expression twice (json.loads would keep the last)
    existing = post(chalice_client, "/api/schedules", TEE_TIMES).json_body
    before = table_items(names)
    body = json.dumps(TEE_TIMES)[:-1] + ', "schedule_expression": "rate(1 minute)"}'
    # WHEN it is sent
    response = getattr(chalice_client.http, method)(path.replace("{id}", existing["id"]), headers=JSON, body=body)
    # THEN it is refused naming the key, and nothing changed
    assert response.status_code == 400
    assert response.json_body["Code"] == "BadRequest"
    assert "'schedule_expression' appears more than once" in response.json_body["Message"]
    assert table_items(names) == before


def test_a_duplicate_key_inside_the_payload_is_refused_too(chalice_client, moto_stage, names):
    body = json.dumps({**TEE_TIMES, "payload": {}})[:-3] + '{"a": 1, "a": 2}}'
    response = post(chalice_client, "/api/schedules", body)
    assert response.status_code == 400
    assert "'a' appears more than once" in response.json_body["Message"]
    assert table_items(names) == []


def test_a_preview_whose_fire_times_run_past_9999_answers_with_a_warning(chalice_client):
    # GIVEN a rate whose next fire time cannot be written as a date (past the year 9999)
    response = post(chalice_client, "/api/expressions/preview", {"schedule_expression": "rate(100000000 days)"})
    # THEN the preview answers (not a 500) and says why nothing is listed
    assert response.status_code == 200
    assert response.json_body["next"] == []
    assert "past the year 9999" in response.json_body["warnings"][0]


def test_a_preview_that_reaches_9999_lists_the_times_before_it(chalice_client):
    response = post(chalice_client, "/api/expressions/preview", {"schedule_expression": "rate(1000000 days)", "count": 100})
    assert response.status_code == 200
    assert 0 < len(response.json_body["next"]) < 100
    assert response.json_body["next"][-1] < "9999-12-31T23:59:59Z"


def api_gateway_request(path="/api/schedules", context_path="/dev/api/schedules", host="abc.execute-api.us-east-1.amazonaws.com"):
    return SimpleNamespace(
        path=path,
        headers={"host": host, "x-forwarded-proto": "https"},
        context={"path": context_path, "stage": "dev", "domainName": host},
    )


def test_location_is_the_full_url_behind_an_api_gateway_stage():
    request = api_gateway_request()
    assert resource_url(request, "abc") == "https://abc.execute-api.us-east-1.amazonaws.com/dev/api/schedules/abc"
    assert base_url(request) == "https://abc.execute-api.us-east-1.amazonaws.com/dev"


def test_location_keeps_a_custom_domains_base_path():
    request = api_gateway_request(context_path="/schedules-v1/api/schedules", host="api.example.com")
    assert resource_url(request, "abc") == "https://api.example.com/schedules-v1/api/schedules/abc"


def test_location_on_a_local_server_is_the_configured_base_url(monkeypatch):
    monkeypatch.setenv("API_BASE_URL", "http://127.0.0.1:8000")
    request = SimpleNamespace(path="/api/schedules", headers={"host": "evil.example"}, context={"path": "/api/schedules"})
    assert resource_url(request, "abc") == "http://127.0.0.1:8000/api/schedules/abc"


def test_the_create_answers_a_location_from_the_stage_never_from_the_clients_host(chalice_client, moto_stage, monkeypatch):
    # GIVEN the stage's own base URL, and a client that sends a forged Host and scheme
    monkeypatch.setenv("API_BASE_URL", "http://127.0.0.1:9000")
    headers = {"Host": "evil.example", "X-Forwarded-Proto": "gopher"}
    response = post(chalice_client, "/api/schedules", TEE_TIMES, headers=headers)
    # THEN the Location is the stage's, and resolves
    location = response.headers["Location"]
    assert location == f"http://127.0.0.1:9000/api/schedules/{response.json_body['id']}"
    assert chalice_client.http.get(location.removeprefix("http://127.0.0.1:9000")).status_code == 200


def test_without_a_configured_base_url_the_location_is_root_relative(chalice_client, moto_stage):
    response = post(chalice_client, "/api/schedules", TEE_TIMES, headers={"Host": "evil.example"})
    assert response.headers["Location"] == f"/api/schedules/{response.json_body['id']}"


PREVIEW_FROM = datetime(2026, 3, 1, tzinfo=UTC)


def never_firing(i: int) -> str:
    """Distinct expressions that never fire (February 30th), each a full scan to 2199."""
    return f"cron({i % 60} {(i // 60) % 24} {30 + (i // 1440) % 2} 2 ? *)"


def test_the_parse_cache_holds_a_bounded_number_of_expressions_and_days():
    # GIVEN more distinct never-firing expressions than the cache keeps
    expressions._parse_cached.cache_clear()
    count = expressions.PARSE_CACHE_SIZE + 200
    for i in range(count):
        expressions.preview(never_firing(i), after=PREVIEW_FROM)
    # THEN the cache keeps at most its bound of expressions, each with a bounded day cache
    info = expressions._parse_cached.cache_info()
    assert info.currsize == expressions.PARSE_CACHE_SIZE
    cached = [expressions.parse_expression(never_firing(i)) for i in range(count - 50, count)]
    assert all(len(expr._days_cache) <= expressions.DAYS_CACHE_SIZE for expr in cached)


@pytest.mark.slow  # 10,000 previews with their allocations traced
def test_distinct_previews_allocate_a_bounded_amount():
    # GIVEN an empty cache, and allocations traced from here on
    expressions._parse_cached.cache_clear()
    size = expressions.PARSE_CACHE_SIZE
    tracemalloc.start()
    try:
        # WHEN the cache is filled with never-firing expressions, then as many again previewed
        for i in range(size):
            expressions.preview(never_firing(i), after=PREVIEW_FROM)
        full, _ = tracemalloc.get_traced_memory()
        for i in range(size, 2 * size):
            expressions.preview(never_firing(i), after=PREVIEW_FROM)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        expressions._parse_cached.cache_clear()
    # THEN a full cache holds under 8 KiB per expression, and more previews do not grow it
    assert full < size * 8 * 1024
    assert after - full < 256 * 1024


@pytest.mark.parametrize("value", ["", "x" * 257, "tab\there"])
def test_a_created_by_filter_that_cannot_be_a_key_is_a_400(chalice_client, moto_stage, value):
    # an empty value reached DynamoDB, which refused it: a 502 before
    response = chalice_client.http.get(f"/api/schedules?created_by={quote(value)}")
    assert response.status_code == 400
    assert response.json_body["Message"].startswith("created_by: must be 1-256 printable characters")
