"""Logins and password changes raced step by step on the fakes: whatever the interleaving, no
session opened with a replaced password outlives the change (tests/support/credential_races.py
holds the scenarios; tests/integration runs them on Redis and MongoDB)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.contract.subjects import ManualClock
from tests.support.credential_races import (
    LOGIN_PAUSES,
    SCENARIOS,
    Race,
    a_login_held_while_the_password_changes_opens_no_session,
)
from tests.support.fake_redis_stores import FakeCounterStore, FakeSessionStore
from tests.support.fakes import FakeAccountStore

pytestmark = pytest.mark.gen_test


@pytest.fixture
def race() -> Race:
    clock = ManualClock()
    return Race.build(
        FakeAccountStore(), FakeSessionStore(clock), FakeCounterStore(clock), clock.advance, clock
    )


@pytest.mark.parametrize("resumed_late", [False, True], ids=["at_once", "after_the_change_time"])
@pytest.mark.parametrize("pause", list(LOGIN_PAUSES))
async def test_a_login_held_while_the_password_changes_opens_no_session(
    race: Race, pause: str, resumed_late: bool
) -> None:
    await a_login_held_while_the_password_changes_opens_no_session(race, pause, resumed_late)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_a_race_between_login_and_password_change(
    race: Race, scenario: Callable[[Race], Awaitable[None]]
) -> None:
    await scenario(race)
