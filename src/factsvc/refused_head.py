"""What the raw bytes of a request head that Tornado's HTTP/1 parser refused tell: whether the
request line or the headers outgrew the limit, and the head's X-Request-ID and Origin."""

from __future__ import annotations

import re

from factsvc.http_grammar import OWS
from factsvc.request_context import request_id_for

# One greedy run to the end of the line, trimmed after the match: optional blanks on both
# sides of a lazy group backtracked in cubic time over a line of blanks with no end, which a
# head over the limit may well be (2000 blanks took 13 s, 4000 took 100 s; 16 KB, hours).
_REQUEST_ID_LINE = re.compile(rb"\nX-Request-ID:([^\r\n]*)\r?\n", re.IGNORECASE)
# Its line end is only looked ahead at, so that the next line's match may start there.
_ORIGIN_LINE = re.compile(rb"\nOrigin:([^\r\n]*)(?=\r?\n)", re.IGNORECASE)
# The empty line that ends a head (RFC 9112 §2.1), from the end of the line before it: the
# delimiter Tornado reads a head up to is "\r?\n\r?\n".
_HEAD_END = re.compile(rb"\n\r?\n")


def head_overflow_status(received: bytes, limit: int | None) -> int:
    """414 (URI Too Long) when the first `limit` bytes received of a head over the limit hold
    no whole request line, else 431 (Request Header Fields Too Large): RFC 9110 §15.5.15,
    RFC 6585 §5. Empty lines before a request are skipped, as Tornado skips them (RFC 9112
    §2.2)."""
    return 431 if b"\n" in received.lstrip(b"\r\n")[:limit] else 414


def head_end(data: bytes | bytearray, start: int = 0) -> int | None:
    """The offset in `data` just past the line end of the head's last line (searching from
    `start`), or None when the empty line that ends the head has not been received."""
    match = _HEAD_END.search(data, start)
    return match.start() + 1 if match else None


def head_of(received: bytes) -> bytes:
    """The head in `received`: its lines, each with its line end, without the empty lines
    Tornado skips before it (RFC 9112 §2.2) or anything after the empty line that ends it
    (a body is no place to look for headers); all of `received` when that line is missing."""
    head = received.lstrip(b"\r\n")
    end = head_end(head)
    return head if end is None else head[:end]


def request_id_in(head: bytes) -> str:
    """The request's id: its X-Request-ID when a whole, well-formed one was received."""
    match = _REQUEST_ID_LINE.search(head)
    return request_id_for(match.group(1).decode("latin-1").strip(OWS) if match else None)


def origin_in(head: bytes) -> str | None:
    """The value of the head's Origin line, decoded as Tornado decodes header values (Latin-1,
    blanks around it trimmed); None when the head has no whole Origin line, or several
    (Tornado would join them with a comma, which matches no listed origin)."""
    lines = _ORIGIN_LINE.findall(head)
    return lines[0].decode("latin-1").strip(OWS) if len(lines) == 1 else None
