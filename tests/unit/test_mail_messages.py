"""The mails' words: the link whole, the expiry in words, what to do if not asked, and every
inserted value escaped in the HTML part."""

from __future__ import annotations

import html
import re

import pytest

from factsvc.services.mail_links import MailLinks
from factsvc.services.mail_messages import (
    address_changed_mail,
    duration_in_words,
    reset_mail,
    verification_mail,
)

LINKS = MailLinks("https://facts.example/")
HOSTILE = '<script>alert("x")</script>&amp;\'"'


@pytest.mark.parametrize("make", [verification_mail, reset_mail])
def test_both_parts_carry_the_link_the_expiry_and_what_to_do_if_not_asked(make: object) -> None:
    link = LINKS.reset_password("abc_DEF-123")
    message = make(  # type: ignore[operator]
        "alice@example.org", username="alice", link=link, expires_seconds=1800
    )
    assert message.to == "alice@example.org"
    assert f"\n{link}\n" in message.text
    assert f'href="{html.escape(link)}"' in message.html
    for part in (message.text, message.html):
        assert "30 minutes" in part
        assert "If you did not" in part
        assert "alice" in part


@pytest.mark.parametrize("make", [verification_mail, reset_mail])
def test_hostile_usernames_and_addresses_are_escaped_in_html(make: object) -> None:
    to = f'"{HOSTILE}"@example.org'
    message = make(  # type: ignore[operator]
        to, username=HOSTILE, link='https://x.example/p#token=a"><b>', expires_seconds=60
    )
    assert "<script>" not in message.html
    assert '"><b>' not in message.html
    assert html.escape(HOSTILE) in message.html
    assert "<script>" not in message.subject
    # Only the markup of the template itself: no tag comes from a value.
    assert set(re.findall(r"<(/?[a-zA-Z!]+)", message.html)) <= {
        "!DOCTYPE", "html", "/html", "head", "/head", "meta", "title", "/title",
        "body", "/body", "p", "/p", "a", "/a", "br",
    }  # fmt: skip


def test_the_subjects_are_fixed_text() -> None:
    verify = verification_mail("a@b.example", username="x\r\nBcc: y", link="l", expires_seconds=60)
    reset = reset_mail("a@b.example", username="x\r\nBcc: y", link="l", expires_seconds=60)
    assert verify.subject == "Confirm your email address"
    assert reset.subject == "Reset your password"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1800, "30 minutes"),
        (86400, "24 hours"),
        (3600, "1 hour"),
        (60, "1 minute"),
        (90, "90 seconds"),
        (1, "1 second"),
    ],
)
def test_durations_are_said_in_the_largest_whole_unit(seconds: int, words: str) -> None:
    assert duration_in_words(seconds) == words


def test_links_carry_the_token_in_the_fragment_under_the_public_base_url() -> None:
    assert LINKS.verify_email("t0k-_") == "https://facts.example/email/verify#token=t0k-_"
    assert LINKS.reset_password("t0k") == "https://facts.example/password/reset#token=t0k"
    assert MailLinks("http://h:8/app").verify_email("a/b#c") == (
        "http://h:8/app/email/verify#token=a%2Fb%23c"
    )


def test_the_address_change_notice_names_the_new_domain_only_and_what_to_do() -> None:
    message = address_changed_mail(
        "alice@example.com", username="alice", new_email="mallory.secret@evil.example"
    )
    assert message.to == "alice@example.com"
    for part in (message.text, message.html):
        assert "alice" in part
        assert "evil.example" in part
        assert "mallory.secret" not in part
        assert "If you did not make this change" in part
        assert "change your password" in part
        assert "http" not in part.replace("<!DOCTYPE html>", "")
        assert "token" not in part


def test_the_removal_notice_says_the_account_has_no_address_left() -> None:
    message = address_changed_mail("alice@example.com", username="alice", new_email=None)
    assert "was removed" in message.text
    assert "was removed" in message.html


def test_hostile_values_are_escaped_in_the_notice() -> None:
    to = f'"{HOSTILE}"@example.org'
    message = address_changed_mail(to, username=HOSTILE, new_email=f'x@"{HOSTILE}".example')
    assert "<script>" not in message.html
    assert html.escape(HOSTILE) in message.html
    assert HOSTILE in message.text
