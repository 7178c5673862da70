"""The session cookie: its name and attributes, and the one session a request's cookies of that
name stand for, however many it carries."""

from __future__ import annotations

import time

import pytest
from tornado.web import create_signed_value

from factsvc.config import ConfigError, Settings
from factsvc.handlers.session_cookie import WSP, CookiePolicy, cookie_name, cookie_values

CURRENT = "current-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PREVIOUS = "previous-secret-0123456789-abcdefghijklmnopqrstuvwx"
SECRETS = {7: CURRENT, 3: PREVIOUS}
DAY = 86400
# Every character str.strip() removes (str.isspace) that a user agent keeps: a name written with
# one is another cookie to the browser, one the __Host- prefix's rules never applied to.
NOT_WSP = [c for c in map(chr, range(0x110000)) if c.isspace() and c not in WSP]


def policy(
    name: str = "SID", *, debug: bool = False, samesite: str = "Lax", key_version: int = 7
) -> CookiePolicy:
    return CookiePolicy.build(
        name,
        debug=debug,
        samesite=samesite,
        max_age_seconds=7 * DAY,
        secrets=SECRETS,
        key_version=key_version,
    )


@pytest.mark.parametrize(
    ("configured", "debug", "expected"),
    [
        ("SID", False, "__Host-SID"),
        ("SID", True, "SID"),
        ("__Host-SID", False, "__Host-SID"),
        ("__host-sid", False, "__host-sid"),
        ("__Host-SID", True, "__Host-SID"),
        ("Host-SID", False, "__Host-Host-SID"),
    ],
)
def test_outside_debug_the_name_has_the_host_prefix_once(
    configured: str, debug: bool, expected: str
) -> None:
    assert cookie_name(configured, debug=debug) == expected


@pytest.mark.parametrize(
    ("configured", "debug", "samesite", "secure"),
    [
        ("SID", False, "Lax", True),
        ("SID", False, "Strict", True),
        ("SID", True, "Lax", False),
        ("SID", True, "Strict", False),
        ("SID", True, "None", True),
        ("__Host-SID", True, "Lax", True),
        ("__Secure-SID", True, "Lax", True),
    ],
)
def test_the_cookie_is_secure_outside_debug_and_wherever_a_browser_requires_it(
    configured: str, debug: bool, samesite: str, secure: bool
) -> None:
    built = policy(configured, debug=debug, samesite=samesite)
    assert built.secure is secure
    assert built.attributes() == {
        "path": "/",
        "httponly": True,
        "samesite": samesite,
        "secure": secure,
    }


def test_the_secrets_are_not_in_the_policys_repr() -> None:
    shown = repr(policy())
    assert CURRENT not in shown
    assert PREVIOUS not in shown
    assert "__Host-SID" in shown


def test_a_signed_token_verifies_under_its_name_only() -> None:
    production, development = policy(), policy(debug=True)
    value = production.signed("token-1")
    assert production.verified(value) == "token-1"
    assert development.verified(value) is None, "signed for __Host-SID, not for SID"
    assert production.verified(development.signed("token-1")) is None
    assert production.verified(value[:-1] + ("0" if value[-1] != "0" else "1")) is None


def test_a_value_signed_with_a_previous_secret_verifies_while_it_is_listed() -> None:
    older = policy(key_version=3).signed("token-1")
    assert policy().verified(older) == "token-1"
    forgotten = CookiePolicy.build(
        "SID",
        debug=False,
        samesite="Lax",
        max_age_seconds=7 * DAY,
        secrets={7: CURRENT},
        key_version=7,
    )
    assert forgotten.verified(older) is None


def test_a_signature_older_than_the_lifetime_and_a_day_is_refused() -> None:
    def signed_ago(seconds: float) -> str:
        value = create_signed_value(
            SECRETS, "__Host-SID", "token-1", clock=lambda: time.time() - seconds, key_version=7
        )
        return value.decode()

    assert policy().verified(signed_ago(8 * DAY - 60)) == "token-1"
    assert policy().verified(signed_ago(8 * DAY + 60)) is None


@pytest.mark.parametrize(
    ("lines", "values"),
    [
        (["SID=a"], ["a"]),
        (["SID=a; SID=b"], ["a", "b"]),
        (["x=1;SID=a ;  SID = b; y=2"], ["a", "b"]),
        (["\tSID\t=\ta\t; \t SID=b \t"], ["a", "b"]),
        (["SID=a", "other=1; SID=b"], ["a", "b"]),
        (['SID="2|1:0|3:a=="'], ["2|1:0|3:a=="]),
        (['SID="'], ['"']),
        (["SID=a=b=c"], ["a=b=c"]),
        (["SID="], [""]),
        (["sid=a; SID2=b; XSID=c; __Host-SID=d"], []),
        (["SID; a=SID; =SID"], []),
        ([""], []),
        ([], []),
    ],
)
def test_every_value_of_the_name_is_read_as_browsers_send_cookies(
    lines: list[str], values: list[str]
) -> None:
    assert cookie_values(lines, "SID") == values


