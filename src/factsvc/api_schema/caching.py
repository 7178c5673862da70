"""What the document says of caching (RFC 9111): each operation's Cache-Control, its validator and
If-None-Match with the 304 that stands for a 200, from the values the handlers send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from factsvc.handlers.avatars import AVATAR_CACHE_CONTROL
from factsvc.handlers.factorial import SMALLEST_COMPRESSED_N
from factsvc.handlers.http_caching import (
    FACT_CACHE_CONTROL,
    FACT_REPRESENTATION,
    NO_CACHE,
    NO_STORE,
    fact_entity_tag,
)
from factsvc.services.avatar_store import AVATAR_ID

IF_NONE_MATCH_REF = {"$ref": "#/components/parameters/IfNoneMatch"}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The entity-tags of the copies the client holds (`ETag`), or `*` "
    "(RFC 9110 §13.1.2). When one matches the answer's by the weak comparison (`W/` aside, "
    "equal), or for `*`, the answer is 304 with no body; a field that breaks the grammar "
    "counts as none. Checked after the other parameters: a refused one still gets its error. "
    "`If-Modified-Since` is ignored (answers carry no Last-Modified).",
    "schema": {"type": "string"},
    "example": fact_entity_tag(20),
}
HEADERS_REF = "#/components/headers/"


@dataclass(frozen=True)
class Caching:
    """How an operation's successful answers may be stored. `name` prefixes its headers under
    components/headers; `cache_control` is the Cache-Control value they carry, `explanation`
    says what it means; `validator` the kind of ETag they carry ("weak" or "strong", with
    If-None-Match answered 304) or None, `etag_pattern` the tags' pattern; `vary` what their
    Vary header says, when they may carry one."""

    name: str
    cache_control: str
    explanation: str
    validator: Literal["weak", "strong"] | None = None
    etag_pattern: str = ""
    vary: str | None = None

    def header_components(self) -> dict[str, Any]:
        """Its headers' definitions under components/headers, by component name."""
        headers: dict[str, Any] = {
            "Cache-Control": {
                "description": self.explanation,
                "required": True,
                "schema": {"type": "string", "const": self.cache_control},
            }
        }
        if self.validator is not None:
            headers["ETag"] = {
                "description": f"A {self.validator} entity-tag (RFC 9110 §8.8.3): sent back in "
                "If-None-Match, it revalidates a stored copy.",
                "required": True,
                "schema": {"type": "string", "pattern": self.etag_pattern},
            }
        if self.vary is not None:
            headers["Vary"] = {
                "description": self.vary,
                "required": False,
                "schema": {"type": "string"},
            }
        return {self.name + header.replace("-", ""): value for header, value in headers.items()}

    def headers(self) -> dict[str, Any]:
        """The Header Objects (references) of a 200, and of the 304 that stands for it."""
        names = ["Cache-Control"]
        names += ["ETag"] if self.validator is not None else []
        names += ["Vary"] if self.vary is not None else []
        return {name: {"$ref": HEADERS_REF + self.name + name.replace("-", "")} for name in names}

    def not_modified(self, request_id: dict[str, Any]) -> dict[str, Any]:
        """The 304 Response Object: the headers of the 200 it stands for, and no body."""
        return {
            "description": "Not Modified: the client's copy (If-None-Match) is the answer; "
            "no body. It carries the headers the 200 would, CORS headers included.",
            "headers": {**self.headers(), **request_id},
        }


NO_STORE_CACHING = Caching(
    "NoStore", NO_STORE, "Never stored by any cache: the answer holds for this request only."
)
FACT_CACHING = Caching(
    "Fact",
    FACT_CACHE_CONTROL,
    "n! never changes: any cache may keep the answer for a year and reuse it without asking "
    "(`immutable`, RFC 8246). `cached` in a stored copy is as it was when the copy was made.",
    validator="weak",
    # Weak: answers for one n differ in `cached` and in their Content-Encoding.
    etag_pattern=f'^W/"v{FACT_REPRESENTATION}-(?:0|[1-9][0-9]*)"$',
    vary=f"`Accept-Encoding` for n >= {SMALLEST_COMPRESSED_N} (answers that may be "
    "gzip-compressed); `Origin` once CORS_ORIGINS lists origins. A 304 carries its 200's.",
)
DOCUMENT_CACHING = Caching(
    "Document",
    NO_CACHE,
    "A cache may keep the document but asks each time (If-None-Match) whether it still is "
    "the one served.",
    validator="strong",
    etag_pattern='^"[0-9a-f]{32}"$',
    vary="`Accept-Encoding`: the document is gzip-compressed for clients that accept it, "
    "each coding with an entity-tag of its own.",
)
AVATAR_CACHING = Caching(
    "Avatar",
    AVATAR_CACHE_CONTROL,
    "An avatar's bytes never change (a new upload gets a new id): any cache may keep them for "
    "a year and reuse them without asking (`immutable`, RFC 8246).",
    validator="strong",
    etag_pattern=f'^"{AVATAR_ID.pattern}"$',
    vary="`Origin` once CORS_ORIGINS lists origins.",
)
