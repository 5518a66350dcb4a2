"""Search relevance on the example knowledge base (``rules/kb/``): for tickets as customers write them, the
article that answers each is among the first three (issue 19 item 2: at least 18 of 20, on both backends).

Each ticket is its subject and body, as tier 0's suggestions search them: typos, greetings, several
questions in one, words the article does not use. ``test_every_miss_is_reported`` prints the misses, so a
change of weights shows what it cost."""

from __future__ import annotations

import pytest

from queues.runtime import Runtime
from router.kb import files, importing
from router.kb.search import search_articles
from router.unit_of_work import commit

#: (subject, body, the slug that answers it, customer tier, product)
TICKETS: list[tuple[str, str, str, int, str | None]] = [
    ("Can't log in", "Hi, I forgot my password and the reset email never came. Checked spam already. Help!",
     "reset-your-password", 3, None),
    ("locked out of my account", "It says too many attempts try again later. I need to get in for a meeting "
     "in 20 minutes", "account-locked", 2, None),
    ("New phone, can't get the verification code", "I changed my phone and the authenticator app is gone. "
     "How do I get into my account now?", "two-factor-authentication", 3, None),
    ("SSO broken since this morning", "Our Okta admin renewed the SAML certificate yesterday and now everyone "
     "gets bounced back to the login page in a loop.", "sso-login-loop", 1, None),
    ("How to add colleagues?", "We just signed up. How can I invite my team so they can use the account too?",
     "invite-your-team", 4, None),
    ("Need 5 more licenses", "We are growing, please add five more seats to our subscription. What will it "
     "cost?", "add-or-remove-seats", 2, None),
    ("Double charge on my card!!", "You charged me twice this month for the same invoice, I want my money "
     "back.", "charged-twice-refund", 4, None),
    ("Invoice needs our VAT number", "Our accounting needs the VAT ID and the new billing address on the "
     "invoices, where do I change that?", "download-invoices", 2, None),
    ("Payment failed", "Got an email that the payment failed. My credit card expired last month, how do I "
     "put in the new card?", "update-payment-method", 3, None),
    ("Close my account", "We don't need the tool anymore, how do I cancel the subscription?",
     "cancel-subscription", 4, None),
    ("Export contacts", "Is there a way to download all our contacts into a spreadsheet / Excel?",
     "export-data-to-csv", 3, None),
    ("Records gone after import", "Half of our records disappeared after yesterday's CSV import. Did we lose "
     "data?", "import-data", 1, None),
    ("API keeps failing with 500", "Since 9am every POST to /orders returns Internal Server Error. Request id "
     "in the headers if you need it.", "api-errors-500", 2, None),
    ("Getting 429 from the API", "Our nightly sync gets Too Many Requests after a few seconds. What are the "
     "limits?", "api-rate-limits", 2, None),
    ("Webhooks timing out", "Your webhook calls to our endpoint time out since we moved servers, deliveries "
     "show failed.", "webhook-deliveries-failing", 3, None),
    ("upload button does nothing", "When I try to attach a file in Firefox nothing happens. Chrome works.",
     "file-upload-problems", 3, None),
    ("Everything is down??", "The whole app shows a blank page for all of us, nothing loads. Is there an "
     "outage?", "site-down-what-to-do", 1, None),
    ("dark theme", "Is there a dark mode? My eyes hurt at night.", "dark-mode-and-display", 4, None),
    ("SMS not arriving in Brazil", "Text messages to our customers with +55 numbers are not delivered, the "
     "log says undelivered.", "sms-delivery-by-country", 2, "Messaging"),
    ("Passwort vergessen", "Hallo, ich habe mein Passwort vergessen und kann mich nicht anmelden.",
     "passwort-zuruecksetzen", 3, None),
]  # fmt: skip
REQUIRED = 18


@pytest.fixture
async def example_kb(runtime: Runtime) -> None:
    async with runtime.app.sessionmaker() as s:
        await importing.import_articles(s, files.read_folder(files.EXAMPLE_FOLDER))
        await commit(s, runtime.app.effects)


async def ranks(runtime: Runtime) -> list[tuple[str, list[str]]]:
    """Per ticket: the slug wanted and the first three found."""
    found = []
    async with runtime.app.sessionmaker() as s:
        for subject, body, slug, tier, product in TICKETS:
            hits = await search_articles(s, f"{subject}\n{body}", customer_tier=tier, product=product)
            found.append((slug, [h.slug for h in hits]))
    return found


async def test_the_answer_is_in_the_top_three_for_most_tickets(runtime: Runtime, example_kb: None) -> None:
    assert len(TICKETS) == 20
    found = await ranks(runtime)
    misses = [(wanted, top) for wanted, top in found if wanted not in top]
    assert len(found) - len(misses) >= REQUIRED, misses
    firsts = sum(top[:1] == [wanted] for wanted, top in found)
    assert firsts >= 15, f"only {firsts} answers ranked first: {found}"


async def test_the_audience_and_status_limit_what_is_found(runtime: Runtime, example_kb: None) -> None:
    async with runtime.app.sessionmaker() as s:
        partner = "dedicated support line account manager phone"
        assert [h.slug for h in await search_articles(s, partner, customer_tier=1)][:1] == ["dedicated-support-line"]
        assert "dedicated-support-line" not in [h.slug for h in await search_articles(s, partner, customer_tier=3)]
        sms = "sms not delivered brazil"
        assert "sms-delivery-by-country" not in [h.slug for h in await search_articles(s, sms, product="billing")]
        assert "sms-delivery-by-country" in [h.slug for h in await search_articles(s, sms, product="MESSAGING")]
        assert "sms-delivery-by-country" not in [h.slug for h in await search_articles(s, sms, public_only=True)]
        gdpr = "gdpr delete personal data"
        assert "data-retention-gdpr" not in [h.slug for h in await search_articles(s, gdpr)], "a draft"
        assert [h.slug for h in await search_articles(s, gdpr, published_only=False)][:1] == ["data-retention-gdpr"]
        german = await search_articles(s, "Passwort vergessen", locale="de-AT", limit=5)
        assert [h.slug for h in german] == ["passwort-zuruecksetzen"], "only German articles for a German locale"
        assert await search_articles(s, "the and of") == [], "function words find nothing"
        assert await search_articles(s, "") == []


async def test_a_hit_says_what_it_found(runtime: Runtime, example_kb: None) -> None:
    async with runtime.app.sessionmaker() as s:
        [hit] = await search_articles(s, "charged twice refund", limit=1)
    assert (hit.slug, hit.title, hit.public) == (
        "charged-twice-refund",
        "Charged twice or charged the wrong amount",
        True,
    )
    assert "charges" in hit.snippet and "**" not in hit.snippet, "plain words around the match"
    assert hit.rank > 0


async def test_words_that_are_query_syntax_stay_words(runtime: Runtime, example_kb: None) -> None:
    """Quotes, operators and punctuation of both query languages are searched as words, never parsed."""
    async with runtime.app.sessionmaker() as s:
        for text in ['password" OR "x', "password & !reset | (", "NEAR(password reset)", "password:* ''", "a\x00b"]:
            hits = await search_articles(s, text)
            assert all(isinstance(h.slug, str) for h in hits)
        assert "reset-your-password" in [h.slug for h in await search_articles(s, 'password" OR "x')]
