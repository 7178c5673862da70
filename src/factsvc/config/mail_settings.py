"""The settings of mail: the SMTP server, the sender, links' base URL and retries."""

from __future__ import annotations

from typing import Annotated

from factsvc.config.declaring import Area, setting
from factsvc.config.loading import DeclaredSettings
from factsvc.config.mail_addresses import BaseUrl, Mailbox, SmtpUrl
from factsvc.config.rules import Number, WholeNumber

A = Area


class MailSettings(DeclaredSettings):
    """The area "mail" of Settings."""

    smtp_url: Annotated[str, SmtpUrl()] = setting("SMTP_URL", "", A.MAIL, secret=True)
    """the SMTP server: smtp:// (STARTTLS if offered), smtp+starttls:// or smtps://; empty: none"""
    smtp_timeout_seconds: Annotated[float, Number(0.1, 300.0)] = setting(
        "SMTP_TIMEOUT_SECONDS", 10.0, A.MAIL
    )
    """how long connecting, and each SMTP command of a send, may take"""
    mail_from: Annotated[str, Mailbox()] = setting("MAIL_FROM", "factsvc@localhost", A.MAIL)
    """the sender of every mail (From and envelope sender); a name may come first: Facts <a@b>"""
    public_base_url: Annotated[str, BaseUrl()] = setting("PUBLIC_BASE_URL", "", A.MAIL)
    """the service's URL in mailed links, required outside DEBUG with SMTP_URL; empty: http://127.0.0.1:TORNADO_SERVER_PORT"""
    mail_send_attempts: Annotated[int, WholeNumber(1, 20)] = setting(
        "MAIL_SEND_ATTEMPTS", 5, A.MAIL
    )
    """tries of each mail, retrying temporary failures (no connection, SMTP 4xx)"""
    mail_retry_seconds: Annotated[float, Number(0.01, 600.0)] = setting(
        "MAIL_RETRY_SECONDS", 2.0, A.MAIL
    )
    """the wait before a mail's second try; each later wait doubles (at most 10 minutes)"""
