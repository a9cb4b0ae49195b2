"""Schedule templates: a schedule definition with named, typed parameters (``{{club_id}}``
in the payload, the expression, the time zone, the name, the description or a label's
value), with defaults.

A template belongs to its owner and is versioned: a change names the version it replaces
(``If-Match``); ``chalicelib.template_store`` keeps them. A schedule made from a template keeps the
template's name, version and the parameters it was given; a changed template changes no
schedule until that schedule is made again from it (``POST /api/schedules/{id}/reapply``,
whose dry run shows the changed fields first).
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.errors import ValidationError
from chalicelib.models import NAME_PATTERN, ScheduleDefinition, check_name, parse_model

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
MAX_PARAMETERS = 20
# the definition fields a placeholder may appear in
TEMPLATED_FIELDS = ("name", "schedule_expression", "timezone", "description", "payload", "labels")


class ParameterType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"


_PYTHON_TYPES: dict[ParameterType, tuple[type, ...]] = {
    ParameterType.STRING: (str,),
    ParameterType.INTEGER: (int,),
    ParameterType.BOOLEAN: (bool,),
}


def _typed(kind: ParameterType, value: Any) -> bool:
    if isinstance(value, bool) and kind is not ParameterType.BOOLEAN:
        return False
    return isinstance(value, _PYTHON_TYPES[kind])


class TemplateParameter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ParameterType = ParameterType.STRING
    default: str | int | bool | None = Field(None, description="used when the parameter is not given")
    description: str | None = Field(None, max_length=512)

    @model_validator(mode="after")
    def _default_typed(self) -> TemplateParameter:
        if self.default is not None and not _typed(self.type, self.default):
            raise ValueError(f"default: must be of type {self.type.value}")
        return self


class TemplateDefinition(BaseModel):
    """The body of ``POST /api/templates`` and ``PUT /api/templates/{name}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN.pattern})
    description: str | None = Field(None, max_length=512)
    parameters: dict[str, TemplateParameter] = Field(default_factory=dict, description=f"at most {MAX_PARAMETERS}")
    schedule: dict[str, Any] = Field(
        description="a schedule definition whose name, schedule_expression, timezone, description, "
        "payload and label values may hold {{parameter}} placeholders"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, TemplateParameter]) -> dict[str, TemplateParameter]:
        if len(value) > MAX_PARAMETERS:
            raise ValueError(f"at most {MAX_PARAMETERS} parameters")
        for name in value:
            if not PLACEHOLDER.fullmatch("{{" + name + "}}"):
                raise ValueError(f"{name}: a parameter name is a letter or _, then letters, digits or _")
        return value

    @model_validator(mode="after")
    def _placeholders_declared(self) -> TemplateDefinition:
        for field in self.schedule:
            if field not in ScheduleDefinition.model_fields:
                raise ValueError(f"schedule.{field}: unknown field")
        for field, used in placeholders(self.schedule).items():
            if field not in TEMPLATED_FIELDS:
                raise ValueError(f"schedule.{field}: placeholders are allowed only in {', '.join(TEMPLATED_FIELDS)}")
            undeclared = sorted(used - set(self.parameters))
            if undeclared:
                raise ValueError(f"schedule.{field}: uses undeclared parameter(s) {', '.join(undeclared)}")
        if all(spec.default is not None for spec in self.parameters.values()):
            # every parameter has a default: the schedule it makes can be checked now
            try:
                render(self, {})
            except ValidationError as exc:
                raise ValueError(f"schedule.{exc.message}") from None
        return self


class TemplateInstance(BaseModel):
    """``POST /api/schedules`` (and the preview) from a template: its name and parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str = Field(json_schema_extra={"pattern": NAME_PATTERN.pattern})
    params: dict[str, str | int | bool] = Field(default_factory=dict)


class Template(BaseModel):
    """A stored template."""

    definition: TemplateDefinition
    owner: str
    version: int
    created_date: str
    updated_date: str

    def to_api(self) -> dict[str, Any]:
        body = self.definition.model_dump(mode="json", exclude_none=True)
        body.update(
            owner=self.owner, version=self.version, created_date=self.created_date, updated_date=self.updated_date
        )
        return body


def placeholders(schedule: dict[str, Any]) -> dict[str, set[str]]:
    """The parameter names each top-level field of ``schedule`` uses."""
    found: dict[str, set[str]] = {}
    for field, value in schedule.items():
        names = set(PLACEHOLDER.findall(json.dumps(value)))
        if names:
            found[field] = names
    return found


def render(template: TemplateDefinition, params: dict[str, Any]) -> ScheduleDefinition:
    """The schedule definition ``template`` makes with ``params``: unknown, missing or
    mistyped parameters are 400s that name them."""
    unknown = sorted(set(params) - set(template.parameters))
    if unknown:
        raise ValidationError(f"unknown parameter(s) {', '.join(unknown)} (the template declares "
                              f"{', '.join(sorted(template.parameters)) or 'none'})", field="params")
    values: dict[str, Any] = {}
    for name, spec in template.parameters.items():
        value = params.get(name, spec.default)
        if value is None:
            raise ValidationError("required (it has no default)", field=f"params.{name}")
        if not _typed(spec.type, value):
            raise ValidationError(f"must be of type {spec.type.value}", field=f"params.{name}")
        values[name] = value
    return parse_model(ScheduleDefinition, _substitute(template.schedule, values))


def _substitute(value: Any, values: dict[str, Any]) -> Any:
    """Placeholders replaced: a string that is exactly one placeholder takes the parameter's
    typed value; inside a longer string it is written as text."""
    if isinstance(value, dict):
        return {key: _substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, values) for item in value]
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value)
    if whole:
        return values[whole.group(1)]
    return PLACEHOLDER.sub(lambda match: _text(values[match.group(1)]), value)


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)
