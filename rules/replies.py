"""Is a requester's reply to a self-service ticket a bare "that solved it"? (``docs/self-service.md``)

Pure, like the rest of ``rules/``. The reply arrives with the quoted conversation and signature already
stripped (``router.intake.email_service``). It counts as "solved" only when it says nothing else: its first
line, without greetings and thanks around it, is one of the configured phrases (``solved``, ``gelöst``,
``résolu``, ``resuelto``, ...), it asks nothing (no ``?``) and any further lines are short sign-offs (a name,
"Best, Kim"). Everything else — "not solved", "solved, but now the export fails", a question — is a reply that
wants a person, and the ticket goes to tier 1. Erring that way costs an agent a minute; erring the other way
would close a request that still needs help.

Matching is on words, not characters: case, accents and punctuation are ignored (``resolu`` matches
``résolu``), and ``c'est`` is two words on both sides, so a configured phrase is written as people type it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Phrases that mean "your suggestion solved it", per language (ISO 639-1). Settings add more
#: (``TIERROUTE_SELF_SERVICE_PHRASES``).
DEFAULT_PHRASES: Mapping[str, tuple[str, ...]] = {
    "en": (
        "solved", "resolved", "fixed", "sorted", "that worked", "it worked", "this worked", "that solved it",
        "this solved it", "that fixed it", "it works now", "works now", "problem solved", "issue resolved",
        "all good now", "you can close it", "please close it", "please close the ticket",
    ),
    "de": (
        "gelöst", "erledigt", "behoben", "hat funktioniert", "es funktioniert", "funktioniert jetzt",
        "es funktioniert jetzt", "hat geklappt", "problem gelöst", "das hat geholfen", "kann geschlossen werden",
    ),
    "fr": (
        "résolu", "c'est résolu", "réglé", "c'est réglé", "ça a marché", "ça marche", "ça marche maintenant",
        "ça fonctionne", "ça fonctionne maintenant", "problème résolu", "vous pouvez fermer",
    ),
    "es": (
        "resuelto", "solucionado", "funcionó", "ya funciona", "eso funcionó", "problema resuelto",
        "problema solucionado", "pueden cerrarlo", "ya está",
    ),
}  # fmt: skip

#: Words around a confirmation that add nothing to it (greetings, thanks, praise, "yes"), per language, written
#: as ``words`` leaves them (no accents).
FILLERS: Mapping[str, str] = {
    "en": "hi hello hey dear yes yep ok okay great perfect awesome excellent brilliant cool thanks thank thx ty "
    "you very much so lot a many again for the help your now all good indeed",
    "de": "hallo guten tag morgen ja super prima perfekt toll danke vielen dank schon sehr herzlichen fur die "
    "hilfe jetzt alles gut",
    "fr": "bonjour salut oui parfait genial merci beaucoup bien pour votre aide maintenant tout est",
    "es": "hola buenos buenas dias si perfecto genial gracias muchas mil por su tu ayuda ahora todo bien",
}
FILLER_WORDS = frozenset(" ".join(FILLERS.values()).split())
#: A line after the first that is at most this many words is a sign-off ("Kim", "Best regards, Kim").
SIGN_OFF_WORDS = 4
#: More lines than this after the first is more than a sign-off.
SIGN_OFF_LINES = 3

_WORD = re.compile(r"\w+")
#: Where the new text of a reply ends, when the mail's reply stripper left the rest in: a signature separator,
#: an "original message" marker or a forwarded header block (the languages above).
_END_OF_NEW_TEXT = re.compile(
    r"^\s*(--\s*$|_{5,}|-{3,}\s*(original message|ursprungliche nachricht|message d.origine|mensaje original)"
    r"|(from|von|de|envoye|sent|gesendet|enviado)\s*:)",
    re.IGNORECASE,
)


def words(text: str) -> tuple[str, ...]:
    """The words of ``text``: case-folded, accents removed, punctuation dropped (``Ça a marché!`` →
    ``ca a marche``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return tuple(_WORD.findall(plain))


def _plain(line: str) -> str:
    decomposed = unicodedata.normalize("NFKD", line)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def new_text(reply: str) -> list[str]:
    """The lines the requester wrote: up to a signature separator or an "original message" block, without
    quoted lines (``>``) and the "On ... wrote:" line that introduces them."""
    lines: list[str] = []
    for line in reply.splitlines():
        if _END_OF_NEW_TEXT.match(_plain(line)):
            break
        if line.lstrip().startswith(">"):
            while lines and not lines[-1].strip():
                lines.pop()
            if lines and lines[-1].rstrip().endswith(":"):
                lines.pop()
            continue
        lines.append(line)
    return lines


@dataclass(frozen=True)
class SolvedPhrases:
    """The phrases, as word sequences, of every language together (a reply's language is not guessed)."""

    phrases: frozenset[tuple[str, ...]]

    @classmethod
    def of(cls, extra: Mapping[str, Iterable[str]] | None = None) -> SolvedPhrases:
        """The default phrases plus ``extra`` (language → phrases, from the settings)."""
        found: set[tuple[str, ...]] = set()
        for source in (DEFAULT_PHRASES, extra or {}):
            for phrases in source.values():
                found.update(w for w in (words(p) for p in phrases) if w)
        return cls(frozenset(found))

    def says_solved(self, reply: str) -> bool:
        """True when ``reply`` is a bare confirmation (quoted text and signature do not count)."""
        lines = [line.strip() for line in new_text(reply) if words(line)]
        reply = "\n".join(lines)
        if not lines or "?" in reply or "¿" in reply:
            return False
        first, rest = lines[0], lines[1:]
        if len(rest) > SIGN_OFF_LINES or any(len(words(line)) > SIGN_OFF_WORDS for line in rest):
            return False
        return self._is_phrase(words(first))

    def _is_phrase(self, said: tuple[str, ...]) -> bool:
        """The words, without filler at either end, are one phrase; or a phrase with filler after it
        (``solved thanks a lot``), or filler then a phrase (``thanks that worked``)."""
        start, end = 0, len(said)
        while start < end and said[start] in FILLER_WORDS and said[start:end] not in self.phrases:
            start += 1
        while end > start and said[end - 1] in FILLER_WORDS and said[start:end] not in self.phrases:
            end -= 1
        return start < end and said[start:end] in self.phrases
