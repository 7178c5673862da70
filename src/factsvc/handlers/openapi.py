"""GET /openapi.json: the API's contract, as generated (make docs) and shipped in the package,
with a strong validator per coding so that a client revalidates it for a 304."""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources
from typing import NamedTuple

from factsvc.handlers.base import BaseHandler
from factsvc.handlers.conditional import not_modified
from factsvc.handlers.envelope import accepts_gzip, worth_compressing
from factsvc.handlers.http_caching import NO_CACHE, strong_entity_tag


class Representation(NamedTuple):
    """The document's bytes in one content coding (None: identity), and their entity-tag."""

    body: bytes
    coding: str | None
    entity_tag: str


def _representation(body: bytes, coding: str | None) -> Representation:
    return Representation(body, coding, strong_entity_tag(body))


@cache
def representations() -> tuple[Representation, Representation | None]:
    """The document as shipped, and gzip-compressed (None when too small to be worth it).
    Each is computed once, and so has one strong entity-tag of its own: the compressed bytes
    are other bytes (RFC 9110 §8.8.3.3), made with mtime 0 to be the same in every process."""
    document = resources.files("factsvc").joinpath("openapi.json").read_bytes()
    if not worth_compressing(len(document)):
        return _representation(document, None), None
    compressed = gzip.compress(document, compresslevel=9, mtime=0)
    return _representation(document, None), _representation(compressed, "gzip")


class OpenApiHandler(BaseHandler):
    async def get(self) -> None:
        # The document is not an envelope: it is served as OpenAPI tools expect it.
        identity, compressed = representations()
        chosen = identity
        if compressed is not None:
            self.vary_with_accept_encoding()
            if accepts_gzip(self.header("Accept-Encoding")):
                chosen = compressed
        self.set_header("Cache-Control", NO_CACHE)
        self.set_header("ETag", chosen.entity_tag)
        if not_modified(self.request.headers, chosen.entity_tag):
            self.set_status(304)
            self.finish()
            return
        if chosen.coding is not None:
            self.set_header("Content-Encoding", chosen.coding)
        self.finish(chosen.body)
