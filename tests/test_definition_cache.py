"""The definitions a warm target function keeps between runs stay bounded in count and in
payload bytes, whatever the payloads (a 128 MB function must not grow with them)."""

from __future__ import annotations

from chalicelib.clock import system_clock
from chalicelib.models import Schedule, ScheduleDefinition, ScheduleStatus, iso, new_id
from chalicelib.runs import CACHED_PAYLOAD_BYTES, CACHED_PAYLOAD_BYTES_EACH, DefinitionCache


def schedule_with_payload(size: int, name: str = "s") -> Schedule:
    now = iso(system_clock())
    definition = ScheduleDefinition(
        name=name, schedule_expression="rate(1 hour)", target_type="web_action",
        payload={"blob": "x" * max(size - len('{"blob":""}'), 0)},
    )
    return Schedule(id=new_id(), definition=definition, status=ScheduleStatus.ACTIVE,
                    created_by="owner", created_date=now, updated_date=now)


def test_large_payloads_are_kept_only_up_to_the_byte_budget_most_recent_first():
    # GIVEN a warm process and 100 schedules whose payloads are 50 KB each
    cache = DefinitionCache()
    schedules = [schedule_with_payload(50_000, f"s{i}") for i in range(100)]
    # WHEN it runs each of them
    for schedule in schedules:
        cache.keep(schedule)
    # THEN it holds at most the budget, and what it holds is the most recently run
    assert cache.payload_bytes <= CACHED_PAYLOAD_BYTES
    assert len(cache) == CACHED_PAYLOAD_BYTES // 50_000
    assert cache.get(schedules[-1].id) is schedules[-1]
    assert cache.get(schedules[0].id) is None


def test_a_payload_over_the_per_entry_bound_is_not_kept():
    # GIVEN a schedule whose payload is over the per-entry bound
    big = schedule_with_payload(CACHED_PAYLOAD_BYTES_EACH + 1)
    cache = DefinitionCache()
    # WHEN it runs
    cache.keep(big)
    # THEN its definition is not kept (its next run reads the record again)
    assert cache.get(big.id) is None
    assert cache.payload_bytes == 0


def test_the_entry_bound_drops_the_least_recently_run():
    # GIVEN a cache of 3 entries holding a, b, c, and a run again since
    cache = DefinitionCache(entries=3)
    a, b, c, d = (schedule_with_payload(10, name) for name in "abcd")
    for schedule in (a, b, c, a):
        cache.keep(schedule)
    # WHEN a fourth schedule runs
    cache.keep(d)
    # THEN the least recently run (b) is the one dropped
    assert [cache.get(s.id) is not None for s in (a, b, c, d)] == [True, False, True, True]


def test_a_changed_definition_replaces_the_old_one_and_its_bytes():
    # GIVEN a kept definition of 1,000 bytes
    cache = DefinitionCache()
    old = schedule_with_payload(1_000)
    cache.keep(old)
    cache.keep(old)  # run again: counted once
    assert cache.payload_bytes == 1_000
    # WHEN the schedule changes to a 2,000-byte payload and runs
    new = old.model_copy(update={"definition": schedule_with_payload(2_000).definition, "version": old.version + 1})
    cache.keep(new)
    # THEN only the new definition is held, and counted once
    assert cache.get(old.id) is new
    assert cache.payload_bytes == 2_000
    # AND dropping it (the schedule was deleted) gives its bytes back
    cache.drop(old.id)
    assert cache.payload_bytes == 0 and len(cache) == 0
