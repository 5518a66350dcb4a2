"""Declarative payload mappings: from a sender's JSON to ticket fields, with errors that name the path.

A field is read by a JMESPath expression (``alerts[0].labels.alertname``), set to a constant
(``value``), or written by a sandboxed Jinja2 template over the payload (``template``); ``map``
translates the value found (``critical`` → ``urgent``) and ``default`` stands in when nothing is found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jmespath
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from router.errors import Invalid

_templates = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

#: What a delivery asks us to do.
ACTIONS = ("create", "comment", "close", "reopen", "update")
#: Fields a mapping may fill.
TARGETS = (
    "event",
    "external_id",
    "ticket_ref",
    "subject",
    "body",
    "requester",
    "customer_ref",
    "priority",
    "service",
    "product",
    "component",
    "tags",
    "vendor_ref",
    "vendor_status",
)


class MappingProblem(Invalid):
    """A payload lacks a field its mapping needs, or holds a value the mapping cannot use (422)."""


@dataclass(frozen=True)
class FieldRule:
    """How one ticket field is read from the payload."""

    path: str | None = None
    value: Any = None
    template: str | None = None
    translate: dict[str, Any] = field(default_factory=dict)
    default: Any = None
    #: Only for the actions listed here is a missing value an error.
    required_for: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        if self.path is not None:
            return f"payload path '{self.path}'"
        if self.template is not None:
            return "template"
        return "constant"


@dataclass(frozen=True)
class CompiledField:
    rule: FieldRule
    expression: ParsedResult | None
    template: Any


@dataclass(frozen=True)
class PayloadMapping:
    fields: dict[str, CompiledField]

    @classmethod
    def compile(cls, rules: dict[str, FieldRule]) -> PayloadMapping:
        """Compile every path and template once; raises ``ValueError`` naming the field on a bad one."""
        compiled: dict[str, CompiledField] = {}
        for name, rule in rules.items():
            try:
                expression = jmespath.compile(rule.path) if rule.path is not None else None
            except JMESPathError as exc:
                raise ValueError(f"{name}: not a valid JMESPath expression {rule.path!r}: {exc}") from exc
            try:
                template = _templates.from_string(rule.template) if rule.template is not None else None
            except TemplateError as exc:
                raise ValueError(f"{name}: not a valid template: {exc}") from exc
            compiled[name] = CompiledField(rule, expression, template)
        return cls(compiled)

    def read(self, name: str, payload: Any, action: str | None = None) -> Any:
        """The value of ``name`` for this payload; ``None`` when absent and not required for ``action``."""
        spec = self.fields.get(name)
        if spec is None:
            return None
        rule = spec.rule
        if spec.expression is not None:
            try:
                found = spec.expression.search(payload)
            except JMESPathError as exc:  # a function given the wrong type by this payload
                raise MappingProblem(
                    f"{name}: {rule.where} cannot be read from this payload: {exc}", field=name
                ) from exc
        elif spec.template is not None:
            try:
                found = spec.template.render(payload if isinstance(payload, dict) else {"payload": payload})
            except Exception as exc:  # undefined values (StrictUndefined), or arithmetic on the wrong types
                problem = f"{name}: the template cannot be filled from this payload: {exc}"
                raise MappingProblem(problem, field=name) from exc
            found = found.strip() or None
        else:
            found = rule.value
        if found is not None and rule.translate:
            found = rule.translate.get(str(found).lower(), found)
        if found is None or found == "" or found == []:
            found = rule.default
        if found is None and action is not None and action in rule.required_for:
            raise MappingProblem(
                f"{name}: {rule.where} found nothing in the payload, and a {action!r} delivery needs it",
                field=name,
                path=rule.path,
            )
        return found

    def action(self, payload: Any) -> str:
        value = self.read("event", payload)
        action = "create" if value is None else str(value)
        if action not in ACTIONS:
            where = self.fields["event"].rule.where if "event" in self.fields else "event"
            raise MappingProblem(
                f"event: {where} gave {value!r}, which is not one of {', '.join(ACTIONS)} (add it to the map)",
                field="event",
            )
        return action


#: The documented generic mapping (docs/webhooks.md): field names as in the JSON ticket API.
GENERIC: dict[str, FieldRule] = {
    "event": FieldRule(
        path="event",
        default="create",
        translate={
            "ticket.create": "create",
            "ticket.created": "create",
            "ticket.comment": "comment",
            "ticket.commented": "comment",
            "ticket.close": "close",
            "ticket.resolve": "close",
            "ticket.resolved": "close",
            "resolve": "close",
            "ticket.reopen": "reopen",
            "ticket.update": "update",
            "ticket.updated": "update",
        },
    ),
    "external_id": FieldRule(path="external_id"),
    "ticket_ref": FieldRule(path="ticket_ref"),
    "subject": FieldRule(path="subject", required_for=("create",)),
    "body": FieldRule(path="body", required_for=("create", "comment")),
    "requester": FieldRule(path="requester_email", required_for=("create",)),
    "customer_ref": FieldRule(path="customer_ref"),
    "priority": FieldRule(path="priority"),
    "service": FieldRule(path="service"),
    "product": FieldRule(path="product"),
    "component": FieldRule(path="component"),
    "tags": FieldRule(path="tags"),
    "vendor_ref": FieldRule(path="vendor_ref"),
    "vendor_status": FieldRule(path="status"),
}
