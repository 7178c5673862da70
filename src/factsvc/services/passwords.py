"""Password hashing with bcrypt, run off the event loop through a bounded runner."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

import bcrypt

T = TypeVar("T")


class BlockingRunner(Protocol):
    """Runs a blocking function elsewhere; raises Overloaded when its queue is full."""

    def admitted(self) -> AbstractAsyncContextManager[None]:
        """Hold a place for a whole use case; raises Overloaded when none can be had."""
        ...

    async def run(self, function: Callable[..., T], *args: object) -> T: ...


class PasswordHasher:
    def __init__(self, runner: BlockingRunner, *, rounds: int, pepper: str) -> None:
        self._runner = runner
        self._rounds = rounds
        self._pepper = pepper.encode("utf-8")
        self._dummy_hash: bytes | None = None

    def admitted(self) -> AbstractAsyncContextManager[None]:
        return self._runner.admitted()

    def _prehash(self, password: str) -> bytes:
        # bcrypt reads at most 72 bytes (and bcrypt 5 refuses more): HMAC-SHA256 first, so that
        # every character counts and the input is always 44 bytes of base64.
        digest = hmac.new(self._pepper, password.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest)

    async def hash(self, password: str) -> str:
        salt = bcrypt.gensalt(self._rounds)
        hashed = await self._runner.run(bcrypt.hashpw, self._prehash(password), salt)
        return hashed.decode("ascii")

    async def verify(self, password: str, hashed: str) -> bool:
        return await self._runner.run(
            bcrypt.checkpw, self._prehash(password), hashed.encode("ascii")
        )

    async def prepare(self) -> None:
        """Make the dummy hash at start, so that no login pays for it (and shows it)."""
        if self._dummy_hash is None:
            salt = bcrypt.gensalt(self._rounds)
            self._dummy_hash = await self._runner.run(bcrypt.hashpw, b"dummy", salt)

    async def spend_equal_time(self, password: str) -> None:
        """Check against a dummy hash of the same cost, so unknown users take as long."""
        await self.prepare()
        assert self._dummy_hash is not None
        await self._runner.run(bcrypt.checkpw, self._prehash(password), self._dummy_hash)

    def needs_upgrade(self, hashed: str) -> bool:
        """True for a hash of a lower cost than configured (e.g. made before a cost rise)."""
        parts = hashed.split("$")
        return len(parts) < 4 or not parts[2].isdigit() or int(parts[2]) < self._rounds
