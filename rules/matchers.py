"""Shared matchers compiled once per rulebook: one Aho-Corasick automaton for all keywords of a field,
one RE2 set for all regexes of a field. A ticket's text is scanned once per field, whatever the number
of rules."""

from __future__ import annotations

import re as stdlib_re
from collections.abc import Iterable

import ahocorasick
import re2

#: Our own fixed pattern (never rule-author input): Unicode word characters.
_WORD = stdlib_re.compile(r"\w+")


def normalise_words(text: str) -> str:
    """Case-folded words joined by single spaces and padded, so ``" kw "`` finds whole words only."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


class KeywordIndex:
    """All keywords (normalised phrases) of one field in one automaton."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self.automaton = ahocorasick.Automaton()
        for phrase in set(phrases):
            self.automaton.add_word(phrase, phrase)
        self.automaton.make_automaton()

    def scan(self, text: str) -> frozenset[str]:
        """The phrases present in ``text`` as whole words."""
        words = normalise_words(text)
        return frozenset(phrase for _end, phrase in self.automaton.iter(words))


def regex_options(patterns: int = 1) -> re2.Options:
    """RE2 options with room for big sets (the default 8 MiB fails near 10,000 regexes)."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = max(64 << 20, min(patterns * (128 << 10), 2 << 30))
    return options


def check_regex(pattern: str) -> str | None:
    """The RE2 error for ``pattern``, or None if it compiles."""
    try:
        re2.compile(pattern, regex_options())
    except re2.error as exc:
        message = exc.args[0] if exc.args else str(exc)
        return message.decode() if isinstance(message, bytes) else str(message)
    return None


class RegexIndex:
    """All regexes of one field in one RE2 set; the single patterns stay compiled for explanations."""

    def __init__(self, patterns: list[str]) -> None:
        options = regex_options(len(patterns))
        self.set = re2.Set.SearchSet(options)
        for pattern in patterns:
            self.set.Add(pattern)
        self.set.Compile()  # raises re2.error when the set does not fit in max_mem
        self.single = [re2.compile(p, options) for p in patterns]

    def scan(self, text: str) -> frozenset[int]:
        return frozenset(self.set.Match(text) or ())

    def first_match(self, index: int, text: str) -> str | None:
        found = self.single[index].search(text)
        return found.group(0) if found else None
