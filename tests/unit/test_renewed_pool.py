"""RenewedProcessPool: a pool whose worker died runs the next jobs in a new one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest

from factsvc.executors import make_process_pool
from factsvc.renewed_pool import RenewedProcessPool


def die() -> None:
    os._exit(3)  # a worker crashing, as a native codec can


def pid() -> int:
    return os.getpid()


@pytest.fixture
def pool() -> Iterator[RenewedProcessPool]:
    renewed = RenewedProcessPool(lambda: make_process_pool(1))
    yield renewed
    renewed.shutdown(wait=True, cancel_futures=True)


def test_a_job_after_a_worker_died_runs_in_a_new_pool(pool: RenewedProcessPool) -> None:
    first = pool.submit(pid).result(timeout=60)
    with pytest.raises(BrokenProcessPool):
        pool.submit(die).result(timeout=60)
    second = pool.submit(pid).result(timeout=60)
    assert second != first
    assert pool.renewals == 1
    assert pool.submit(pid).result(timeout=60) == second


def test_a_healthy_pool_is_kept(pool: RenewedProcessPool) -> None:
    assert pool.submit(pid).result(timeout=60) == pool.submit(pid).result(timeout=60)
    assert pool.renewals == 0
