"""Fixed-window rate limits over a shared counter store: limits on attempts, and limits on
failures that only failures reach.

A failure limit (failed logins, wrong old passwords) must neither lock anyone out for guesses
that were right nor let concurrent wrong guesses past it. Each guess holds a place in its
limits while it is judged (a lease in the store); a guess waits for a place while the window's
failures plus the places held reach the limit, and is refused (RateLimited) once the failures
alone reach it. So valid guesses never count, however many arrive at once, and wrong ones can
never exceed the limit: at most `max_hits - failures` are being judged at any moment. A lease
whose guess never reported its end (its process died, or the store failed at that moment)
counts as a failure when it lapses, after LEASE_SECONDS."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from factsvc.errors import DependencyUnavailable, Overloaded, RateLimited
from factsvc.services.audit import security_event

# Longer than any guess takes: a MongoDB read (MONGODB_TIMEOUT_MS, at most 60 s) and a bcrypt
# check that already holds its place in the bounded pool.
LEASE_SECONDS = 120
# How long a guess waits for a place before 503 + Retry-After (Overloaded), as long as
# BCRYPT_MAX_WAIT_SECONDS's default: a place frees up within one bcrypt check.
WAIT_SECONDS = 5.0
FIRST_POLL_SECONDS = 0.005
LAST_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Reservation:
    """A store's answer to `reserve`: "admitted" (a place is held under the lease), "busy"
    (failures plus places held reach the limit: wait and ask again) or "locked" (failures
    alone reach it, for `seconds_left` more seconds)."""

    outcome: Literal["admitted", "busy", "locked"]
    seconds_left: int = 0


class CounterStore(Protocol):
    """Counters that expire `window_seconds` after their first hit (or first failure), never
    later, and leases held on them; every method may raise DependencyUnavailable."""

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Count one more; the new count and its seconds left."""
        ...

    async def reserve(
        self, key: str, lease: str, *, max_failures: int, lease_seconds: int, window_seconds: int
    ) -> Reservation:
        """Count leases that lapsed as failures, then hold a place under `lease` for
        `lease_seconds` unless failures plus places held reach `max_failures`."""
        ...

    async def settle(self, key: str, lease: str, *, failed: bool, window_seconds: int) -> None:
        """Give back the place held under `lease`, counting one failure if `failed` (the first
        failure opens the window). A lease no longer held (lapsed, so counted) counts nothing."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the count (and failures) of the window; places held stay held."""
        ...


@dataclass(frozen=True)
class Limit:
    """At most `max_hits` attempts (`RateLimiter.count`) or failures (`RateLimiter.guess`)
    per subject in a fixed window of `window_seconds` opened by the first one."""

    name: str
    max_hits: int
    window_seconds: int

    def key(self, subject: str) -> str:
        # Hashed: subjects are client-supplied strings; keys stay short and inert.
        return f"{self.name}:{hashlib.sha256(subject.encode('utf-8', 'replace')).hexdigest()}"


Limited = tuple[Limit, str]


class Guess:
    """A guess being judged, holding a place in each of its limits under one lease until it
    ends: `failed()` ends it as a failure; leaving `RateLimiter.guess` otherwise ends it
    uncounted."""

    def __init__(self, store: CounterStore, lease: str, limits: Sequence[Limited]) -> None:
        self._store = store
        self._lease = lease
        self._limits = limits
        self._ended = False

    async def failed(self) -> None:
        """Count this guess as a failure against each of its limits."""
        await self._end(failed=True)

    async def _end(self, *, failed: bool) -> None:
        if self._ended:
            return
        self._ended = True
        await _settle(self._store, self._lease, self._limits, failed=failed)


