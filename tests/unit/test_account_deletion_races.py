"""Account deletions raced step by step with logins and password changes, and failed at each
step, on the fakes (tests/support/deletion_races.py holds the scenarios; tests/integration
runs them on Redis and MongoDB)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.contract.subjects import ManualClock
from tests.support.credential_races import LOGIN_PAUSES
from tests.support.deletion_races import (
    SCENARIOS,
    DeletionRace,
    a_login_held_while_the_account_is_deleted_opens_no_session,
)
from tests.support.fake_avatar_store import FakeAvatarStore
from tests.support.fake_redis_stores import FakeCounterStore, FakeSessionStore
from tests.support.fakes import FakeAccountStore

pytestmark = pytest.mark.gen_test


@pytest.fixture
def race() -> DeletionRace:
    clock = ManualClock()
    return DeletionRace.build(
        FakeAccountStore(),
        FakeSessionStore(clock),
        FakeCounterStore(clock),
        FakeAvatarStore(),
        clock.advance,
        clock,
    )


@pytest.mark.parametrize("resumed_late", [False, True], ids=["at_once", "after_the_change_time"])
@pytest.mark.parametrize("pause", list(LOGIN_PAUSES))
async def test_a_login_held_while_the_account_is_deleted_opens_no_session(
    race: DeletionRace, pause: str, resumed_late: bool
) -> None:
    await a_login_held_while_the_account_is_deleted_opens_no_session(race, pause, resumed_late)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_a_deletion_raced_or_failed_part_way(
    race: DeletionRace, scenario: Callable[[DeletionRace], Awaitable[None]]
) -> None:
    await scenario(race)
