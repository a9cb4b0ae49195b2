"""Benchmark: a no-op reconcile of N schedules, against reading every schedule.

Run: .venv/bin/python bench/bench_reconcile.py   (``make bench`` calls ``run()``)

On a moto server started in this process on 127.0.0.1 (port 0), for each N (1,000 and
10,000, where the target is set, unless BENCH_RECONCILE_SIZES says otherwise, e.g.
"1000,5000"; on an idle 2-core machine 10,000 takes about 5 minutes, most of it the
setup's 10,000 CreateSchedule calls and the baseline's 10,000 GetSchedule calls):

1. N schedules are created directly (CreateSchedule on a thread pool) and their records
   written in DynamoDB batches, each carrying the LastModificationDate its schedule has,
   as the command handler records it when it applies a schedule;
2. the reconcile (``ScheduleReconciler.run``) and the baseline (``baseline_plan`` below: the
   algorithm before markers, one GetSchedule per schedule, in sequence) run alternately
   (reconcile, baseline, reconcile) on the same data; every AWS call is counted (a botocore
   ``before-call`` hook) and the wall time taken;
3. the per-call cost of ListSchedules pages and record Query pages is measured from those
   runs, and the time of a reconcile at 50,000 schedules estimated from it.

Figures: calls and seconds per N (value = reconcile, baseline = read-every-schedule), and the
50,000 estimate against the reconcile function's timeout.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import environment, moto_credentials

DEFAULT_SIZES = (1000, 10_000)
ESTIMATE_AT = 50_000
SPEEDUP_TARGET = 20.0  # at the largest N, the reconcile at least this many times faster
FUNCTION_TIMEOUT_SECONDS = 300  # .chalice/config.json: the reconcile function's lambda_timeout
SETUP_WORKERS = 8
STAGE = "bench"


# --- the environment: a moto server on loopback ------------------------------------------


class Emulator:
    """A moto server in this process, and the environment pointing the service at it."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._stack = ExitStack()

    def __enter__(self) -> Emulator:
        self._server.start()
        host, port = self._server.get_host_and_port()
        env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "STAGE": STAGE, **moto_credentials("us-east-1")}
        self._stack.enter_context(environment(env, unset=("LOCALSTACK_ENDPOINT", "AWS_PROFILE", "AWS_SESSION_TOKEN")))
        self.reset()
        return self

    def reset(self) -> None:
        import requests

        from chalicelib import clients, wiring

        requests.post(f"{os.environ['AWS_ENDPOINT_URL']}/moto-api/reset", timeout=30)
        clients.reset()
        wiring.reset()

    def __exit__(self, *_: object) -> None:
        self._server.stop()
        self._stack.close()


