"""The AccountTokenStore port in memory, with Redis's expiry on a clock; tests/contract proves it
against RedisAccountTokenStore."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from factsvc.errors import DependencyUnavailable
from factsvc.services.account_tokens import (
    AccountTokenService,
    AccountTokenStore,
    TokenPurpose,
)
from factsvc.services.session_tokens import user_tag


class FakeAccountTokenStore:
    """Records by (purpose, key) with when each ends on `clock` (seconds), and per user and
    purpose the key of the user's one record. `available = False` makes every call fail as a
    Redis outage. Every method runs without awaiting, so each is atomic as the Lua scripts are
    in Redis. `saved` counts saves, for tests that check nothing was issued."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.records: dict[tuple[TokenPurpose, str], tuple[str, float]] = {}
        self.by_user: dict[tuple[TokenPurpose, str], str] = {}
        self.available = True
        self.saved = 0
        self._clock = clock

    def _check(self) -> None:
        if not self.available:
            raise DependencyUnavailable({"redis": "unavailable"})

    def _live(self, purpose: TokenPurpose, key: str) -> str | None:
        found = self.records.get((purpose, key))
        if found is None:
            return None
        text, ends_at = found
        if self._clock() >= ends_at:
            del self.records[(purpose, key)]
            return None
        return text

    async def save(
        self,
        purpose: TokenPurpose,
        key: str,
        user_id: str,
        record: Mapping[str, Any],
        ttl_seconds: int,
    ) -> None:
        self._check()
        if key.rpartition(":")[0] != user_tag(user_id):
            raise ValueError("a token's key must carry its user's tag")
        text = json.dumps(record)
        earlier = self.by_user.get((purpose, user_id))
        if earlier is not None:
            self.records.pop((purpose, earlier), None)
        self.records[(purpose, key)] = (text, self._clock() + max(ttl_seconds, 1))
        self.by_user[(purpose, user_id)] = key
        self.saved += 1

    async def load(self, purpose: TokenPurpose, key: str) -> Mapping[str, Any] | None:
        self._check()
        return _parsed(self._live(purpose, key))

    async def take(self, purpose: TokenPurpose, key: str) -> Mapping[str, Any] | None:
        self._check()
        text = self._live(purpose, key)
        self.records.pop((purpose, key), None)
        return _parsed(text)

    async def void(self, purpose: TokenPurpose, user_id: str) -> None:
        self._check()
        key = self.by_user.pop((purpose, user_id), None)
        if key is not None:
            self.records.pop((purpose, key), None)

    def live_count(self) -> int:
        """How many records have not yet expired (spent and voided ones are gone)."""
        return sum(self._live(purpose, key) is not None for purpose, key in list(self.records))


def _parsed(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    record = json.loads(text)
    return record if isinstance(record, dict) else None


DEFAULT_TTLS = {TokenPurpose.VERIFY_EMAIL: 86_400, TokenPurpose.RESET_PASSWORD: 1_800}


def fake_account_tokens(
    clock: Callable[[], float] = time.time,
    ttl_seconds: Mapping[TokenPurpose, int] = DEFAULT_TTLS,
) -> tuple[AccountTokenService, FakeAccountTokenStore]:
    """An AccountTokenService on a fresh FakeAccountTokenStore, both on `clock` (seconds), with
    the settings' default TTLs unless told."""
    store = FakeAccountTokenStore(clock)
    tokens_store: AccountTokenStore = store
    return AccountTokenService(tokens_store, ttl_seconds=ttl_seconds, clock=clock), store
