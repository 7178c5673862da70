"""The accounts' part of the composition root: the account store, password hashing, sessions
and their cookie secrets, the attempt limits, and the services of accounts, sessions and
mailed tokens, for app.py."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from dataclasses import dataclass

from factsvc.config import Settings
from factsvc.errors import DependencyUnavailable
from factsvc.executors import BoundedExecutor
from factsvc.mail_composition import Mail
from factsvc.services import user_agents
from factsvc.services.account_deletion import AccountDeletionService
from factsvc.services.account_tokens import AccountTokenService, TokenPurpose
from factsvc.services.accounts import AccountService
from factsvc.services.avatar_store import AvatarStore
from factsvc.services.email_verification import EmailVerificationService
from factsvc.services.idempotency import IdempotencyService
from factsvc.services.limits import AttemptLimits, Limit, RateLimiter
from factsvc.services.password_reset import PasswordResetService
from factsvc.services.passwords import PasswordHasher
from factsvc.services.session_list import SessionListService
from factsvc.services.sessions import SessionService
from factsvc.storage import mongo
from factsvc.storage.mongo import MongoClient
from factsvc.storage.mongo_accounts import MongoAccountStore
from factsvc.storage.redis_account_tokens import RedisAccountTokenStore
from factsvc.storage.redis_client import RedisClient
from factsvc.storage.redis_counters import RedisCounterStore
from factsvc.storage.redis_sessions import RedisSessionStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountBase:
    """What the account services and the avatars share: the store, the password hasher,
    sessions and the attempt counters."""

    store: MongoAccountStore
    hasher: PasswordHasher
    sessions: SessionService
    limiter: RateLimiter


@dataclass(frozen=True)
class AccountServices:
    """The services built over an AccountBase, for Services and the routes."""

    accounts: AccountService
    account_tokens: AccountTokenService
    email_verification: EmailVerificationService
    password_reset: PasswordResetService
    account_deletion: AccountDeletionService
    session_list: SessionListService


async def open_account_base(
    settings: Settings, *, redis: RedisClient, mongo_client: MongoClient, hashing: BoundedExecutor
) -> AccountBase:
    """The account store (its indexes created now, or before the first insert when MongoDB is
    down), a prepared PasswordHasher running bcrypt on `hashing`, sessions and the limiter
    over the state's `redis`."""
    store = MongoAccountStore(mongo.collection(mongo_client, settings.mongodb_name, "users"))
    try:
        await store.ensure_indexes()
    except DependencyUnavailable as error:
        # The driver's reason names what is wrong, e.g. a replica set name that no server has.
        log.warning(
            "MongoDB unavailable at start; indexes are created before the first insert: %s",
            error.__cause__,
        )
    hasher = PasswordHasher(hashing, rounds=settings.bcrypt_rounds, pepper=settings.password_pepper)
    await hasher.prepare()
    await asyncio.to_thread(user_agents.prepare)
    sessions = SessionService(
        RedisSessionStore(redis),
        idle_seconds=settings.session_idle_seconds,
        absolute_seconds=settings.session_absolute_seconds,
        # A password change's write to MongoDB ends within its timeout: twice that.
        change_seconds=2 * settings.mongodb_timeout_ms / 1000,
        max_per_user=settings.session_max_per_user,
    )
    return AccountBase(store, hasher, sessions, RateLimiter(RedisCounterStore(redis)))


def account_services(
    settings: Settings,
    base: AccountBase,
    *,
    redis: RedisClient,
    idempotency: IdempotencyService,
    mail: Mail,
    avatars: AvatarStore,
) -> AccountServices:
    """The account, token, email verification, password reset, deletion and session list
    services; mailed tokens live in the state's `redis`, an account's deletion also deletes
    its avatar from `avatars`."""
    limits = attempt_limits(settings)
    account_tokens = AccountTokenService(
        RedisAccountTokenStore(redis),
        ttl_seconds={
            TokenPurpose.VERIFY_EMAIL: settings.email_verify_ttl_seconds,
            TokenPurpose.RESET_PASSWORD: settings.password_reset_ttl_seconds,
        },
    )
    email_verification = EmailVerificationService(
        store=base.store,
        tokens=account_tokens,
        sessions=base.sessions,
        limiter=base.limiter,
        limits=limits,
        background=mail.background,
        outbox=mail.outbox,
        links=mail.links,
    )
    accounts = AccountService(
        store=base.store,
        hasher=base.hasher,
        sessions=base.sessions,
        limiter=base.limiter,
        limits=limits,
        common_passwords=common_passwords(),
        unknown_outcomes=idempotency,
        email_verification=email_verification,
    )
    account_deletion = AccountDeletionService(
        store=base.store,
        hasher=base.hasher,
        sessions=base.sessions,
        limiter=base.limiter,
        per_account=limits.per_account,
        avatars=avatars,
        idempotency=idempotency,
    )
    password_reset = PasswordResetService(
        store=base.store,
        tokens=account_tokens,
        sessions=base.sessions,
        hasher=base.hasher,
        limiter=base.limiter,
        limits=limits,
        common_passwords=common_passwords(),
        background=mail.background,
        outbox=mail.outbox,
        links=mail.links,
        delay_max_seconds=settings.password_forgot_delay_max_seconds,
    )
    return AccountServices(
        accounts=accounts,
        account_tokens=account_tokens,
        email_verification=email_verification,
        password_reset=password_reset,
        account_deletion=account_deletion,
        session_list=SessionListService(base.sessions),
    )


def cookie_secrets(settings: Settings) -> tuple[dict[int, str], int]:
    """Tornado's rotation scheme: the current secret signs, the previous ones still verify.
    Versions derive from the secrets, so rotating needs no version numbers in configuration."""
    current = settings.session_cookie_secret
    secrets = {_secret_version(s): s for s in settings.session_cookie_secrets_previous}
    secrets[_secret_version(current)] = current
    return secrets, _secret_version(current)


def _secret_version(secret: str) -> int:
    return int.from_bytes(hashlib.sha256(secret.encode()).digest()[:4], "big")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30 000 most common passwords, from zxcvbn's frequency lists."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # large: loaded on first use only

    return frozenset(FREQUENCY_LISTS["passwords"])


def attempt_limits(settings: Settings) -> AttemptLimits:
    """Every AttemptLimits field from its pair of settings (maximum, window in seconds)."""
    return AttemptLimits(
        per_account=Limit(
            "login-account",
            settings.login_account_max_failures,
            settings.login_account_window_seconds,
        ),
        per_client=Limit(
            "login-client", settings.login_client_max_failures, settings.login_client_window_seconds
        ),
        registrations_per_client=Limit(
            "register-client", settings.register_client_max, settings.register_client_window_seconds
        ),
        forgot_per_address=Limit(
            "password-forgot-address",
            settings.password_forgot_address_max,
            settings.password_forgot_address_window_seconds,
        ),
        forgot_per_client=Limit(
            "password-forgot-client",
            settings.password_forgot_client_max,
            settings.password_forgot_client_window_seconds,
        ),
        mail_token_failures_per_client=Limit(
            "mail-token-client",
            settings.mail_token_client_max_failures,
            settings.mail_token_client_window_seconds,
        ),
        verification_mails_per_user=Limit(
            "email-verify-send-user",
            settings.email_verify_send_max,
            settings.email_verify_send_window_seconds,
        ),
    )
