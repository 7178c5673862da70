"""bcrypt's password checks held in their hashing threads until the test lets each one finish,
so that a test decides when a login's hash ends instead of guessing how long it takes."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.support.polling import eventually_async

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
        """How many checks have started, held or not: each login that got to its hash."""

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        """bcrypt.checkpw's answer for `password` against `hashed`, once `release` lets this
        check run (in the hashing thread that called it); counted in `started` at once.
        RuntimeError if no release comes within HOLD_LIMIT_SECONDS."""
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
        await eventually_async(
            lambda: self.started,
            within,
            f"{count} checks started",
            pause=0.005,
            accept=lambda started: started >= count,
        )
