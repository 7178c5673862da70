"""Rules for the mail settings: the SMTP server's URL, the sender, the links' base URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import formataddr, getaddresses
from enum import Enum
from urllib.parse import unquote, urlsplit

from factsvc.config.rules import Rule, as_text


class SmtpSecurity(Enum):
    """How the connection to the SMTP server is protected."""

    OPPORTUNISTIC = "smtp"  # STARTTLS when the server offers it, else plain text
    STARTTLS = "smtp+starttls"  # STARTTLS required: a server without it is refused
    TLS = "smtps"  # TLS from the first byte (RFC 8314 "implicit TLS")


# RFC 5321's port 25, RFC 6409's submission port 587, RFC 8314's submissions port 465.
DEFAULT_PORTS = {SmtpSecurity.OPPORTUNISTIC: 25, SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465}


@dataclass(frozen=True)
class SmtpEndpoint:
    """An SMTP_URL read: `smtp[+starttls|s]://[user[:password]@]host[:port][/]`, the user and
    password percent-decoded (RFC 3986), the port DEFAULT_PORTS' when absent."""

    security: SmtpSecurity
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def smtp_endpoint(url: str) -> SmtpEndpoint:
    """SMTP_URL's parts; ValueError (naming no credential) when it is malformed."""
    scheme, sep, _ = url.partition("://")
    security = {s.value: s for s in SmtpSecurity}.get(scheme.lower()) if sep else None
    if security is None:
        raise ValueError("scheme")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("port") from None
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("form")
    return SmtpEndpoint(
        security=security,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[security],
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class SmtpUrl(Rule):
    accepts = (
        "empty, or a URL like smtp://host:25, smtp+starttls://user:password@host:587 or "
        "smtps://user:password@host:465"
    )

    def parse(self, value: object) -> str:
        url = as_text(value).strip()
        if url:
            smtp_endpoint(url)
        return url


class Mailbox(Rule):
    """A sender as a From header gives it: `addr@example.com` or `Name <addr@example.com>`."""

    accepts = "an address like facts@example.com or Facts <facts@example.com>"

    def parse(self, value: object) -> str:
        text = as_text(value).strip()
        found = getaddresses([text])
        if len(found) != 1:
            raise ValueError(text)
        name, address = found[0]
        local, at, domain = address.rpartition("@")
        if not (local and at and domain) or any(c in text for c in "\r\n"):
            raise ValueError(text)
        Address(addr_spec=address)  # ValueError for what a header cannot carry
        return formataddr((name, address)) if name else address


class BaseUrl(Rule):
    """An http(s) URL without query or fragment; the links append paths to it."""

    accepts = "an http:// or https:// URL without query or fragment, like https://facts.example"

    def parse(self, value: object) -> str:
        url = as_text(value).strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(url)
        if parts.query or parts.fragment or "?" in url or "#" in url or " " in url:
            raise ValueError(url)
        _ = parts.port  # ValueError for a bad port
        return url.rstrip("/")
