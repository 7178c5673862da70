"""Identity over HTTP: look-alike usernames reach no account; nicknames must show something."""

from __future__ import annotations

import pytest

from factsvc.services.bodies import VISIBLE
from tests.support.api import PASSWORD, Api, Reply

pytestmark = pytest.mark.gen_test(timeout=60)


def _answer(reply: Reply) -> tuple[int, dict[str, object], list[str]]:
    body = {k: v for k, v in reply.body.items() if k != "request_id"}
    headers = sorted(name for name in reply.headers if name not in {"Date", "X-Request-Id"})
    return reply.status, body, headers


@pytest.mark.parametrize(
    ("look_alike", "account"),
    [("\u212aelvin1", "kelvin1"), ("\u0130van1", "ivan1"), ("\uff4belvin1", "kelvin1")],
)
async def test_a_look_alike_username_gets_the_wrong_password_answer(
    api: Api, look_alike: str, account: str
) -> None:
    assert (await api.register(account)).status == 201
    reply = await api.login(look_alike, PASSWORD)
    assert (reply.status, reply.code) == (401, 1001)
    assert reply.set_cookies() == []
    wrong = await api.login(account, "wrong " + PASSWORD)
    assert _answer(reply) == _answer(wrong)
    assert (await api.login(account.upper(), PASSWORD)).status == 200


@pytest.mark.parametrize("nickname", ["\u3164", "\u2800", "\u0301\u0308", "\u3164 \u3164"])
async def test_a_nickname_with_nothing_visible_is_refused(api: Api, nickname: str) -> None:
    body = {"username": "alice", "password": PASSWORD, "nickname": nickname}
    refused = await api.post("/register", body)
    assert (refused.status, refused.code) == (400, 3)
    assert refused.body["errors"] == {"nickname": VISIBLE}
    await api.register()
    await api.login()
    edit = await api.post("/account/edit", {"nickname": nickname})
    assert (edit.status, edit.body["errors"]) == (400, {"nickname": VISIBLE})
    assert (await api.post("/account/edit", {"nickname": "\u3164x"})).status == 200
