"""The Jinja2 environment over ``templates/`` (autoescape on for HTML, always), with its filters."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from rules.vocabulary import PRIORITIES

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"


def sanitized(html: str | None) -> Markup:
    """Untrusted HTML made inert (nh3, no scripts, handlers or styles) and only then marked safe.

    Message HTML is already cleaned at intake; cleaning again at render keeps a row written any other way
    (an old import, a future code path) from ever running in an agent's browser.
    """
    return Markup(nh3.clean(html or "", link_rel="noopener noreferrer nofollow"))


def duration(seconds: float | None) -> str:
    """A short human age: ``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``."""
    if seconds is None:
        return "\u2013"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def zone_of(agent: Any) -> tzinfo:
    """The agent's time zone (their profile setting; ``router.agents.service.checked_time_zone``), else UTC."""
    name = getattr(agent, "time_zone", None)
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # a zone removed from the tz database since it was saved
        return UTC


def local_time(value: datetime | None, zone: tzinfo) -> str:
    """``2026-11-30 10:15 CET``: the moment in ``zone``, named by its abbreviation (or offset)."""
    if value is None:
        return "\u2013"
    local = value.astimezone(zone)
    name = local.tzname() or local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M ") + (name if name.isalpha() else f"UTC{local.strftime('%z')}")


def timestamp(value: datetime | None) -> str:
    """A moment in UTC (mail, macros: words a customer reads)."""
    return local_time(value, UTC)


@pass_context
def agent_timestamp(context: Context, value: datetime | None) -> str:
    """The ``timestamp`` filter: a moment in the signed-in agent's time zone (the page's ``agent``), UTC on
    pages and mail without one."""
    return local_time(value, zone_of(context.get("agent")))


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(sanitized=sanitized, duration=duration, timestamp=agent_timestamp)
    env.globals["priorities"] = PRIORITIES
    return env
