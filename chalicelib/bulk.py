"""One action on many schedules: pause, resume, delete or run every schedule a selector
picks (labels, template, status, and the owner for admins), with a dry run first.

Each schedule is changed through the same service method as its one-schedule route (one
conditional write at the version that was selected, the history entry, ownership), so a
bulk call is never a second write path. With an ``Idempotency-Key`` every schedule's write
(or run) carries a token derived from the key: a repeated call neither writes nor runs
anything twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import NotFound, ServiceError, ValidationError
from chalicelib.identity import Caller
from chalicelib.models import BulkAction, BulkRequest, BulkSelector, Schedule, ScheduleState, ScheduleStatus, derived_id
from chalicelib.run_now import RunNowService
from chalicelib.service import MAX_LIST_LIMIT, ScheduleService

DONE, SKIPPED, FAILED, PLANNED = "done", "skipped", "failed", "planned"


@dataclass(frozen=True)
class Selection:
    schedules: list[Schedule]
    cursor: str | None


class BulkService:
    def __init__(self, schedules: ScheduleService, runs: RunNowService):
        self._schedules = schedules
        self._runs = runs

    def apply(self, request: BulkRequest, caller: Caller, idempotency_key: str | None = None) -> dict[str, Any]:
        """The selected schedules (up to ``request.limit``) and, unless a dry run, what
        became of each: done, skipped (and why) or failed (and why)."""
        selection = self.select(request.selector, caller, request.limit, request.cursor)
        results = []
        for schedule in selection.schedules:
            entry: dict[str, Any] = {"id": schedule.id, "name": schedule.definition.name, "version": schedule.version}
            skip = skip_reason(schedule, request.action)
            if skip:
                entry.update(result=SKIPPED, reason=skip)
            elif request.dry_run:
                entry["result"] = PLANNED
            else:
                entry.update(self._act(schedule, request, caller, idempotency_key))
            results.append(entry)
        return {
            "action": request.action.value,
            "dry_run": request.dry_run,
            "counts": dict(Counter(entry["result"] for entry in results)),
            "results": results,
            "next_cursor": selection.cursor,
        }

    def select(self, selector: BulkSelector, caller: Caller, limit: int, cursor: str | None) -> Selection:
        """Up to ``limit`` of the schedules ``selector`` picks, newest first, read through
        the listing (so the label indexes serve a label selector), and where to go on."""
        owner = selector.owner
        if owner is not None and not caller.is_admin and owner != caller.principal:
            raise ValidationError("only admins may select another owner's schedules", field="selector.owner")
        if selector.ids is not None:
            return Selection(self._by_ids(selector, caller, limit, cursor), None)
        if selector.template and not selector.labels and owner is None and caller.is_admin:
            raise ValidationError("name the owner whose template it is", field="selector.owner")
        chosen: list[Schedule] = []
        while len(chosen) < limit:
            page = self._schedules.list(
                caller, status=selector.status, created_by=owner, labels=selector.labels or None,
                limit=min(MAX_LIST_LIMIT, limit - len(chosen)), cursor=cursor,
            )
            chosen.extend(s for s in page if selector.template is None or (s.template is not None and s.template.name == selector.template))
            cursor = page.cursor
            if not cursor:
                break
        return Selection(chosen, cursor)

    def _by_ids(self, selector: BulkSelector, caller: Caller, limit: int, cursor: str | None) -> list[Schedule]:
        """The named schedules the caller may see (another owner's is as absent as a missing
        one, as on its own route) that match the selector's other fields, in the given order."""
        ids = selector.ids or []
        if cursor is not None:
            raise ValidationError("a selection by ids is taken in one call", field="cursor")
        if limit < len(ids):
            raise ValidationError(f"must be at least the number of ids ({len(ids)})", field="limit")
        chosen = []
        for schedule_id in ids:
            try:
                schedule = self._schedules.get(schedule_id, caller)
            except NotFound:
                continue
            if _matches(schedule, selector):
                chosen.append(schedule)
        return chosen

    def _act(self, schedule: Schedule, request: BulkRequest, caller: Caller, key: str | None) -> dict[str, Any]:
        try:
            if request.action is BulkAction.RUN:
                run = self._runs.run(schedule.id, caller, f"bulk\n{key}" if key else None)
                return {"result": DONE, "execution_id": run["execution_id"]}
            token = _request_token(caller, schedule.id, request.action, key)
            version = schedule.version
            if request.action is BulkAction.PAUSE:
                self._schedules.pause(schedule.id, caller, version, reason=request.reason, request_id=token)
            elif request.action is BulkAction.RESUME:
                self._schedules.resume(schedule.id, caller, version, request_id=token)
            else:
                self._schedules.delete(schedule.id, caller, version, request_id=token)
        except ServiceError as exc:
            return {"result": FAILED, "reason": exc.message, "code": exc.code}
        return {"result": DONE}


def _matches(schedule: Schedule, selector: BulkSelector) -> bool:
    labels = schedule.definition.labels
    return (
        all(labels.get(key) == value for key, value in selector.labels.items())
        and (selector.status is None or schedule.status is selector.status)
        and (selector.owner is None or schedule.created_by == selector.owner)
        and (selector.template is None or (schedule.template is not None and schedule.template.name == selector.template))
    )


def skip_reason(schedule: Schedule, action: BulkAction) -> str | None:
    """Why ``action`` would change nothing on ``schedule`` (None: it would)."""
    if schedule.is_deleted:
        return "deleted"
    if schedule.status is ScheduleStatus.COMPLETED and action is not BulkAction.DELETE:
        return "completed: it never fires again"
    if action is BulkAction.PAUSE and schedule.definition.state is ScheduleState.DISABLED:
        return "already paused"
    if action is BulkAction.RESUME and schedule.definition.state is ScheduleState.ENABLED:
        return "not paused"
    return None


def _request_token(caller: Caller, schedule_id: str, action: BulkAction, key: str | None) -> str | None:
    """The write's request token: derived from the Idempotency-Key, so a repeated bulk call
    finds its own earlier write on each schedule instead of writing again."""
    if key is None:
        return None
    return derived_id(caller.principal, schedule_id, action.value, key)
