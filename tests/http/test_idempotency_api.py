"""Idempotency-Key over real sockets: replays, refusals and scopes on /register and
/account/edit, against the real redis-server and MongoDB-compatible server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis as redis_sync
import tornado.web
from tornado.httpclient import AsyncHTTPClient

from factsvc.config import Settings
from factsvc.storage.redis_idempotency import PREFIX
from tests.support.api import PASSWORD, Api, Reply
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

NEW_PASSWORD = "a brand new secret"


def new_key() -> str:
    return str(uuid.uuid4())


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": f'"{key}"'}


@pytest.fixture
def other(http_client: AsyncHTTPClient, base_url: str) -> Api:
    return Api(http_client, base_url)


async def register(api: Api, key: str, password: str = PASSWORD, name: str = "alice") -> Reply:
    body = {"username": name, "password": password}
    return await api.post("/register", body, headers=keyed(key))


async def test_a_registration_retried_with_its_key_gets_the_first_answer(
    api: Api, users: Any
) -> None:
    key = new_key()
    first = await register(api, key)
    assert first.status == 201
    for retry in (
        await register(api, key),
        await api.post(
            "/register",
            {"password": PASSWORD, "username": "alice"},
            headers={"Idempotency-Key": key},
        ),
    ):
        assert (retry.status, retry.body) == (201, first.body), "same key, same body, bare key"
    assert users.count_documents({"username": "alice"}) == 1


async def test_a_refusal_after_the_checks_is_kept_and_replayed(api: Api) -> None:
    assert (await api.register()).status == 201
    key = new_key()
    first = await register(api, key, password="someone else's secret")
    assert (first.status, first.code, first.body["errors"]) == (409, 8, {"username": "is taken"})
    retry = await register(api, key, password="someone else's secret")
    assert (retry.status, retry.code, retry.body["errors"]) == (409, 8, {"username": "is taken"})
    assert retry.body["request_id"] == retry.headers["X-Request-ID"] != first.body["request_id"]


async def test_a_key_sent_again_with_another_body_is_refused_with_422(api: Api) -> None:
    key = new_key()
    assert (await register(api, key)).status == 201
    reused = await register(api, key, password="a different password")
    assert (reused.status, reused.code) == (422, 3)
    assert set(reused.body["errors"]) == {"Idempotency-Key"}


async def test_a_key_is_scoped_so_that_another_client_never_gets_its_answer(
    api: Api, other: Api
) -> None:
    key = new_key()
    mine = await register(api, key, name="alice")
    theirs = await register(other, key, name="bob")
    assert (mine.status, theirs.status) == (201, 201)
    assert theirs.body["user"]["username"] == "bob", "a new request, not alice's answer"

    assert (await api.login("alice")).status == 200
    assert (await other.login("bob")).status == 200
    edit_key = new_key()
    body = {"nickname": "Ally"}
    first = await api.post("/account/edit", body, headers=keyed(edit_key))
    second = await other.post("/account/edit", body, headers=keyed(edit_key))
    assert first.body["user"]["username"] == "alice"
    assert second.body["user"]["username"] == "bob", "another session, its own request"


async def test_a_profile_edit_retried_with_its_key_is_not_applied_twice(api: Api) -> None:
    await api.register()
    await api.login()
    key = new_key()
    first = await api.post("/account/edit", {"nickname": "Ally"}, headers=keyed(key))
    assert first.status == 200
    await api.post("/account/edit", {"nickname": "Later"})
    retry = await api.post("/account/edit", {"nickname": "Ally"}, headers=keyed(key))
    assert (retry.status, retry.body) == (200, first.body)
    assert (await api.get("/account/info")).body["user"]["nickname"] == "Later"


async def test_a_password_change_is_never_kept_and_its_retry_must_log_in_again(
    api: Api, redis_direct: redis_sync.Redis
) -> None:
    await api.register()
    token = (await api.login()).body["token"]
    key = new_key()
    change = {"password": NEW_PASSWORD, "old_password": PASSWORD}
    changed = await api.post("/account/edit", change, headers=keyed(key), token=token)
    assert changed.status == 200
    assert changed.body["token"] != token
    assert list(redis_direct.scan_iter(PREFIX + "*")) == [], "no token is ever stored"
    retry = await api.post("/account/edit", change, headers=keyed(key), token=token)
    assert (retry.status, retry.code) == (401, 4), "never 403, never the new token again"
    assert (await api.login(password=NEW_PASSWORD)).status == 200


@pytest.mark.parametrize(
    "value", ["short", "x" * 129, "has space in it 0123", '"unterminated-0123456789', "é" * 20]
)
async def test_a_malformed_key_is_refused_before_anything_happens(
    api: Api, users: Any, value: str
) -> None:
    reply = await api.post(
        "/register", {"username": "alice", "password": PASSWORD}, headers={"Idempotency-Key": value}
    )
    assert (reply.status, reply.code) == (400, 3)
    assert set(reply.body["errors"]) == {"Idempotency-Key"}
    assert users.count_documents({}) == 0


async def test_bad_input_is_never_kept(api: Api, redis_direct: redis_sync.Redis) -> None:
    key = new_key()
    for _ in range(2):
        bad = await api.post(
            "/register", {"username": "al", "password": PASSWORD}, headers=keyed(key)
        )
        assert (bad.status, bad.code) == (400, 3)
    assert list(redis_direct.scan_iter(PREFIX + "*")) == []
    assert (
        await api.post("/register", {"username": "al1", "password": PASSWORD}, headers=keyed(key))
    ).status == 201


async def test_login_ignores_the_key_and_always_opens_a_new_session(api: Api) -> None:
    await api.register()
    key = new_key()
    first = await api.post(
        "/login", {"username": "alice", "password": PASSWORD}, headers=keyed(key)
    )
    second = await api.post(
        "/login", {"username": "alice", "password": PASSWORD}, headers=keyed(key)
    )
    assert (first.status, second.status) == (200, 200)
    assert first.body["token"] != second.body["token"]


class TestKeysPerScope:
    @pytest.fixture
    def app(self, app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
        return app_factory(with_settings(settings, idempotency_keys_per_scope=2))

    async def test_a_session_past_its_bound_is_refused_a_new_key_but_retries_still_replay(
        self, api: Api, other: Api
    ) -> None:
        await api.register()
        await api.login()
        keys = [new_key() for _ in range(3)]
        first = await api.post("/account/edit", {"nickname": "One"}, headers=keyed(keys[0]))
        second = await api.post("/account/edit", {"nickname": "Two"}, headers=keyed(keys[1]))
        assert (first.status, second.status) == (200, 200)
        refused = await api.post("/account/edit", {"nickname": "Three"}, headers=keyed(keys[2]))
        assert (refused.status, refused.code) == (429, 9)
        assert 1 <= int(refused.headers["Retry-After"]) <= 86400
        assert (await api.get("/account/info")).body["user"]["nickname"] == "Two", "nothing ran"
        retry = await api.post("/account/edit", {"nickname": "One"}, headers=keyed(keys[0]))
        assert (retry.status, retry.body) == (200, first.body)
        assert (await api.post("/account/edit", {"nickname": "Four"})).status == 200, "no key"

        await other.login()
        another_session = await other.post(
            "/account/edit", {"nickname": "Three"}, headers=keyed(keys[2])
        )
        assert another_session.status == 200, "another session has its own bound"
