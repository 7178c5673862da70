"""The MailTransport over SMTP (aiosmtplib): one connection a message, errors sorted by kind."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib

from factsvc.config.mail_addresses import SmtpEndpoint, SmtpSecurity, smtp_endpoint
from factsvc.services.email_address import smtp_form
from factsvc.services.mail import MailMessage, MailPermanentFailure, MailTemporaryFailure

# aiosmtplib's start_tls: None upgrades when the server offers STARTTLS; a required STARTTLS
# is asked for here, to tell a server without it (permanent) from a failing one.
START_TLS = {
    SmtpSecurity.OPPORTUNISTIC: None,
    SmtpSecurity.STARTTLS: False,
    SmtpSecurity.TLS: False,
}
# A send is a handful of commands, each within the timeout; this bounds a server that answers
# each just in time.
TOTAL_TIMEOUTS = 4


class SmtpTransport:
    """Sends each message over a new SMTP connection to `endpoint`, from `sender` (MAIL_FROM:
    its address is the envelope sender, the whole the From header).

    `timeout_seconds` bounds connecting and each command; a whole send takes at most
    TOTAL_TIMEOUTS times that. Certificates are checked against `tls_context` (default: the
    system's CAs; SSL_CERT_FILE names another bundle). Credentials are sent only over TLS, or
    to a loopback server. Connection errors, timeouts and SMTP 4xx replies raise
    MailTemporaryFailure; 5xx replies (RFC 5321 4.2.1), a refused login, a missing STARTTLS
    that the URL requires and an untrusted certificate raise MailPermanentFailure.
    """

    def __init__(
        self,
        endpoint: SmtpEndpoint,
        *,
        sender: str,
        timeout_seconds: float,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._sender = sender
        self._envelope_sender = parseaddr(sender)[1]
        self._timeout = timeout_seconds
        self._tls_context = tls_context or ssl.create_default_context()
        # Named here: aiosmtplib would ask socket.getfqdn(), a DNS look-up on the loop.
        self._local_hostname = local_hostname or socket.gethostname() or "localhost"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        sender: str,
        timeout_seconds: float,
        tls_context: ssl.SSLContext | None = None,
    ) -> SmtpTransport:
        """A transport for SMTP_URL `url` (already validated by the settings)."""
        return cls(
            smtp_endpoint(url),
            sender=sender,
            timeout_seconds=timeout_seconds,
            tls_context=tls_context,
        )

    async def send(self, message: MailMessage) -> None:
        """Deliver `message` to its recipient's server; see the class for what it raises."""
        try:
            mime = mime_message(message, self._sender)
        except (ValueError, TypeError) as error:  # e.g. a line break in an address
            raise MailPermanentFailure("the message cannot be written as MIME") from error
        try:
            async with asyncio.timeout(self._timeout * TOTAL_TIMEOUTS):
                await self._send(mime, mime["To"].addresses[0].addr_spec)
        except (MailTemporaryFailure, MailPermanentFailure):
            raise
        except TimeoutError as error:  # aiosmtplib's timeouts are TimeoutErrors too
            raise MailTemporaryFailure("timed out") from error
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise _by_code(max(codes, default=0), "recipient refused") from error
        except aiosmtplib.SMTPNotSupported as error:
            raise MailPermanentFailure("the server lacks a required extension") from error
        except aiosmtplib.SMTPResponseException as error:
            raise _by_code(error.code, "SMTP reply") from error
        except (ssl.SSLError, OSError) as error:
            if _caused_by(error, ssl.SSLCertVerificationError):
                raise MailPermanentFailure("the server's certificate is not trusted") from error
            raise MailTemporaryFailure("no connection") from error
        except aiosmtplib.SMTPException as error:
            raise MailTemporaryFailure("SMTP error") from error

    async def _send(self, mime: EmailMessage, recipient: str) -> None:
        endpoint = self._endpoint
        smtp = aiosmtplib.SMTP(
            hostname=endpoint.host,
            port=endpoint.port,
            local_hostname=self._local_hostname,
            timeout=self._timeout,
            use_tls=endpoint.security is SmtpSecurity.TLS,
            start_tls=START_TLS[endpoint.security],
            tls_context=self._tls_context,
        )
        await smtp.connect()
        try:
            if endpoint.security is SmtpSecurity.STARTTLS:
                await _require(smtp, "starttls")
                await smtp.starttls()
            if endpoint.username is not None:
                self._check_credentials_protected(smtp)
                await _require(smtp, "auth")
                await smtp.login(endpoint.username, endpoint.password or "")
            await smtp.send_message(mime, sender=self._envelope_sender, recipients=[recipient])
        finally:
            await _closed(smtp)

    def _check_credentials_protected(self, smtp: aiosmtplib.SMTP) -> None:
        if smtp.get_transport_info("sslcontext") is None and not _is_loopback(smtp.hostname):
            raise MailPermanentFailure("credentials refused over a connection without TLS")


def mime_message(message: MailMessage, sender: str) -> EmailMessage:
    """`message` as MIME: multipart/alternative, text then HTML (RFC 2046 5.1.4: the last
    part is the preferred), each part 7bit when ASCII, else 8bit (aiosmtplib re-encodes it
    as base64 for a server without 8BITMIME): never quoted-printable, whose soft line breaks
    would cut the link in a raw .eml file. Lines may be 998 octets long (RFC 5322 2.1.1).
    `Auto-Submitted: auto-generated` (RFC 3834) keeps vacation replies away. The recipient is
    written in its smtp_form, so that an internationalised domain with an ASCII local part
    reaches it through servers without SMTPUTF8."""
    mime = EmailMessage(policy=SMTP_POLICY)
    mime["From"] = sender
    mime["To"] = smtp_form(message.to)
    if len(mime["To"].addresses) != 1:
        raise ValueError("one recipient per message")
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False, usegmt=True)
    mime["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    mime["Auto-Submitted"] = "auto-generated"
    mime.set_content(message.text, cte=_cte(message.text))
    mime.add_alternative(message.html, subtype="html", cte=_cte(message.html))
    return mime


async def _closed(smtp: aiosmtplib.SMTP) -> None:
    """Close the connection now. A TLS transport's close() would wait for the server's
    close_notify, and a loop that stops first (at shutdown, in a test) leaves the socket
    open; abort() closes it within the next turns of the loop, awaited here."""
    transport = smtp.transport
    smtp.close()
    if isinstance(transport, asyncio.Transport) and transport.get_extra_info("sslcontext"):
        transport.abort()
    for _ in range(3):
        await asyncio.sleep(0)


async def _require(smtp: aiosmtplib.SMTP, extension: str) -> None:
    """MailPermanentFailure unless the server's EHLO offers `extension` (asked if not yet)."""
    if smtp.is_ehlo_or_helo_needed:
        await smtp.ehlo()
    if not smtp.supports_extension(extension):
        raise MailPermanentFailure(f"the server offers no {extension.upper()}")


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _cte(text: str) -> str:
    return "7bit" if text.isascii() else "8bit"


def _by_code(code: int, what: str) -> MailTemporaryFailure | MailPermanentFailure:
    reason = f"{what} {code}" if 100 <= code <= 599 else what
    if 500 <= code <= 599:
        return MailPermanentFailure(reason)
    return MailTemporaryFailure(reason)


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
