"""bcrypt's password checks held in their hashing threads until the test lets each one finish,
so that a test decides when a login's hash ends instead of guessing how long it takes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

# How long a held check waits for its release before it fails: far beyond any test's need, so
# that a test that never releases leaves no thread blocked for good.
HOLD_LIMIT_SECONDS = 60.0


class HeldChecks:
    """A stand-in for bcrypt.checkpw (monkeypatch.setattr(bcrypt, "checkpw", held)) that counts
    each check as it starts, then runs it only once `release` allows it."""

    def __init__(self, check: Callable[[bytes, bytes], bool]) -> None:
        self._check = check
        self._lock = threading.Lock()
        self._releases = threading.Semaphore(0)
        self.started = 0

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        with self._lock:
            self.started += 1
        if not self._releases.acquire(timeout=HOLD_LIMIT_SECONDS):
            raise RuntimeError("a held bcrypt check was never released")
        return self._check(password, hashed)

    def release(self, count: int = 1) -> None:
        """Let `count` more checks (held now or started later) run."""
        self._releases.release(count)

    async def wait_started(self, count: int, within: float = 10.0) -> None:
        """Return once `count` checks have started; AssertionError after `within` seconds."""
        deadline = time.monotonic() + within
        while self.started < count:
            assert time.monotonic() < deadline, f"{self.started} of {count} checks started"
            await asyncio.sleep(0.005)
