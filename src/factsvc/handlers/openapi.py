"""GET /openapi.json: the API's contract, as generated (make docs) and shipped in the package."""

from __future__ import annotations

from functools import cache
from importlib import resources

from factsvc.handlers.base import BaseHandler


@cache
def _openapi_bytes() -> bytes:
    return resources.files("factsvc").joinpath("openapi.json").read_bytes()


class OpenApiHandler(BaseHandler):
    async def get(self) -> None:
        # The document is not an envelope: it is served as OpenAPI tools expect it.
        self.set_header("Cache-Control", "no-cache")
        await self.send_body(_openapi_bytes())
