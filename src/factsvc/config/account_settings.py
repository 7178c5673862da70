"""The settings of sessions and of passwords: cookies, hashing, login and mail limits, tokens."""

from __future__ import annotations

from typing import Annotated

from pydantic import ValidationInfo, field_validator

from factsvc.config.declaring import Area, setting, variable_of
from factsvc.config.loading import DeclaredSettings
from factsvc.config.rules import (
    SECRETS,
    Choice,
    CookieName,
    Secret,
    WholeNumber,
    refused_by_relation,
)
from factsvc.config.setting_types import (
    DAY,
    AnyText,
    Attempts,
    Count,
    Lifetime,
    Wait,
    Window,
    Workers,
)

A = Area


class SessionSettings(DeclaredSettings):
    """The area "sessions" of Settings: the cookie, its secrets and the sessions' lifetimes."""

    session_cookie_secret: Annotated[str, Secret()] = setting(
        "SESSION_COOKIE_SECRET", "", A.SESSIONS, secret=True
    )
    """signs session cookies; required outside DEBUG; empty in DEBUG: random at each start"""
    session_cookie_secrets_previous: Annotated[tuple[str, ...], SECRETS] = setting(
        "SESSION_COOKIE_SECRETS_PREVIOUS", (), A.SESSIONS, secret=True
    )
    """earlier secrets, still accepted while rotating"""
    session_cookie_name: Annotated[str, CookieName()] = setting(
        "SESSION_COOKIE_NAME", "SID", A.SESSIONS
    )
    """the session cookie's name; outside DEBUG it gets the __Host- prefix (__Host-SID)"""
    session_cookie_samesite: Annotated[str, Choice(("Lax", "Strict", "None"))] = setting(
        "SESSION_COOKIE_SAMESITE", "Lax", A.SESSIONS
    )
    """the session cookie's SameSite; None makes it Secure in DEBUG too"""
    session_idle_seconds: Lifetime = setting("SESSION_EXPIRES_SECONDS", DAY, A.SESSIONS)
    """idle timeout, renewed by each use"""
    session_absolute_seconds: Lifetime = setting("SESSION_ABSOLUTE_SECONDS", 7 * DAY, A.SESSIONS)
    """lifetime of a session however much it is used; at least SESSION_EXPIRES_SECONDS"""
    session_max_per_user: Annotated[int, WholeNumber(1, 1000)] = setting(
        "SESSION_MAX_PER_USER", 100, A.SESSIONS
    )
    """live sessions a user keeps at most; a login beyond it ends those nearest to their end"""

    @field_validator("session_absolute_seconds")
    @classmethod
    def _outlasts_idle(cls, seconds: int, info: ValidationInfo) -> int:
        idle = info.data.get("session_idle_seconds")
        if idle is not None and seconds < idle:
            idle_variable = variable_of(cls.model_fields["session_idle_seconds"])
            raise refused_by_relation(f"must be at least {idle_variable} ({idle})")
        return seconds


