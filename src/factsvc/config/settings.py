"""Settings: each setting declared once (variable, type, bounds, default, description)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Self

from pydantic import ValidationInfo, ValidatorFunctionWrapHandler, field_validator

from factsvc.config.addresses import NETWORKS, ORIGINS, Host, Network, Url, url_or_built
from factsvc.config.declaring import Area, setting, variable_of
from factsvc.config.instance_name import InstanceName, default_instance_name
from factsvc.config.loading import DeclaredSettings
from factsvc.config.mail_addresses import BaseUrl, Mailbox, SmtpUrl
from factsvc.config.redis_topology import HOST_PORTS, TOPOLOGIES, url_problem
from factsvc.config.rules import (
    HEADER_NAMES,
    SECRETS,
    AbsolutePath,
    Choice,
    CookieName,
    DatabaseName,
    Flag,
    Number,
    Secret,
    Text,
    WholeNumber,
    refused_by_relation,
)
from factsvc.config.secret_policy import secret_problem

A = Area
DAY = 86400
Bool = Annotated[bool, Flag()]
AnyText = Annotated[str, Text()]
Port = Annotated[int, WholeNumber(1, 65535)]
Workers = Annotated[int, WholeNumber(0, 256)]
Timeout = Annotated[float, Number(0.05, 30.0)]
Count = Annotated[int, WholeNumber(1, 10_000)]
Attempts = Annotated[int, WholeNumber(1, 100_000)]
Window = Annotated[int, WholeNumber(1, DAY)]
Lifetime = Annotated[int, WholeNumber(60, 365 * DAY)]
Wait = Annotated[float, Number(0.0, 60.0)]
HttpTimeout = Annotated[float, Number(1.0, 3600.0)]
LogLevel = Annotated[str, Choice(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))]
MongoUri = Annotated[str, Url(("mongodb://", "mongodb+srv://"))]
RedisUrl = Annotated[str, Url(("redis://", "rediss://", "unix://"))]
Topology = Annotated[str, TOPOLOGIES]
HostPorts = Annotated[tuple[str, ...], HOST_PORTS]
API_REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID")
DRAIN_SECONDS = 5.0  # SHUTDOWN_DRAIN_SECONDS outside DEBUG
TRACE_CONTEXT_HEADERS = ("traceparent", "tracestate")  # W3C Trace Context, sent by tracing SDKs


class Settings(DeclaredSettings):
    """The service's configuration, built once and passed down (see DeclaredSettings).

    The string under each field is its description. A validator sees only the fields declared
    before its own in `info.data`, so those that others depend on come first.
    """

    debug: Bool = setting("DEBUG", True, A.SERVICE)
    """false in production: secure cookies, no error detail, N processes"""
    path_data: Annotated[Path, AbsolutePath()] = setting("PATH_DATA", Path("/tmp"), A.SERVICE)  # noqa: S108
    """logs in log/; each instance's metric files and embedded data in <INSTANCE_NAME>/"""
    log_level: LogLevel = setting("LOGGING_LOGGER_LEVEL", "", A.SERVICE)
    """root log level; empty: DEBUG when DEBUG is true, else INFO"""
    log_to_file: Bool = setting("LOG_TO_FILE", True, A.SERVICE)
    """also write PATH_DATA/log/factsvc.log"""
    log_format: Annotated[str, Choice(("plain", "json"))] = setting(
        "LOG_FORMAT", "plain", A.SERVICE
    )
    """log lines as text, or json: one object a line"""
    log_queue_max_lines: Annotated[int, WholeNumber(100, 1_000_000)] = setting(
        "LOG_QUEUE_MAX_LINES", 10_000, A.SERVICE
    )
    """lines queued for each log destination while its writes lag; beyond, dropped and counted"""
    server_port: Annotated[int, WholeNumber(0, 65535)] = setting(
        "TORNADO_SERVER_PORT", 8888, A.SERVICE
    )
    """listening port; 0: any free port"""
    server_address: AnyText = setting("TORNADO_SERVER_ADDRESS", "", A.SERVICE)
    """listening address; empty: every interface"""
    server_numprocs: Workers = setting("TORNADO_SERVER_NUMPROCS", 0, A.SERVICE)
    """worker processes; 0: one per CPU; DEBUG always runs one"""
    instance_name: Annotated[str, InstanceName()] = setting("INSTANCE_NAME", "", A.SERVICE)
    """this instance's directory in PATH_DATA, unique among those sharing it; empty: host-port"""
    event_loop: Annotated[str, Choice(("uvloop", "asyncio"))] = setting(
        "EVENT_LOOP", "uvloop", A.SERVICE
    )
    """the event loop every process runs; asyncio: the standard library's"""
    shutdown_drain_seconds: Annotated[float, Number(0.0, 600.0)] = setting(
        "SHUTDOWN_DRAIN_SECONDS", "", A.SERVICE
    )
    """how long a stop serves on, /readyz 503, before accepting ends; empty: 0 in DEBUG, else 5"""
    shutdown_grace_seconds: Annotated[float, Number(0.0, 600.0)] = setting(
        "SHUTDOWN_GRACE_SECONDS", 10.0, A.SERVICE
    )
    """how long a stop waits, once it stops accepting, for requests and connections under way"""
    readiness_timeout_seconds: Timeout = setting("READINESS_TIMEOUT_SECONDS", 0.5, A.SERVICE)
    """how long /readyz waits for each backend"""

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

    cors_origins: Annotated[tuple[str, ...], ORIGINS] = setting("CORS_ORIGINS", (), A.CLIENTS)
    """browser origins trusted for CORS and cross-origin POSTs"""
    cors_allowed_headers: Annotated[tuple[str, ...], HEADER_NAMES] = setting(
        "CORS_ALLOWED_HEADERS", (*API_REQUEST_HEADERS, *TRACE_CONTEXT_HEADERS), A.CLIENTS
    )
    """request headers pages on CORS_ORIGINS may send (case-insensitive), tracing's included"""
    cors_max_age_seconds: Annotated[int, WholeNumber(0, DAY)] = setting(
        "CORS_MAX_AGE_SECONDS", 7200, A.CLIENTS
    )
    """how long a browser may reuse a preflight's answer (Chromium caps it at 7200)"""
    trusted_proxies: Annotated[tuple[Network, ...], NETWORKS] = setting(
        "TRUSTED_PROXIES", (), A.CLIENTS
    )
    """proxies whose X-Forwarded-For is believed"""

    mongodb_host: Annotated[str, Host()] = setting("MONGODB_HOST", "localhost", A.MONGODB)
    """MongoDB host, when MONGODB_URI is empty"""
    mongodb_port: Port = setting("MONGODB_PORT", 27017, A.MONGODB)
    """MongoDB port, when MONGODB_URI is empty"""
    mongodb_name: Annotated[str, DatabaseName()] = setting("MONGODB_NAME", "factsvc", A.MONGODB)
    """database name"""
    mongodb_uri: MongoUri = setting("MONGODB_URI", "", A.MONGODB, secret=True)
    """connection string (it may carry credentials); empty: mongodb://MONGODB_HOST:MONGODB_PORT/"""
    mongodb_timeout_ms: Annotated[int, WholeNumber(100, 60_000)] = setting(
        "MONGODB_TIMEOUT_MS", 1500, A.MONGODB
    )
    """server selection, connect and operation timeout"""

    redis_host: Annotated[str, Host()] = setting("REDIS_HOST", "localhost", A.REDIS)
    """Redis host, when REDIS_URL is empty"""
    redis_port: Port = setting("REDIS_PORT", 6379, A.REDIS)
    """Redis port, when REDIS_URL is empty"""
    redis_db: Annotated[int, WholeNumber(0, 15)] = setting("REDIS_DB", 0, A.REDIS)
    """Redis database number, when REDIS_URL is empty"""
    redis_url: RedisUrl = setting("REDIS_URL", "", A.REDIS, secret=True)
    """connection URL (it may carry credentials); empty: redis://REDIS_HOST:REDIS_PORT/REDIS_DB"""
    redis_cache_url: RedisUrl = setting("REDIS_CACHE_URL", "", A.REDIS, secret=True)
    """the factorial cache's server (it may carry credentials); empty: REDIS_URL's"""
    redis_timeout_seconds: Timeout = setting("REDIS_TIMEOUT_SECONDS", 0.5, A.REDIS)
    """connect and command timeout"""
    redis_max_connections: Count = setting("REDIS_MAX_CONNECTIONS", 256, A.REDIS)
    """connections per process"""
    redis_pool_timeout_seconds: Annotated[float, Number(0.05, 60.0)] = setting(
        "REDIS_POOL_TIMEOUT_SECONDS", 5.0, A.REDIS
    )
    """how long a command waits for a free connection of the pool"""
    redis_topology: Topology = setting("REDIS_TOPOLOGY", "single", A.REDIS)
    """single: REDIS_URL's server; cluster: a Redis Cluster, REDIS_URL a node; or sentinel"""
    redis_cluster_nodes: HostPorts = setting("REDIS_CLUSTER_NODES", (), A.REDIS)
    """cluster: more nodes to discover it from, beside REDIS_URL's (whose credentials all use)"""
    redis_sentinel_master: AnyText = setting("REDIS_SENTINEL_MASTER", "", A.REDIS)
    """sentinel: the master's name in REDIS_SENTINELS; REDIS_URL gives scheme, credentials, db"""
    redis_cache_topology: Topology = setting("REDIS_CACHE_TOPOLOGY", "single", A.REDIS)
    """REDIS_CACHE_URL's topology, as REDIS_TOPOLOGY's; single and REDIS_URL's: the state's"""
    redis_cache_cluster_nodes: HostPorts = setting("REDIS_CACHE_CLUSTER_NODES", (), A.REDIS)
    """cluster: more nodes of the cache's cluster, beside REDIS_CACHE_URL's"""
    redis_cache_sentinel_master: AnyText = setting("REDIS_CACHE_SENTINEL_MASTER", "", A.REDIS)
    """sentinel: the cache master's name in REDIS_SENTINELS"""
    redis_sentinels: HostPorts = setting("REDIS_SENTINELS", (), A.REDIS)
    """the sentinels watching every sentinel master (either topology sentinel: required)"""
    redis_sentinel_password: AnyText = setting("REDIS_SENTINEL_PASSWORD", "", A.REDIS, secret=True)
    """the sentinels' AUTH password; empty: sentinels without AUTH"""

    fact_max_n: Annotated[int, WholeNumber(0, 1_000_000)] = setting(
        "FACT_MAX_N", 100_000, A.FACTORIALS
    )
    """largest n accepted"""
    fact_cache_ttl: Lifetime = setting("FACT_CACHE_TTL", 7 * DAY, A.FACTORIALS)
    """seconds a value stays in Redis"""
    fact_cache_max_bytes: Annotated[int, WholeNumber(1 << 20, 1 << 40)] = setting(
        "FACT_CACHE_MAX_BYTES", 256 << 20, A.FACTORIALS
    )
    """bound of the factorial cache in Redis: its own server's maxmemory, else the service's"""
    fact_cache_min_n: Annotated[int, WholeNumber(0, 1_000_000)] = setting(
        "FACT_CACHE_MIN_N", 5000, A.FACTORIALS
    )
    """smallest n kept in Redis; smaller ones are cheaper to compute than to fetch"""
    fact_local_cache_bytes: Annotated[int, WholeNumber(0, 1 << 40)] = setting(
        "FACT_LOCAL_CACHE_BYTES", 64 << 20, A.FACTORIALS
    )
    """size of the in-process cache tier, per process"""
    fact_workers: Annotated[int, WholeNumber(1, 64)] = setting("FACT_WORKERS", 1, A.FACTORIALS)
    """processes per worker computing big factorials"""
    fact_max_pending: Count = setting("FACT_MAX_PENDING", 32, A.FACTORIALS)
    """big computations queued or running; more wait for a place"""
    fact_max_wait_seconds: Wait = setting("FACT_MAX_WAIT_SECONDS", 5.0, A.FACTORIALS)
    """how long a computation waits for a place before 503 + Retry-After; 0: refuse at once"""

    avatar_max_bytes: Annotated[int, WholeNumber(1024, 64 << 20)] = setting(
        "AVATAR_MAX_BYTES", 2 << 20, A.AVATARS
    )
    """largest avatar upload (PUT /account/avatar's body); larger ones get 413"""
    avatar_max_pixels: Annotated[int, WholeNumber(1, 1 << 30)] = setting(
        "AVATAR_MAX_PIXELS", 4096 * 4096, A.AVATARS
    )
    """largest width x height an upload may declare; more is refused (decompression bombs)"""
    avatar_size: Annotated[int, WholeNumber(16, 1024)] = setting("AVATAR_SIZE", 256, A.AVATARS)
    """width and height of the stored avatar, a square WebP, in pixels"""
    path_upload: Annotated[Path, AbsolutePath()] = setting("PATH_UPLOAD", "", A.AVATARS)
    """where uploads are spooled while they arrive (created at start); empty: PATH_DATA/upload"""
    avatar_workers: Annotated[int, WholeNumber(1, 64)] = setting("AVATAR_WORKERS", 1, A.AVATARS)
    """processes per worker decoding and resizing uploaded images"""
    avatar_max_pending: Count = setting("AVATAR_MAX_PENDING", 4, A.AVATARS)
    """images being resized or queued; more wait for a place"""
    avatar_max_wait_seconds: Wait = setting("AVATAR_MAX_WAIT_SECONDS", 5.0, A.AVATARS)
    """how long an image waits for a place before 503 + Retry-After; 0: refuse at once"""
    avatar_uploads_max: Attempts = setting("AVATAR_UPLOADS_MAX", 30, A.AVATARS)
    """avatar uploads per user per window; more get 429"""
    avatar_uploads_window_seconds: Window = setting(
        "AVATAR_UPLOADS_WINDOW_SECONDS", 3600, A.AVATARS
    )
    """the window of AVATAR_UPLOADS_MAX, in seconds"""

    http_max_body_bytes: Annotated[int, WholeNumber(1024, 64 << 20)] = setting(
        "HTTP_MAX_BODY_BYTES", 64 << 10, A.HTTP
    )
    """largest request body; larger ones get 413"""
    http_max_header_bytes: Annotated[int, WholeNumber(1024, 1 << 20)] = setting(
        "HTTP_MAX_HEADER_BYTES", 16 << 10, A.HTTP
    )
    """largest request line and headers"""
    http_idle_timeout_seconds: HttpTimeout = setting("HTTP_IDLE_TIMEOUT_SECONDS", 60.0, A.HTTP)
    """how long an idle keep-alive connection stays open"""
    http_body_timeout_seconds: HttpTimeout = setting("HTTP_BODY_TIMEOUT_SECONDS", 10.0, A.HTTP)
    """how long a request body may take to arrive"""

    smtp_url: Annotated[str, SmtpUrl()] = setting("SMTP_URL", "", A.MAIL, secret=True)
    """the SMTP server: smtp:// (STARTTLS if offered), smtp+starttls:// or smtps://; empty: none"""
    smtp_timeout_seconds: Annotated[float, Number(0.1, 300.0)] = setting(
        "SMTP_TIMEOUT_SECONDS", 10.0, A.MAIL
    )
    """how long connecting, and each SMTP command of a send, may take"""
    mail_from: Annotated[str, Mailbox()] = setting("MAIL_FROM", "factsvc@localhost", A.MAIL)
    """the sender of every mail (From and envelope sender); a name may come first: Facts <a@b>"""
    public_base_url: Annotated[str, BaseUrl()] = setting("PUBLIC_BASE_URL", "", A.MAIL)
    """the service's URL in mailed links; empty: http://127.0.0.1:TORNADO_SERVER_PORT"""
    mail_send_attempts: Annotated[int, WholeNumber(1, 20)] = setting(
        "MAIL_SEND_ATTEMPTS", 5, A.MAIL
    )
    """tries of each mail, retrying temporary failures (no connection, SMTP 4xx)"""
    mail_retry_seconds: Annotated[float, Number(0.01, 600.0)] = setting(
        "MAIL_RETRY_SECONDS", 2.0, A.MAIL
    )
    """the wait before a mail's second try; each later wait doubles (at most 10 minutes)"""

    @field_validator("log_level", mode="wrap")
    @classmethod
    def _log_level_from_debug(
        cls, level: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        # Production logs at INFO unless told otherwise: DEBUG records are for development.
        if level:
            return check(level)
        if "debug" not in info.data:
            return level  # DEBUG itself was refused, and its error says enough
        return check("DEBUG" if info.data["debug"] else "INFO")

    @field_validator("instance_name", mode="wrap")
    @classmethod
    def _instance_from_host_and_port(
        cls, name: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        if name != "":
            return check(name)
        if "server_port" not in info.data:
            return name  # the port was refused, and its error says enough
        return check(default_instance_name(info.data["server_port"]))

    @field_validator("shutdown_drain_seconds", mode="wrap")
    @classmethod
    def _drain_from_debug(
        cls, seconds: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        # A load balancer needs a couple of health-check intervals to see /readyz fail; in
        # development a Ctrl-C should stop at once.
        if seconds != "":
            return check(seconds)
        if "debug" not in info.data:
            return seconds  # DEBUG itself was refused, and its error says enough
        return check(0.0 if info.data["debug"] else DRAIN_SECONDS)

    @field_validator("path_upload", mode="wrap")
    @classmethod
    def _upload_under_path_data(
        cls, path: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        if path != "":
            return check(path)
        if "path_data" not in info.data:
            return path  # PATH_DATA was refused, and its error says enough
        return check(info.data["path_data"] / "upload")

    @field_validator("public_base_url", mode="wrap")
    @classmethod
    def _base_url_from_port(
        cls, url: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        if url != "":
            return check(url)
        if "server_port" not in info.data:
            return url  # the port was refused, and its error says enough
        return check(f"http://127.0.0.1:{info.data['server_port']}")

    @field_validator("session_cookie_secret")
    @classmethod
    def _strong_outside_debug(cls, secret: str, info: ValidationInfo) -> str:
        problem = secret_problem(secret)
        if info.data.get("debug") is False and problem:
            raise refused_by_relation(f"{problem} (required when DEBUG is false)")
        return secret

    @field_validator("session_absolute_seconds")
    @classmethod
    def _outlasts_idle(cls, seconds: int, info: ValidationInfo) -> int:
        idle = info.data.get("session_idle_seconds")
        if idle is not None and seconds < idle:
            idle_variable = variable_of(cls.model_fields["session_idle_seconds"])
            raise refused_by_relation(f"must be at least {idle_variable} ({idle})")
        return seconds

    @field_validator("mongodb_uri", mode="wrap")
    @classmethod
    def _mongodb_uri_from_parts(
        cls, uri: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        return url_or_built(uri, check, info, "mongodb://{}:{}/", "mongodb_host", "mongodb_port")

    @field_validator("redis_url", mode="wrap")
    @classmethod
    def _redis_url_from_parts(
        cls, url: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        return url_or_built(
            url, check, info, "redis://{}:{}/{}", "redis_host", "redis_port", "redis_db"
        )

    @field_validator("redis_cache_url", mode="wrap")
    @classmethod
    def _cache_on_the_state_server_by_default(
        cls, url: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        return check(url) if url else info.data.get("redis_url", url)

    @field_validator("redis_topology", "redis_cache_topology")
    @classmethod
    def _served_by_its_url(cls, topology: str, info: ValidationInfo) -> str:
        url = info.data.get(
            "redis_cache_url" if info.field_name == "redis_cache_topology" else "redis_url"
        )
        problem = url and url_problem(topology, url)
        if problem:
            raise refused_by_relation(problem)
        return topology

    @field_validator("redis_sentinel_master", "redis_cache_sentinel_master")
    @classmethod
    def _named_for_sentinel(cls, name: str, info: ValidationInfo) -> str:
        topology = "redis_cache_topology" if "cache" in str(info.field_name) else "redis_topology"
        if info.data.get(topology) == "sentinel" and not name.strip():
            raise refused_by_relation(
                f"required when {variable_of(cls.model_fields[topology])} is sentinel"
            )
        return name.strip()

    @field_validator("redis_sentinels")
    @classmethod
    def _given_for_sentinel(
        cls, sentinels: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        topologies = ("redis_topology", "redis_cache_topology")
        if not sentinels and "sentinel" in (info.data.get(name) for name in topologies):
            variables = " or ".join(variable_of(cls.model_fields[name]) for name in topologies)
            raise refused_by_relation(f"required when {variables} is sentinel")
        return sentinels

    @property
    def log_dir(self) -> Path:
        """PATH_DATA/log: the service's log file, one for every instance sharing PATH_DATA."""
        return self.path_data / "log"

    @property
    def instance_dir(self) -> Path:
        """PATH_DATA/INSTANCE_NAME: what this instance keeps apart from the others (instance.py)."""
        return self.path_data / self.instance_name

    @property
    def embedded_dir(self) -> Path:
        """The instance's embedded/: its embedded servers' data and logs (`serve --embedded`)."""
        return self.instance_dir / "embedded"

    @property
    def metrics_dir(self) -> Path:
        """The instance's metrics/: its worker processes' metric files, emptied at each start."""
        return self.instance_dir / "metrics"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Settings from the declared variables of `env` alone, then `with_checked_secret()`;
        ConfigError names every bad variable."""
        return super().from_env(env).with_checked_secret()

    def with_backends(self, *, redis_url: str, mongodb_uri: str, redis_cache_url: str = "") -> Self:
        """A copy that uses these backends (e.g. the embedded servers); the cache on redis_url
        unless redis_cache_url names its own server."""
        return self.replaced(
            redis_url=redis_url, mongodb_uri=mongodb_uri, redis_cache_url=redis_cache_url
        )

    def with_checked_secret(self) -> Self:
        """In DEBUG with no secret, a copy with a random one (and a warning: sessions end at
        restart). Outside DEBUG a weak secret never gets this far: validation refuses it."""
        if not self.debug or self.session_cookie_secret:
            return self
        logging.getLogger(__name__).warning(
            "SESSION_COOKIE_SECRET is not set: using a random one; sessions end at restart"
        )
        return self.replaced(session_cookie_secret=secrets.token_urlsafe(48))
