"""The webhooks configuration: signed sources that open tickets, vendors for tier-4 handoffs, subscriptions.

Read from YAML (``TIERROUTE_WEBHOOKS``); every mistake is reported as ``file:line:column`` and nothing is
half-loaded. Secrets are Standard Webhooks secrets (``whsec_`` + base64); several may be listed so a
sender can rotate: any of them verifies, the first one signs.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from router.events.service import EVENT_TYPES
from router.models.columns import utcnow
from router.webhooks.mapping import GENERIC, TARGETS, FieldRule, PayloadMapping
from rules.located import UnreadableSource, read_source

#: ``webhook:<name>`` must fit the 64-character source columns.
NAME = r"^[a-z0-9][a-z0-9_.-]{0,55}$"


class WebhooksConfigError(ValueError):
    """Every problem of a configuration file, one per line as ``file:line:column: message``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpecIn(_Strict):
    path: str | None = None
    value: Any = None
    template: str | None = None
    map: dict[str, Any] = Field(default_factory=dict)
    default: Any = None
    #: ``false`` makes a field optional that the generic mapping requires (e.g. a body for comments).
    required: bool | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpecIn:
        given = [k for k in ("path", "value", "template") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of path, value or template, not {' and '.join(given)}")
        if not given and self.default is None:
            raise ValueError("give a path, a value, a template or at least a default")
        return self


class RateLimitIn(_Strict):
    requests: int = Field(default=600, ge=1)
    per_seconds: int = Field(default=60, ge=1, le=86_400)


class _Signed(_Strict):
    secrets: list[str] = Field(default_factory=list)
    #: Name of an environment variable holding the secrets (space or comma separated).
    secrets_env: str | None = None

    @field_validator("secrets")
    @classmethod
    def _valid_secrets(cls, value: list[str]) -> list[str]:
        for secret in value:
            _check_secret(secret)
        return value


class SourceIn(_Signed):
    channel: str = Field(default="webhook", pattern=NAME)
    rate_limit: RateLimitIn = Field(default_factory=RateLimitIn)
    mapping: dict[str, FieldSpecIn | str] = Field(default_factory=dict)

    @field_validator("mapping")
    @classmethod
    def _known_targets(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(TARGETS))
        if unknown:
            raise ValueError(f"unknown ticket field(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
        return value


class VendorIn(SourceIn):
    """A vendor is also a source: its signed callbacks come to ``/intake/webhooks/{vendor}``."""

    url: HttpUrl
    max_attempts: int = Field(default=8, ge=1, le=30)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class SubscriptionIn(_Signed):
    url: HttpUrl
    events: list[str] = Field(min_length=1)
    max_attempts: int = Field(default=8, ge=1, le=30)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        """Event types by name, or a family by its prefix (``customer.*``: every customer event)."""
        unknown = [e for e in value if not _event_types(e)]
        if unknown:
            families = sorted({t.split(".")[0] + ".*" for t in EVENT_TYPES})
            raise ValueError(
                f"unknown event type(s) {', '.join(unknown)}; known: {', '.join([*EVENT_TYPES, *families])}"
            )
        return list(dict.fromkeys(t for e in value for t in _event_types(e)))


def _event_types(name: str) -> list[str]:
    """The event types a subscription's entry names: itself, or every type of a ``family.*``."""
    if name.endswith(".*"):
        return [t for t in EVENT_TYPES if t.startswith(name[:-1])]
    return [name] if name in EVENT_TYPES else []


Name = Annotated[str, Field(pattern=NAME)]


class WebhooksIn(_Strict):
    sources: dict[Name, SourceIn] = Field(default_factory=dict)
    vendors: dict[Name, VendorIn] = Field(default_factory=dict)
    #: The vendor a tier-4 ticket goes to when no rule names one.
    default_vendor: str | None = None
    subscriptions: dict[Name, SubscriptionIn] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_agree(self) -> WebhooksIn:
        both = sorted(set(self.sources) & set(self.vendors))
        if both:
            raise ValueError(f"{', '.join(both)}: a name is either a source or a vendor (vendors are sources too)")
        if self.default_vendor is not None and self.default_vendor not in self.vendors:
            raise ValueError(f"default_vendor {self.default_vendor!r} is not one of the vendors")
        return self


def _check_secret(secret: str) -> None:
    raw = secret.removeprefix("whsec_").rstrip("=")
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a secret is 'whsec_' followed by base64") from exc
    if len(key) < 24:
        raise ValueError(f"a secret needs at least 24 random bytes (this one has {len(key)})")


# -- what the application uses ------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    name: str
    secrets: tuple[str, ...]
    channel: str
    rate_limit: int
    rate_window: int
    mapping: PayloadMapping


@dataclass(frozen=True)
class Endpoint:
    """Where signed payloads go: a vendor (tier-4 handoffs) or a subscription (events)."""

    kind: str  # "vendor" or "subscription"
    name: str
    url: str
    secrets: tuple[str, ...]
    max_attempts: int
    timeout_seconds: float
    events: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WebhooksConfig:
    sources: dict[str, Source]
    vendors: dict[str, Endpoint]
    subscriptions: tuple[Endpoint, ...]
    default_vendor: str | None = None
    #: When this process read the configuration: a subscription nobody recorded yet is first seen then
    #: (``router.webhooks.subscriptions``).
    loaded_at: datetime = field(default_factory=utcnow)

    def source(self, name: str) -> Source | None:
        return self.sources.get(name)

    def vendor_for(self, named: str | None) -> Endpoint | None:
        """The vendor a rule named, else the default one. A rule naming a vendor that is not configured gets
        None, never the default: a ticket's conversation must not go to a vendor nobody chose."""
        if named:
            return self.vendors.get(named)
        return self.vendors.get(self.default_vendor or "")

    def endpoint(self, kind: str, name: str) -> Endpoint | None:
        if kind == "vendor":
            return self.vendors.get(name)
        return next((s for s in self.subscriptions if s.name == name), None)

    def subscribers(self, event_type: str) -> list[Endpoint]:
        return [s for s in self.subscriptions if event_type in s.events]

    def wants(self, event_type: str) -> bool:
        """Whether publishing this event can reach anybody (unwanted events stay in the outbox only)."""
        if event_type == "ticket.vendor_handoff":
            return bool(self.vendors)
        return any(event_type in s.events for s in self.subscriptions)


EMPTY = WebhooksConfig(sources={}, vendors={}, subscriptions=())


def _mapping(given: dict[str, FieldSpecIn | str]) -> PayloadMapping:
    rules = dict(GENERIC)
    for name, spec in given.items():
        base = GENERIC.get(name, FieldRule())
        if isinstance(spec, str):
            rules[name] = FieldRule(path=spec, required_for=base.required_for)
            continue
        required = base.required_for if spec.required is None else (("create", "comment") if spec.required else ())
        rules[name] = FieldRule(
            path=spec.path,
            value=spec.value,
            template=spec.template,
            translate={str(k).lower(): v for k, v in spec.map.items()},
            default=spec.default,
            required_for=required,
        )
    return PayloadMapping.compile(rules)


def _secrets(spec: _Signed, where: str, environ: dict[str, str]) -> tuple[str, ...]:
    found = list(spec.secrets)
    if spec.secrets_env:
        raw = environ.get(spec.secrets_env, "")
        env_secrets = [s for s in re.split(r"[\s,]+", raw) if s]
        for secret in env_secrets:
            try:
                _check_secret(secret)
            except ValueError as exc:
                raise ValueError(f"{where}: environment variable {spec.secrets_env}: {exc}") from exc
        found += env_secrets
    if not found:
        hint = f" (set {spec.secrets_env})" if spec.secrets_env else ""
        raise ValueError(f"{where}: no secret configured{hint}; unsigned webhooks are never accepted")
    return tuple(found)


def build(model: WebhooksIn, environ: dict[str, str]) -> WebhooksConfig:
    sources: dict[str, Source] = {}
    vendors: dict[str, Endpoint] = {}
    for name, spec in [*model.sources.items(), *model.vendors.items()]:
        kind = "vendors" if name in model.vendors else "sources"
        secrets = _secrets(spec, f"{kind}.{name}", environ)
        try:
            mapping = _mapping(spec.mapping)
        except ValueError as exc:
            raise ValueError(f"{kind}.{name}.mapping: {exc}") from exc
        sources[name] = Source(
            name, secrets, spec.channel, spec.rate_limit.requests, spec.rate_limit.per_seconds, mapping
        )
        if isinstance(spec, VendorIn):
            vendors[name] = Endpoint(
                "vendor", name, str(spec.url), secrets, spec.max_attempts, spec.timeout_seconds, frozenset()
            )
    subscriptions = tuple(
        Endpoint(
            "subscription",
            name,
            str(spec.url),
            _secrets(spec, f"subscriptions.{name}", environ),
            spec.max_attempts,
            spec.timeout_seconds,
            frozenset(spec.events),
        )
        for name, spec in model.subscriptions.items()
    )
    return WebhooksConfig(sources, vendors, subscriptions, model.default_vendor)


def _locate(doc: Any, loc: tuple[Any, ...]) -> tuple[int, int]:
    """Line and column (1-based) of the deepest node of ``loc`` that the YAML document has."""
    node, line, col = doc, 1, 1
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line, col = node.lc.key(key)[0] + 1, node.lc.key(key)[1] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            line, col = node.lc.item(key)[0] + 1, node.lc.item(key)[1] + 1
            node = node[key]
        else:
            break
    return line, col


def parse(text: str, source: str = "<webhooks>", environ: dict[str, str] | None = None) -> WebhooksConfig:
    """Check and build a configuration; raises ``WebhooksConfigError`` listing every problem."""
    try:
        doc = YAML(typ="rt").load(text) or CommentedMap()
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise WebhooksConfigError(f"{source}:{where}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise WebhooksConfigError(f"{source}:1:1: the webhooks configuration is a mapping")
    try:
        model = WebhooksIn.model_validate(doc)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("str", "FieldSpecIn")))
            line, col = _locate(doc, loc)
            lines.append(f"{source}:{line}:{col}: {'.'.join(map(str, loc)) or 'file'}: {err['msg']}")
        raise WebhooksConfigError("\n".join(lines)) from exc
    try:
        return build(model, dict(os.environ) if environ is None else environ)
    except ValueError as exc:
        path = str(exc).split(":", 1)[0]
        line, col = _locate(doc, tuple(path.split(".")[:2]))
        raise WebhooksConfigError(f"{source}:{line}:{col}: {exc}") from exc


def load(path: Path | None) -> WebhooksConfig:
    """The configuration at ``path``; no path means no webhooks (every source is unknown)."""
    if path is None:
        return EMPTY
    try:
        text = read_source(path, "webhooks configuration")
    except UnreadableSource as exc:
        raise WebhooksConfigError(str(exc.problem)) from exc
    return parse(text, str(path))
