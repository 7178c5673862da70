"""Fixed-window rate limits over a shared counter store: limits on attempts, and limits on
failures that only failures reach.

A failure limit (failed logins, wrong old passwords) must neither lock anyone out for guesses
that were right nor let concurrent wrong guesses past it. Each guess holds a place in its
limits while it is judged (a lease in the store); a guess waits for a place while the window's
failures plus the places held reach the limit, and is refused (RateLimited) once the failures
alone reach it. So valid guesses never count, however many arrive at once, and wrong ones can
never exceed the limit: at most `max_hits - failures` are being judged at any moment. A lease
whose guess never reported its end (its process died, or the store failed at that moment)
lapses after LEASE_SECONDS and counts nothing: it only held a place while it lived, and lapses
come from the service's own trouble, never from the client. A guess that ends as a failure
after its lease lapsed still counts, once. An end the store failed to record is retried once,
in the background, after SETTLE_RETRY_SECONDS. Only the store's trouble lets a wrong guess go
uncounted (its end and the retry both lost) or past the limit (its place lapsed while it was
still judged, more than LEASE_SECONDS after it began)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
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
# Long enough for a Redis blip (a failover, a timeout under load) to pass; short against
# LEASE_SECONDS, so that the retried end normally finds its lease still held.
SETTLE_RETRY_SECONDS = 1.0

log = logging.getLogger(__name__)


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
        """Give up the places of leases that lapsed (counting nothing, but remembering them for
        `lease_seconds` more), then hold a place under `lease` for `lease_seconds` unless
        failures plus places held reach `max_failures`."""
        ...

    async def settle(self, key: str, lease: str, *, failed: bool, window_seconds: int) -> None:
        """End `lease`, held or lapsed (and still remembered), giving back its place and
        counting one failure if `failed` (the first failure opens the window). Ending a lease
        already ended, or never held, counts nothing, so a retried end never counts twice."""
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


class _Settle(Protocol):
    async def __call__(self, lease: str, limits: Sequence[Limited], *, failed: bool) -> None: ...


class Guess:
    """A guess being judged, holding a place in each of its limits under one lease until it
    ends: `failed()` ends it as a failure; leaving `RateLimiter.guess` otherwise ends it
    uncounted."""

    def __init__(self, settle: _Settle, lease: str, limits: Sequence[Limited]) -> None:
        self._settle = settle
        self._lease = lease
        self._limits = limits
        self._ended = False

    async def failed(self) -> None:
        """Count this guess as a failure against each of its limits (see `RateLimiter`'s
        settling: never raises DependencyUnavailable)."""
        await self._end(failed=True)

    async def _end(self, *, failed: bool) -> None:
        if self._ended:
            return
        self._ended = True
        await self._settle(self._lease, self._limits, failed=failed)


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
        # Retries in flight: the event loop keeps only weak references to tasks.
        self._retries: set[asyncio.Task[None]] = set()

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
        guess = Guess(self._settle, lease, limits)
        try:
            yield guess
        finally:
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
            await self._settle(lease, held, failed=False)
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

    async def _settle(self, lease: str, limits: Sequence[Limited], *, failed: bool) -> None:
        """End `lease` in each limit. The answer never waits on the store's trouble: the ends
        it failed to record are retried once, in the background, after SETTLE_RETRY_SECONDS;
        a place whose end is lost lapses after the lease, counting nothing."""
        unsettled = await self._settle_each(lease, limits, failed=failed)
        if unsettled:
            log.warning(
                "rate-limit settle failed (%d limit(s), failed=%s); retrying in %.1f s",
                len(unsettled),
                failed,
                SETTLE_RETRY_SECONDS,
            )
            retry = asyncio.ensure_future(self._retry_settle(lease, unsettled, failed=failed))
            self._retries.add(retry)
            retry.add_done_callback(self._retries.discard)

    async def _retry_settle(self, lease: str, limits: Sequence[Limited], *, failed: bool) -> None:
        await self._sleep(SETTLE_RETRY_SECONDS)
        if await self._settle_each(lease, limits, failed=failed):
            log.warning(
                "rate-limit settle retry failed (failed=%s); the place lapses after %d s",
                failed,
                self._lease_seconds,
            )

    async def _settle_each(
        self, lease: str, limits: Sequence[Limited], *, failed: bool
    ) -> list[Limited]:
        """The limits whose end the store failed to record (DependencyUnavailable)."""
        answers = await asyncio.gather(
            *(
                self._store.settle(
                    limit.key(s), lease, failed=failed, window_seconds=limit.window_seconds
                )
                for limit, s in limits
            ),
            return_exceptions=True,
        )
        for answer in answers:
            if isinstance(answer, BaseException) and not isinstance(answer, DependencyUnavailable):
                raise answer
        return [
            limited
            for limited, answer in zip(limits, answers, strict=True)
            if isinstance(answer, DependencyUnavailable)
        ]


def _refuse_if_any(exceeded: Sequence[tuple[Limit, str, int]]) -> None:
    """RateLimited, with the longest of the waits as Retry-After, when any limit is exceeded."""
    for limit, subject, _ in exceeded:
        security_event("rate_limited", limit=limit.name, subject=subject)
    if exceeded:
        raise RateLimited(max(max(seconds, 1) for _, _, seconds in exceeded))


@dataclass(frozen=True)
class AttemptLimits:
    """Fixed-window limits: failed logins (and wrong old passwords) per account, failed
    logins per client, and registrations per client (attempts, counted before they are made);
    password reset requests per address and per client (attempts), unusable mailed tokens
    per client (failures), and verification mails per user (attempts). Each is built from
    its pair of settings (account_composition.attempt_limits), where its numbers are
    declared: none has a default here."""

    per_account: Limit
    per_client: Limit
    registrations_per_client: Limit
    forgot_per_address: Limit
    forgot_per_client: Limit
    mail_token_failures_per_client: Limit
    verification_mails_per_user: Limit
