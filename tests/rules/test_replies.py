"""A requester's reply to a self-service ticket: a bare "solved" (in any configured language) resolves it;
anything else — a negation, a question, more to say — is a reply for a person."""

from __future__ import annotations

import pytest

from rules.replies import SolvedPhrases, words

PHRASES = SolvedPhrases.of()


@pytest.mark.parametrize(
    "reply",
    [
        "solved",
        "Solved!",
        "Resolved, thanks.",
        "Thanks, that worked",
        "thank you so much, that worked!",
        "Hi, it works now. Thanks a lot!",
        "Solved, thanks!\n\nKim",
        "Thanks, that worked!\nBest regards,\nKim Meyer",
        "RESOLVED",
        "Yes, problem solved",
    ],
)
def test_english_confirmations_resolve(reply: str) -> None:
    assert PHRASES.says_solved(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "Gelöst, danke!",
        "Danke, hat funktioniert.",
        "Hallo, es funktioniert jetzt. Vielen Dank!\nGrüße\nKim",
        "geloest",  # not an accent, a spelling: not configured, so not a confirmation
        "Merci, ça marche !",
        "C'est résolu, merci beaucoup",
        "resolu",  # accents are optional
        "¡Gracias, ya funciona!",
        "Problema resuelto. Muchas gracias",
    ],
)
def test_other_languages(reply: str) -> None:
    expected = reply != "geloest"
    assert PHRASES.says_solved(reply) is expected


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "   \n  ",
        "Thanks!",
        "ok",
        "not solved",
        "It is not resolved yet",
        "Nicht gelöst",
        "Ce n'est pas résolu",
        "No funcionó",
        "Solved? The export still fails.",
        "Is it solved?",
        "¿Resuelto?",
        "solved, but now the export button is grey",
        "Solved.\nBut now I have another problem with the invoices from last month that I cannot open.",
        "That worked.\nAlso:\nthe dashboard\nis slow\ntoday",
        "The link you sent is broken",
    ],
)
def test_anything_else_is_for_a_person(reply: str) -> None:
    assert not PHRASES.says_solved(reply)


def test_configured_phrases_are_added_per_language() -> None:
    phrases = SolvedPhrases.of({"en": ["nailed it"], "nl": ["opgelost", "het werkt"]})
    assert phrases.says_solved("Nailed it, thanks")
    assert phrases.says_solved("Opgelost!")
    assert phrases.says_solved("het werkt")
    assert phrases.says_solved("solved")  # the defaults stay
    assert not PHRASES.says_solved("opgelost")


def test_words_ignore_case_accents_and_punctuation() -> None:
    assert words("Ça a MARCHÉ!") == ("ca", "a", "marche")
    assert words("c'est résolu") == ("c", "est", "resolu")


@pytest.mark.parametrize(
    "reply",
    [
        "¡Gracias, ya funciona!\n\nEl lun, 30 nov 2026 a las 10:00, Support (<s@x.example>) escribió:\n> ¿Le ayudó?",
        "Solved, thanks\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nIs it solved? Tell us more.",
        "Gelöst!\n\n-----Ursprüngliche Nachricht-----\nVon: Support\nHat es geholfen? Bitte antworten Sie.",
        "Merci, ça marche\n-- \nKim Meyer\nDirectrice financière, ACME SA, 12 rue de la Paix, Paris",
        "solved\nVon: Support <s@x.example>\nGesendet: Montag\nBetreff: Hat es geholfen?",
    ],
)
def test_quoted_text_and_signatures_left_in_do_not_count(reply: str) -> None:
    assert PHRASES.says_solved(reply)
