"""SmtpTransport against a real SMTP server (aiosmtpd): plain, STARTTLS and implicit TLS with
a certificate made here, AUTH, and every kind of failure sorted as temporary or permanent."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from factsvc.embedded import LOOPBACK, free_port
from factsvc.services.mail import MailMessage, MailPermanentFailure, MailTemporaryFailure
from factsvc.services.mail_links import MailLinks
from factsvc.services.mail_messages import reset_mail
from factsvc.storage.smtp_transport import SmtpTransport
from tests.support.mail import MailSink, token_in

pytestmark = [
    pytest.mark.gen_test(timeout=20),
    # aiosmtpd 1.4.6 sets its own deprecated Session.login_data after each AUTH.
    pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning"),
]

TOKEN = "Zq8" + "x" * 40 + "a1b2"
LINK = MailLinks(f"http://{LOOPBACK}:8888").reset_password(TOKEN)
SENDER = "Facts <facts@example.org>"
USER, PASSWORD = "mailer", "p@ss:w/rd"
URL_CREDENTIALS = "mailer:p%40ss%3Aw%2Frd"


def message(to: str = "alice@example.org", username: str = "alice") -> MailMessage:
    return reset_mail(to, username=username, link=LINK, expires_seconds=1800)


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1: the server's context, and a client's that
    trusts it."""

    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", f"/CN={LOOPBACK}", "-addext", f"subjectAltName=IP:{LOOPBACK}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return Certificate(server, client)


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def started(**options: Any) -> Iterator[MailSink]:
    sink = MailSink(**options)
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def starttls_sink(certificate: Certificate) -> Iterator[MailSink]:
    """Requires STARTTLS, then AUTH."""
    yield from started(
        tls_context=certificate.server,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )


@pytest.fixture
def tls_sink(certificate: Certificate) -> Iterator[MailSink]:
    """TLS from the first byte, then AUTH (aiosmtpd 1.4 counts only STARTTLS as TLS for its
    auth_require_tls, and warns when it is off)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        yield from started(
            ssl_context=certificate.server,
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=False,
        )


def transport(url: str, tls: ssl.SSLContext | None = None, timeout: float = 2.0) -> SmtpTransport:
    return SmtpTransport.from_url(url, sender=SENDER, timeout_seconds=timeout, tls_context=tls)


async def test_a_message_reaches_a_plain_server_with_its_link_whole(mail_sink: MailSink) -> None:
    await transport(mail_sink.url).send(message())
    mail = await mail_sink.next_to("alice@example.org")
    assert mail.mail_from == "facts@example.org"
    assert mail.message["From"] == SENDER
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.subject == "Reset your password"
    assert token_in(mail, "/password/reset") == TOKEN
    assert LINK in mail.html
    # The raw bytes (what an .eml file holds) carry the link on one line, unencoded.
    assert f"\r\n{LINK}\r\n".encode() in mail.raw
    assert b"quoted-printable" not in mail.raw


async def test_non_ascii_names_and_addresses_travel_as_utf8(mail_sink: MailSink) -> None:
    await transport(mail_sink.url).send(message("zoë@exämple.org", "zoë"))
    mail = await mail_sink.next_to("zoë@exämple.org")
    assert "Hello zoë," in mail.text
    assert f"\r\n{LINK}\r\n".encode() in mail.raw


@pytest.fixture
def ascii_sink() -> Iterator[MailSink]:
    """A server without SMTPUTF8 (RFC 6531), as many relays are."""
    yield from started(enable_SMTPUTF8=False)


@pytest.mark.parametrize("utf8", [False, True], ids=["ascii_server", "utf8_server"])
async def test_an_internationalised_domain_travels_in_a_labels_when_the_local_part_is_ascii(
    mail_sink: MailSink, ascii_sink: MailSink, utf8: bool
) -> None:
    sink = mail_sink if utf8 else ascii_sink
    await transport(sink.url).send(message("alice@bücher.example"))
    mail = await sink.next_to("alice@xn--bcher-kva.example")
    assert mail.rcpt_tos == ("alice@xn--bcher-kva.example",)
    assert mail.message["To"] == "alice@xn--bcher-kva.example"
    assert b"SMTPUTF8" not in mail.raw
    assert token_in(mail) == TOKEN


async def test_a_non_ascii_local_part_to_a_server_without_smtputf8_is_a_permanent_failure(
    ascii_sink: MailSink,
) -> None:
    with pytest.raises(MailPermanentFailure, match="lacks a required extension"):
        await transport(ascii_sink.url).send(message("zoë@bücher.example"))
    assert ascii_sink.mails == []


async def test_starttls_with_credentials(starttls_sink: MailSink, certificate: Certificate) -> None:
    url = f"smtp+starttls://{URL_CREDENTIALS}@{LOOPBACK}:{starttls_sink.port}"
    await transport(url, certificate.client).send(message())
    assert token_in(await starttls_sink.next_to("alice@example.org")) == TOKEN


async def test_plain_smtp_upgrades_when_the_server_offers_starttls(
    starttls_sink: MailSink, certificate: Certificate
) -> None:
    url = f"smtp://{URL_CREDENTIALS}@{LOOPBACK}:{starttls_sink.port}"
    await transport(url, certificate.client).send(message())
    assert token_in(await starttls_sink.next_to("alice@example.org")) == TOKEN


async def test_implicit_tls_with_credentials(tls_sink: MailSink, certificate: Certificate) -> None:
    url = f"smtps://{URL_CREDENTIALS}@{LOOPBACK}:{tls_sink.port}"
    await transport(url, certificate.client).send(message())
    assert token_in(await tls_sink.next_to("alice@example.org")) == TOKEN


async def test_wrong_credentials_are_a_permanent_failure(
    starttls_sink: MailSink, certificate: Certificate
) -> None:
    url = f"smtp+starttls://mailer:wrong@{LOOPBACK}:{starttls_sink.port}"
    with pytest.raises(MailPermanentFailure, match="SMTP reply 535"):
        await transport(url, certificate.client).send(message())


async def test_an_untrusted_certificate_is_a_permanent_failure(tls_sink: MailSink) -> None:
    url = f"smtps://{URL_CREDENTIALS}@{LOOPBACK}:{tls_sink.port}"
    with pytest.raises(MailPermanentFailure, match="certificate is not trusted"):
        await transport(url).send(message())


async def test_required_starttls_that_the_server_lacks_is_a_permanent_failure(
    mail_sink: MailSink,
) -> None:
    url = f"smtp+starttls://{LOOPBACK}:{mail_sink.port}"
    with pytest.raises(MailPermanentFailure, match="the server offers no STARTTLS"):
        await transport(url).send(message())
    assert mail_sink.mails == []


async def test_credentials_for_a_server_without_auth_are_a_permanent_failure(
    mail_sink: MailSink,
) -> None:
    url = f"smtp://{URL_CREDENTIALS}@{LOOPBACK}:{mail_sink.port}"
    with pytest.raises(MailPermanentFailure, match="the server offers no AUTH"):
        await transport(url).send(message())


@pytest.mark.parametrize(
    ("where", "reply", "failure", "reason"),
    [
        ("rcpt_reply", "451 4.3.0 try again later", MailTemporaryFailure, "recipient refused 451"),
        ("rcpt_reply", "550 5.1.1 no such user", MailPermanentFailure, "recipient refused 550"),
        ("data_reply", "452 4.3.1 out of storage", MailTemporaryFailure, "SMTP reply 452"),
        ("data_reply", "554 5.7.1 rejected as spam", MailPermanentFailure, "SMTP reply 554"),
    ],
)
async def test_smtp_4xx_replies_are_temporary_and_5xx_permanent(
    mail_sink: MailSink,
    where: str,
    reply: str,
    failure: type[Exception],
    reason: str,
) -> None:
    setattr(mail_sink, where, reply)
    with pytest.raises(failure) as caught:
        await transport(mail_sink.url).send(message())
    assert str(caught.value) == reason
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("to", ["a@example.org\r\nBcc: b@example.org", "a@example.org, b@x.org"])
async def test_a_recipient_that_is_not_one_address_is_a_permanent_failure(
    mail_sink: MailSink, to: str
) -> None:
    with pytest.raises(MailPermanentFailure):
        await transport(mail_sink.url).send(message(to))
    assert mail_sink.mails == []


async def test_a_server_that_is_down_is_a_temporary_failure() -> None:
    with pytest.raises(MailTemporaryFailure, match="no connection"):
        await transport(f"smtp://{LOOPBACK}:{free_port()}").send(message())


async def test_a_server_that_never_answers_times_out_as_a_temporary_failure() -> None:
    with socket.socket() as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen()
        started_at = time.monotonic()
        with pytest.raises(MailTemporaryFailure, match="timed out"):
            await transport(f"smtp://{LOOPBACK}:{silent.getsockname()[1]}", timeout=0.3).send(
                message()
            )
        assert time.monotonic() - started_at < 2