def test_only_spaces_and_tabs_are_trimmed_around_a_name_or_a_value() -> None:
    assert len(NOT_WSP) == 27, "NBSP, NEL, the line and paragraph separators, LF, VT, ..."
    for blank in NOT_WSP:
        for line in (f"{blank}SID=a", f"SID{blank}=a", f"x=1;{blank}SID=a", f"x=1; SID {blank}=a"):
            assert cookie_values([line], "SID") == [], repr(line)
        assert cookie_values([f"SID={blank}a{blank}"], "SID") == [f"{blank}a{blank}"]


@pytest.mark.parametrize("blank", NOT_WSP, ids=lambda blank: f"U+{ord(blank):04X}")
def test_a_cookie_named_with_another_blank_is_never_the_session(blank: str) -> None:
    cookies, valid, other = policy(), policy().signed("token-1"), policy().signed("token-2")
    assert cookies.session_token([f"{blank}__Host-SID={valid}"]) is None
    assert cookies.session_token([f"__Host-SID{blank}={valid}"]) is None
    assert cookies.session_token([f"a=1;{blank}__Host-SID={valid}"]) is None
    assert cookies.session_token([f"__Host-SID={valid}; {blank}__Host-SID={other}"]) == "token-1"
    assert cookies.session_token([f"__Host-SID={valid}{blank}"]) is None
    assert cookies.verified_tokens([f"{blank}__Host-SID={valid}"]) == frozenset()
    assert not cookies.carried([f"{blank}__Host-SID={valid}"])


@pytest.mark.parametrize("junk", ["junk", "", '"x"', "2|1:0|10:1700000000|3:SID|8:dG9r|00"])
def test_a_value_that_does_not_verify_is_ignored_before_or_after_the_valid_one(junk: str) -> None:
    cookies = policy()
    valid = cookies.signed("token-1")
    for line in (
        f"__Host-SID={valid}; __Host-SID={junk}",
        f"__Host-SID={junk}; __Host-SID={valid}",
    ):
        assert cookies.session_token([line]) == "token-1"
    assert cookies.session_token([f"__Host-SID={junk}", f'__Host-SID="{valid}"']) == "token-1"
    assert cookies.session_token([f"__Host-SID={junk}"]) is None


def test_the_same_session_twice_is_that_session_and_two_sessions_are_none() -> None:
    cookies = policy()
    first, again, other = (
        cookies.signed("token-1"),
        policy(key_version=3).signed("token-1"),
        cookies.signed("token-2"),
    )
    assert cookies.session_token([f"__Host-SID={first}; __Host-SID={again}"]) == "token-1"
    assert cookies.session_token([f"__Host-SID={first}; __Host-SID={other}"]) is None
    assert cookies.session_token([f"__Host-SID={other}", f"__Host-SID={first}"]) is None


def test_every_distinct_verified_token_is_found_and_nothing_else() -> None:
    cookies = policy()
    first, again, other = (
        cookies.signed("token-1"),
        policy(key_version=3).signed("token-1"),
        cookies.signed("token-2"),
    )
    lines = [f"__Host-SID={first}; __Host-SID=junk; SID={other}", f"__Host-SID={again}"]
    assert cookies.verified_tokens(lines) == {"token-1"}
    lines.append(f"x=1; __Host-SID={other}")
    assert cookies.verified_tokens(lines) == {"token-1", "token-2"}
    assert cookies.verified_tokens(["__Host-SID=junk"]) == frozenset()


@pytest.mark.parametrize(
    ("samesite", "crosses"), [("Lax", False), ("Strict", False), ("None", True)]
)
def test_only_a_samesite_none_cookie_crosses_sites(samesite: str, crosses: bool) -> None:
    assert policy(samesite=samesite).crosses_sites is crosses


def test_a_cookie_of_the_name_is_carried_whether_or_not_it_verifies() -> None:
    cookies = policy()
    assert cookies.carried(["a=1; __Host-SID=junk"])
    assert not cookies.carried(["a=1; SID=x", "__host-SID=y"])
    assert not cookies.carried([])


def test_samesite_is_configured_case_insensitively_and_spelled_as_browsers_expect() -> None:
    assert Settings.from_env({}).session_cookie_samesite == "Lax"
    for given, expected in (("strict", "Strict"), ("NONE", "None"), (" lax ", "Lax")):
        settings = Settings.from_env({"SESSION_COOKIE_SAMESITE": given})
        assert settings.session_cookie_samesite == expected
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SAMESITE: must be one of Lax, Strict"):
        Settings.from_env({"SESSION_COOKIE_SAMESITE": "sometimes"})
