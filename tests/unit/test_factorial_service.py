"""The factorial use case against in-memory fakes."""

from __future__ import annotations

import asyncio
import math

import pytest
from cachetools import LRUCache

from factsvc.errors import InvalidInput
from factsvc.services.factorial import FactorialService
from tests.support.fakes import CountingComputer, FakeCache

pytestmark = pytest.mark.gen_test


def make_service(
    cache: FakeCache | None = None,
    computer: CountingComputer | None = None,
    local_bytes: int = 1 << 20,
    max_n: int = 100_000,
) -> FactorialService:
    return FactorialService(
        cache=cache or FakeCache(),
        computer=computer or CountingComputer(),
        local_cache=LRUCache(maxsize=local_bytes, getsizeof=len),
        max_n=max_n,
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [(["0"], 0), (["5"], 5), (["05"], 5), (["000"], 0), (["100000"], 100_000)],
)
def test_parse_n_accepts_plain_ascii_digits(values: list[str], expected: int) -> None:
    assert make_service().parse_n(values) == expected


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["1", "2"],
        ["5", "5"],
        [""],
        ["1.5"],
        ["-1"],
        ["+7"],
        [" 5"],
        ["5 "],
        ["1_0"],
        ["٣"],
        ["1e3"],
        ["100001"],
        ["9" * 10_000],
        ["0" * 50 + "100001"],
    ],
)
def test_parse_n_refuses_anything_else_with_a_reason_for_n(values: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_service().parse_n(values)
    assert set(caught.value.errors) == {"n"}


async def test_the_first_request_computes_and_the_next_is_cached() -> None:
    cache, computer = FakeCache(), CountingComputer()
    service = make_service(cache, computer)
    first = await service.factorial(10)
    second = await service.factorial(10)
    assert (first.decimal, first.cached) == ("3628800", False)
    assert (second.decimal, second.cached) == ("3628800", True)
    assert computer.calls == [10]
    assert cache.values == {10: "3628800"}


async def test_a_hot_value_needs_no_shared_cache_round_trip() -> None:
    cache = FakeCache()
    service = make_service(cache)
    await service.factorial(10)
    gets_after_first = cache.gets
    for _ in range(5):
        await service.factorial(10)
    assert cache.gets == gets_after_first


async def test_a_value_in_the_shared_cache_is_served_without_computing() -> None:
    cache, computer = FakeCache(), CountingComputer()
    cache.values[12] = str(math.factorial(12))
    result = await make_service(cache, computer).factorial(12)
    assert result.cached is True
    assert computer.calls == []


async def test_a_malformed_shared_value_is_replaced_by_a_computed_one() -> None:
    cache, computer = FakeCache(), CountingComputer()
    cache.values[12] = str(math.factorial(11))
    result = await make_service(cache, computer).factorial(12)
    assert (result.decimal, result.cached) == (str(math.factorial(12)), False)
    await asyncio.sleep(0)
    assert cache.values[12] == str(math.factorial(12))


async def test_an_unavailable_cache_still_gives_the_right_answer() -> None:
    cache, computer = FakeCache(), CountingComputer()
    cache.available = False
    service = make_service(cache, computer)
    result = await service.factorial(8)
    await service.drain()
    assert (result.decimal, result.cached) == ("40320", False)


async def test_concurrent_requests_for_one_n_share_one_computation() -> None:
    computer = CountingComputer()
    computer.release.clear()
    service = make_service(computer=computer)
    requests = [asyncio.ensure_future(service.factorial(1000)) for _ in range(20)]
    await asyncio.sleep(0.01)
    computer.release.set()
    results = await asyncio.gather(*requests)
    assert computer.calls == [1000]
    assert {r.decimal for r in results} == {str(math.factorial(1000))}


async def test_a_cancelled_request_does_not_cancel_the_shared_computation() -> None:
    computer = CountingComputer()
    computer.release.clear()
    service = make_service(computer=computer)
    leaver = asyncio.ensure_future(service.factorial(50))
    stayer = asyncio.ensure_future(service.factorial(50))
    await asyncio.sleep(0)
    leaver.cancel()
    computer.release.set()
    assert (await stayer).decimal == str(math.factorial(50))


async def test_the_in_process_tier_stays_within_its_byte_budget() -> None:
    computer = CountingComputer()
    local: LRUCache[int, str] = LRUCache(maxsize=3000, getsizeof=len)
    service = FactorialService(
        cache=FakeCache(), computer=computer, local_cache=local, max_n=100_000
    )
    for n in range(100, 1100, 100):
        await service.factorial(n)
    assert local.currsize <= 3000
    assert 1000 in local, "the most recent value is kept"
    assert 100 not in local, "the least recent value is evicted"


async def test_a_value_larger_than_the_whole_tier_is_served_but_not_kept() -> None:
    local: LRUCache[int, str] = LRUCache(maxsize=100, getsizeof=len)
    service = FactorialService(
        cache=FakeCache(), computer=CountingComputer(), local_cache=local, max_n=100_000
    )
    result = await service.factorial(1000)
    assert result.decimal == str(math.factorial(1000))
    assert 1000 not in local
