"""Names as text: one username normalisation for every path, and visible nicknames."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from factsvc.errors import BadCredentials, RateLimited
from factsvc.services.names import (
    BLANK_LOOKING,
    has_visible_character,
    is_visible,
    normalized_username,
)
from tests.unit.test_accounts import PASSWORD, World

NON_ASCII = "".join(chr(code) for code in range(0x80, sys.maxunicode + 1))
# A name with a non-ASCII character that Python's case mappings or NFKC turn into ASCII,
# and the account it would have reached.
LOOK_ALIKES = {
    "KELVIN SIGN": ("\u212aelvin1", "kelvin1"),
    "LATIN CAPITAL LETTER I WITH DOT ABOVE": ("\u0130van1", "ivan1"),
    "LATIN SMALL LETTER LONG S": ("\u017fam1", "sam1"),
    "FULLWIDTH LATIN SMALL LETTER K": ("\uff4belvin1", "kelvin1"),
    "MATHEMATICAL BOLD SMALL K": ("\U0001d424elvin1", "kelvin1"),
    "LATIN SMALL LIGATURE FF": ("\ufb00oo1", "ffoo1"),
}


def test_ascii_names_are_lowered_as_registration_stores_them() -> None:
    assert normalized_username("Alice_9") == "alice_9"
    assert normalized_username("BOB\nINFO") == "bob\ninfo"


def test_no_character_outside_ascii_is_changed() -> None:
    # Every code point at once: none can become an ASCII letter, so a name that breaks the
    # username rule can never equal a stored name.
    assert normalized_username(NON_ASCII) == NON_ASCII


def test_the_kind_every_non_ascii_case_mapping_to_ascii_is_found_and_left_alone() -> None:
    mapped = [
        char
        for char in NON_ASCII
        if any(
            any(c.isascii() for c in variant)
            for variant in (char.lower(), char.casefold(), char.upper())
        )
    ]
    assert {"\u212a", "\u0130", "\u017f"} <= set(mapped)
    for char in mapped:
        assert not normalized_username("a" + char).isascii()


@pytest.mark.gen_test
@pytest.mark.parametrize(("name", "account"), LOOK_ALIKES.values(), ids=list(LOOK_ALIKES))
async def test_a_look_alike_login_fails_like_a_wrong_password(name: str, account: str) -> None:
    world = World()
    await world.register(account)
    with pytest.raises(BadCredentials):
        await world.login("nobody")  # makes the dummy hash: no later login pays for it
    before = world.runner.calls
    with pytest.raises(BadCredentials):
        await world.login(name)
    look_alike_hashes, before = world.runner.calls - before, world.runner.calls
    with pytest.raises(BadCredentials):
        await world.login(account, "wrong " + PASSWORD)
    assert look_alike_hashes == world.runner.calls - before == 1
    assert (await world.login(account)).user.username == account


@pytest.mark.gen_test
async def test_look_alike_logins_count_against_the_client_limit() -> None:
    world = World(account_limit=100, client_limit=3)
    await world.register("kelvin1")
    for name in ("\u212aelvin1", "\u212aELVIN1", "\uff4belvin1"):
        with pytest.raises(BadCredentials):
            await world.login(name)
    with pytest.raises(RateLimited):
        await world.login("kelvin1")


@pytest.mark.gen_test
async def test_look_alike_logins_count_against_their_own_name_not_the_account() -> None:
    world = World(account_limit=2, client_limit=100)
    await world.register("kelvin1")
    for _ in range(3):
        with pytest.raises((BadCredentials, RateLimited)):
            await world.login("\u212aelvin1")
    assert (await world.login("kelvin1")).user.username == "kelvin1"


BLANK_NICKNAMES = {
    "HANGUL FILLER": "\u3164",
    "HANGUL FILLERS AROUND A SPACE": "\u3164 \u3164",
    "BRAILLE PATTERN BLANK": "\u2800\u2800",
    "HANGUL CHOSEONG FILLER": "\u115f",
    "HANGUL JUNGSEONG FILLER": "\u1160",
    "HALFWIDTH HANGUL FILLER": "\uffa0",
    "MUSICAL SYMBOL NULL NOTEHEAD": "\U0001d159",
    "COMBINING MARKS": "\u0301\u0308\u20dd",
    "COMBINING GRAPHEME JOINER": "\u034f",
    "VARIATION SELECTOR": "\ufe0f",
    "KHMER INHERENT VOWEL": "\u17b4",
    "PRIVATE USE": "\ue000",
    "UNASSIGNED": "\U000e0fff",
}
VISIBLE_NICKNAMES = ["Al", "Zoë", "李小龍", "Андрей", "😀", "e\u0301", "…", "_", "\u3164x", "ㄱ"]


@pytest.mark.parametrize("nickname", BLANK_NICKNAMES.values(), ids=list(BLANK_NICKNAMES))
def test_a_nickname_that_draws_nothing_has_no_visible_character(nickname: str) -> None:
    assert not has_visible_character(nickname)


@pytest.mark.parametrize("nickname", VISIBLE_NICKNAMES)
def test_a_nickname_in_any_script_has_a_visible_character(nickname: str) -> None:
    assert has_visible_character(nickname)


def test_the_kind_only_letters_numbers_punctuation_and_symbols_show() -> None:
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        if category[0] in "ZMC":
            assert not is_visible(char), f"U+{code:04X} {category}"
    assert all(unicodedata.category(char)[0] in "LNPS" for char in BLANK_LOOKING)
