"""An article's locale: a language tag as people write it (``en``, ``de_CH``, ``pt-br``), checked and spelled
one way (``de-CH``, ``pt-BR``). Its language (the first part) picks the search's stemming: on PostgreSQL the
database maps it (``kb_search_config``, migration 0024: ``de`` -> ``german``, ..., ``simple`` for a language
it does not stem); on SQLite every article is stemmed as English (FTS5's porter tokenizer), accents folded.
"""

from __future__ import annotations

import re

DEFAULT_LOCALE = "en"
MAX_LOCALE_LENGTH = 35
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def normalized(tag: str) -> str:
    """``de_ch`` -> ``de-CH``; ``ValueError`` for text that is no language tag."""
    text = tag.strip()
    if len(text) > MAX_LOCALE_LENGTH or not _TAG.fullmatch(text):
        raise ValueError(f"{tag!r} is not a language tag like en, de or pt-BR")
    language, *rest = re.split(r"[-_]", text)
    parts = [language.lower()]
    for part in rest:
        if len(part) == 2 and part.isalpha():
            parts.append(part.upper())  # a region: CH, BR
        elif len(part) == 4 and part.isalpha():
            parts.append(part.title())  # a script: Latn
        else:
            parts.append(part.lower())
    return "-".join(parts)


def language(tag: str) -> str:
    """The language part of a (normalized) tag: ``de-CH`` -> ``de``."""
    return tag.split("-", 1)[0].lower()
