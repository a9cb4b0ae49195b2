"""The client's commands, each bound to one API operation by method and path, with the
columns its table shows and the words its help uses."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One column of a command's table: its title and the item's key (a dotted path for a
    nested value, such as ``execution.started_at``). ``optional`` columns are left out when
    no row of the page has them."""

    title: str
    key: str
    kind: str = "text"  # text | duration_ms | list
    optional: bool = False


@dataclass(frozen=True)
class BodyOption:
    """A field of the body offered as an option (``--from TIME``); ``flag``: a boolean set
    to true by the option alone (``--dry-run``). The body's own ``--body`` still works; an
    option given wins over the same field there."""

    field: str
    help: str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    flag: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    method: str
    path: str
    help: str
    # the body's main field as a positional argument (preview EXPRESSION)
    body_positional: str | None = None
    # the table's columns for a page of items (none: a record's fields, one per line)
    columns: tuple[Column, ...] = ()
    # help for a parameter where the document's shared description would mislead
    option_help: dict[str, str] = field(default_factory=dict)
    # the body's fields offered as options
    body_options: tuple[BodyOption, ...] = ()


IDEMPOTENCY_KEY = "Idempotency-Key"

SCHEDULE_COLUMNS = (
    Column("ID", "id"),
    Column("NAME", "name"),
    Column("STATUS", "status"),
    Column("HEALTH", "health", optional=True),
    Column("EXPRESSION", "schedule_expression"),
    Column("TIMEZONE", "timezone"),
    Column("TARGET", "target_type"),
    Column("NEXT FIRE", "next_fire_time", optional=True),
    Column("LAST RUN", "last_execution.outcome", optional=True),
    Column("CREATED BY", "created_by"),
)
EXECUTION_COLUMNS = (
    Column("SCHEDULED", "scheduled_time"),
    Column("TRIGGER", "trigger"),
    Column("OUTCOME", "outcome"),
    Column("STARTED", "started_at"),
    Column("DURATION", "duration_ms", kind="duration_ms"),
    # what the run's worker reported, and how long the run took (dispatch to report)
    Column("REPORTED", "reported_outcome", optional=True),
    Column("RAN FOR", "run_duration_ms", kind="duration_ms", optional=True),
    Column("MESSAGE", "reported_message", optional=True),
    Column("SKIPPED BECAUSE", "skip_reason", optional=True),
    Column("ATTEMPTS", "attempts"),
    Column("EXECUTION", "execution_id"),
)
TIMELINE_COLUMNS = (
    Column("TIME", "time"),
    Column("RESULT", "result"),
    Column("TRIGGER", "trigger"),
    Column("STARTED", "execution.started_at"),
    Column("DURATION", "execution.duration_ms", kind="duration_ms"),
    Column("REPORTED", "execution.reported_outcome", optional=True),
    Column("RAN FOR", "execution.run_duration_ms", kind="duration_ms", optional=True),
    # why a slot was skipped, timed out or failed
    Column("REASON", "reason", optional=True),
)
HISTORY_COLUMNS = (
    Column("VERSION", "version"),
    Column("ACTION", "action"),
    Column("BY", "by"),
    Column("AT", "at"),
    Column("FIELDS", "fields", kind="list"),
    Column("REASON", "reason", optional=True),
)
CALENDAR_COLUMNS = (
    Column("NAME", "name"),
    Column("TIMEZONE", "timezone"),
    Column("DATES", "dates", kind="list"),
    Column("YEARLY", "yearly", kind="list"),
    Column("USED BY", "used_by", kind="list"),
    Column("VERSION", "version"),
)

