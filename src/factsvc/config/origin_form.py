"""How a browser writes an origin in its Origin header (the WHATWG URL standard's host parser and
an origin's serialization), and which site an origin is on."""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import unquote_to_bytes, urlsplit

import idna
from publicsuffixlist import PublicSuffixList

DEFAULT_PORTS = {"http": 80, "https": 443}
# WHATWG URL, "forbidden domain code point": none may remain in a domain once it is ASCII.
FORBIDDEN_IN_DOMAIN = frozenset([chr(code) for code in range(0x21)] + list("#%/:<>?@[\\]^|\x7f"))


def browser_form(origin: str) -> str | None:
    """How a browser writes `origin` in an Origin header (WHATWG URL, "ASCII serialization of
    an origin"): the host as browser_host writes it, no default port; None when it is no
    http(s) origin at all (user info, query, fragment, a bad port or host)."""
    try:
        parts = urlsplit(origin)
        port, host = parts.port, parts.hostname
        if not host or "@" in parts.netloc or parts.query or parts.fragment:
            return None
        host = browser_host(host)
    except (ValueError, UnicodeError):
        return None
    shown_port = "" if port is None or port == DEFAULT_PORTS.get(parts.scheme) else f":{port}"
    return f"{parts.scheme}://{host}{shown_port}"


def browser_host(host: str) -> str:
    """How a browser writes `host` (WHATWG URL, "host parser" and "host serializer"): an IPv6
    address compressed in brackets; else the domain percent-decoded, mapped and made ASCII by
    UTS #46 (non-transitional, as browsers do: `faß.de` is `xn--fa-hia.de`, not `fass.de`),
    then read as an IPv4 address when its last label is a number, in any of the forms
    browsers take (`127.1`, `0x7f.1`, `2130706433` are all `127.0.0.1`). Raises ValueError
    (UnicodeError included) for a host no browser parses."""
    if ":" in host:  # urlsplit has removed the brackets of an IPv6 literal
        if "%" in host:
            raise ValueError("an IPv6 zone is no URL host")
        return f"[{ipaddress.IPv6Address(host).compressed}]"
    domain = _domain_to_ascii(unquote_to_bytes(host).decode("utf-8"))
    if _ends_in_a_number(domain):
        return str(_ipv4_address(domain))
    return domain


def is_loopback_host(host: str) -> bool:
    """Whether `host` (as browser_host writes it) is a loopback address or `localhost` or
    one of its subdomains, where browsers treat plain http as secure."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _ip_address(host.strip("[]"))
    return address is not None and address.is_loopback


def schemeful_site(origin: str) -> str:
    """The origin's site (HTML standard, "obtain a site"; schemeful same-site, RFC 6265bis
    §5.2): its scheme and registrable domain from the Public Suffix List, ports ignored. An
    IP literal, `localhost`, or a host that is itself a public suffix is its own site. An
    origin no URL parser takes is its own site as written."""
    try:
        parts = urlsplit(origin)
        host = parts.hostname
    except ValueError:
        return origin
    if not host:
        return origin
    if (ip := _ip_address(host)) is not None:
        return f"{parts.scheme}://{_bracketed(ip.compressed)}"
    return f"{parts.scheme}://{_public_suffixes().privatesuffix(host) or host}"


def _domain_to_ascii(domain: str) -> str:
    """WHATWG URL's "domain to ASCII": UTS #46 with CheckHyphens, UseSTD3ASCIIRules,
    Transitional_Processing and VerifyDnsLength false, so that `my_app` or `-a` pass."""
    mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
    labels = [_label_to_ascii(label) for label in mapped.split(".")]
    ascii_domain = ".".join(labels)
    if not ascii_domain or FORBIDDEN_IN_DOMAIN.intersection(ascii_domain):
        raise ValueError("no domain a browser takes")
    return ascii_domain


def _label_to_ascii(label: str) -> str:
    if not label.isascii():
        return "xn--" + label.encode("punycode").decode("ascii")
    if label.startswith("xn--"):
        label[4:].encode("ascii").decode("punycode")  # raises UnicodeError when not Punycode
    return label


def _ends_in_a_number(domain: str) -> bool:
    """WHATWG URL, "ends in a number": the last label (a trailing dot aside) is digits, or a
    number in any base the IPv4 parser takes."""
    last = _ipv4_parts(domain)[-1]
    if last.isascii() and last.isdigit():
        return True
    return _ipv4_number(last) is not None


def _ipv4_address(domain: str) -> ipaddress.IPv4Address:
    """WHATWG URL's IPv4 parser: up to four numbers, each decimal, octal (a leading 0) or
    hexadecimal (0x), the last filling the bytes the others leave; ValueError otherwise."""
    parts = _ipv4_parts(domain)
    numbers = [_ipv4_number(part) for part in parts]
    if len(parts) > 4 or None in numbers:
        raise ValueError("no IPv4 address")
    values = [number for number in numbers if number is not None]
    if any(value > 255 for value in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise ValueError("no IPv4 address")
    address = values[-1] + sum(value * 256 ** (3 - i) for i, value in enumerate(values[:-1]))
    return ipaddress.IPv4Address(address)


def _ipv4_parts(domain: str) -> list[str]:
    """The labels of `domain`, one trailing dot ignored (WHATWG URL's IPv4 parser)."""
    parts = domain.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    return parts


def _ipv4_number(text: str) -> int | None:
    """WHATWG URL's "IPv4 number parser", or None where it fails."""
    if not text:
        return None
    radix = 10
    if text[:2] in ("0x", "0X"):
        text, radix = text[2:], 16
    elif len(text) > 1 and text.startswith("0"):
        text, radix = text[1:], 8
    if not text:
        return 0
    digits = "0123456789abcdef"[:radix]
    if not all(char in digits for char in text.lower()):
        return None
    return int(text, radix)


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # The list bundled with the package (ICANN and private suffixes, as browsers use it).
    return PublicSuffixList()
