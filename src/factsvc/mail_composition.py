"""Mail's part of the composition root: the Background, the Outbox (SMTP or disabled), links."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from factsvc.config import Settings
from factsvc.services.background import Background
from factsvc.services.mail import DisabledTransport, MailTransport, Outbox
from factsvc.services.mail_links import MailLinks
from factsvc.storage.smtp_transport import SmtpTransport

log = logging.getLogger(__name__)

# The longest wait between two tries of a mail, whatever MAIL_RETRY_SECONDS doubles to.
MAX_RETRY_SECONDS = 600.0
MAIL_DISABLED = (
    "SMTP_URL is empty: no mail is sent (address verification and password reset mails are "
    "dropped, answers are unchanged); set SMTP_URL, or run `factsvc serve --embedded`"
)


@dataclass(frozen=True)
class Mail:
    """What the services that send mail are given."""

    background: Background
    outbox: Outbox
    links: MailLinks


def open_mail(settings: Settings) -> Mail:
    """The Outbox over SMTP_URL's server (or, when it is empty, one that drops every message),
    retrying MAIL_SEND_ATTEMPTS times from MAIL_RETRY_SECONDS; links under PUBLIC_BASE_URL.
    The caller drains `background` at shutdown, before closing the clients its jobs use."""
    background = Background()
    transport: MailTransport = DisabledTransport()
    if settings.smtp_url:
        transport = SmtpTransport.from_url(
            settings.smtp_url,
            sender=settings.mail_from,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    outbox = Outbox(
        transport,
        background,
        attempts=settings.mail_send_attempts,
        first_backoff_seconds=settings.mail_retry_seconds,
        max_backoff_seconds=MAX_RETRY_SECONDS,
    )
    return Mail(background, outbox, MailLinks(settings.public_base_url))


def warn_if_mail_disabled(settings: Settings) -> None:
    """At start, once: say that no mail leaves when SMTP_URL is empty."""
    if not settings.smtp_url:
        log.warning("%s", MAIL_DISABLED)
