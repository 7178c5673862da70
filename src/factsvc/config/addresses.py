"""Rules for addresses: hosts, URLs, browser origins and IP networks."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import quote

from pydantic import ValidationInfo, ValidatorFunctionWrapHandler

from factsvc.config.rules import ListOf, Rule, as_text

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Host(Rule):
    accepts = "a host name or address"

    def parse(self, value: object) -> str:
        host = as_text(value).strip()
        if not host or any(c in host for c in "/@?# "):
            raise ValueError(host)
        return host


@dataclass(frozen=True)
class Url(Rule):
    schemes: tuple[str, ...]

    @property
    def accepts(self) -> str:
        return f"a URL starting with {' or '.join(self.schemes)}"

    def parse(self, value: object) -> str:
        uri = as_text(value).strip()
        if not uri.startswith(self.schemes) or len(uri) <= len(uri.split("://")[0]) + 3:
            raise ValueError(uri)
        return uri


def origin(value: object) -> str:
    """An http(s) origin: scheme and host, no path (RFC 6454); ValueError otherwise."""
    text = as_text(value)
    scheme, _, rest = text.partition("://")
    if scheme not in {"http", "https"} or not rest or "/" in rest:
        raise ValueError(text)
    return text


def network(value: object) -> Network:
    """An IP address or network (host bits allowed); ValueError otherwise."""
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    return ipaddress.ip_network(as_text(value), strict=False)


ORIGINS = ListOf(
    "comma-separated origins like https://app.example.com",
    "must be comma-separated origins like https://app.example.com",
    origin,
)
NETWORKS = ListOf(
    "comma-separated IP addresses or networks",
    "must be comma-separated IP addresses or networks",
    network,
)


def host_for_uri(host: str) -> str:
    """A host as a URL's authority writes it: IPv6 addresses in brackets (RFC 3986 3.2.2)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else quote(host, safe=".-[]:")


def url_or_built(
    value: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo, url: str, *parts: str
) -> object:
    """`value` checked; when empty, the `url` template filled with earlier fields (the first
    a host). If one of them was refused, its error says enough: nothing more is checked."""
    if value:
        return check(value)
    if any(name not in info.data for name in parts):
        return value
    host, *rest = (info.data[name] for name in parts)
    return check(url.format(host_for_uri(host), *rest))
