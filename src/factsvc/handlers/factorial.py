"""GET /fact?n=N."""

from __future__ import annotations

from factsvc.handlers.base import BaseHandler
from factsvc.services.factorial import FactorialService


class FactorialHandler(BaseHandler):
    def initialize(self, factorials: FactorialService) -> None:
        self._factorials = factorials

    async def get(self) -> None:
        raw_values = self.request.query_arguments.get("n", [])
        n = self._factorials.parse_n([raw.decode("utf-8", "replace") for raw in raw_values])
        result = await self._factorials.factorial(n)
        await self.write_envelope(
            {
                "n": result.n,
                "fact": result.decimal,
                "digits": len(result.decimal),
                "cached": result.cached,
            }
        )
