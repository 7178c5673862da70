"""A subclass of a mapped domain error answers like its parent, over real sockets."""

from __future__ import annotations

import orjson
import pytest
import tornado.web
from cachetools import LRUCache
from tornado.httpclient import AsyncHTTPClient

from factsvc.app import Services, make_app
from factsvc.config import Settings
from factsvc.errors import FactsvcError, InvalidInput, NotAuthenticated, RateLimited
from factsvc.metrics import Metrics
from factsvc.services.factorial import Factorial, FactorialService
from factsvc.services.health import ReadinessService
from tests.support.fakes import CountingComputer, FakeCache, fake_account_service

pytestmark = pytest.mark.gen_test


class SessionRevoked(NotAuthenticated):
    pass


class TooManyFactorials(RateLimited):
    pass


class OutOfRange(InvalidInput):
    pass


ERRORS: dict[str, FactsvcError] = {
    "1": SessionRevoked("revoked"),
    "2": TooManyFactorials(17),
    "3": OutOfRange({"n": "is out of range"}),
}


class RaisingFactorials(FactorialService):
    async def factorial(self, n: int) -> Factorial:
        raise ERRORS[str(n)]


@pytest.fixture
def app(settings: Settings) -> tornado.web.Application:
    services = Services(
        factorials=RaisingFactorials(
            cache=FakeCache(), computer=CountingComputer(), local_cache=LRUCache(10), max_n=10
        ),
        readiness=ReadinessService({}, timeout_seconds=0.1),
        accounts=fake_account_service(),
        metrics=Metrics(),
    )
    return make_app(settings, services)


async def test_subclasses_of_mapped_errors_get_their_parents_answers(
    http_client: AsyncHTTPClient, base_url: str, app: tornado.web.Application
) -> None:
    revoked = await http_client.fetch(f"{base_url}/fact?n=1", raise_error=False)
    assert revoked.code == 401
    assert orjson.loads(revoked.body)["code"] == 4

    limited = await http_client.fetch(f"{base_url}/fact?n=2", raise_error=False)
    assert limited.code == 429
    assert limited.headers["Retry-After"] == "17"
    assert orjson.loads(limited.body)["code"] == 9

    invalid = await http_client.fetch(f"{base_url}/fact?n=3", raise_error=False)
    assert invalid.code == 400
    body = orjson.loads(invalid.body)
    assert body["code"] == 3
    assert body["errors"] == {"n": "is out of range"}
