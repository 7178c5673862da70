"""The answers of the sessions API: the list of the user's sessions, and what a revoke ended."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from factsvc.api_schema.responses import Closed, Envelope
from factsvc.services.revoke_body import SESSION_ID_PATTERN
from factsvc.services.user_agents import MAX_SHORT


class SessionSummary(Closed):
    """One live session of the user; never its token."""

    id: str = Field(
        pattern=SESSION_ID_PATTERN,
        description="Names the session for POST /account/sessions/revoke; derived from the "
        "session by a one-way hash, of no use as a token.",
    )
    created_at: datetime = Field(description="When it was opened (the login).")
    last_used_at: datetime = Field(
        description="When a request last ran in it, to the minute; `created_at` for sessions "
        "opened before this was kept."
    )
    client: str | None = Field(
        description="The client address the login came from (behind a trusted proxy, the "
        "address it forwarded); null for sessions opened before this was kept."
    )
    user_agent: str | None = Field(
        max_length=MAX_SHORT,
        description="A short form of the login's User-Agent, such as \"Chrome Mobile 120 on "
        'Android" ("Other" when unrecognised); null when the login sent none, or for sessions '
        "opened before this was kept.",
    )
    current: bool = Field(description="true for the session this request runs in.")


class SessionList(Envelope):
    sessions: list[SessionSummary] = Field(
        description="The user's live sessions, newest `created_at` first."
    )


class SessionsRevoked(Envelope):
    revoked: int = Field(ge=0, description="How many live sessions this request ended.")