class RateLimiter:
    """Limits over a CounterStore. `sleep` and `clock` (seconds) pace the wait for a place."""

    def __init__(
        self,
        store: CounterStore,
        *,
        lease_seconds: int = LEASE_SECONDS,
        max_wait_seconds: float = WAIT_SECONDS,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._lease_seconds = lease_seconds
        self._max_wait_seconds = max_wait_seconds
        self._sleep = sleep
        self._clock = clock

    async def count(self, *limits: Limited) -> None:
        """Count an attempt against every limit before it is made, so that concurrent
        attempts cannot slip past; RateLimited when any is exceeded, with the longest wait as
        Retry-After."""
        results = await asyncio.gather(
            *(self._store.hit(limit.key(s), limit.window_seconds) for limit, s in limits)
        )
        _refuse_if_any(
            [
                (limit, subject, seconds_left)
                for (limit, subject), (hits, seconds_left) in zip(limits, results, strict=True)
                if hits > limit.max_hits
            ]
        )

    @contextlib.asynccontextmanager
    async def guess(self, *limits: Limited) -> AsyncIterator[Guess]:
        """Hold a place in every failure limit while the body judges a guess (see the module).
        Raises RateLimited when the failures of any limit reach it (the longest wait as
        Retry-After), Overloaded when no place frees up within `max_wait_seconds`."""
        lease = secrets.token_hex(12)
        await self._reserve(lease, limits)
        guess = Guess(self._store, lease, limits)
        try:
            yield guess
        except BaseException:
            # The body's error is the answer; a place left held lapses into a failure.
            with contextlib.suppress(DependencyUnavailable):
                await guess._end(failed=False)
            raise
        await guess._end(failed=False)

    async def clear(self, limit: Limit, subject: str) -> None:
        """Forget the failures (or attempts) of `subject`'s current window."""
        await self._store.reset(limit.key(subject))

    async def _reserve(self, lease: str, limits: Sequence[Limited]) -> None:
        deadline = self._clock() + self._max_wait_seconds
        pause = FIRST_POLL_SECONDS
        while True:
            answers = await asyncio.gather(
                *(
                    self._store.reserve(
                        limit.key(subject),
                        lease,
                        max_failures=limit.max_hits,
                        lease_seconds=self._lease_seconds,
                        window_seconds=limit.window_seconds,
                    )
                    for limit, subject in limits
                ),
                return_exceptions=True,
            )
            held = [
                limited
                for limited, answer in zip(limits, answers, strict=True)
                if isinstance(answer, Reservation) and answer.outcome == "admitted"
            ]
            if len(held) == len(limits):
                return
            # All places or none: a guess never holds one while it waits for another.
            with contextlib.suppress(DependencyUnavailable):
                await _settle(self._store, lease, held, failed=False)
            for answer in answers:
                if isinstance(answer, BaseException):
                    raise answer
            _refuse_if_any(
                [
                    (limit, subject, answer.seconds_left)
                    for (limit, subject), answer in zip(limits, answers, strict=True)
                    if isinstance(answer, Reservation) and answer.outcome == "locked"
                ]
            )
            left = deadline - self._clock()
            if left <= 0:
                raise Overloaded("password check")
            await self._sleep(min(pause * random.uniform(0.5, 1.0), left))  # noqa: S311
            pause = min(2 * pause, LAST_POLL_SECONDS)


async def _settle(
    store: CounterStore, lease: str, limits: Sequence[Limited], *, failed: bool
) -> None:
    await asyncio.gather(
        *(
            store.settle(limit.key(s), lease, failed=failed, window_seconds=limit.window_seconds)
            for limit, s in limits
        )
    )


def _refuse_if_any(exceeded: Sequence[tuple[Limit, str, int]]) -> None:
    """RateLimited, with the longest of the waits as Retry-After, when any limit is exceeded."""
    for limit, subject, _ in exceeded:
        security_event("rate_limited", limit=limit.name, subject=subject)
    if exceeded:
        raise RateLimited(max(max(seconds, 1) for _, _, seconds in exceeded))


@dataclass(frozen=True)
class AttemptLimits:
    """Fixed-window limits: failed logins (and wrong old passwords) per account, failed
    logins per client, and registrations per client (attempts, counted before they are made)."""

    per_account: Limit
    per_client: Limit
    registrations_per_client: Limit