COMMANDS: tuple[Command, ...] = (
    Command(
        "create", "POST", "/api/schedules", "create a schedule from a JSON definition",
        option_help={
            IDEMPOTENCY_KEY: "any text naming this create: a retry with the same key answers the same "
            "schedule instead of a second one (the same key with another definition is a 409)",
        },
    ),
    Command("list", "GET", "/api/schedules", "list schedules, newest first", columns=SCHEDULE_COLUMNS),
    Command("get", "GET", "/api/schedules/{id}", "show a schedule"),
    Command("update", "PUT", "/api/schedules/{id}", "replace a schedule's definition"),
    Command("pause", "POST", "/api/schedules/{id}/pause", "pause a schedule"),
    Command("resume", "POST", "/api/schedules/{id}/resume", "resume a paused schedule"),
    Command("delete", "DELETE", "/api/schedules/{id}", "delete a schedule"),
    Command(
        "run", "POST", "/api/schedules/{id}/run", "run a schedule's target now",
        option_help={
            IDEMPOTENCY_KEY: "any text naming this run request: a retry with the same key answers the "
            "same run (\"repeated\": true) and starts nothing again",
        },
    ),
    Command(
        "backfill", "POST", "/api/schedules/{id}/backfill",
        "run a schedule's past slots once each, oldest first (a dry run lists them)",
        columns=(
            Column("SLOT", "slot"),
            Column("RESULT", "result"),
            Column("RUN", "run"),
            Column("OUTCOME", "outcome", optional=True),
            Column("EXECUTION", "execution_id"),
        ),
        body_options=(
            BodyOption("from", "the window's start (ISO 8601)", metavar="TIME"),
            BodyOption("to", "the window's end (ISO 8601), not in the future", metavar="TIME"),
            BodyOption("slots", "which slots: missed (default), failed or all", choices=("missed", "failed", "all")),
            BodyOption("dry_run", "list the slots it would run, and run nothing", flag=True),
        ),
    ),
    Command(
        "executions", "GET", "/api/schedules/{id}/executions", "list a schedule's runs, newest first",
        columns=EXECUTION_COLUMNS,
    ),
    Command(
        "timeline", "GET", "/api/schedules/{id}/timeline",
        "planned slots against actual runs (default: the last and the next 24 hours)",
        columns=TIMELINE_COLUMNS,
    ),
    Command(
        "history", "GET", "/api/schedules/{id}/history", "a schedule's changes, newest first",
        columns=HISTORY_COLUMNS,
    ),
    Command("overview", "GET", "/api/overview", "your schedules at a glance: counts by status and health, "
            "what is failing or missing now, the next fires"),
    Command("bulk", "POST", "/api/schedules/bulk", "pause, resume, delete or run every schedule a selector picks"),
    Command("reapply", "POST", "/api/schedules/{id}/reapply", "make a schedule again from its template"),
    Command("skip", "POST", "/api/schedules/{id}/skip",
            "skip a schedule's next slots: --body '{\"count\": 2}' or '{\"until\": TIME}'"),
    Command("unskip", "DELETE", "/api/schedules/{id}/skip", "undo a requested skip"),
    Command("snooze", "POST", "/api/schedules/{id}/snooze",
            "pause a schedule until TIME, when it resumes by itself", body_positional="until"),
    Command("calendar-create", "POST", "/api/calendars",
            "create an exclusion calendar (dates, ranges, yearly days, or an .ics file's text in ics)"),
    Command("calendars", "GET", "/api/calendars", "list your calendars", columns=CALENDAR_COLUMNS),
    Command("calendar", "GET", "/api/calendars/{name}", "show a calendar"),
    Command("calendar-update", "PUT", "/api/calendars/{name}", "replace a calendar's days (a new version)"),
    Command("calendar-delete", "DELETE", "/api/calendars/{name}", "delete a calendar no schedule names"),
    Command("template-create", "POST", "/api/templates", "create a template from a JSON definition"),
    Command("templates", "GET", "/api/templates", "list your templates"),
    Command("template", "GET", "/api/templates/{name}", "show a template"),
    Command("template-update", "PUT", "/api/templates/{name}", "replace a template (a new version)"),
    Command("template-delete", "DELETE", "/api/templates/{name}", "delete a template"),
    Command(
        "report", "POST", "/api/executions/{execution_id}/report",
        "report how a run ended: succeeded or failed (--body names its schedule_id, and a message or details)",
        body_positional="outcome",
    ),
    Command(
        "preview", "POST", "/api/expressions/preview", "validate an expression and list its next fire times",
        body_positional="schedule_expression",
    ),
)

# Operations that are pages or documents for people, not actions: no command.
META_PATHS = frozenset({"/api/openapi.json", "/api/docs", "/", "/console/{name}"})

BY_NAME = {command.name: command for command in COMMANDS}

# What an option's value is, as its help shows it (--from TIME, --idempotency-key KEY).
METAVARS = {
    "Idempotency-Key": "KEY",
    "If-Match": "VERSION",
    "X-Created-By": "NAME",
    "from": "TIME",
    "to": "TIME",
    "after": "TIME",
    "limit": "N",
    "cursor": "CURSOR",
    "created_by": "OWNER",
}
