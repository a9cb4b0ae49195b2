"""When a schedule can never fire again, and who says so.

``has_fires_left`` is the one rule: a one-time schedule whose time has passed, or a
recurring one whose end date has passed (or whose expression has no fire time left before
it), is done. The API rejects such a definition on create and update (400); a schedule that
becomes done while it lives (an at() that ran, a resume after the end date) is shown as
``completed``: the command handler settles it so when it applies a record, and the
reconcile marks an ``active`` record so when it finds no fire time left. A ``completed``
record is not drift and is never re-created.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib import expressions
from chalicelib.errors import ServiceError
from chalicelib.models import Schedule, ScheduleDefinition


def has_fires_left(record: Schedule | ScheduleDefinition, now: datetime) -> bool:
    """False once the schedule can never fire again. An expression that cannot be read
    (a record stored under older rules) counts as live."""
    definition = record.definition if isinstance(record, Schedule) else record
    try:
        return bool(expressions.next_fires(
            definition.schedule_expression, definition.timezone, now, 1,
            start=definition.start_date, end=definition.end_date,
        ))
    except ServiceError:
        return True
