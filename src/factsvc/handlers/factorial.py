"""GET /fact?n=N: the answer, cacheable for a year, and 304 for a client that holds it already."""

from __future__ import annotations

import math
from typing import Any

from factsvc.handlers.base import BaseHandler
from factsvc.handlers.conditional import not_modified
from factsvc.handlers.envelope import GZIP_MIN_BYTES, envelope_bytes, worth_compressing
from factsvc.handlers.http_caching import FACT_CACHE_CONTROL, fact_entity_tag
from factsvc.services.factorial import FactorialService


def fact_payload(n: int, decimal: str, *, cached: bool) -> dict[str, Any]:
    """The fields /fact adds to the envelope for n! = `decimal`."""
    return {"n": n, "fact": decimal, "digits": len(decimal), "cached": cached}


def _smallest_compressed_n() -> int:
    """The smallest n whose every answer (`cached` true, the shorter, included) is
    worth_compressing: answers grow with n, and n = GZIP_MIN_BYTES is far beyond it."""
    low, high = 0, GZIP_MIN_BYTES
    while low < high:
        n = (low + high) // 2
        shortest = envelope_bytes(fact_payload(n, str(math.factorial(n)), cached=True))
        if worth_compressing(len(shortest)):
            high = n
        else:
            low = n + 1
    return low


# Whether an answer may be compressed, and so varies with Accept-Encoding, is decided from n
# alone, so that a 304, which never sees the body, carries the Vary its 200 would.
SMALLEST_COMPRESSED_N = _smallest_compressed_n()


class FactorialHandler(BaseHandler):
    def initialize(self, factorials: FactorialService) -> None:
        self._factorials = factorials

    async def get(self) -> None:
        raw_values = self.request.query_arguments.get("n", [])
        n = self._factorials.parse_n([raw.decode("utf-8", "replace") for raw in raw_values])
        compress = n >= SMALLEST_COMPRESSED_N
        if compress:
            self.vary_with_accept_encoding()
        self.set_known_header("Cache-Control", FACT_CACHE_CONTROL)
        self.set_known_header("ETag", entity_tag := fact_entity_tag(n))
        if not_modified(self.request.headers, entity_tag):
            self.set_status(304)  # before any lookup: the client holds n! already
            self.finish()
            return
        result = await self._factorials.factorial(n)
        payload = fact_payload(result.n, result.decimal, cached=result.cached)
        await self.write_envelope(payload, compress=compress)
