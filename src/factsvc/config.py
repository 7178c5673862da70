"""Settings: one frozen, typed object read once from the environment and validated."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

T = TypeVar("T")

MIN_SECRET_LENGTH = 32
# Secrets that appear in Tornado's documentation and demos or in common templates.
WELL_KNOWN_SECRETS = frozenset(
    {
        "__TODO:_GENERATE_YOUR_OWN_RANDOM_VALUE_HERE__",
        "0Q1AKOKTQHqaa+N80XhYW7KCGskOUE2snCW06UIxXgI=",
        "61oETzKXQAGaYdkL5gEmGeJJFuYh7EQnp2XdTP1o/Vo=",
        "change-me-to-a-long-random-string-of-at-least-32-chars",
    }
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    debug: bool = True
    path_data: Path = Path("/tmp")  # noqa: S108 - the original service's default
    log_level: str = "DEBUG"
    log_to_file: bool = True
    log_format: str = "plain"
    server_port: int = 8888
    server_address: str = ""
    server_numprocs: int = 0
    event_loop: str = "uvloop"
    session_cookie_secret: str = field(default="", repr=False)
    session_idle_seconds: int = 86400
    mongodb_uri: str = "mongodb://localhost:27017/"
    mongodb_name: str = "factsvc"
    mongodb_timeout_ms: int = 1500
    redis_url: str = "redis://localhost:6379/0"
    redis_timeout_seconds: float = 0.5
    redis_max_connections: int = 256
    redis_pool_timeout_seconds: float = 5.0
    readiness_timeout_seconds: float = 0.5
    fact_max_n: int = 100_000
    fact_cache_ttl: int = 7 * 86400
    fact_local_cache_bytes: int = 64 * 1024 * 1024
    fact_workers: int = 1
    fact_max_pending: int = 32
    fact_max_wait_seconds: float = 5.0
    shutdown_grace_seconds: float = 10.0
    session_cookie_name: str = "SID"
    session_cookie_secrets_previous: tuple[str, ...] = field(default=(), repr=False)
    session_absolute_seconds: int = 7 * 86400
    bcrypt_rounds: int = 12
    bcrypt_threads: int = 0
    bcrypt_max_pending: int = 16
    bcrypt_max_wait_seconds: float = 5.0
    password_pepper: str = field(default="", repr=False)
    login_account_max_failures: int = 100
    login_account_window_seconds: int = 3600
    login_client_max_failures: int = 20
    login_client_window_seconds: int = 900
    register_client_max: int = 20
    register_client_window_seconds: int = 3600
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    http_max_body_bytes: int = 64 * 1024
    http_max_header_bytes: int = 16 * 1024
    http_idle_timeout_seconds: float = 60.0
    http_body_timeout_seconds: float = 10.0

    @property
    def log_dir(self) -> Path:
        return self.path_data / "log"

    @property
    def upload_dir(self) -> Path:
        return self.path_data / "upload"

    def with_backends(self, *, redis_url: str, mongodb_uri: str) -> Settings:
        return replace(self, redis_url=redis_url, mongodb_uri=mongodb_uri)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = _EnvReader(env)
        debug = reader.get("DEBUG", _parse_bool, cls.debug)
        mongodb_host = reader.get("MONGODB_HOST", _parse_host, "localhost")
        mongodb_port = reader.get("MONGODB_PORT", _port_parser(minimum=1), 27017)
        redis_host = reader.get("REDIS_HOST", _parse_host, "localhost")
        redis_port = reader.get("REDIS_PORT", _port_parser(minimum=1), 6379)
        redis_db = reader.get("REDIS_DB", _int_parser(0, 15), 0)
        settings = cls(
            debug=debug,
            path_data=reader.get("PATH_DATA", _parse_path, cls.path_data),
            log_level=reader.get("LOGGING_LOGGER_LEVEL", _parse_log_level, cls.log_level),
            log_to_file=reader.get("LOG_TO_FILE", _parse_bool, cls.log_to_file),
            log_format=reader.get("LOG_FORMAT", _parse_log_format, cls.log_format),
            server_port=reader.get("TORNADO_SERVER_PORT", _port_parser(minimum=0), 8888),
            server_address=reader.get("TORNADO_SERVER_ADDRESS", str, cls.server_address),
            server_numprocs=reader.get("TORNADO_SERVER_NUMPROCS", _int_parser(0, 256), 0),
            event_loop=reader.get("EVENT_LOOP", _parse_event_loop, cls.event_loop),
            session_cookie_secret=reader.get("SESSION_COOKIE_SECRET", str, ""),
            session_idle_seconds=reader.get(
                "SESSION_EXPIRES_SECONDS", _int_parser(60, 365 * 86400), 86400
            ),
            mongodb_uri=reader.get(
                "MONGODB_URI",
                _parse_uri(("mongodb://", "mongodb+srv://")),
                f"mongodb://{_host_for_uri(mongodb_host)}:{mongodb_port}/",
            ),
            mongodb_name=reader.get("MONGODB_NAME", _parse_db_name, cls.mongodb_name),
            mongodb_timeout_ms=reader.get("MONGODB_TIMEOUT_MS", _int_parser(100, 60_000), 1500),
            redis_url=reader.get(
                "REDIS_URL",
                _parse_uri(("redis://", "rediss://", "unix://")),
                f"redis://{_host_for_uri(redis_host)}:{redis_port}/{redis_db}",
            ),
            redis_timeout_seconds=reader.get(
                "REDIS_TIMEOUT_SECONDS", _float_parser(0.05, 30.0), cls.redis_timeout_seconds
            ),
            redis_max_connections=reader.get(
                "REDIS_MAX_CONNECTIONS", _int_parser(1, 10_000), cls.redis_max_connections
            ),
            redis_pool_timeout_seconds=reader.get(
                "REDIS_POOL_TIMEOUT_SECONDS",
                _float_parser(0.05, 60.0),
                cls.redis_pool_timeout_seconds,
            ),
            fact_max_n=reader.get("FACT_MAX_N", _int_parser(0, 1_000_000), cls.fact_max_n),
            fact_cache_ttl=reader.get(
                "FACT_CACHE_TTL", _int_parser(1, 365 * 86400), cls.fact_cache_ttl
            ),
            fact_local_cache_bytes=reader.get(
                "FACT_LOCAL_CACHE_BYTES", _int_parser(0, 1 << 40), cls.fact_local_cache_bytes
            ),
            fact_workers=reader.get("FACT_WORKERS", _int_parser(1, 64), cls.fact_workers),
            fact_max_pending=reader.get(
                "FACT_MAX_PENDING", _int_parser(1, 10_000), cls.fact_max_pending
            ),
            fact_max_wait_seconds=reader.get(
                "FACT_MAX_WAIT_SECONDS", _float_parser(0.0, 60.0), cls.fact_max_wait_seconds
            ),
            shutdown_grace_seconds=reader.get(
                "SHUTDOWN_GRACE_SECONDS", _float_parser(0.0, 600.0), cls.shutdown_grace_seconds
            ),
            session_cookie_name=reader.get("SESSION_COOKIE_NAME", _parse_cookie_name, "SID"),
            session_cookie_secrets_previous=reader.get(
                "SESSION_COOKIE_SECRETS_PREVIOUS", _parse_secret_list, ()
            ),
            session_absolute_seconds=reader.get(
                "SESSION_ABSOLUTE_SECONDS", _int_parser(60, 365 * 86400), 7 * 86400
            ),
            bcrypt_rounds=reader.get("BCRYPT_ROUNDS", _int_parser(10, 16), cls.bcrypt_rounds),
            bcrypt_threads=reader.get("BCRYPT_THREADS", _int_parser(0, 256), cls.bcrypt_threads),
            bcrypt_max_pending=reader.get(
                "BCRYPT_MAX_PENDING", _int_parser(1, 10_000), cls.bcrypt_max_pending
            ),
            bcrypt_max_wait_seconds=reader.get(
                "BCRYPT_MAX_WAIT_SECONDS", _float_parser(0.0, 60.0), cls.bcrypt_max_wait_seconds
            ),
            password_pepper=reader.get("PASSWORD_PEPPER", str, ""),
            login_account_max_failures=reader.get(
                "LOGIN_ACCOUNT_MAX_FAILURES", _int_parser(1, 100_000), 100
            ),
            login_account_window_seconds=reader.get(
                "LOGIN_ACCOUNT_WINDOW_SECONDS", _int_parser(1, 86400), 3600
            ),
            login_client_max_failures=reader.get(
                "LOGIN_CLIENT_MAX_FAILURES", _int_parser(1, 100_000), 20
            ),
            login_client_window_seconds=reader.get(
                "LOGIN_CLIENT_WINDOW_SECONDS", _int_parser(1, 86400), 900
            ),
            register_client_max=reader.get("REGISTER_CLIENT_MAX", _int_parser(1, 100_000), 20),
            register_client_window_seconds=reader.get(
                "REGISTER_CLIENT_WINDOW_SECONDS", _int_parser(1, 86400), 3600
            ),
            cors_origins=reader.get("CORS_ORIGINS", _parse_origins, ()),
            trusted_proxies=reader.get("TRUSTED_PROXIES", _parse_networks, ()),
            http_max_body_bytes=reader.get(
                "HTTP_MAX_BODY_BYTES", _int_parser(1024, 64 << 20), cls.http_max_body_bytes
            ),
            http_max_header_bytes=reader.get(
                "HTTP_MAX_HEADER_BYTES", _int_parser(1024, 1 << 20), cls.http_max_header_bytes
            ),
            http_idle_timeout_seconds=reader.get(
                "HTTP_IDLE_TIMEOUT_SECONDS", _float_parser(1.0, 3600.0), 60.0
            ),
            http_body_timeout_seconds=reader.get(
                "HTTP_BODY_TIMEOUT_SECONDS", _float_parser(1.0, 3600.0), 10.0
            ),
        )
        if settings.session_absolute_seconds < settings.session_idle_seconds:
            reader.problem(
                "SESSION_ABSOLUTE_SECONDS: must be at least SESSION_EXPIRES_SECONDS "
                f"({settings.session_idle_seconds})"
            )
        reader.raise_if_invalid()
        return settings.with_checked_secret()

    def with_checked_secret(self) -> Settings:
        """Refuse a weak secret outside DEBUG; in DEBUG make up a random one if none is set."""
        secret = self.session_cookie_secret
        if self.debug:
            if secret:
                return self
            logging.getLogger(__name__).warning(
                "SESSION_COOKIE_SECRET is not set: using a random one; sessions end at restart"
            )
            return replace(self, session_cookie_secret=secrets.token_urlsafe(48))
        problem = _secret_problem(secret)
        if problem:
            raise ConfigError(f"SESSION_COOKIE_SECRET: {problem} (required when DEBUG is false)")
        return self


def _secret_problem(secret: str) -> str | None:
    if not secret:
        return "missing"
    if secret in WELL_KNOWN_SECRETS:
        return "a well-known published value"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(secret)) < 10:
        return "too few distinct characters"
    return None


class _EnvReader:
    """Collects every bad variable so that one start reports all of them."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._problems: list[str] = []

    def get(self, name: str, parse: Callable[[str], T], default: T) -> T:
        raw = self._env.get(name)
        if raw is None or raw == "":
            return default
        try:
            return parse(raw)
        except ValueError as error:
            self._problems.append(f"{name}: {error} (got {raw!r})")
            return default

    def problem(self, text: str) -> None:
        self._problems.append(text)

    def raise_if_invalid(self) -> None:
        if self._problems:
            raise ConfigError("; ".join(self._problems))


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("must be true or false")


