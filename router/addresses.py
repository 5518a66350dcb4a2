"""Email addresses and mail domains as people type them (a CLI option, a CSV cell): checked with
email-validator, the library behind the API's ``EmailStr``, and normalized to the form stored and compared
(lower case). No deliverability check: that needs DNS, and a customer's domain may not resolve from here."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from router.errors import Invalid

#: A local part for checking a bare domain with the address validator (``postmaster`` exists everywhere).
_PROBE = "postmaster@"


def normalized_email(text: str, *, field: str = "email", internal: bool = False) -> str:
    """The address lower-cased, or ``Invalid`` saying what is wrong with it.

    :param internal: an agent's address may be on a name that does not exist on the public internet
        (``.test``, a domain without a dot); a customer's contact must be deliverable from outside.
    """
    try:
        checked = validate_email(
            text, check_deliverability=False, globally_deliverable=not internal, test_environment=internal
        )
    except EmailNotValidError as exc:
        raise Invalid(f"not an email address: {text!r} ({_lower_first(str(exc))})", field=field) from None
    return checked.normalized.lower()


def normalized_domain(text: str, *, field: str = "domain") -> str:
    """A mail domain lower-cased (international names in their Unicode form, as addresses are stored), or
    ``Invalid``."""
    if "@" in text:
        raise Invalid(f"not a mail domain: {text!r} (it is an address; give the part after the @)", field=field)
    try:
        checked = validate_email(_PROBE + text, check_deliverability=False)
    except EmailNotValidError as exc:
        # The reasons speak of "the part after the @-sign": a domain is that part of its addresses.
        raise Invalid(f"not a mail domain: {text!r} ({_lower_first(str(exc))})", field=field) from None
    return checked.domain.lower()


def _lower_first(sentence: str) -> str:
    """email-validator's messages are sentences; ours carry them after a colon."""
    return sentence[:1].lower() + sentence[1:].rstrip(".")
