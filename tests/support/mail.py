"""A real SMTP server for tests (aiosmtpd) that keeps what it receives, and readers of mail."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from factsvc.embedded import LOOPBACK, free_port

# A mailed link: {PUBLIC_BASE_URL}/<path>#token=<token> (services/mail_links.py).
LINK = re.compile(r"https?://[^\s\"<>]+#token=([A-Za-z0-9_\-%.~]+)")


@dataclass(frozen=True)
class SunkMail:
    """One message as the server received it: the envelope and the bytes, parsed."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes = field(repr=False)

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        """The text/plain part, decoded."""
        return self._part("plain")

    @property
    def html(self) -> str:
        """The text/html part, decoded."""
        return self._part("html")

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        content = part.get_content()
        assert isinstance(content, str)
        return content


def link_in(mail: SunkMail) -> str:
    """The one mailed link of `mail`'s text part; AssertionError if there is not exactly one."""
    links = {match.group(0) for match in LINK.finditer(mail.text)}
    assert len(links) == 1, f"expected one link, found {sorted(links)}"
    return links.pop()


def token_in(mail: SunkMail, path: str | None = None) -> str:
    """The token of `mail`'s link (its `#token=` fragment); with `path` ("/email/verify",
    "/password/reset"), the link must lead there."""
    link = link_in(mail)
    if path is not None:
        assert link.split("#", 1)[0].endswith(path), link
    match = LINK.fullmatch(link)
    assert match is not None
    return match.group(1)


class _Collector:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self._sink.rcpt_times.append(time.monotonic())
        if self._sink.rcpt_replies:
            return self._sink.rcpt_replies.pop(0)
        if self._sink.rcpt_reply is not None:
            return self._sink.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self._sink.data_reply is not None:
            return self._sink.data_reply
        raw = envelope.original_content or b""
        mail = SunkMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), raw)
        self._sink.received(mail)
        return "250 OK"


class MailSink:
    """An aiosmtpd server on a free loopback port (in its own thread) keeping every message.

    `url` is its SMTP_URL. `next_to(address)` awaits the next message not yet taken whose
    envelope names `address`; `wait_for_next_to` is the same for synchronous tests. Setting
    `rcpt_reply` or `data_reply` (e.g. "451 4.3.0 try later", "550 5.1.1 no such user") makes
    it answer RCPT TO or DATA so instead of accepting; `rcpt_replies` are answered to the next
    RCPT TOs, one each, before that. `rcpt_times` holds when each RCPT TO came (monotonic).
    `smtp_options` go to aiosmtpd's Controller (ssl_context, tls_context, require_starttls,
    authenticator, enable_SMTPUTF8 (True unless given)...).
    """

    rcpt_reply: str | None = None
    data_reply: str | None = None

    def __init__(self, **smtp_options: Any) -> None:
        self.port = free_port()
        self.url = f"smtp://{LOOPBACK}:{self.port}"
        self.rcpt_replies: list[str] = []
        self.rcpt_times: list[float] = []
        self._lock = threading.Lock()
        self._mails: list[SunkMail] = []
        self._taken: set[int] = set()
        self._arrived = threading.Condition(self._lock)
        self._controller = Controller(
            _Collector(self),
            hostname=LOOPBACK,
            port=self.port,
            **{"enable_SMTPUTF8": True, **smtp_options},
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
        # aiosmtpd made this loop for its thread, and leaves it open.
        self._controller.loop.close()

    def received(self, mail: SunkMail) -> None:
        with self._arrived:
            self._mails.append(mail)
            self._arrived.notify_all()

    @property
    def mails(self) -> list[SunkMail]:
        """Every message received so far, oldest first."""
        with self._lock:
            return list(self._mails)

    def mails_to(self, address: str) -> list[SunkMail]:
        """Every message received so far for `address` (case-insensitive), oldest first."""
        return [mail for mail in self.mails if _names(mail, address)]

    def _take(self, address: str) -> SunkMail | None:
        for index, mail in enumerate(self._mails):
            if index not in self._taken and _names(mail, address):
                self._taken.add(index)
                return mail
        return None

    def wait_for_next_to(self, address: str, timeout: float = 10.0) -> SunkMail:
        """The next message for `address` not taken yet, waiting up to `timeout` seconds
        (AssertionError when none comes)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while (mail := self._take(address)) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail for {address} within {timeout:g} s")
                self._arrived.wait(left)
        return mail

    async def next_to(self, address: str, within: float = 10.0) -> SunkMail:
        """As wait_for_next_to, without blocking the running loop: waits up to `within`
        seconds."""
        deadline = time.monotonic() + within
        while True:
            with self._lock:
                mail = self._take(address)
            if mail is not None:
                return mail
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail for {address} within {within:g} s")
            await asyncio.sleep(0.02)

    async def assert_none_to(self, address: str, seconds: float = 0.5) -> None:
        """Wait `seconds`, then fail if any message for `address` was not taken."""
        await asyncio.sleep(seconds)
        with self._lock:
            waiting = [
                mail
                for index, mail in enumerate(self._mails)
                if index not in self._taken and _names(mail, address)
            ]
        assert not waiting, f"{len(waiting)} unexpected mail(s) for {address}"


def _names(mail: SunkMail, address: str) -> bool:
    return address.casefold() in (to.casefold() for to in mail.rcpt_tos)
