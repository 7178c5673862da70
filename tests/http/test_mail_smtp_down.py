"""The SMTP server down: registration, address changes, resends and password resets answer as
with a working server, and the failures are logged without the token or the link."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import tornado.web

from factsvc.config import Settings
from factsvc.embedded import LOOPBACK, free_port
from tests.support.api import PASSWORD, Api
from tests.support.polling import eventually_async
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=60)

ADDRESS = "alice@example.com"
ATTEMPTS = 2


async def attempts_logged(caplog: pytest.LogCaptureFixture, purpose: str, count: int) -> list[str]:
    """Every captured line, once `count` send attempts of mail `purpose` are among them.

    A mail job that finds a newer token of its user and purpose mails nothing (only the newest
    link is mailed), so each test waits for one action's attempts before the next action.
    """

    def attempts() -> list[str]:
        return [line for line in logged(caplog) if purpose in line and "attempt" in line]

    await eventually_async(
        attempts,
        10.0,
        f"{count} {purpose} attempts logged",
        accept=lambda found: len(found) >= count,
    )
    return logged(caplog)


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [caplog.handler.format(record) for record in caplog.records]


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings) -> tornado.web.Application:
    # A free port nobody listens on: every connection is refused, a temporary failure.
    return app_factory(
        with_settings(
            settings,
            smtp_url=f"smtp://{LOOPBACK}:{free_port()}",
            mail_send_attempts=ATTEMPTS,
            mail_retry_seconds=0.05,
        )
    )


async def test_every_answer_is_as_with_smtp_up_and_the_failures_are_logged_without_the_link(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    registered = await api.post(
        "/register", {"username": "alice", "password": PASSWORD, "email": ADDRESS}
    )
    assert registered.status == 201, registered.body
    assert registered.body["user"]["email"] == ADDRESS
    await attempts_logged(caplog, "verify-email", ATTEMPTS)
    login = await api.login(session="token")
    headers = {"Authorization": f"Bearer {login.body['token']}"}
    body = {"email": "alice@example.org", "old_password": PASSWORD}
    edited = await api.post("/account/edit", body, headers=headers)
    assert (edited.status, edited.body["user"]["email"]) == (200, "alice@example.org")
    await attempts_logged(caplog, "verify-email", 2 * ATTEMPTS)
    resent = await api.post("/account/email/verification", headers=headers)
    assert (resent.status, resent.body) == (202, {"code": 0, "message": ""})
    lines = await attempts_logged(caplog, "verify-email", 3 * ATTEMPTS)
    assert not [line for line in lines if "#token=" in line or "/email/verify#" in line]
    assert not [line for line in lines if "alice@example" in line and "mail" in line.lower()]


async def test_forgot_answers_202_and_the_failure_is_logged_without_the_link(
    api: Api, users: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    registered = await api.post(
        "/register", {"username": "alice", "password": PASSWORD, "email": ADDRESS}
    )
    assert registered.status == 201
    users.update_one({"username": "alice"}, {"$set": {"email_verified": True}})
    for mailed, body in enumerate(({"email": ADDRESS}, {"username": "alice"}), start=1):
        answer = await api.post("/password/forgot", body)
        assert (answer.status, answer.body) == (202, {"code": 0, "message": ""}), body
        await attempts_logged(caplog, "reset-password", mailed * ATTEMPTS)
    unknown = await api.post("/password/forgot", {"email": "nobody@example.com"})
    assert (unknown.status, unknown.body) == (202, {"code": 0, "message": ""})
    lines = [caplog.handler.format(record) for record in caplog.records]
    assert not [line for line in lines if "#token=" in line or "/password/reset#" in line]
    assert not [line for line in lines if ADDRESS in line and "mail" in line.lower()]
    assert (await api.login(password=PASSWORD)).status == 200
