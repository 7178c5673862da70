"""The composition root: opens the clients, builds storage and services, and routes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import Executor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from cachetools import LRUCache
from tornado.web import Application

from factsvc.account_composition import account_services, cookie_secrets, open_account_base
from factsvc.avatar_composition import open_avatar_service, upload_policy
from factsvc.config import Settings
from factsvc.executors import BoundedExecutor, make_process_pool, make_thread_pool
from factsvc.factorial_computer import PooledFactorialComputer
from factsvc.handlers.base import NotFoundHandler
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.handlers.cors import CorsPolicy
from factsvc.handlers.session_cookie import CookiePolicy
from factsvc.inflight import InFlightRequests
from factsvc.mail_composition import open_mail
from factsvc.metrics import Metrics
from factsvc.observe import count_and_log, route_names
from factsvc.routes import ROUTES
from factsvc.services.account_deletion import AccountDeletionService
from factsvc.services.account_tokens import AccountTokenService
from factsvc.services.accounts import AccountService
from factsvc.services.avatar_store import AvatarStore
from factsvc.services.avatars import AvatarService
from factsvc.services.background import Background
from factsvc.services.email_verification import EmailVerificationService
from factsvc.services.factorial import FactorialService
from factsvc.services.health import ReadinessService
from factsvc.services.idempotency import IdempotencyService
from factsvc.services.mail import Outbox
from factsvc.services.mail_links import MailLinks
from factsvc.services.password_reset import PasswordResetService
from factsvc.services.session_list import SessionListService
from factsvc.storage import mongo, redis_client
from factsvc.storage.redis_cache_choice import choose_factorial_cache
from factsvc.storage.redis_idempotency import RedisIdempotencyStore


@dataclass(frozen=True)
class Services:
    factorials: FactorialService
    readiness: ReadinessService
    accounts: AccountService
    metrics: Metrics
    # None only in tests that mail no token.
    account_tokens: AccountTokenService | None = None
    pools: Mapping[str, BoundedExecutor] = field(default_factory=dict)
    local_cache_bytes: Callable[[], int] = lambda: 0
    # None: Idempotency-Key is ignored (only services built without Redis, in some tests).
    idempotency: IdempotencyService | None = None
    # None only in tests that serve no avatar route.
    avatars: AvatarService | None = None
    avatar_store: AvatarStore | None = None
    # None only in tests that serve no account deletion.
    account_deletion: AccountDeletionService | None = None
    # None only in tests that serve no sessions route.
    session_list: SessionListService | None = None
    # Mail (mail_composition.open_mail); None only in tests that send none.
    background: Background | None = None
    outbox: Outbox | None = None
    mail_links: MailLinks | None = None
    # None only in tests that serve no password reset route.
    password_reset: PasswordResetService | None = None
    # None only in tests that serve no email verification route.
    email_verification: EmailVerificationService | None = None


def make_app(
    settings: Settings, services: Services, in_flight: InFlightRequests | None = None
) -> Application:
    secrets, key_version = cookie_secrets(settings)
    clients = ClientAddressResolver(settings.trusted_proxies)
    # What the routes' handlers take in initialize(), by name; each route names its needs.
    dependencies: dict[str, object] = {
        "factorials": services.factorials,
        "readiness": services.readiness,
        "metrics": services.metrics,
        "accounts": services.accounts,
        "cookies": CookiePolicy.build(
            settings.session_cookie_name,
            debug=settings.debug,
            samesite=settings.session_cookie_samesite,
            max_age_seconds=settings.session_absolute_seconds,
            secrets=secrets,
            key_version=key_version,
        ),
        "clients": clients,
        "idempotency": services.idempotency,
        "account_deletion": services.account_deletion,
        "avatars": services.avatars,
        "session_list": services.session_list,
        "password_reset": services.password_reset,
        "email_verification": services.email_verification,
        "uploads": upload_policy(settings),
    }
    routes = [route.rule(dependencies) for route in ROUTES]
    return Application(
        routes,
        default_handler_class=NotFoundHandler,
        # Tornado's `debug` means autoreload, which cannot run with several processes; DEBUG
        # here only adds detail to 5xx error bodies.
        debug=False,
        serve_traceback=False,
        debug_detail=settings.debug,
        # Tornado 6.6's CSRF defence: unsafe methods from foreign origins are refused (403).
        cross_origin_protection=True,
        trusted_origins=list(settings.cors_origins),
        cors=CorsPolicy(settings.cors_allowed_headers, settings.cors_max_age_seconds),
        log_function=count_and_log(
            services.metrics,
            route_names((route.path, route.handler, {}) for route in ROUTES),
            clients,
        ),
        in_flight=in_flight,
        max_request_body=settings.http_max_body_bytes,
    )


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Create every loop-bound client inside the running loop, and close them all on exit."""
    async with AsyncExitStack() as stack:
        metrics = Metrics()
        redis = redis_client.make_redis(settings, "state")
        stack.push_async_callback(redis_client.close, redis)
        mongo_client = mongo.make_mongo_client(settings)
        # close() ends the server sessions over the network and blocks while it does: in a
        # thread, so that a slow or unreachable MongoDB cannot freeze the loop at shutdown.
        stack.push_async_callback(asyncio.to_thread, mongo_client.close)
        process_pool = make_process_pool(settings.fact_workers)
        stack.callback(process_pool.shutdown, wait=True, cancel_futures=True)
        bcrypt_threads = make_thread_pool(settings.bcrypt_threads or os.cpu_count() or 1, "bcrypt")
        stack.callback(bcrypt_threads.shutdown, wait=True, cancel_futures=True)

        factorial_runner = bounded(
            process_pool,
            "factorial",
            settings.fact_max_pending,
            settings.fact_max_wait_seconds,
            metrics,
        )
        # Sized by characters: a value's decimal digits, which is about its size in memory.
        local_cache: LRUCache[int, str] = LRUCache(
            maxsize=max(settings.fact_local_cache_bytes, 1), getsizeof=len
        )
        cache_redis = redis
        if not redis_client.cache_uses_state_client(settings):
            cache_redis = redis_client.make_redis(settings, "cache")
            stack.push_async_callback(redis_client.close, cache_redis)
        await redis_client.warn_unless_writable(
            redis, "REDIS_TOPOLOGY", settings.readiness_timeout_seconds
        )
        if cache_redis is not redis:
            await redis_client.warn_unless_writable(
                cache_redis, "REDIS_CACHE_TOPOLOGY", settings.readiness_timeout_seconds
            )
        factorials = FactorialService(
            cache=await choose_factorial_cache(
                cache_redis,
                state=redis,
                ttl_seconds=settings.fact_cache_ttl,
                max_bytes=settings.fact_cache_max_bytes,
            ),
            computer=PooledFactorialComputer(factorial_runner),
            local_cache=local_cache,
            max_n=settings.fact_max_n,
            cache_min_n=settings.fact_cache_min_n,
            on_lookup=metrics.count_lookup,
            on_cache_unavailable=metrics.fact_cache_unavailable.inc,
        )
        stack.push_async_callback(factorials.drain)
        bcrypt_runner = bounded(
            bcrypt_threads,
            "bcrypt",
            settings.bcrypt_max_pending,
            settings.bcrypt_max_wait_seconds,
            metrics,
        )
        base = await open_account_base(
            settings, redis=redis, mongo_client=mongo_client, hashing=bcrypt_runner
        )
        idempotency = IdempotencyService(
            RedisIdempotencyStore(redis),
            secret=settings.session_cookie_secret.encode("utf-8"),
            ttl_seconds=settings.idempotency_key_ttl_seconds,
            keys_per_scope=settings.idempotency_keys_per_scope,
            unknown_seconds=settings.register_unknown_outcome_seconds,
        )
        mail = open_mail(settings)
        avatars, avatar_store, avatar_runner = await open_avatar_service(
            settings,
            stack,
            mongo_client=mongo_client,
            accounts=base.store,
            sessions=base.sessions,
            limiter=base.limiter,
            metrics=metrics,
        )
        built = account_services(
            settings, base, redis=redis, idempotency=idempotency, mail=mail, avatars=avatar_store
        )
        readiness = ReadinessService(
            {
                "redis": lambda: redis_client.writable(redis),
                "mongodb": lambda: mongo.ping(mongo_client),
            },
            timeout_seconds=settings.readiness_timeout_seconds,
        )
        # Pushed last, so run first at exit: mail jobs still reach Redis and MongoDB.
        stack.push_async_callback(mail.background.drain, settings.shutdown_grace_seconds)
        yield Services(
            factorials=factorials,
            readiness=readiness,
            accounts=built.accounts,
            metrics=metrics,
            account_tokens=built.account_tokens,
            pools={"bcrypt": bcrypt_runner, "factorial": factorial_runner, "avatar": avatar_runner},
            local_cache_bytes=lambda: int(local_cache.currsize),
            idempotency=idempotency,
            avatars=avatars,
            avatar_store=avatar_store,
            account_deletion=built.account_deletion,
            session_list=built.session_list,
            password_reset=built.password_reset,
            email_verification=built.email_verification,
            background=mail.background,
            outbox=mail.outbox,
            mail_links=mail.links,
        )


def bounded(
    executor: Executor, pool: str, max_pending: int, max_wait_seconds: float, metrics: Metrics
) -> BoundedExecutor:
    return BoundedExecutor(
        executor,
        max_pending=max_pending,
        max_wait_seconds=max_wait_seconds,
        what=pool,
        on_reject=metrics.rejections.labels(pool).inc,
    )
