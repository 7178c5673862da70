"""The factorial use case: validate n, then serve n! from memory, the shared cache (n large
enough to be worth a round trip), or a fresh computation, with one computation per n however
many requests ask for it at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, MutableMapping, Sequence
from typing import NamedTuple, Protocol

from factsvc.errors import CacheUnavailable, InvalidInput
from factsvc.services.factorial_math import is_plausible_factorial

log = logging.getLogger(__name__)


class FactorialCache(Protocol):
    """The shared cache; both methods raise CacheUnavailable when it cannot be reached."""

    async def get(self, n: int) -> str | None: ...

    async def set(self, n: int, decimal: str) -> None: ...


class FactorialComputer(Protocol):
    """Computes n! in decimal without holding the event loop; may raise Overloaded."""

    async def compute(self, n: int) -> str: ...


class Factorial(NamedTuple):
    # A NamedTuple rather than a frozen dataclass: one is built for every request, and a frozen
    # dataclass's __init__ (object.__setattr__ per field) measured about 1.6 times as slow.
    n: int
    decimal: str
    cached: bool


class FactorialService:
    """n! for 0 <= n <= max_n. Values are kept in `local_cache` (this process) and, for
    n >= `cache_min_n`, in the shared `cache`; `on_lookup(source)` counts where each value came
    from, `on_cache_unavailable()` each time the shared cache could not be used. The service
    works without the shared cache, and logs when it goes and when it comes back."""

    def __init__(
        self,
        *,
        cache: FactorialCache,
        computer: FactorialComputer,
        local_cache: MutableMapping[int, str],
        max_n: int,
        cache_min_n: int = 0,
        on_lookup: Callable[[str], None] = lambda _: None,
        on_cache_unavailable: Callable[[], None] = lambda: None,
    ) -> None:
        self._on_lookup = on_lookup
        self._on_cache_unavailable = on_cache_unavailable
        self._cache_down = False
        self._cache_min_n = cache_min_n
        self._cache = cache
        self._computer = computer
        self._local = local_cache
        self._max_n = max_n
        self._max_digits = len(str(max_n))
        self._inflight: dict[int, asyncio.Future[tuple[str, bool]]] = {}
        self._cache_writes: set[asyncio.Task[None]] = set()

    def parse_n(self, values: Sequence[str]) -> int:
        """The one value given for n, as an int; InvalidInput for anything else."""
        if not values:
            raise InvalidInput({"n": "is required"})
        if len(values) > 1:
            raise InvalidInput({"n": "must be given once"})
        raw = values[0]
        if not raw.isascii() or not raw.isdigit():
            raise InvalidInput({"n": "must be a whole number written with the digits 0-9"})
        significant = raw.lstrip("0") or "0"
        # Checked before int() so that a huge digit string costs nothing to refuse.
        if len(significant) > self._max_digits or int(significant) > self._max_n:
            raise InvalidInput({"n": f"must be at most {self._max_n}"})
        return int(significant)

    async def factorial(self, n: int) -> Factorial:
        local = self._local.get(n)
        if local is not None:
            self._on_lookup("memory")
            return Factorial(n, local, cached=True)
        pending = self._inflight.get(n)
        if pending is None:
            pending = asyncio.ensure_future(self._load(n))
            self._inflight[n] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(n, None))
        # shield: a client that goes away must not cancel the others' shared computation.
        decimal, cached = await asyncio.shield(pending)
        return Factorial(n, decimal, cached=cached)

    async def _load(self, n: int) -> tuple[str, bool]:
        # Below cache_min_n computing costs no more than a round trip to the cache.
        shared = await self._get_shared(n) if n >= self._cache_min_n else None
        if shared is not None:
            self._on_lookup("redis")
            self._remember(n, shared)
            return shared, True
        self._on_lookup("computed")
        decimal = await self._computer.compute(n)
        self._remember(n, decimal)
        if n >= self._cache_min_n:
            self._write_shared_in_background(n, decimal)
        return decimal, False

    async def _get_shared(self, n: int) -> str | None:
        try:
            decimal = await self._cache.get(n)
        except CacheUnavailable as error:
            self._cache_failed(error)
            return None
        self._cache_answered()
        if decimal is not None and not is_plausible_factorial(n, decimal):
            log.warning("factorial cache held a malformed value for n=%d; recomputing", n)
            return None
        return decimal

    def _remember(self, n: int, decimal: str) -> None:
        # ValueError: larger than the whole in-process tier; serve it without keeping it.
        with contextlib.suppress(ValueError):
            self._local[n] = decimal

    def _write_shared_in_background(self, n: int, decimal: str) -> None:
        # The response need not wait for the cache write; a slow Redis must not delay it.
        task = asyncio.ensure_future(self._set_shared(n, decimal))
        self._cache_writes.add(task)
        task.add_done_callback(self._cache_writes.discard)

    async def _set_shared(self, n: int, decimal: str) -> None:
        try:
            await self._cache.set(n, decimal)
        except CacheUnavailable as error:
            self._cache_failed(error)
        else:
            self._cache_answered()

    def _cache_failed(self, error: CacheUnavailable) -> None:
        # Once per outage, not once per request: a dead cache would flood the log otherwise.
        self._on_cache_unavailable()
        if not self._cache_down:
            self._cache_down = True
            log.warning(
                "factorial cache unavailable (%s): computing without it until it answers", error
            )

    def _cache_answered(self) -> None:
        if self._cache_down:
            self._cache_down = False
            log.info("factorial cache available again")

    async def drain(self) -> None:
        """Wait for background cache writes; called before the clients close."""
        if self._cache_writes:
            await asyncio.gather(*self._cache_writes, return_exceptions=True)
