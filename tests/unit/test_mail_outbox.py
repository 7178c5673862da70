"""The Outbox: sends after the answer, retries temporary failures with doubling waits, gives up
on permanent ones, and logs failures without the message."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from factsvc.services.background import Background
from factsvc.services.mail import (
    MailMessage,
    MailPermanentFailure,
    MailTemporaryFailure,
    Outbox,
)

pytestmark = pytest.mark.gen_test(timeout=10)

TOKEN = "tok-" + "x" * 40
MESSAGE = MailMessage(
    to="alice@example.org",
    subject="Reset your password",
    text=f"http://127.0.0.1/password/reset#token={TOKEN}",
    html=f'<a href="http://127.0.0.1/password/reset#token={TOKEN}">x</a>',
)


class ScriptedTransport:
    """Fails as scripted (one failure, or None for success, per call), noting each call's
    time."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[float] = []
        self.sent: list[MailMessage] = []

    async def send(self, message: MailMessage) -> None:
        self.calls.append(time.monotonic())
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.sent.append(message)


def temporary() -> MailTemporaryFailure:
    try:
        raise ConnectionRefusedError(f"refused {TOKEN}")
    except ConnectionRefusedError as cause:
        failure = MailTemporaryFailure("connection refused")
        failure.__cause__ = cause
        return failure


async def test_post_returns_at_once_and_the_mail_is_sent_after() -> None:
    transport = ScriptedTransport()
    background = Background()
    Outbox(transport, background, attempts=3).post(MESSAGE, purpose="reset-password")
    assert transport.sent == []
    await background.drain(1)
    assert transport.sent == [MESSAGE]


async def test_temporary_failures_are_retried_after_doubling_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = ScriptedTransport(temporary(), temporary(), None)
    background = Background()
    outbox = Outbox(transport, background, attempts=5, first_backoff_seconds=0.05)
    with caplog.at_level(logging.INFO, "factsvc.services.mail"):
        outbox.post(MESSAGE, purpose="reset-password")
        await background.drain(5)
    assert transport.sent == [MESSAGE]
    first_wait = transport.calls[1] - transport.calls[0]
    second_wait = transport.calls[2] - transport.calls[1]
    # At least the backoff, doubling; the upper bounds leave room for a loaded machine.
    assert 0.05 <= first_wait < 0.25
    assert 0.10 <= second_wait < 0.30
    assert "sent to @example.org (attempt 3)" in caplog.text


async def test_waits_never_exceed_the_maximum() -> None:
    outbox = Outbox(
        ScriptedTransport(),
        Background(),
        attempts=10,
        first_backoff_seconds=1.0,
        max_backoff_seconds=5.0,
    )
    assert [outbox.backoff_seconds(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


async def test_a_permanent_failure_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    transport = ScriptedTransport(MailPermanentFailure("SMTP reply 550"))
    outbox = Outbox(transport, Background(), attempts=5, first_backoff_seconds=0.01)
    assert not await outbox.deliver(MESSAGE, "verify-email")
    assert len(transport.calls) == 1
    assert "MailPermanentFailure: SMTP reply 550, attempt 1 of 5" in caplog.text
    assert "given up" in caplog.text


async def test_sending_gives_up_after_the_attempts_and_logs_no_token_nor_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = ScriptedTransport(*(temporary() for _ in range(3)))
    outbox = Outbox(transport, Background(), attempts=3, first_backoff_seconds=0.01)
    with caplog.at_level(logging.DEBUG):
        assert not await outbox.deliver(MESSAGE, "reset-password")
    assert len(transport.calls) == 3
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3
    assert all("reset-password to @example.org failed" in line for line in lines)
    assert "MailTemporaryFailure (ConnectionRefusedError): connection refused" in lines[0]
    assert "attempt 3 of 3" in lines[2]
    assert "given up" in lines[2]
    assert not any(TOKEN in line or "alice" in line for line in lines)
    assert not any(TOKEN in record.exc_text for record in caplog.records if record.exc_text)


async def test_an_unexpected_error_is_logged_by_the_background_without_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = ScriptedTransport(ValueError(TOKEN))
    background = Background()
    Outbox(transport, background, attempts=3).post(MESSAGE, purpose="verify-email")
    await background.drain(1)
    assert "mail verify-email (ValueError" in caplog.text
    assert TOKEN not in caplog.text


async def test_post_never_raises_even_while_stopping(caplog: pytest.LogCaptureFixture) -> None:
    transport = ScriptedTransport()
    background = Background()
    await background.drain(0)
    with caplog.at_level(logging.WARNING):
        Outbox(transport, background, attempts=1).post(MESSAGE, purpose="verify-email")
        await asyncio.sleep(0.05)
    assert transport.calls == []
    assert background.running == 0
    assert "background job dropped: mail verify-email (the service is stopping)" in caplog.text
    assert TOKEN not in caplog.text
    assert MESSAGE.to not in caplog.text


def test_at_least_one_attempt_is_required() -> None:
    with pytest.raises(ValueError, match="attempts"):
        Outbox(ScriptedTransport(), Background(), attempts=0)