def _int_parser(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        text = raw.strip()
        if not text.isascii() or not text.isdigit():
            raise ValueError(f"must be a whole number from {minimum} to {maximum}")
        value = int(text)
        if not minimum <= value <= maximum:
            raise ValueError(f"must be a whole number from {minimum} to {maximum}")
        return value

    return parse


def _port_parser(minimum: int) -> Callable[[str], int]:
    return _int_parser(minimum, 65535)


def _float_parser(minimum: float, maximum: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"must be a number from {minimum} to {maximum}") from None
        if not minimum <= value <= maximum:
            raise ValueError(f"must be a number from {minimum} to {maximum}")
        return value

    return parse


def _parse_path(raw: str) -> Path:
    path = Path(raw)
    if not path.is_absolute():
        raise ValueError("must be an absolute path")
    return path


def _parse_log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _parse_log_format(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"plain", "json"}:
        raise ValueError("must be plain or json")
    return value


def _parse_event_loop(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"uvloop", "asyncio"}:
        raise ValueError("must be uvloop or asyncio")
    return value


def _parse_host(raw: str) -> str:
    host = raw.strip()
    if not host or any(c in host for c in "/@?# "):
        raise ValueError("must be a host name or address")
    return host


def _host_for_uri(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else quote(host, safe=".-[]:")


def _parse_uri(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        uri = raw.strip()
        if not uri.startswith(schemes) or len(uri) <= len(uri.split("://")[0]) + 3:
            raise ValueError(f"must be a URL starting with {' or '.join(schemes)}")
        return uri

    return parse


def _parse_cookie_name(raw: str) -> str:
    name = raw.strip()
    if (
        not name
        or len(name) > 64
        or not all(c.isascii() and (c.isalnum() or c in "_-") for c in name)
    ):
        raise ValueError("must be 1-64 ASCII letters, digits, '_' or '-'")
    return name


def _parse_secret_list(raw: str) -> tuple[str, ...]:
    secrets_list = tuple(part.strip() for part in raw.split(",") if part.strip())
    for secret in secrets_list:
        if _secret_problem(secret):
            raise ValueError("each previous secret must be a strong secret too")
    return secrets_list


def _parse_origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip() for part in raw.split(",") if part.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if scheme not in {"http", "https"} or not rest or "/" in rest or origin == "null":
            raise ValueError("must be comma-separated origins like https://app.example.com")
    return origins


def _parse_networks(
    raw: str,
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in raw.split(",")
            if part.strip()
        )
    except ValueError:
        raise ValueError("must be comma-separated IP addresses or networks") from None


def _parse_db_name(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > 63 or any(c in name for c in '/\\. "$*<>:|?'):
        raise ValueError("must be a MongoDB database name")
    return name
