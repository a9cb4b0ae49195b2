"""What the benchmark modules share: one figure's shape, moto's credentials, and the
process environment a benchmark sets for its run and gives back afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any


def moto_credentials(region: str) -> dict[str, str]:
    """The environment boto3 needs to talk to moto: a region and any credentials."""
    return {
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def figure(name: str, value: float, unit: str, baseline: float | None, target: str, met: bool) -> dict[str, Any]:
    """One row of ``make bench``'s table (see bench/run.py)."""
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 3),
        "ratio": None if not baseline else round(value / baseline, 3),
        "target": target,
        "met": met,
    }


@contextmanager
def environment(values: dict[str, str], unset: Iterable[str] = ()) -> Iterator[None]:
    """``values`` set and ``unset`` removed from ``os.environ`` for the block, then every
    key as it was; the service's cached clients and objects are forgotten on the way out."""
    unset = tuple(unset)
    saved = {key: os.environ.get(key) for key in (*values, *unset)}
    os.environ.update(values)
    for key in unset:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        from chalicelib import clients, wiring

        clients.reset()
        wiring.reset()
