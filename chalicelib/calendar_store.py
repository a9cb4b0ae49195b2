"""Calendars in the schedules table: one item each, id ``calendar#<owner>#<name>``, listed
newest first from the ``calendar#<owner>`` partition of the status index (as templates are).
A caller sees and changes only its own.

Which schedules name a calendar is kept on the calendar's item (``used_by``, a string set of
schedule ids), so a delete finds its users without looking at any other schedule: a schedule
write (create or update) that names calendars first adds its id to each (``refer``: one
UpdateItem per named calendar, conditioned on the calendar existing, which is also how the
schedule's ``exclude_calendars`` is checked; when the schedule write then fails, the ids it
added are taken back, so a refused request leaves nothing behind). Nothing is removed when a schedule stops naming
a calendar or is deleted (that would need the record as it was: a read on every change); a
delete re-reads the schedules its calendar lists (one GetItem each), leaves out those that no
longer name it, and refuses (409, naming them) only when some still do. A write that fails
after its ``refer`` leaves an extra id, never a missing one. A schedule with no calendar pays
nothing.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws_errors import error_code, translate
from chalicelib.calendars import Calendar, CalendarDays, CalendarDefinition
from chalicelib.clock import Clock, system_clock
from chalicelib.errors import AlreadyExists, Conflict, NotFound, ValidationError, VersionConflict
from chalicelib.exclusions import Exclusions
from chalicelib.identity import Caller
from chalicelib.models import Schedule, iso, parse_model
from chalicelib.ports import Page, ScheduleRepository
from chalicelib.repository import partition_page, plain_value, upstream_error

CALENDAR_PREFIX = "calendar#"
logger = logging.getLogger("rez_agent.calendars")


def calendar_id(owner: str, name: str) -> str:
    return f"{CALENDAR_PREFIX}{owner}#{name}"


def parse_calendar(body: Any) -> CalendarDefinition:
    """A request's calendar, its ``ics`` read into days: every problem a 400 naming the field."""
    return resolve(parse_model(CalendarDefinition, body))


def resolve(definition: CalendarDefinition, place: str = "") -> CalendarDefinition:
    """``definition.resolved()``, its problems a 400 naming the field (under ``place``)."""
    try:
        return definition.resolved()
    except ValueError as exc:
        field, _, rule = str(exc).partition(": ")
        raise ValidationError(rule or field, field=place + ("ics" if not rule else field)) from None


