"""How the factorial use case uses the shared cache: only for n worth a round trip, and without
it, said once, while it is down."""

from __future__ import annotations

import logging
import math

import pytest
from cachetools import LRUCache

from factsvc.services.factorial import FactorialService
from tests.support.fakes import CountingComputer, FakeCache

pytestmark = pytest.mark.gen_test

LOGGER = "factsvc.services.factorial"


class Outages:
    """Counts the service's on_cache_unavailable calls."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def make_service(
    cache: FakeCache, *, cache_min_n: int = 0, outages: Outages | None = None
) -> FactorialService:
    return FactorialService(
        cache=cache,
        computer=CountingComputer(),
        # No room in this process: every request goes to the shared cache or computes.
        local_cache=LRUCache(maxsize=1, getsizeof=len),
        max_n=100_000,
        cache_min_n=cache_min_n,
        on_cache_unavailable=outages or Outages(),
    )


async def test_an_n_below_the_minimum_is_computed_without_a_round_trip() -> None:
    cache = FakeCache()
    service = make_service(cache, cache_min_n=500)
    result = await service.factorial(499)
    await service.drain()
    assert result.decimal == str(math.factorial(499))
    assert (cache.gets, cache.values) == (0, {})


async def test_an_n_at_the_minimum_is_looked_up_and_stored() -> None:
    cache = FakeCache()
    service = make_service(cache, cache_min_n=500)
    await service.factorial(500)
    await service.drain()
    assert cache.gets == 1
    assert cache.values == {500: str(math.factorial(500))}


async def test_an_outage_is_logged_once_and_its_end_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    cache, outages = FakeCache(), Outages()
    service = make_service(cache, outages=outages)
    cache.available = False
    for n in (10, 11, 12):
        assert (await service.factorial(n)).decimal == str(math.factorial(n))
    await service.drain()
    cache.available = True
    await service.factorial(13)
    await service.factorial(14)
    await service.drain()

    messages = [record.getMessage() for record in caplog.records if record.name == LOGGER]
    assert messages == [
        "factorial cache unavailable (down): computing without it until it answers",
        "factorial cache available again",
    ]
    assert outages.count == 6, "each failed read and write is counted"
