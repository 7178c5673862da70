"""The mail settings: SMTP_URL's forms, MAIL_FROM, PUBLIC_BASE_URL and its default, refused
with the variable named."""

from __future__ import annotations

import pytest

from factsvc.config import ConfigError, Settings
from factsvc.config.mail_addresses import SmtpEndpoint, SmtpSecurity, smtp_endpoint
from tests.support.servers import STRONG_SECRET


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("smtp://mail.example", SmtpEndpoint(SmtpSecurity.OPPORTUNISTIC, "mail.example", 25)),
        ("smtp+starttls://mail.example", SmtpEndpoint(SmtpSecurity.STARTTLS, "mail.example", 587)),
        ("smtps://mail.example", SmtpEndpoint(SmtpSecurity.TLS, "mail.example", 465)),
        ("SMTPS://[::1]:2465/", SmtpEndpoint(SmtpSecurity.TLS, "::1", 2465)),
        (
            "smtp+starttls://us%40er:p%3Aw%2F@h:2587",
            SmtpEndpoint(SmtpSecurity.STARTTLS, "h", 2587, "us@er", "p:w/"),
        ),
    ],
)
def test_smtp_urls_are_read_with_default_ports_and_decoded_credentials(
    url: str, endpoint: SmtpEndpoint
) -> None:
    assert smtp_endpoint(url) == endpoint
    assert Settings(smtp_url=url).smtp_url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example",
        "smtp://",
        "smtp://h/path",
        "smtp://h:99999",
        "smtp://h?x=1",
        "smtp:/h",
        "smtp://u:secret-password@h:notaport",
    ],
)
def test_malformed_smtp_urls_are_refused_naming_the_variable_not_the_credentials(
    url: str,
) -> None:
    with pytest.raises(ConfigError, match=r"^SMTP_URL: must be empty, or a URL") as caught:
        Settings.from_env({"SMTP_URL": url})
    assert "secret-password" not in str(caught.value)


def test_the_public_base_url_defaults_to_loopback_on_the_service_port() -> None:
    assert Settings().public_base_url == "http://127.0.0.1:8888"
    env = {"TORNADO_SERVER_PORT": "9000"}
    assert Settings.from_env(env).public_base_url == "http://127.0.0.1:9000"
    env["PUBLIC_BASE_URL"] = "https://facts.example/app/"
    assert Settings.from_env(env).public_base_url == "https://facts.example/app"


@pytest.mark.parametrize(
    "url", ["ftp://facts.example", "https://", "https://facts.example/?a=1", "https://f.example#x"]
)
def test_malformed_public_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^PUBLIC_BASE_URL: must be an http"):
        Settings.from_env({"PUBLIC_BASE_URL": url})


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("facts@example.com", "facts@example.com"),
        ("Facts <facts@example.com>", "Facts <facts@example.com>"),
        ('"Facts, Inc." <facts@example.com>', '"Facts, Inc." <facts@example.com>'),
    ],
)
def test_mail_from_takes_an_address_with_or_without_a_name(given: str, kept: str) -> None:
    assert Settings.from_env({"MAIL_FROM": given}).mail_from == kept


@pytest.mark.parametrize(
    "given", ["facts", "a@b.example, c@d.example", "a@b.example\r\nBcc: c@d.example", "<@>"]
)
def test_mail_from_refuses_anything_but_one_address(given: str) -> None:
    with pytest.raises(ConfigError, match=r"^MAIL_FROM: must be an address"):
        Settings.from_env({"MAIL_FROM": given})


def test_mail_send_attempts_are_bounded() -> None:
    with pytest.raises(ConfigError, match=r"^MAIL_SEND_ATTEMPTS: must be a whole number"):
        Settings.from_env({"MAIL_SEND_ATTEMPTS": "0"})


PRODUCTION = {"DEBUG": "false", "SESSION_COOKIE_SECRET": STRONG_SECRET}


def test_outside_debug_with_an_smtp_server_the_public_base_url_is_required() -> None:
    # Else the mails of a production service would carry links to its own loopback address.
    env = {**PRODUCTION, "SMTP_URL": "smtp+starttls://relay.example"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert str(caught.value) == (
        "PUBLIC_BASE_URL: required when DEBUG is false and SMTP_URL is set"
        " (the address mailed links open)"
    )
    env["PUBLIC_BASE_URL"] = "https://facts.example"
    assert Settings.from_env(env).public_base_url == "https://facts.example"


@pytest.mark.parametrize(
    "env",
    [
        {"SMTP_URL": "smtp://relay.example"},  # DEBUG: links to the developer's own machine
        PRODUCTION,  # no SMTP server: no mail leaves
    ],
)
def test_the_public_base_url_may_stay_loopback_in_debug_or_without_smtp(
    env: dict[str, str],
) -> None:
    assert Settings.from_env(env).public_base_url == "http://127.0.0.1:8888"