class CallCounter:
    """Every AWS call made through the service's clients (``chalicelib.clients``)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, event_name: str, **_: object) -> None:
        with self._lock:
            self.counts[event_name.split(".")[-1]] += 1

    def take(self) -> Counter[str]:
        with self._lock:
            taken, self.counts = self.counts, Counter()
        return taken


# --- the baseline: read every schedule (the algorithm before markers) --------------------


def baseline_plan(repository: Any, gateway: Any) -> Counter[str]:
    """The reconcile's plan as it was: list the group, page through the records 100 at a
    time, and GetSchedule every live schedule in turn to compare it with its record."""
    from chalicelib import wiring
    from chalicelib.models import ScheduleStatus
    from chalicelib.reconcile import LIVE_STATUSES, has_fires_left
    from chalicelib.scheduler import desired_spec, observed_spec

    cloud = set(gateway.list_names())
    actions: Counter[str] = Counter()
    recorded: set[str] = set()
    for status in (ScheduleStatus.PENDING, *LIVE_STATUSES, ScheduleStatus.ERROR):
        for record in repository.iter_by_status(status):
            recorded.add(record.id)
            if record.status in (ScheduleStatus.PENDING, ScheduleStatus.ERROR):
                actions[record.status.value] += 1
                continue
            observed = gateway.get(record.id) if record.id in cloud else None
            if observed is None:
                actions["noop" if not has_fires_left(record, wiring.now()) else "create"] += 1
                continue
            want = desired_spec(gateway.request_for(record))
            have = observed_spec(observed)
            actions["reset" if any(want[k] != have.get(k) for k in want) else "noop"] += 1
    for name in cloud - recorded:
        actions["orphan" if repository.get(name) is None else "delete"] += 1
    return actions


# --- setting up N schedules fast -----------------------------------------------------------


def populate(count: int) -> None:
    """``count`` active schedules in the group, and their records with their markers."""
    import boto3

    from chalicelib import clients, wiring
    from chalicelib.config import get_settings
    from chalicelib.models import Schedule, ScheduleDefinition, ScheduleStatus, iso, new_id
    from chalicelib.repository import schedule_to_item

    settings = get_settings()
    gateway = wiring.gateway(settings)
    client = clients.client("scheduler", settings)
    now = iso(wiring.now())
    records = [
        Schedule(
            id=new_id(),
            definition=ScheduleDefinition(
                name=f"bench-{index}", schedule_expression="cron(0 6 * * ? *)",
                timezone="America/New_York", target_type="web_action", payload={"n": index},
            ),
            status=ScheduleStatus.ACTIVE, created_by="bench", created_date=now, updated_date=now,
        )
        for index in range(count)
    ]

    def create(record: Schedule) -> None:
        client.create_schedule(**gateway.request_for(record), ClientToken=f"{record.id}-v1")

    with ThreadPoolExecutor(max_workers=SETUP_WORKERS) as pool:
        list(pool.map(create, records))
    markers = {summary.name: summary.modified for summary in gateway.list_schedules()}
    table = boto3.resource("dynamodb").Table(settings.table_name)
    with table.batch_writer() as batch:
        for record in records:
            item = schedule_to_item(record)
            item["eventbridge_modified"] = markers[record.id]
            batch.put_item(Item=item)
    # each active schedule has its alert watch, as the command handler leaves it: the fleet is
    # converged, so the reconcile measured is a no-op (it watches a schedule that has none)
    activity, started = wiring.activity(settings), wiring.now()
    with ThreadPoolExecutor(max_workers=SETUP_WORKERS) as pool:
        list(pool.map(lambda record: activity.watch(record.id, started), records))


def create_stage() -> None:
    from tests.support import create_stage_resources

    create_stage_resources(STAGE)


# --- measuring ---------------------------------------------------------------------------


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def measure(count: int) -> dict[str, Any]:
    from chalicelib import clients, wiring
    from chalicelib.config import get_settings

    setup_started = time.perf_counter()
    create_stage()
    populate(count)
    setup_seconds = time.perf_counter() - setup_started
    print(f"  {count:,} schedules set up in {setup_seconds:.1f} s", flush=True)

    clients.reset()
    wiring.reset()
    counter = CallCounter()
    clients._shared_session()._session.register("before-call", counter)
    settings = get_settings()
    repository, gateway = wiring.repository(settings), wiring.gateway(settings)

    def reconcile() -> dict[str, Any]:
        return wiring.reconciler(settings).run()

    runs: dict[str, list[float]] = {"reconcile": [], "baseline": []}
    calls: dict[str, Counter[str]] = {}
    for name in ("reconcile", "baseline", "reconcile"):
        counter.take()
        seconds, result = timed(reconcile if name == "reconcile" else lambda: baseline_plan(repository, gateway))
        runs[name].append(seconds)
        calls[name] = counter.take()
        print(f"  {count:,} schedules: {name} {seconds:.2f} s, {sum(calls[name].values())} calls", flush=True)
        if name == "reconcile":
            assert result["counts"] == {"noop": count} and not result["unchecked"], result["counts"]
        else:
            assert result == Counter({"noop": count}), result

    # per-call costs, measured alone: the group's listing and the records' query pages
    list_seconds, pages = timed(lambda: sum(1 for _ in _pages(gateway)))
    query_seconds, records = timed(lambda: sum(1 for _ in repository.iter_listed(_active())))
    counter.take()
    clients._shared_session()._session.unregister("before-call", counter)
    return {
        "count": count,
        "setup_seconds": setup_seconds,
        "reconcile_seconds": statistics.median(runs["reconcile"]),
        "baseline_seconds": runs["baseline"][0],
        "reconcile_calls": calls["reconcile"],
        "baseline_calls": calls["baseline"],
        "list_page_seconds": list_seconds / max(1, pages),
        "list_pages": pages,
        "query_record_seconds": query_seconds / max(1, records),
        "spot_checks": settings.reconcile_spot_checks,
    }


def _pages(gateway: Any) -> Iterator[int]:
    """One item per ListSchedules page of the group."""
    seen = 0
    for seen, _ in enumerate(gateway.list_schedules(), start=1):
        if seen % 100 == 1:
            yield seen


def _active() -> Any:
    from chalicelib.models import ScheduleStatus

    return ScheduleStatus.ACTIVE


def estimate(at: int, small: dict[str, Any], large: dict[str, Any]) -> tuple[float, float]:
    """Seconds for a no-op reconcile of ``at`` schedules, two ways; the larger is the
    estimate.

    - extrapolated: the measured time at the largest N plus its growth per schedule between
      the two sizes (the listing and the query pages are linear in N, the spot checks
      constant);
    - from per-call costs: the group's listing (ceil(at/100) ListSchedules pages, one after
      another) runs beside the records' query (per record returned); the longer of the two,
      plus the spot checks' reads at the largest N's cost.
    """
    per_schedule = (large["reconcile_seconds"] - small["reconcile_seconds"]) / (large["count"] - small["count"])
    extrapolated = large["reconcile_seconds"] + max(per_schedule, 0.0) * (at - large["count"])
    listing = math.ceil(at / 100) * large["list_page_seconds"]
    records = at * large["query_record_seconds"]
    fixed = max(0.0, large["reconcile_seconds"] - max(
        large["list_pages"] * large["list_page_seconds"], large["count"] * large["query_record_seconds"]))
    return extrapolated, max(listing, records) + fixed


def figures_for(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    figures: list[dict[str, Any]] = []
    for result in results:
        n = result["count"]
        calls = sum(result["reconcile_calls"].values())
        base_calls = sum(result["baseline_calls"].values())
        record_pages = result["reconcile_calls"]["Query"]
        floor = math.ceil(n / 100) + record_pages + 2 * result["spot_checks"]
        figures.append({
            "name": f"reconcile no-op, {n:,} schedules: AWS calls (vs read-every-schedule)",
            "value": calls, "unit": "calls", "baseline": base_calls, "ratio": round(calls / base_calls, 4),
            "target": f"<= ceil(N/100) + {record_pages} query pages + 2 x {result['spot_checks']} spot checks = {floor}",
            "met": calls <= floor,
        })
        speedup = result["baseline_seconds"] / result["reconcile_seconds"]
        is_largest = result is results[-1]
        figures.append({
            "name": f"reconcile no-op, {n:,} schedules: seconds (vs read-every-schedule)",
            "value": round(result["reconcile_seconds"], 3), "unit": "s",
            "baseline": round(result["baseline_seconds"], 3), "ratio": round(1 / speedup, 4),
            "target": f">= {SPEEDUP_TARGET:.0f}x faster" if is_largest else "faster",
            "met": speedup >= SPEEDUP_TARGET if is_largest else speedup > 1,
        })
    if len(results) >= 2:
        small, large = results[0], results[-1]
        extrapolated, from_calls = estimate(ESTIMATE_AT, small, large)
        seconds = max(extrapolated, from_calls)
        pages = math.ceil(ESTIMATE_AT / 100)
        figures.append({
            "name": (
                f"reconcile no-op, {ESTIMATE_AT:,} schedules: estimated seconds (max of "
                f"{extrapolated:.0f} s extrapolated from {small['count']:,}/{large['count']:,} and "
                f"{from_calls:.0f} s from {pages} ListSchedules pages at {large['list_page_seconds'] * 1000:.1f} ms "
                f"beside records queried at {large['query_record_seconds'] * 1000:.2f} ms each)"
            ),
            "value": round(seconds, 1), "unit": "s", "baseline": None, "ratio": None,
            "target": f"< {FUNCTION_TIMEOUT_SECONDS} s (the function's timeout)",
            "met": seconds < FUNCTION_TIMEOUT_SECONDS,
        })
    return figures


def sizes() -> tuple[int, ...]:
    raw = os.environ.get("BENCH_RECONCILE_SIZES", "")
    return tuple(int(part) for part in raw.split(",") if part.strip()) or DEFAULT_SIZES


def run() -> list[dict[str, Any]]:
    results = []
    with Emulator() as emulator:
        for count in sizes():
            emulator.reset()
            result = measure(count)
            results.append(result)
            print(
                f"  {count:,} schedules: setup {result['setup_seconds']:.1f} s; reconcile "
                f"{result['reconcile_seconds']:.2f} s, {dict(result['reconcile_calls'])}; baseline "
                f"{result['baseline_seconds']:.2f} s, {dict(result['baseline_calls'])}; "
                f"ListSchedules page {result['list_page_seconds'] * 1000:.1f} ms, "
                f"query {result['query_record_seconds'] * 1000:.2f} ms per record",
                flush=True,
            )
    return figures_for(results)


if __name__ == "__main__":
    for figure in run():
        print(figure)
