"""The mailed account tokens as the composition root builds them: on the state's Redis, each
purpose living as long as its setting says."""

from __future__ import annotations

import pytest
import redis as redis_sync
import tornado.ioloop

from factsvc.config import Settings
from factsvc.services.account_tokens import TokenPurpose
from factsvc.storage.redis_account_tokens import TOKEN_PREFIX
from tests.support.servers import ServicesFactory, with_settings

USER = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("purpose", "ttl"),
    [
        (TokenPurpose.RESET_PASSWORD, "password_reset_ttl_seconds"),
        (TokenPurpose.VERIFY_EMAIL, "email_verify_ttl_seconds"),
    ],
)
def test_a_token_lives_in_the_state_redis_as_long_as_its_setting_says(
    services_factory: ServicesFactory,
    settings: Settings,
    redis_direct: redis_sync.Redis,
    io_loop: tornado.ioloop.IOLoop,
    purpose: TokenPurpose,
    ttl: str,
) -> None:
    services = services_factory(with_settings(settings, **{ttl: 120}))
    tokens = services.account_tokens
    assert tokens is not None
    assert tokens.ttl_seconds(purpose) == 120

    async def issue() -> str:
        return await tokens.issue(purpose, USER, email="ann@example.org", credential_version=2)

    token = io_loop.run_sync(issue)
    [record] = redis_direct.keys(TOKEN_PREFIX + "*")
    assert purpose.value.encode() in record
    assert 119_000 < redis_direct.pttl(record) <= 120_000

    async def peek_then_spend() -> tuple[object, bool, bool]:
        grant = await tokens.peek(purpose, token)
        return grant, await tokens.spend(purpose, token), await tokens.spend(purpose, token)

    grant, first, second = io_loop.run_sync(peek_then_spend)
    assert grant is not None
    assert (first, second) == (True, False)