class CalendarStore:
    """Calendars (one item each) behind the caller's ownership, and their users."""

    def __init__(self, table: Any, clock: Clock = system_clock):
        self._table = table
        self._clock = clock

    def create(self, definition: CalendarDefinition, caller: Caller) -> Calendar:
        now = iso(self._clock())
        calendar = Calendar(definition=definition, owner=caller.principal, version=1, created_date=now, updated_date=now)
        try:
            self._table.put_item(Item=_item(calendar), ConditionExpression="attribute_not_exists(id)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                found = self.find(caller.principal, definition.name)
                if found is not None and (found.created_date, found.version, found.definition) == (now, 1, definition):
                    return found  # this very write, sent again after its answer was lost
                raise AlreadyExists(f"calendar {definition.name} already exists") from exc
            raise upstream_error(exc) from exc
        return calendar

    def get(self, name: str, caller: Caller) -> Calendar:
        found = self.find(caller.principal, name)
        if found is None:
            raise NotFound(f"calendar {name} does not exist")
        return found

    def find(self, owner: str, name: str) -> Calendar | None:
        """``owner``'s calendar ``name``, read consistently (None: there is none)."""
        try:
            item = self._table.get_item(Key={"id": calendar_id(owner, name)}, ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "schedules table") from exc
        return _calendar(item) if item else None

    def days(self, owner: str, names: Iterable[str]) -> list[CalendarDays]:
        """The days of ``owner``'s calendars ``names`` (one GetItem each; a calendar that is
        gone excludes nothing)."""
        found = [self.find(owner, name) for name in names]
        return [CalendarDays(calendar.definition) for calendar in found if calendar is not None]

    def preview_exclusions(self, caller: Caller, names: Iterable[str],
                           inline: Iterable[CalendarDefinition] = ()) -> Exclusions:
        """The calendars a preview names (the caller's: each must exist, else a 400 naming
        its place) and the ones it gives inline."""
        days = [CalendarDays(resolve(definition, f"calendars.{index}."))
                for index, definition in enumerate(inline)]
        for index, name in enumerate(names):
            found = self.find(caller.principal, name)
            if found is None:
                raise ValidationError(f"calendar {name} does not exist", field=f"exclude_calendars.{index}")
            days.append(CalendarDays(found.definition))
        return Exclusions(calendars=days)

    def list(self, caller: Caller, limit: int, cursor: str | None = None) -> Page:
        items, next_cursor = partition_page(self._table, CALENDAR_PREFIX + caller.principal, limit, cursor)
        return Page([_calendar(item) for item in items], next_cursor)

    def update(self, name: str, definition: CalendarDefinition, caller: Caller, expected_version: int | None) -> Calendar:
        """Replace the days (the users stay). Slots not yet run follow the new days."""
        if definition.name != name:
            raise ValidationError(f"must be the calendar's name {name} (a calendar is not renamed)", field="name")
        current = self.get(name, caller)
        if expected_version is not None and expected_version != current.version:
            raise VersionConflict(f"calendar {name} is at version {current.version}, not {expected_version}")
        now = iso(self._clock())
        try:
            self._table.update_item(
                Key={"id": calendar_id(caller.principal, name)},
                UpdateExpression="SET #d = :d, #v = :next, #u = :now",
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#d": "definition", "#v": "version", "#u": "updated_date"},
                ExpressionAttributeValues={":d": _text(definition), ":v": current.version,
                                           ":next": current.version + 1, ":now": now},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(f"calendar {name} changed while it was written; read it again") from exc
            raise upstream_error(exc) from exc
        return current.model_copy(update={"definition": definition, "version": current.version + 1, "updated_date": now})

    def delete(self, name: str, caller: Caller, expected_version: int | None,
               names_it: Callable[[str], bool]) -> None:
        """Delete the calendar unless a schedule names it (409 naming them). ``names_it``
        tells whether a listed schedule still names it (ids left by a write that failed
        halfway are dropped here)."""
        current = self.get(name, caller)
        stale = [schedule_id for schedule_id in current.used_by if not names_it(schedule_id)]
        users = sorted(set(current.used_by) - set(stale))
        if users:
            raise Conflict(f"calendar {name} is used by schedule(s) {', '.join(users)}; remove it from "
                           "their exclude_calendars first")
        if expected_version is not None and expected_version != current.version:
            raise VersionConflict(f"calendar {name} is not at version {expected_version}")
        request: dict[str, Any] = {
            "Key": {"id": calendar_id(caller.principal, name)},
            "ConditionExpression": "#v = :v AND (attribute_not_exists(#u)" + (" OR #u = :stale)" if stale else ")"),
            "ExpressionAttributeNames": {"#v": "version", "#u": "used_by"},
            "ExpressionAttributeValues": {":v": current.version},
        }
        if stale:  # the set holds exactly the stale ids: nothing named it meanwhile
            request["ExpressionAttributeValues"][":stale"] = set(stale)
        try:
            self._table.delete_item(**request)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                if self.find(caller.principal, name) is None:
                    return  # gone: this delete, sent again after its answer was lost
                raise Conflict(f"calendar {name} changed while it was deleted (a schedule may name it now); "
                               "read it again") from exc
            raise upstream_error(exc) from exc

    # --- users ----------------------------------------------------------------------

    def refer(self, owner: str, names: Iterable[str], schedule_id: str) -> builtins.list[str]:
        """Note that ``schedule_id`` names ``owner``'s calendars ``names``; the names it was
        newly added to (so a write that then fails can take it back: ``release``). A calendar
        that does not exist is a 400 naming its place in ``exclude_calendars``, and what was
        added before it is taken back."""
        added: builtins.list[str] = []
        for index, name in enumerate(names):
            try:
                response = self._table.update_item(
                    Key={"id": calendar_id(owner, name)},
                    UpdateExpression="ADD #u :id",
                    ConditionExpression="attribute_exists(id)",
                    ExpressionAttributeNames={"#u": "used_by"},
                    ExpressionAttributeValues={":id": {schedule_id}},
                    ReturnValues="UPDATED_OLD",
                )
            except ClientError as exc:
                self.release(owner, added, schedule_id)
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise ValidationError(f"calendar {name} does not exist (create it first with POST "
                                          "/api/calendars)", field=f"exclude_calendars.{index}") from exc
                raise upstream_error(exc) from exc
            if schedule_id not in (response.get("Attributes", {}).get("used_by") or set()):
                added.append(name)
        return added

    def release(self, owner: str, names: Iterable[str], schedule_id: str) -> None:
        """Take back what ``refer`` added for a write that did not happen (best effort: an id
        left behind only makes a later delete read that schedule)."""
        for name in names:
            try:
                self._table.update_item(
                    Key={"id": calendar_id(owner, name)}, UpdateExpression="DELETE #u :id",
                    ConditionExpression="attribute_exists(id)",
                    ExpressionAttributeNames={"#u": "used_by"}, ExpressionAttributeValues={":id": {schedule_id}},
                )
            except (ClientError, BotoCoreError) as exc:
                logger.warning("calendar %s keeps schedule %s in used_by: %s", name, schedule_id, exc)


class CalendarService:
    """Calendars, and their delete, which asks the schedule records whether they still name
    the calendar."""

    def __init__(self, store: CalendarStore, schedules: ScheduleRepository):
        self.store = store
        self._schedules = schedules

    def delete(self, name: str, caller: Caller, expected_version: int | None) -> None:
        self.store.delete(name, caller, expected_version,
                          lambda schedule_id: still_names(self._schedules.get(schedule_id), name))


def still_names(schedule: Schedule | None, name: str) -> bool:
    """Whether a schedule (live) still names calendar ``name``."""
    return schedule is not None and not schedule.is_deleted and name in schedule.definition.exclude_calendars


def _text(definition: CalendarDefinition) -> str:
    return json.dumps(definition.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"ics"}))


def _item(calendar: Calendar) -> dict[str, Any]:
    return {
        "id": calendar_id(calendar.owner, calendar.definition.name),
        "record_type": "calendar",
        "status": CALENDAR_PREFIX + calendar.owner,  # the owner's calendars: one partition of the status index
        "owner": calendar.owner,
        "created_date": calendar.created_date,
        "updated_date": calendar.updated_date,
        "version": calendar.version,
        "definition": _text(calendar.definition),
    }


def _calendar(item: dict[str, Any]) -> Calendar:
    data = plain_value(item)
    definition = CalendarDefinition.model_validate(json.loads(data["definition"]))
    return Calendar(
        definition=definition, owner=data["owner"], version=data["version"],
        created_date=data["created_date"], updated_date=data["updated_date"],
        used_by=sorted(data.get("used_by") or []),
    )


