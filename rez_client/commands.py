"""The client's commands, each bound to one API operation by method and path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    method: str
    path: str
    help: str
    # the body's main field as a positional argument (preview EXPRESSION)
    body_positional: str | None = None


COMMANDS: tuple[Command, ...] = (
    Command("create", "POST", "/api/schedules", "create a schedule from a JSON definition"),
    Command("list", "GET", "/api/schedules", "list schedules, newest first"),
    Command("get", "GET", "/api/schedules/{id}", "show a schedule"),
    Command("update", "PUT", "/api/schedules/{id}", "replace a schedule's definition"),
    Command("pause", "POST", "/api/schedules/{id}/pause", "pause a schedule"),
    Command("resume", "POST", "/api/schedules/{id}/resume", "resume a paused schedule"),
    Command("delete", "DELETE", "/api/schedules/{id}", "delete a schedule"),
    Command("run", "POST", "/api/schedules/{id}/run", "run a schedule's target now"),
    Command("executions", "GET", "/api/schedules/{id}/executions", "list a schedule's runs"),
    Command("timeline", "GET", "/api/schedules/{id}/timeline", "planned slots against actual runs"),
    Command("history", "GET", "/api/schedules/{id}/history", "a schedule's change history"),
    Command("bulk", "POST", "/api/schedules/bulk", "pause, resume, delete or run every schedule a selector picks"),
    Command("reapply", "POST", "/api/schedules/{id}/reapply", "make a schedule again from its template"),
    Command("template-create", "POST", "/api/templates", "create a template from a JSON definition"),
    Command("templates", "GET", "/api/templates", "list your templates"),
    Command("template", "GET", "/api/templates/{name}", "show a template"),
    Command("template-update", "PUT", "/api/templates/{name}", "replace a template (a new version)"),
    Command("template-delete", "DELETE", "/api/templates/{name}", "delete a template"),
    Command(
        "preview", "POST", "/api/expressions/preview", "validate an expression and list its next fire times",
        body_positional="schedule_expression",
    ),
)

# Operations about the API itself, not schedules: no command needed.
# Operations that are pages or documents for people, not actions: no command.
META_PATHS = frozenset({"/api/openapi.json", "/api/docs", "/", "/console/{name}"})

BY_NAME = {command.name: command for command in COMMANDS}
