"""The Jinja2 environment over ``templates/`` (autoescape on for HTML, always), with its filters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
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


def timestamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "\u2013"


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(sanitized=sanitized, duration=duration, timestamp=timestamp)
    env.globals["priorities"] = PRIORITIES
    return env
