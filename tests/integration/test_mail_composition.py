"""Mail as the composition root builds it: the Outbox over SMTP_URL's server, or disabled;
links under PUBLIC_BASE_URL; mail posted before shutdown still leaves (the drain)."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

import pytest

from factsvc.app import open_services
from factsvc.config import Settings
from factsvc.embedded import free_port
from factsvc.mail_composition import open_mail
from factsvc.services.mail_messages import verification_mail
from tests.support.mail import MailSink, token_in

pytestmark = pytest.mark.gen_test(timeout=30)


async def test_services_send_through_smtp_url_and_drain_at_shutdown(
    settings: Settings, mail_sink: MailSink
) -> None:
    configured = settings.replaced(
        smtp_url=mail_sink.url, public_base_url="https://facts.example", mail_from="f@x.example"
    )
    async with AsyncExitStack() as stack:
        services = await stack.enter_async_context(open_services(configured))
        assert services.outbox is not None
        assert services.mail_links is not None
        link = services.mail_links.verify_email("tok-1")
        assert link == "https://facts.example/email/verify#token=tok-1"
        services.outbox.post(
            verification_mail("bob@example.org", username="bob", link=link, expires_seconds=60),
            purpose="verify-email",
        )
        # Leaving the block closes the services at once: the drain lets the mail out first.
    assert len(mail_sink.mails_to("bob@example.org")) == 1, "delivered before the exit returned"
    mail = await mail_sink.next_to("bob@example.org", within=5)
    assert token_in(mail, "/email/verify") == "tok-1"
    assert mail.mail_from == "f@x.example"


async def test_without_smtp_url_mail_is_dropped_with_one_line_and_no_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mail = open_mail(Settings(smtp_url="", mail_send_attempts=3))
    message = verification_mail(
        "carol@example.org",
        username="carol",
        link=mail.links.verify_email("secret-tok"),
        expires_seconds=60,
    )
    with caplog.at_level(logging.INFO):
        mail.outbox.post(message, purpose="verify-email")
        await mail.background.drain(2)
    lines = [r.getMessage() for r in caplog.records if r.name == "factsvc.services.mail"]
    assert len(lines) == 1
    assert "mail is disabled (SMTP_URL is empty)" in lines[0]
    assert "given up" in lines[0]
    assert "secret-tok" not in caplog.text
    assert "carol" not in caplog.text


async def test_smtp_down_logs_each_try_without_the_token_and_gives_up(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    down = settings.replaced(
        smtp_url=f"smtp://127.0.0.1:{free_port()}", mail_send_attempts=3, mail_retry_seconds=0.02
    )
    mail = open_mail(down)
    message = verification_mail(
        "dave@example.org",
        username="dave",
        link=mail.links.verify_email("secret-tok-2"),
        expires_seconds=60,
    )
    with caplog.at_level(logging.INFO):
        mail.outbox.post(message, purpose="verify-email")
        await mail.background.drain(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "factsvc.services.mail"]
    assert len(lines) == 3
    assert all("MailTemporaryFailure (SMTPConnectError): no connection" in line for line in lines)
    assert "given up" in lines[-1]
    assert "secret-tok-2" not in caplog.text
    assert "dave" not in caplog.text


async def test_a_temporary_refusal_is_retried_after_doubling_waits_until_the_mail_is_taken(
    settings: Settings, mail_sink: MailSink, caplog: pytest.LogCaptureFixture
) -> None:
    mail_sink.rcpt_replies = ["451 4.3.0 try again later", "421 4.3.2 busy"]
    mail = open_mail(
        settings.replaced(smtp_url=mail_sink.url, mail_send_attempts=4, mail_retry_seconds=0.1)
    )
    message = verification_mail(
        "erin@example.org",
        username="erin",
        link="http://x/email/verify#token=t3",
        expires_seconds=60,
    )
    with caplog.at_level(logging.INFO):
        mail.outbox.post(message, purpose="verify-email")
        await mail.background.drain(10)
    assert token_in(await mail_sink.next_to("erin@example.org", within=5)) == "t3"
    first, second, third = mail_sink.rcpt_times
    # At least the waits (0.1 s, then 0.2 s: doubling), plus a new connection each time; above,
    # room for a loaded machine, yet under the waits of MAIL_RETRY_SECONDS' default (2 s, 4 s)
    # that a backoff ignoring the setting would take.
    assert 0.1 <= second - first < 1.5
    assert 0.2 <= third - second < 1.6
    lines = [r.getMessage() for r in caplog.records if r.name == "factsvc.services.mail"]
    assert "recipient refused 451, attempt 1 of 4" in lines[0]
    assert "attempt 2 of 4" in lines[1]
    assert "sent to @example.org (attempt 3)" in lines[2]


async def test_a_permanent_refusal_is_given_up_at_once(
    settings: Settings, mail_sink: MailSink, caplog: pytest.LogCaptureFixture
) -> None:
    mail_sink.rcpt_reply = "550 5.1.1 no such user"
    mail = open_mail(
        settings.replaced(smtp_url=mail_sink.url, mail_send_attempts=4, mail_retry_seconds=0.05)
    )
    message = verification_mail(
        "frank@example.org",
        username="frank",
        link="http://x/v#token=tok-frank-4",
        expires_seconds=60,
    )
    with caplog.at_level(logging.INFO):
        mail.outbox.post(message, purpose="verify-email")
        await mail.background.drain(5)
    assert len(mail_sink.rcpt_times) == 1
    assert "recipient refused 550, attempt 1 of 4" in caplog.text
    assert "given up" in caplog.text
    assert "tok-frank-4" not in caplog.text
