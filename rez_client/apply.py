"""Schedules as code, through the public API:

    python -m rez_client apply -f schedules.yaml [--prune] [--dry-run]
    python -m rez_client export --label team=golf [-f schedules.yaml]

A file (rez_client/schedules-file.schema.json, checked before any call) lists schedules by
name, each a definition or a template's name and parameters; its ``labels`` are its scope.
``apply`` reads what exists in that scope, prints the plan (create / update with the
changed fields / delete with ``--prune`` / unchanged) and carries it out: one call that
writes per change, none when nothing changed. ``export`` writes the file that describes
what exists, so applying it back changes nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import jsonschema
import yaml

from rez_client.api import Api, ClientError

COMMANDS = ("apply", "export")
SCHEMA_PATH = Path(__file__).with_name("schedules-file.schema.json")
PAGE = 100
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
# A definition's fields and the values the API fills in when a field is left out.
DEFAULTS: dict[str, Any] = {
    "timezone": "UTC", "payload": {}, "action_after_completion": "NONE", "state": "ENABLED", "labels": {},
    "exclude_calendars": [],
}
FIELDS = (
    "name", "schedule_expression", "timezone", "target_type", "target_arn", "payload", "description",
    "start_date", "end_date", "flexible_window_minutes", "retry_policy", "action_after_completion", "state",
    "alerts", "labels", "exclude_calendars",
)
ALWAYS_EXPORTED = ("name", "schedule_expression", "target_type")


class FileError(Exception):
    """The file cannot be applied as it is (nothing was called)."""


@dataclass
class Wanted:
    """One schedule of the file: its definition as the API would store it, and the body
    that asks for it."""

    name: str
    definition: dict[str, Any]
    body: dict[str, Any]
    template: dict[str, Any] | None = None


@dataclass
class Step:
    kind: str  # create | update | delete | unchanged
    name: str
    fields: list[str] = field(default_factory=list)
    wanted: Wanted | None = None
    existing: dict[str, Any] | None = None

    def line(self) -> str:
        if self.kind == "update":
            return f"update    {self.name}: {', '.join(self.fields)}"
        return f"{self.kind:<9} {self.name}"


def main(api: Api, argv: list[str], out: TextIO, err: TextIO) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        if args.command == "export":
            text = export(api, _labels(args.label))
            if args.file:
                Path(args.file).write_text(text)
            else:
                out.write(text)
            return 0
        document = load(Path(args.file))
        steps = plan(api, document, prune=args.prune)
        for step in steps:
            if step.kind != "unchanged" or args.verbose:
                out.write(step.line() + "\n")
        out.write(summary(steps, "planned" if args.dry_run else "applied") + "\n")
        if not args.dry_run:
            carry_out(api, steps)
        return 0
    except FileError as error:
        err.write(f"error: {error}\n")
        return 2
    except ClientError as error:
        err.write(f"error: {error}\n")
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rez_client")
    commands = parser.add_subparsers(dest="command", required=True)
    apply = commands.add_parser("apply", help="make the API's schedules match a file (prints the plan)")
    apply.add_argument("-f", "--file", required=True, help="the schedules file (YAML or JSON)")
    apply.add_argument("--prune", action="store_true", help="delete schedules in the file's label scope that it omits")
    apply.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    apply.add_argument("-v", "--verbose", action="store_true", help="list the unchanged schedules too")
    export = commands.add_parser("export", help="write the file that describes the schedules with these labels")
    export.add_argument("--label", action="append", required=True, help="key=value (repeat: all must match)")
    export.add_argument("-f", "--file", help="write here instead of standard output")
    return parser


def _labels(texts: list[str]) -> dict[str, str]:
    labels = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise FileError(f"--label {text}: must be key=value")
        labels[key] = value
    return labels


# --- the file ----------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    """The file, checked against its JSON Schema (every problem named, before any call)."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise FileError(f"{path}: {error}") from None
    schema = json.loads(SCHEMA_PATH.read_text())
    problems = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path)
    )
    if problems:
        lines = [f"{path}: {'/'.join(map(str, p.absolute_path)) or '(file)'}: {p.message}" for p in problems[:20]]
        raise FileError("the file does not match rez_client/schedules-file.schema.json:\n  " + "\n  ".join(lines))
    return dict(document)


def wanted_schedules(api: Api, document: dict[str, Any]) -> dict[str, Wanted]:
    scope = document.get("labels", {})
    templates: dict[str, dict[str, Any]] = {}
    wanted: dict[str, Wanted] = {}
    for entry in document["schedules"]:
        if "template" in entry:
            name = entry["template"]
            if name not in templates:
                templates[name] = api.send("GET", f"/api/templates/{urllib.parse.quote(name)}").body
            item = _from_template(templates[name], entry.get("params", {}))
        else:
            definition = {**entry, "labels": _in_scope(entry.get("labels", {}), scope, entry["name"])}
            item = Wanted(entry["name"], definition, definition)
        missing = {k: v for k, v in scope.items() if item.definition.get("labels", {}).get(k) != v}
        if missing:
            raise FileError(f"{item.name}: its template does not give it the file's labels {missing}")
        if item.name in wanted:
            raise FileError(f"{item.name}: named twice in the file")
        wanted[item.name] = item
    return wanted


