"""Request header values read by the handlers themselves: parsed by their grammar, never raising."""

from __future__ import annotations

import re

# Content-Length = 1*DIGIT (RFC 9110 §8.6), DIGIT being ASCII 0-9 (RFC 5234 §B.1): str.isdigit()
# also takes superscripts, which int() refuses, and other scripts' digits, which int() reads.
_CONTENT_LENGTH = re.compile(r"[0-9]+")


def declares_more_than(content_length: str, limit: int) -> bool:
    """Whether a Content-Length header's value declares a body of more than `limit` bytes.

    A malformed value declares nothing (False): Tornado's HTTP/1 parser refuses the message
    with 400 when it reads the body. A well-formed value is compared without int() when it
    has more digits than `limit`: Python refuses int() of over 4300 digits (ValueError, its
    guard against CVE-2020-10735), and 16 KB of headers hold more.
    """
    if not _CONTENT_LENGTH.fullmatch(content_length):
        return False
    digits = content_length.lstrip("0")
    ceiling = str(limit)
    return len(digits) > len(ceiling) or (len(digits) == len(ceiling) and digits > ceiling)


def media_type_of(content_type: str | None) -> tuple[str, str]:
    """A Content-Type value's media type in lower case (type "/" subtype, RFC 9110 §8.3.1:
    case-insensitive) and its parameters as sent; ("", "") for none."""
    media_type, _, parameters = (content_type or "").partition(";")
    return media_type.strip().lower(), parameters
