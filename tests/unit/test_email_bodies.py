"""The email address in bodies: validated without DNS, stored normalised, one key for any case."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factsvc.errors import InvalidInput
from factsvc.services.account_edit_body import AccountEditBody
from factsvc.services.bodies import Body, PasswordPolicy, RegisterBody
from factsvc.services.body_reasons import parse
from factsvc.services.email_address import (
    EMAIL_MAX,
    NOT_AN_ADDRESS,
    TOO_LONG,
    email_key,
    normalized_email,
)

POLICY = PasswordPolicy(frozenset(), username="alice")
NEW = {"username": "alice", "password": "long enough"}


def reasons(model: type[Body], body: Mapping[str, object]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse(model, body, POLICY)
    return caught.value.errors


def _address_of(length: int) -> str:
    """A valid address of exactly `length` characters (labels of at most 63)."""
    domain_length = length - len("a@") - len(".org")
    labels = [("b" * 63)] * (domain_length // 64)
    rest = domain_length - 64 * len(labels)
    domain = ".".join([*labels, "c" * rest]) if rest else ".".join(labels)[:-1] + "c"
    return f"a@{domain}.org"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("alice@example.com", "alice@example.com"),
        ("Alice@EXAMPLE.com", "Alice@example.com"),  # the domain in lower case, the local part kept
        ("Ä@bücher.de", "Ä@bücher.de"),  # internationalised: Unicode both sides
        ("x@xn--bcher-kva.de", "x@bücher.de"),  # an IDN's ASCII form stored in Unicode
        ("a\u0301@b.de", "\u00e1@b.de"),  # NFC
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
    ],
)
def test_a_valid_address_is_stored_in_its_normalised_form(sent: str, stored: str) -> None:
    assert parse(RegisterBody, {**NEW, "email": sent}, POLICY).email == stored
    assert parse(AccountEditBody, {"email": sent}, POLICY).email == stored


@pytest.mark.parametrize(
    "sent",
    [
        "",
        "alice",
        "alice@",
        "@example.com",
        "alice@localhost",  # no dot: no deliverable domain
        "alice@example..com",
        " alice@example.com",
        "alice@example.com ",
        "a b@example.com",
        '"a b"@example.com',
        "alice@[192.0.2.1]",
        "alice@-example.com",
        "alice@example.com\n",
        "alice\u0000@example.com",
        "Alice <alice@example.com>",
    ],
)
def test_what_is_not_an_address_is_refused_with_one_reason(sent: str) -> None:
    assert reasons(RegisterBody, {**NEW, "email": sent}) == {"email": NOT_AN_ADDRESS}
    assert reasons(AccountEditBody, {"email": sent}) == {"email": NOT_AN_ADDRESS}


@pytest.mark.parametrize("sent", [7, True, ["a@b.de"], {"$ne": None}])
def test_an_address_must_be_a_string(sent: object) -> None:
    assert reasons(RegisterBody, {**NEW, "email": sent}) == {"email": NOT_AN_ADDRESS}
    assert reasons(AccountEditBody, {"email": sent}) == {"email": NOT_AN_ADDRESS}


def test_an_address_has_at_most_254_characters() -> None:
    longest = _address_of(EMAIL_MAX)
    assert len(longest) == EMAIL_MAX
    assert normalized_email(longest) == longest
    assert parse(RegisterBody, {**NEW, "email": longest}, POLICY).email == longest
    too_long = _address_of(EMAIL_MAX + 1)
    assert len(too_long) == EMAIL_MAX + 1
    assert reasons(RegisterBody, {**NEW, "email": too_long}) == {"email": TOO_LONG}
    assert reasons(AccountEditBody, {"email": "a@" + "b" * 1000 + ".de"}) == {"email": TOO_LONG}


def test_an_international_address_too_long_in_ascii_is_refused() -> None:
    # 250 characters in Unicode, but the domain's ASCII (punycode) form makes it longer.
    local = "ü" * 60
    address = f"{local}@{'ü' * 60}.{'b' * 63}.{'c' * 60}.de"
    assert len(address) <= EMAIL_MAX
    assert reasons(RegisterBody, {**NEW, "email": address}) == {"email": NOT_AN_ADDRESS}


def test_the_key_is_one_for_every_case_of_an_address() -> None:
    forms = ["Alice@example.com", "alice@EXAMPLE.COM", "ALICE@example.com"]
    assert len({email_key(normalized_email(form)) for form in forms}) == 1
    assert email_key(normalized_email("x@xn--bcher-kva.de")) == email_key("X@BÜCHER.de")
    assert email_key("alice@example.com") != email_key("alice@example.org")


def test_a_registration_without_an_address_or_with_null_has_none() -> None:
    assert parse(RegisterBody, NEW, POLICY).email is None
    assert parse(RegisterBody, {**NEW, "email": None}, POLICY).email is None


def test_an_edit_changes_the_address_only_when_it_is_another_one() -> None:
    edit = parse(AccountEditBody, {"email": "Alice@Example.com"}, POLICY)
    assert edit.email_changes(None) == {"email": "Alice@example.com"}
    assert edit.email_changes("bob@example.com") == {"email": "Alice@example.com"}
    assert edit.email_changes("Alice@example.com") == {}
    assert edit.email_changes("alice@EXAMPLE.com") == {}, "the same address in another case"
    removal = parse(AccountEditBody, {"email": None}, POLICY)
    assert removal.email_changes("alice@example.com") == {"email": None}
    assert removal.email_changes(None) == {}
    assert parse(AccountEditBody, {"nickname": "Al"}, POLICY).email_changes("a@b.de") == {}


def test_the_schemas_state_the_address_rule() -> None:
    register = RegisterBody.model_json_schema()["properties"]["email"]
    edit = AccountEditBody.model_json_schema()["properties"]["email"]
    for schema in (register, edit):
        text = [branch for branch in schema["anyOf"] if branch["type"] == "string"]
        assert [branch["maxLength"] for branch in text] == [EMAIL_MAX]
        assert {"type": "null"} in schema["anyOf"]
        assert schema.get("description")


# Characters whose case and canonical forms collide in many ways: a letter and its composed and
# decomposed accented forms, marks that canonical order moves (U+0323 before U+030C), folds to
# several characters (ß, ǰ, İ), final sigma, the Kelvin and Ångström signs.
TRICKY = "jJ\u01f0\u030c\u0323nN\u00f1\u00d1\u0303s\u00dfS\u1e9ekK\u212a\u03c3\u03c2\u03a3"
TRICKY += "iI\u0130\u0131\u0307a\u00e5\u00c5\u030a\u212b"
VARIANTS: dict[str, Callable[[str], str]] = {
    "NFC": lambda text: unicodedata.normalize("NFC", text),
    "NFD": lambda text: unicodedata.normalize("NFD", text),
    "casefold": str.casefold,
    "upper": str.upper,
    "lower": str.lower,
}


def canonical_caseless(text: str) -> str:
    """Unicode 3.13, D145: NFD(casefold(NFD(text)))."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).casefold())


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=TRICKY, max_size=6),
    st.sampled_from(sorted(VARIANTS)) | st.text(alphabet=TRICKY, max_size=6),
)
def test_two_addresses_share_a_key_exactly_when_they_match_canonically_caselessly(
    local: str, other: str
) -> None:
    """The whole kind of which the attack's U+01F0 U+0323 pair was one: any two local parts,
    the second often a case or normalisation variant of the first, share the key exactly when
    Unicode's canonical caseless match (D145) says they are equal."""
    second = VARIANTS[other](local) if other in VARIANTS else other
    same = canonical_caseless(local) == canonical_caseless(second)
    assert (email_key(f"{local}@example.com") == email_key(f"{second}@example.com")) == same