def _in_scope(labels: dict[str, str], scope: dict[str, str], name: str) -> dict[str, str]:
    clash = {k for k in scope if k in labels and labels[k] != scope[k]}
    if clash:
        raise FileError(f"{name}: labels {sorted(clash)} differ from the file's scope")
    return {**labels, **scope}


def _from_template(template: dict[str, Any], params: dict[str, Any]) -> Wanted:
    """What the API makes of the template with ``params`` (the same substitution)."""
    declared = template.get("parameters", {})
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise FileError(f"template {template['name']}: unknown parameter(s) {', '.join(unknown)}")
    values = {}
    for name, spec in declared.items():
        value = params.get(name, spec.get("default"))
        if value is None:
            raise FileError(f"template {template['name']}: parameter {name} is required")
        values[name] = value
    definition = _substitute(template["schedule"], values)
    body = {"template": template["name"], "params": dict(params)}
    return Wanted(definition["name"], definition, body, {"name": template["name"], "params": dict(params)})


def _substitute(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, values) for item in value]
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value)
    if whole:
        return values[whole.group(1)]
    return PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)]) if isinstance(values[m.group(1)], bool)
                           else str(values[m.group(1)]), value)


# --- what exists, the plan, carrying it out ------------------------------------------------


def existing_schedules(api: Api, scope: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The caller's schedules in ``scope`` (every one of them, with no scope), by name."""
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        query = [("label", f"{k}={v}") for k, v in scope.items()] + [("limit", str(PAGE))]
        if cursor:
            query.append(("cursor", cursor))
        page = api.send("GET", "/api/schedules?" + urllib.parse.urlencode(query)).body
        for item in page["items"]:
            if item.get("pending_action") != "delete" and item.get("status") != "deleted":
                found[item["name"]] = item  # a schedule being deleted is gone already
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def changed(wanted: Wanted, existing: dict[str, Any]) -> list[str]:
    """The fields in which the schedule differs from the file."""
    fields = [
        name for name in FIELDS
        if wanted.definition.get(name, DEFAULTS.get(name)) != existing.get(name, DEFAULTS.get(name))
    ]
    made_from = existing.get("template") or {}
    if wanted.template and (made_from.get("name"), made_from.get("params")) != (
        wanted.template["name"], wanted.template["params"]
    ):
        fields.append("template")
    if not wanted.template and made_from:
        fields.append("template")  # made from a template, now defined in the file
    return fields


def plan(api: Api, document: dict[str, Any], prune: bool) -> list[Step]:
    scope = document.get("labels", {})
    if prune and not scope:
        raise FileError("--prune needs the file's labels (its scope): it deletes only schedules that carry them")
    wanted = wanted_schedules(api, document)
    existing = existing_schedules(api, scope)
    steps = []
    for name, item in wanted.items():
        current = existing.get(name)
        if current is None:
            steps.append(Step("create", name, wanted=item))
            continue
        fields = changed(item, current)
        steps.append(Step("update" if fields else "unchanged", name, fields, item, current))
    if prune:
        steps += [Step("delete", name, existing=current) for name, current in existing.items() if name not in wanted]
    return steps


def summary(steps: list[Step], verb: str) -> str:
    counts = {kind: sum(1 for s in steps if s.kind == kind) for kind in ("create", "update", "delete", "unchanged")}
    return f"{verb}: {counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete, " \
           f"{counts['unchanged']} unchanged"


def carry_out(api: Api, steps: list[Step]) -> None:
    """One call per change, at the version the plan read (a schedule changed meanwhile is
    a 409 that stops the run: apply again to see the new plan)."""
    for step in steps:
        if step.kind == "create" and step.wanted:
            # no Idempotency-Key: a key derived from the entry would name the same id again
            # after a prune deleted it; a create whose answer was lost shows in the next plan
            api.send("POST", "/api/schedules", body=step.wanted.body)
        elif step.kind == "update" and step.wanted and step.existing:
            api.send("PUT", f"/api/schedules/{step.existing['id']}", headers={"If-Match": str(step.existing["version"])},
                     body=step.wanted.body)
        elif step.kind == "delete" and step.existing:
            api.send("DELETE", f"/api/schedules/{step.existing['id']}", headers={"If-Match": str(step.existing["version"])})


# --- export --------------------------------------------------------------------------------


def export(api: Api, labels: dict[str, str]) -> str:
    """The file that describes the caller's schedules with ``labels``."""
    entries = []
    for item in sorted(existing_schedules(api, labels).values(), key=lambda view: view["name"]):
        made_from = item.get("template")
        if made_from:
            entry: dict[str, Any] = {"template": made_from["name"]}
            if made_from.get("params"):
                entry["params"] = made_from["params"]
        else:
            entry = {
                name: item[name] for name in FIELDS
                if name in item and (name in ALWAYS_EXPORTED or item[name] != DEFAULTS.get(name))
            }
            own = {k: v for k, v in item.get("labels", {}).items() if labels.get(k) != v}
            entry.pop("labels", None)
            if own:
                entry["labels"] = own
        entries.append(entry)
    return yaml.safe_dump({"labels": labels, "schedules": entries}, sort_keys=False, allow_unicode=True)
