"""The composition root: opens the clients, builds storage and services, and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from tornado.web import Application, RequestHandler

from factsvc.compute import PooledFactorialComputer, make_process_pool
from factsvc.config import Settings
from factsvc.handlers.base import NotFoundHandler
from factsvc.handlers.factorial import FactorialHandler
from factsvc.handlers.health import HealthHandler, ReadinessHandler
from factsvc.inflight import InFlightRequests
from factsvc.logs import log_request
from factsvc.services.factorial import FactorialService
from factsvc.services.health import ReadinessService
from factsvc.storage import mongo, redis_client
from factsvc.storage.redis_cache import RedisFactorialCache


@dataclass(frozen=True)
class Services:
    factorials: FactorialService
    readiness: ReadinessService


def make_app(
    settings: Settings, services: Services, in_flight: InFlightRequests | None = None
) -> Application:
    routes: list[tuple[str, type[RequestHandler], dict[str, Any]]] = [
        (r"/fact", FactorialHandler, {"factorials": services.factorials}),
        (r"/healthz", HealthHandler, {}),
        (r"/readyz", ReadinessHandler, {"readiness": services.readiness}),
    ]
    return Application(
        routes,
        default_handler_class=NotFoundHandler,
        # Tornado's `debug` means autoreload, which cannot run with several processes; DEBUG
        # here only adds detail to 5xx error bodies.
        debug=False,
        serve_traceback=False,
        debug_detail=settings.debug,
        compress_response=True,
        cookie_secret=settings.session_cookie_secret,
        log_function=log_request,
        in_flight=in_flight,
    )


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Create every loop-bound client inside the running loop, and close them all on exit."""
    async with AsyncExitStack() as stack:
        redis = redis_client.make_redis(settings)
        stack.push_async_callback(redis.aclose, close_connection_pool=True)
        mongo_client = mongo.make_mongo_client(settings)
        stack.callback(mongo_client.close)
        pool = make_process_pool(settings.fact_workers)
        stack.callback(pool.shutdown, wait=True, cancel_futures=True)

        factorials = FactorialService(
            cache=RedisFactorialCache(redis, ttl_seconds=settings.fact_cache_ttl),
            computer=PooledFactorialComputer(pool, max_pending=settings.fact_max_pending),
            local_cache=LRUCache(maxsize=max(settings.fact_local_cache_bytes, 1), getsizeof=len),
            max_n=settings.fact_max_n,
        )
        stack.push_async_callback(factorials.drain)
        readiness = ReadinessService(
            {
                "redis": lambda: redis_client.ping(redis),
                "mongodb": lambda: mongo.ping(mongo_client),
            },
            timeout_seconds=settings.readiness_timeout_seconds,
        )
        yield Services(factorials=factorials, readiness=readiness)
