"""The access log over real sockets: each answer's line names the client as the rate limits
see it, through a trusted proxy's X-Forwarded-For and never through anyone else's."""

from __future__ import annotations

import logging

import pytest
import tornado.web

from factsvc.config import Settings
from tests.support.api import Api
from tests.support.servers import AppFactory, with_settings

pytestmark = pytest.mark.gen_test(timeout=30)

FORWARDED = {"X-Forwarded-For": "198.51.100.23, 203.0.113.7"}


@pytest.fixture(params=["trusted", "untrusted", "elsewhere"])
def proxies(request: pytest.FixtureRequest) -> str:
    """The test client (127.0.0.1) as a trusted proxy, as an untrusted peer with no proxies
    listed, or with only another network's proxies trusted."""
    return str(request.param)


@pytest.fixture
def app(app_factory: AppFactory, settings: Settings, proxies: str) -> tornado.web.Application:
    trusted = {"trusted": ("127.0.0.1",), "untrusted": (), "elsewhere": ("10.0.0.0/8",)}
    return app_factory(with_settings(settings, trusted_proxies=trusted[proxies]))


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "factsvc.access"]


async def test_the_access_log_names_the_client_a_trusted_proxy_forwards_and_no_other(
    api: Api, proxies: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "factsvc.access"):
        assert (await api.get("/fact?n=5", headers=FORWARDED)).status == 200
        assert (await api.get("/nowhere", headers=FORWARDED)).status == 404
        assert (await api.get("/healthz")).status == 200
    forwarded = "203.0.113.7" if proxies == "trusted" else "127.0.0.1"
    expected = [forwarded, forwarded, "127.0.0.1"]  # without the header: the peer
    records = access_records(caplog)
    assert [record.getMessage().split()[-1] for record in records] == expected
    assert [getattr(record, "client", None) for record in records] == expected
    if proxies != "trusted":
        assert not any("203.0.113.7" in record.getMessage() for record in records)
