"""An unexpected exception still answers with the JSON envelope, and never leaks its details."""

from __future__ import annotations

import orjson
import pytest
import tornado.web
from cachetools import LRUCache
from tornado.httpclient import AsyncHTTPClient

from factsvc.app import Services, make_app
from factsvc.config import Settings
from factsvc.metrics import Metrics
from factsvc.services.factorial import Factorial, FactorialService
from factsvc.services.health import ReadinessService
from tests.support.fakes import CountingComputer, FakeCache, fake_account_service
from tests.support.servers import with_settings

pytestmark = pytest.mark.gen_test

SECRET_DETAIL = "driver said: mongodb://admin:hunter2@10.1.2.3:27017"


class ExplodingFactorials(FactorialService):
    async def factorial(self, n: int) -> Factorial:
        raise RuntimeError(SECRET_DETAIL)


def services() -> Services:
    return Services(
        factorials=ExplodingFactorials(
            cache=FakeCache(), computer=CountingComputer(), local_cache=LRUCache(10), max_n=10
        ),
        readiness=ReadinessService({}, timeout_seconds=0.1),
        accounts=fake_account_service(),
        metrics=Metrics(),
    )


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def app(request: pytest.FixtureRequest, settings: Settings) -> tornado.web.Application:
    return make_app(with_settings(settings, debug=request.param), services())


async def test_an_unexpected_exception_gives_a_500_envelope(
    http_client: AsyncHTTPClient, base_url: str, app: tornado.web.Application
) -> None:
    response = await http_client.fetch(f"{base_url}/fact?n=3", raise_error=False)
    assert response.code == 500
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    body = orjson.loads(response.body)
    assert body["code"] == 2
    assert body["message"] == "system error"
    assert b"Traceback" not in response.body
    if app.settings["debug_detail"]:
        assert "RuntimeError" in body["detail"]
    else:
        assert set(body) == {"code", "message", "request_id"}
        assert b"hunter2" not in response.body
