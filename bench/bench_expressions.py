"""Benchmark: chalicelib.expressions against croniter.

Run: .venv/bin/python bench/bench_expressions.py [--reps N] [--seed S] [--size N]
(``make bench`` calls ``run()``, which returns the figures for bench/run.py's table.)

Generates a deterministic mixed set of EventBridge Scheduler expressions (cron of many
shapes, rate, at) and times, best of several repetitions:

  (a) validation of every expression,
  (b) the next 10 fire times of every expression (UTC, and for ours also America/New_York).

croniter is timed on the same cron expressions converted to its 5-field form, where the
conversion keeps the meaning: year "*", "?" -> "*", day-of-week numbers minus 1, "6L" ->
"L5". Expressions croniter cannot express (year lists, LW, wrap-around ranges) or gets wrong
(single-value ranges such as 8-8, which croniter reads as "*") are left out of the
comparison, as are rate() and at(). The ratio ours/croniter is computed on the comparable
expressions only, and their fire times are checked to agree before anything is timed.

Parse caches are cleared before every repetition, so each repetition parses every
expression once, as croniter does.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from croniter import croniter

from chalicelib import expressions
from chalicelib.errors import InvalidExpression
from chalicelib.expressions import next_fires, parse_expression

AFTER = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


# --------------------------------------------------------------------------------------
# Generation: (aws expression, croniter expression or None)
# --------------------------------------------------------------------------------------


def _plain(rng, low, high, shift=0, steps=True, names=None):
    """A plain field and its croniter form, or None for the croniter form when croniter
    cannot express it with the same meaning."""
    kinds = ["single", "list", "range", "star"] + (["star_step", "start_step", "range_step"] if steps else [])
    # Now and then a wrap-around or single-value range (not comparable with croniter).
    kind = rng.choice(["wrap", "same"]) if rng.random() < 0.08 else rng.choice(kinds)

    def name(v):
        return names[v - low] if names and rng.random() < 0.4 else str(v)

    if kind == "star":
        return "*", "*"
    if kind == "single":
        v = rng.randint(low, high)
        return name(v), str(v + shift)
    if kind == "list":
        vs = sorted(rng.sample(range(low, high + 1), rng.randint(2, min(5, high - low + 1))))
        return ",".join(name(v) for v in vs), ",".join(str(v + shift) for v in vs)
    if kind == "same":
        v = rng.randint(low, high)
        return f"{v}-{v}", None
    if kind == "wrap":
        a = rng.randint(low + 1, high)
        b = rng.randint(low, a - 1)
        return f"{name(a)}-{name(b)}", None
    a = rng.randint(low, high - 1)
    b = rng.randint(a + 1, high)
    if kind == "range":
        return f"{name(a)}-{name(b)}", f"{a + shift}-{b + shift}"
    step = rng.randint(2, max(2, (high - low) // 3))
    if kind == "star_step":
        return f"*/{step}", f"*/{step}"
    if kind == "start_step":
        return f"{a}/{step}", f"{a + shift}-{high + shift}/{step}"
    step = rng.randint(1, b - a)
    return f"{a}-{b}/{step}", f"{a + shift}-{b + shift}/{step}"


def _cron(rng):
    minute, c_minute = _plain(rng, 0, 59)
    hour, c_hour = _plain(rng, 0, 23)
    month, c_month = _plain(rng, 1, 12, names=MONTHS)
    shape = rng.random()
    if shape < 0.40:
        dom, c_dom = _plain(rng, 1, 31)
        dow, c_dow = "?", "*"
    elif shape < 0.75:
        dom, c_dom = "?", "*"
        dow, c_dow = _plain(rng, 1, 7, shift=-1, steps=False, names=DAYS)
    else:
        special = rng.choice(["L", "LW", "nW", "nL", "L_dow", "nth"])
        if special == "L":
            dom, c_dom, dow, c_dow = "L", "L", "?", "*"
        elif special == "LW":
            dom, c_dom, dow, c_dow = "LW", None, "?", "*"
        elif special == "nW":
            n = rng.randint(1, 28)
            dom, c_dom, dow, c_dow = f"{n}W", f"{n}W", "?", "*"
        elif special == "nL":
            d = rng.randint(1, 7)
            dom, c_dom, dow, c_dow = "?", "*", f"{d}L", f"L{d - 1}"
        elif special == "L_dow":
            dom, c_dom, dow, c_dow = "?", "*", "L", "6"
        else:
            d, k = rng.randint(1, 7), rng.randint(1, 5)
            dom, c_dom, dow, c_dow = "?", "*", f"{d}#{k}", f"{d - 1}#{k}"
    year_kind = rng.random()
    if year_kind < 0.7:
        year = "*"
    elif year_kind < 0.85:
        a = rng.randint(2026, 2150)
        year = f"{a}-{rng.randint(a, 2199)}"
    else:
        year = ",".join(str(y) for y in sorted(rng.sample(range(2026, 2200), rng.randint(1, 3))))
    aws = f"cron({minute} {hour} {dom} {month} {dow} {year})"
    parts = (c_minute, c_hour, c_dom, c_month, c_dow)
    unix = " ".join(parts) if year == "*" and None not in parts else None
    return aws, unix


def _rate(rng):
    unit = rng.choice(["minute", "hour", "day"])
    value = rng.choice([1, rng.randint(2, 60), rng.randint(2, 1000)])
    return f"rate({value} {unit if value == 1 else unit + 's'})", None


def _at(rng):
    y, mo = rng.randint(2025, 2030), rng.randint(1, 12)
    d = rng.randint(1, 28)
    return f"at({y:04d}-{mo:02d}-{d:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00)", None


def generate(size: int, seed: int) -> list[tuple[str, str | None]]:
    rng = random.Random(seed)
    seen: dict[str, str | None] = {}
    while len(seen) < size:
        roll = rng.random()
        aws, unix = _cron(rng) if roll < 0.8 else _rate(rng) if roll < 0.9 else _at(rng)
        seen.setdefault(aws, unix)
    return list(seen.items())


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


def best_of(reps: int, fn) -> float:
    best = float("inf")
    for _ in range(reps):
        expressions._parse_cached.cache_clear()
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


DEFAULT_REPS = 7
DEFAULT_SEED = 20261124
DEFAULT_SIZE = 600
# ours/croniter on the comparable expressions: at least twice as fast (measured 0.04-0.25)
RATIO_TARGET = 0.5


def measure(size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, reps: int = DEFAULT_REPS) -> dict:
    """Generate the corpus, check agreement with croniter, and time both (best of reps)."""
    corpus = generate(size, seed)
    everything = [aws for aws, _ in corpus]
    pairs = [(aws, unix) for aws, unix in corpus if unix is not None]
    ours_cmp = [aws for aws, _ in pairs]
    theirs_cmp = [unix for _, unix in pairs]
    kinds = {k: sum(1 for e in everything if e.startswith(k)) for k in ("cron", "rate", "at")}

    invalid = []
    for text in everything:
        try:
            parse_expression(text)
        except InvalidExpression as exc:
            invalid.append(f"{text}: {exc}")
    if invalid:
        raise RuntimeError("generated expressions rejected (generator bug): " + "; ".join(invalid[:5]))

    # Agreement first: a comparison of speed means nothing if the answers differ.
    mismatches = []
    for aws, unix in pairs:
        ours = next_fires(aws, "UTC", AFTER, 10)
        it = croniter(unix, AFTER)
        theirs = [it.get_next(datetime) for _ in range(10)]
        if ours != theirs:
            mismatches.append((aws, unix))

    def validate_ours_all():
        for text in everything:
            parse_expression(text)

    def validate_ours_cmp():
        for text in ours_cmp:
            parse_expression(text)

    def validate_croniter():
        for text in theirs_cmp:
            croniter.is_valid(text)

    def next_ours_all(zone="UTC"):
        for text in everything:
            next_fires(text, zone, AFTER, 10)

    def next_ours_cmp():
        for text in ours_cmp:
            next_fires(text, "UTC", AFTER, 10)

    def next_croniter():
        for text in theirs_cmp:
            it = croniter(text, AFTER)
            for _ in range(10):
                it.get_next(datetime)

    started = time.perf_counter()
    t_val_all = best_of(reps, validate_ours_all)
    t_val_ours = best_of(reps, validate_ours_cmp)
    t_val_cron = best_of(reps, validate_croniter)
    t_next_all = best_of(reps, next_ours_all)
    t_next_ny = best_of(reps, lambda: next_ours_all("America/New_York"))
    t_next_ours = best_of(reps, next_ours_cmp)
    t_next_cron = best_of(reps, next_croniter)
    total = time.perf_counter() - started

    return {
        "everything": everything, "pairs": pairs, "kinds": kinds, "mismatches": mismatches,
        "seed": seed, "reps": reps, "t_val_all": t_val_all, "t_val_ours": t_val_ours,
        "t_val_cron": t_val_cron, "t_next_all": t_next_all, "t_next_ny": t_next_ny,
        "t_next_ours": t_next_ours, "t_next_cron": t_next_cron, "total": total,
    }


def run() -> list[dict]:
    """The figures for ``make bench``: µs per expression, ours against croniter."""
    m = measure()
    n_cmp = len(m["pairs"])
    agree = not m["mismatches"]
    figures = []
    for name, ours, theirs in (
        ("expressions: validation, us/expr (vs croniter)", m["t_val_ours"], m["t_val_cron"]),
        ("expressions: next 10 fires UTC, us/expr (vs croniter)", m["t_next_ours"], m["t_next_cron"]),
    ):
        ratio = ours / theirs
        figures.append({
            "name": name, "value": round(ours / n_cmp * 1e6, 2), "unit": "us",
            "baseline": round(theirs / n_cmp * 1e6, 2), "ratio": round(ratio, 3),
            "target": f"ratio <= {RATIO_TARGET} and fire times agree", "met": agree and ratio <= RATIO_TARGET,
        })
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=DEFAULT_REPS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    args = parser.parse_args()
    m = measure(args.size, args.seed, args.reps)
    everything, pairs, kinds, mismatches = m["everything"], m["pairs"], m["kinds"], m["mismatches"]
    t_val_all, t_val_ours, t_val_cron = m["t_val_all"], m["t_val_ours"], m["t_val_cron"]
    t_next_all, t_next_ny, t_next_ours, t_next_cron = m["t_next_all"], m["t_next_ny"], m["t_next_ours"], m["t_next_cron"]
    total, reps = m["total"], m["reps"]

    n_all, n_cmp = len(everything), len(pairs)
    us = 1e6
    print(f"corpus: {n_all} expressions (cron {kinds['cron']}, rate {kinds['rate']}, at {kinds['at']}), "
          f"seed {args.seed}; best of {reps} repetitions")
    print(f"comparable with croniter: {n_cmp} cron expressions "
          f"(year '*', no LW, no wrap-around or single-value ranges); the ratio uses only these")
    print(f"fire-time agreement on comparable expressions: {n_cmp - len(mismatches)}/{n_cmp}")
    for aws, unix in mismatches[:5]:
        print(f"  differs: {aws}  vs croniter '{unix}'")
    print()
    print(f"{'':44}{'ours':>12}{'croniter':>12}{'ours/croniter':>15}")
    print(f"{'(a) validation, comparable (us/expr)':44}{t_val_ours / n_cmp * us:12.2f}"
          f"{t_val_cron / n_cmp * us:12.2f}{t_val_ours / t_val_cron:15.3f}")
    print(f"{'(b) next 10 fires UTC, comparable (us/expr)':44}{t_next_ours / n_cmp * us:12.2f}"
          f"{t_next_cron / n_cmp * us:12.2f}{t_next_ours / t_next_cron:15.3f}")
    print()
    print(f"ours on all {n_all} expressions:")
    print(f"  (a) validation               {t_val_all / n_all * us:9.2f} us/expr")
    print(f"  (b) next 10 fires, UTC       {t_next_all / n_all * us:9.2f} us/expr")
    print(f"  (b) next 10, America/New_York{t_next_ny / n_all * us:9.2f} us/expr")
    print(f"(timing took {total:.1f} s)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
