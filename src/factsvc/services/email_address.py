"""An account's email address: its rule, its stored (normalised) form and its uniqueness key."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field

from factsvc.services.body_reasons import UNICODE, Reasons, refusal

# RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, angle brackets included.
EMAIL_MAX = 254
NOT_AN_ADDRESS = "must be an email address such as name@example.com"
TOO_LONG = f"must be at most {EMAIL_MAX} characters"


def normalized_email(text: str) -> str:
    """`text` as stored: email-validator's normalised form (the domain in lower case and, for
    an internationalised domain, in Unicode; the local part in Unicode NFC, its case kept).
    Never looks the domain up (no DNS). Raises ValueError (a pydantic refusal, whose message is
    the reason) for anything that is not a deliverable-looking address of at most EMAIL_MAX
    characters: no quoted local parts, no IP-address domains, a dot in the domain."""
    if len(text) > EMAIL_MAX:
        raise refusal(TOO_LONG)
    try:
        normalized = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise refusal(NOT_AN_ADDRESS) from None
    if len(normalized) > EMAIL_MAX:
        raise refusal(TOO_LONG)
    return normalized


def smtp_form(address: str) -> str:
    """`address` as a mail server without SMTPUTF8 (RFC 6531) takes it, where that is
    possible: with an ASCII local part, the domain in A-labels (IDNA 2008, RFC 5891),
    email-validator's ascii_email (`alice@bücher.example` → `alice@xn--bcher-kva.example`).
    An address whose local part is not ASCII (only SMTPUTF8 carries it), or that is no
    address, comes back unchanged."""
    try:
        ascii_form = validate_email(address, check_deliverability=False).ascii_email
    except EmailNotValidError:
        return address
    return ascii_form or address


def email_key(normalized: str) -> str:
    """The key two addresses share when they are the same address to this service: the
    normalised form case-folded (so `Alice@example.com` and `alice@EXAMPLE.com` are one), as
    Unicode's canonical caseless match (Unicode 3.13, D145) compares: decomposed before the
    folding, which may leave combining marks out of canonical order, and composed (NFC) after."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", normalized).casefold())


EmailAddress = Annotated[
    str,
    Field(
        max_length=EMAIL_MAX,
        description=f"An email address of at most {EMAIL_MAX} characters (internationalised "
        "addresses allowed), stored in its normalised form (the domain in lower case); unique "
        "to one account whatever its case (409 when taken). Never looked up in DNS.",
    ),
    Reasons(
        NOT_AN_ADDRESS,
        {"string_too_long": TOO_LONG, "string_unicode": UNICODE},
    ),
    AfterValidator(normalized_email),
]
