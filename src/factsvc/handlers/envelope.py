"""The JSON envelope every answer is written in, and when and how a body is gzip-compressed."""

from __future__ import annotations

import asyncio
import functools
import gzip
import re
from collections.abc import Mapping
from typing import Any

import orjson

from factsvc.http_grammar import TOKEN

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
# Bodies from this size are gzip-compressed for clients that accept it: smaller ones gain
# nothing. We compress rather than Tornado's `compress_response` transform, which costs every
# request a few per cent of its CPU (measured) and compresses at level 6 on the event loop.
GZIP_MIN_BYTES = 1024
# From this size gzip runs in a thread (zlib releases the GIL): a 450 KB body compressed on the
# event loop would hold it for ~10 ms even at level 1.
OFFLOOP_GZIP_MIN_BYTES = 32 * 1024


def envelope_bytes(payload: Mapping[str, Any]) -> bytes:
    """A success envelope as JSON: `code` 0 and an empty `message`, then `payload`'s fields."""
    return orjson.dumps({"code": 0, "message": "", **payload})


def worth_compressing(size: int) -> bool:
    """Whether a body of `size` bytes is gzip-compressed for clients that accept it; an answer
    whose body may be compressed varies with Accept-Encoding."""
    return size >= GZIP_MIN_BYTES


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether a body may go gzip-compressed, given the request's Accept-Encoding (None when
    absent): gzip is acceptable and the client prefers nothing to it (RFC 9110 §12.5.3).

    Codings are case-insensitive, `x-gzip` is gzip (RFC 9110 §8.4.1.3), `*` stands for every
    coding not listed, q=0 means "not acceptable", and of two acceptable codings the higher q
    wins (ties go to gzip). No header, or an empty one, means identity. A malformed element
    (a bad weight, or not a token) is ignored. When even identity is refused and gzip is not
    acceptable, identity is still sent: the header is disregarded rather than answered with
    406, as RFC 9110 §12.1 allows, since every answer is an envelope the client needs.
    """
    if accept_encoding is None:
        return False  # the hot path: most clients that send nothing, plus the cached lookup
    return _prefers_gzip(accept_encoding)


# Weights by coding: the q-value grammar of RFC 9110 §12.4.2, at most three decimals.
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


@functools.lru_cache(maxsize=256)
def _prefers_gzip(accept_encoding: str) -> bool:
    weights: dict[str, float] = {}
    for element in accept_encoding.split(","):
        coding, *parameters = (part.strip() for part in element.split(";"))
        if not coding:
            continue  # empty list elements are allowed (RFC 9110 §5.6.1)
        weight = _weight(parameters)
        if weight is None or not TOKEN.fullmatch(coding):
            continue
        coding = coding.lower()
        coding = "gzip" if coding == "x-gzip" else coding
        weights[coding] = max(weight, weights.get(coding, 0.0))
    anything = weights.get("*", 0.0)
    gzip_weight = weights.get("gzip", anything)
    identity_weight = weights.get("identity", anything)
    return gzip_weight > 0 and gzip_weight >= identity_weight


def _weight(parameters: list[str]) -> float | None:
    """The element's q (1 without one), or None when a parameter is malformed."""
    weight = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "q":
            continue  # codings take no other parameters; ignore any
        value = value.strip()
        if not _QVALUE.fullmatch(value):
            return None
        weight = float(value)
    return weight


async def gzip_compressed(body: bytes) -> bytes:
    """`body` gzip-compressed, in a worker thread from OFFLOOP_GZIP_MIN_BYTES."""
    if len(body) >= OFFLOOP_GZIP_MIN_BYTES:
        return await asyncio.get_running_loop().run_in_executor(None, _gzip, body)
    return _gzip(body)


def _gzip(body: bytes) -> bytes:
    # Level 1: on 450 KB of digits it takes ~9 ms against ~45 ms at level 6, for the same ratio.
    return gzip.compress(body, compresslevel=1)