class PasswordSettings(DeclaredSettings):
    """The area "passwords and login limits" of Settings: bcrypt, the attempt limits, mailed
    tokens' lifetimes and Idempotency-Keys."""

    bcrypt_rounds: Annotated[int, WholeNumber(10, 16)] = setting("BCRYPT_ROUNDS", 12, A.PASSWORDS)
    """bcrypt cost; older hashes are upgraded at the next login"""
    bcrypt_threads: Workers = setting("BCRYPT_THREADS", 0, A.PASSWORDS)
    """hashing threads per process; 0: one per CPU"""
    bcrypt_max_pending: Count = setting("BCRYPT_MAX_PENDING", 16, A.PASSWORDS)
    """hashes queued or running; more wait for a place"""
    bcrypt_max_wait_seconds: Wait = setting("BCRYPT_MAX_WAIT_SECONDS", 5.0, A.PASSWORDS)
    """how long a hash waits for a place before 503 + Retry-After; 0: refuse at once"""
    password_pepper: AnyText = setting("PASSWORD_PEPPER", "", A.PASSWORDS, secret=True)
    """HMAC key applied before bcrypt; changing it invalidates every password"""
    login_account_max_failures: Attempts = setting("LOGIN_ACCOUNT_MAX_FAILURES", 100, A.PASSWORDS)
    """failed logins per username per window"""
    login_account_window_seconds: Window = setting(
        "LOGIN_ACCOUNT_WINDOW_SECONDS", 3600, A.PASSWORDS
    )
    """the window of LOGIN_ACCOUNT_MAX_FAILURES, in seconds"""
    login_client_max_failures: Attempts = setting("LOGIN_CLIENT_MAX_FAILURES", 20, A.PASSWORDS)
    """failed logins per client address per window"""
    login_client_window_seconds: Window = setting("LOGIN_CLIENT_WINDOW_SECONDS", 900, A.PASSWORDS)
    """the window of LOGIN_CLIENT_MAX_FAILURES, in seconds"""
    register_client_max: Attempts = setting("REGISTER_CLIENT_MAX", 20, A.PASSWORDS)
    """registrations per client address per window"""
    register_client_window_seconds: Window = setting(
        "REGISTER_CLIENT_WINDOW_SECONDS", 3600, A.PASSWORDS
    )
    """the window of REGISTER_CLIENT_MAX, in seconds"""
    password_reset_ttl_seconds: Lifetime = setting("PASSWORD_RESET_TTL_SECONDS", 1800, A.PASSWORDS)
    """how long a mailed password reset link works"""
    email_verify_ttl_seconds: Lifetime = setting("EMAIL_VERIFY_TTL_SECONDS", DAY, A.PASSWORDS)
    """how long a mailed email verification link works"""
    email_verify_send_max: Attempts = setting("EMAIL_VERIFY_SEND_MAX", 5, A.PASSWORDS)
    """verification mails per user per window (registration, address changes, resends)"""
    email_verify_send_window_seconds: Window = setting(
        "EMAIL_VERIFY_SEND_WINDOW_SECONDS", 3600, A.PASSWORDS
    )
    """the window of EMAIL_VERIFY_SEND_MAX, in seconds"""
    password_forgot_address_max: Attempts = setting("PASSWORD_FORGOT_ADDRESS_MAX", 5, A.PASSWORDS)
    """/password/forgot requests per email address (or username) per window"""
    password_forgot_address_window_seconds: Window = setting(
        "PASSWORD_FORGOT_ADDRESS_WINDOW_SECONDS", 3600, A.PASSWORDS
    )
    """the window of PASSWORD_FORGOT_ADDRESS_MAX, in seconds"""
    password_forgot_client_max: Attempts = setting("PASSWORD_FORGOT_CLIENT_MAX", 20, A.PASSWORDS)
    """/password/forgot requests per client address per window"""
    password_forgot_client_window_seconds: Window = setting(
        "PASSWORD_FORGOT_CLIENT_WINDOW_SECONDS", 3600, A.PASSWORDS
    )
    """the window of PASSWORD_FORGOT_CLIENT_MAX, in seconds"""
    password_forgot_delay_max_seconds: Wait = setting(
        "PASSWORD_FORGOT_DELAY_MAX_SECONDS", 2.0, A.PASSWORDS
    )
    """/password/forgot's look-up and mail begin after a random wait of up to this; 0: at once"""
    mail_token_client_max_failures: Attempts = setting(
        "MAIL_TOKEN_CLIENT_MAX_FAILURES", 20, A.PASSWORDS
    )
    """unusable mailed tokens (password reset, email verification) per client address per window"""
    mail_token_client_window_seconds: Window = setting(
        "MAIL_TOKEN_CLIENT_WINDOW_SECONDS", 900, A.PASSWORDS
    )
    """the window of MAIL_TOKEN_CLIENT_MAX_FAILURES, in seconds"""
    idempotency_key_ttl_seconds: Annotated[int, WholeNumber(60, 7 * DAY)] = setting(
        "IDEMPOTENCY_KEY_TTL_SECONDS", DAY, A.PASSWORDS
    )
    """how long an Idempotency-Key's outcome is replayed to retries of its request"""
    idempotency_keys_per_scope: Count = setting("IDEMPOTENCY_KEYS_PER_SCOPE", 100, A.PASSWORDS)
    """Idempotency-Keys one session (or one username, on /register) holds at once; more: 429"""
    register_unknown_outcome_seconds: Annotated[int, WholeNumber(0, DAY)] = setting(
        "REGISTER_UNKNOWN_OUTCOME_SECONDS", 3600, A.PASSWORDS
    )
    """how long after a registration answered 503 a retry with its password gets 201; 0: never"""
