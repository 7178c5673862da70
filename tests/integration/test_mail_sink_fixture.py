"""The tests' SMTP server (the mail_sink fixture): it keeps what it receives, hands each
message out once, and finds the mailed token."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from tests.support.mail import MailSink, token_in


def send(sink: MailSink, to: str, link: str) -> None:
    message = EmailMessage()
    message["From"] = "factsvc@localhost"
    message["To"] = to
    message["Subject"] = "Reset your password"
    message.set_content(f"Open:\n\n{link}\n")
    message.add_alternative(f'<a href="{link}">open</a>', subtype="html")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
        client.send_message(message)


def test_the_next_message_to_an_address_is_handed_out_once(mail_sink: MailSink) -> None:
    send(mail_sink, "alice@example.org", "http://127.0.0.1:1/password/reset#token=abc-_1")
    send(mail_sink, "bob@example.org", "http://127.0.0.1:1/email/verify#token=zz")
    mail = mail_sink.wait_for_next_to("ALICE@example.org", timeout=5)
    assert mail.subject == "Reset your password"
    assert token_in(mail, "/password/reset") == "abc-_1"
    assert token_in(mail_sink.wait_for_next_to("bob@example.org", 5), "/email/verify") == "zz"
    with pytest.raises(AssertionError, match="no mail for alice"):
        mail_sink.wait_for_next_to("alice@example.org", timeout=0.2)
    assert len(mail_sink.mails_to("alice@example.org")) == 1


@pytest.mark.gen_test(timeout=10)
async def test_a_test_on_the_loop_awaits_the_next_message(mail_sink: MailSink) -> None:
    send(mail_sink, "carol@example.org", "https://f.example/email/verify#token=t")
    mail = await mail_sink.next_to("carol@example.org", within=5)
    assert token_in(mail) == "t"
    await mail_sink.assert_none_to("carol@example.org", 0.05)
