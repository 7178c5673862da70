"""Mail leaving the service: the message, the transport port, and the Outbox that retries."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from factsvc.services.background import Background

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailMessage:
    """One message to one recipient: `to` an address (as email-validator normalises it),
    `subject` one line of fixed text, `text` the plain-text part, `html` the HTML part."""

    to: str
    subject: str
    text: str
    html: str


class MailFailure(Exception):
    """Sending failed. `reason` is the transport's own fixed wording ("connection refused",
    "SMTP reply 451"), never a server's text nor anything of the message, so that it may be
    logged; the driver's error is kept as `__cause__`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MailTemporaryFailure(MailFailure):
    """Sending failed and may work later: no connection, a timeout, an SMTP 4xx reply."""


class MailPermanentFailure(MailFailure):
    """Sending failed and will fail again: an SMTP 5xx reply, a refused recipient, bad
    credentials, a server without the TLS that SMTP_URL requires."""


class MailTransport(Protocol):
    """Hands a message to the mail system (storage/smtp_transport.py)."""

    async def send(self, message: MailMessage) -> None:
        """Returns once the message was accepted; raises MailTemporaryFailure or
        MailPermanentFailure."""
        ...


class DisabledTransport:
    """No mail system configured: every message fails permanently, so that the Outbox logs
    it once as given up."""

    async def send(self, message: MailMessage) -> None:
        raise MailPermanentFailure("mail is disabled (SMTP_URL is empty)")


def domain_of(address: str) -> str:
    """The part after the last "@", all a log line may say of a recipient."""
    return address.rpartition("@")[2]


class Outbox:
    """Sends mail after the answer: post() returns at once, and a Background task tries up to
    `attempts` times, waiting `first_backoff_seconds`, then twice as long each time (at most
    `max_backoff_seconds`) after each temporary failure; a permanent failure ends it at once.
    Each failure is logged with the purpose, the recipient's domain, the error's class and the
    attempt, never with the message (it holds the token and the link)."""

    def __init__(
        self,
        transport: MailTransport,
        background: Background,
        *,
        attempts: int,
        first_backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._transport = transport
        self._background = background
        self._attempts = attempts
        self._first_backoff = first_backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._sleep = sleep

    def post(self, message: MailMessage, *, purpose: str) -> None:
        """Queue `message` for sending and return at once; never raises. `purpose` (a fixed
        label such as "verify-email") names it in log lines."""
        try:
            self._background.spawn(
                lambda: self._deliver_quietly(message, purpose), what=f"mail {purpose}"
            )
        except Exception:
            log.exception("mail %s not queued", purpose)

    def backoff_seconds(self, failed_attempt: int) -> float:
        """The wait after the `failed_attempt`-th (1-based) temporary failure."""
        return min(self._first_backoff * 2.0 ** (failed_attempt - 1), self._max_backoff)

    async def _deliver_quietly(self, message: MailMessage, purpose: str) -> None:
        await self.deliver(message, purpose)

    async def deliver(self, message: MailMessage, purpose: str) -> bool:
        """Send now, retrying as the class says; True once sent, False once given up."""
        domain = domain_of(message.to)
        for attempt in range(1, self._attempts + 1):
            started = time.monotonic()
            try:
                await self._transport.send(message)
            except MailTemporaryFailure as error:
                last = attempt == self._attempts
                _log_failure(purpose, domain, error, attempt, self._attempts, started, last)
                if last:
                    return False
                await self._sleep(self.backoff_seconds(attempt))
            except MailPermanentFailure as error:
                _log_failure(purpose, domain, error, attempt, self._attempts, started, True)
                return False
            else:
                log.info("mail %s sent to @%s (attempt %d)", purpose, domain, attempt)
                return True
        return False


def _log_failure(
    purpose: str,
    domain: str,
    error: MailFailure,
    attempt: int,
    attempts: int,
    started: float,
    given_up: bool,
) -> None:
    # The cause's text is left out: a server's reply may quote what it was sent.
    cause = error.__cause__
    kind = type(error).__name__ + (f" ({type(cause).__name__})" if cause is not None else "")
    log.warning(
        "mail %s to @%s failed: %s: %s, attempt %d of %d after %.2f s%s",
        purpose,
        domain,
        kind,
        error.reason,
        attempt,
        attempts,
        time.monotonic() - started,
        "; given up" if given_up else "; will retry",
    )
