"""Every request has an id: echoed in a header and in error bodies, and in its log lines."""

from __future__ import annotations

import logging

import pytest
from tornado.httpclient import AsyncHTTPClient

from factsvc.request_context import RequestIdFilter
from tests.support.api import Api

pytestmark = pytest.mark.gen_test


async def test_a_sane_incoming_request_id_is_kept(
    http_client: AsyncHTTPClient, base_url: str
) -> None:
    api = Api(http_client, base_url)
    reply = await api.get("/nowhere", headers={"X-Request-ID": "client-req-0001"})
    assert reply.headers["X-Request-ID"] == "client-req-0001"
    assert reply.body["request_id"] == "client-req-0001"


@pytest.mark.parametrize("incoming", [None, "short", "has space in it", "x" * 65, "new\\nline-id"])
async def test_otherwise_a_fresh_id_is_made(
    http_client: AsyncHTTPClient, base_url: str, incoming: str | None
) -> None:
    api = Api(http_client, base_url)
    headers = {"X-Request-ID": incoming} if incoming is not None else {}
    first = await api.get("/fact?n=x", headers=headers)
    second = await api.get("/fact?n=x", headers=headers)
    assert first.body["request_id"] == first.headers["X-Request-ID"]
    assert first.body["request_id"] != incoming
    assert first.body["request_id"] != second.body["request_id"]
    assert len(first.body["request_id"]) == 32


async def test_security_events_carry_the_request_id(
    http_client: AsyncHTTPClient, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="factsvc.security")
    caplog.handler.addFilter(RequestIdFilter())
    api = Api(http_client, base_url)
    await api.register()
    reply = await api.login(
        password="wrong password",
    )
    assert reply.status == 401
    await api.post(
        "/login",
        {"username": "alice", "password": "x" * 9},
        headers={"X-Request-ID": "trace-login-42"},
    )
    events = [r for r in caplog.records if getattr(r, "event", None) == "login_failed"]
    assert [getattr(r, "request_id", None) for r in events][-1] == "trace-login-42"
    assert all(getattr(r, "client", None) == "127.0.0.1" for r in events)
    assert all(getattr(r, "username", None) == "alice" for r in events)


async def test_a_newline_in_a_username_cannot_forge_a_log_line(
    http_client: AsyncHTTPClient, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="factsvc.security")
    api = Api(http_client, base_url)
    await api.post("/login", {"username": "bob\nINFO forged: admin logged in", "password": "x" * 9})
    assert "\nINFO forged" not in caplog.text
    assert any("bob\\ninfo" in record.getMessage() for record in caplog.records)
