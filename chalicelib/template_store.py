"""Templates in the schedules table: one item each, id ``template#<owner>#<name>``, listed
newest first from the ``template#<owner>`` partition of the status index (so they stay out
of the live, creator and label indexes). A caller sees and changes only its own."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws_errors import error_code
from chalicelib.clock import Clock, system_clock
from chalicelib.errors import AlreadyExists, Conflict, NotFound, ValidationError, VersionConflict
from chalicelib.identity import Caller
from chalicelib.models import ScheduleDefinition, TemplateUse, iso
from chalicelib.names import INDEX_PARTITION
from chalicelib.ports import Page
from chalicelib.repository import partition_page, plain_value, upstream_error
from chalicelib.service import ScheduleService, changed_fields
from chalicelib.templates import Template, TemplateDefinition, TemplateInstance, render

TEMPLATE_PREFIX = "template#"


def template_id(owner: str, name: str) -> str:
    return f"{TEMPLATE_PREFIX}{owner}#{name}"


class TemplateStore:
    """Templates in the schedules table (one item each), behind the caller's ownership."""

    def __init__(self, table: Any, clock: Clock = system_clock):
        self._table = table
        self._clock = clock

    def create(self, definition: TemplateDefinition, caller: Caller) -> Template:
        now = iso(self._clock())
        template = Template(definition=definition, owner=caller.principal, version=1, created_date=now, updated_date=now)
        try:
            self._table.put_item(Item=_item(template), ConditionExpression="attribute_not_exists(id)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise AlreadyExists(f"template {definition.name} already exists") from exc
            raise upstream_error(exc) from exc
        return template

    def get(self, name: str, caller: Caller) -> Template:
        try:
            item = self._table.get_item(Key={"id": template_id(caller.principal, name)}, ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise upstream_error(exc) from exc
        if not item:
            raise NotFound(f"template {name} does not exist")
        return _template(item)

    def list(self, caller: Caller, limit: int, cursor: str | None = None) -> Page:
        items, next_cursor = partition_page(self._table, TEMPLATE_PREFIX + caller.principal, limit, cursor)
        return Page([_template(item) for item in items], next_cursor)

    def update(self, name: str, definition: TemplateDefinition, caller: Caller, expected_version: int | None) -> Template:
        if definition.name != name:
            raise ValidationError(f"must be the template's name {name} (a template is not renamed)", field="name")
        current = self.get(name, caller)
        if expected_version is not None and expected_version != current.version:
            raise VersionConflict(f"template {name} is at version {current.version}, not {expected_version}")
        changed = current.model_copy(
            update={"definition": definition, "version": current.version + 1, "updated_date": iso(self._clock())}
        )
        try:
            self._table.put_item(
                Item=_item(changed), ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "version"}, ExpressionAttributeValues={":v": current.version},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(f"template {name} changed while it was written; read it again") from exc
            raise upstream_error(exc) from exc
        return changed

    def delete(self, name: str, caller: Caller, expected_version: int | None) -> None:
        request: dict[str, Any] = {"Key": {"id": template_id(caller.principal, name)}, "ConditionExpression": "attribute_exists(id)"}
        if expected_version is not None:
            request["ConditionExpression"] += " AND #v = :v"
            request["ExpressionAttributeNames"] = {"#v": "version"}
            request["ExpressionAttributeValues"] = {":v": expected_version}
        try:
            self._table.delete_item(**request)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                self.get(name, caller)  # 404 when it is gone
                raise VersionConflict(f"template {name} is not at version {expected_version}") from exc
            raise upstream_error(exc) from exc


def _item(template: Template) -> dict[str, Any]:
    return {
        "id": template_id(template.owner, template.definition.name),
        "record_type": "template",
        INDEX_PARTITION: TEMPLATE_PREFIX + template.owner,  # the owner's templates: one partition of the status index
        "owner": template.owner,
        "created_date": template.created_date,
        "updated_date": template.updated_date,
        "version": template.version,
        "definition": json.dumps(template.definition.model_dump(mode="json", exclude_none=True)),
    }


def _template(item: dict[str, Any]) -> Template:
    data = plain_value(item)
    definition = TemplateDefinition.model_validate(json.loads(data["definition"]))
    return Template(
        definition=definition, owner=data["owner"], version=data["version"],
        created_date=data["created_date"], updated_date=data["updated_date"],
    )




class TemplateService:
    """Schedules made from templates: a template and parameters become a definition, and a
    schedule is made again from its template's current version only when asked."""

    def __init__(self, store: TemplateStore, schedules: ScheduleService):
        self.store = store
        self._schedules = schedules

    def definition_from(self, instance: TemplateInstance, caller: Caller) -> tuple[ScheduleDefinition, TemplateUse]:
        """The definition the caller's template makes with the parameters, and the use to
        keep on the record."""
        template = self.store.get(instance.template, caller)
        definition = render(template.definition, instance.params)
        return definition, TemplateUse(name=instance.template, version=template.version, params=instance.params)

    def reapply(
        self, schedule_id: str, caller: Caller, dry_run: bool, expected_version: int | None = None
    ) -> dict[str, Any]:
        """Make the schedule again from its template's current version with the parameters
        it was made with (its paused or enabled state kept); a dry run only shows what
        would change."""
        schedule = self._schedules.get(schedule_id, caller)
        if schedule.template is None:
            raise Conflict(f"schedule {schedule_id} was not made from a template")
        use = schedule.template
        template = self.store.get(use.name, Caller(schedule.created_by))
        definition = render(template.definition, use.params).model_copy(update={"state": schedule.definition.state})
        changed = changed_fields(schedule.definition, definition)
        if not dry_run and (changed or template.version != use.version):
            self._schedules.update(
                schedule_id, definition, caller, expected_version or schedule.version,
                template=use.model_copy(update={"version": template.version}),
            )
        return {
            "dry_run": dry_run,
            "from_version": use.version,
            "to_version": template.version,
            "changed_fields": changed,
            "definition": definition.model_dump(mode="json", exclude_none=True),
        }
