"""nginx's configuration for instances of the service, derived from the service's settings.

`deploy/nginx.conf` (docker-compose) is this module's rendering for the compose stack; a test
fails while it differs. Regenerate it with `python -m factsvc.cluster.nginx_config --write`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from factsvc.cluster.proxy_cache import fact_location, proxy_cache_path
from factsvc.config import Settings
from factsvc.errors import DependencyUnavailable
from factsvc.handlers.cors import EXPOSED_HEADERS
from factsvc.handlers.error_map import ERROR_TABLE, SYSTEM_ERROR, ErrorKind, kind_of_status
from factsvc.handlers.http_caching import NO_STORE
from factsvc.request_context import ACCEPTED_REQUEST_ID

TEMPLATE = files(__package__).joinpath("nginx.conf.template")
COMPOSE_CONFIG = Path(__file__).resolve().parents[3] / "deploy" / "nginx.conf"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
INDENT = "    "
# Passive health: one failed connection takes an instance out for FAIL_TIMEOUT, after which
# nginx tries it again with one request. Short, so that a restarted instance is back soon.
MAX_FAILS = 1
FAIL_TIMEOUT_SECONDS = 2
# A connection to an instance on the same host or network is accepted at once, or refused.
CONNECT_TIMEOUT_SECONDS = 1
# Tries in all (the first included): a failed request goes to at most one other instance, so
# that one slow or failing request never runs on every instance in turn.
NEXT_UPSTREAM_TRIES = 2
# The computation of a factorial has no setting bounding it: at the default FACT_MAX_N
# (100 000), computing it and writing its decimal took about 2.4 s on a 2-core development
# machine; this leaves room for slower or busier hosts.
COMPUTE_ALLOWANCE_SECONDS = 30
# What nginx tells a client that no instance answered: the service's own answer when a
# dependency is down (503 code 10), with nginx's status, and a retry hint as the service gives.
RETRY_AFTER_SECONDS = 1
# nginx's internal status for a head over large_client_header_buffers, sent as 400 by default;
# the service answers the same head with 431 (RFC 6585).
NGINX_HEADER_TOO_LARGE = 494


@dataclass(frozen=True)
class Site:
    """Where nginx listens, which instances it proxies to (host:port each; a name that
    resolves to several addresses stands for all of them, resolved at start), and how it runs.
    `cache_dir` is the directory of the proxy cache of /fact answers (None: no cache). Relative
    paths are under nginx's prefix (-p)."""

    listen: str
    upstreams: tuple[str, ...]
    worker_processes: str = "1"
    pid: str = "nginx.pid"
    error_log: str = "stderr"
    access_log: str = "/dev/stdout"
    user: str | None = None
    cache_dir: str | None = None


COMPOSE_SITE = Site(
    listen="8080",
    upstreams=("app:8888",),
    worker_processes="auto",
    pid="/var/run/nginx.pid",
    user="nginx",
    # In the image, /var/cache/nginx is nginx's; the master creates this directory in it.
    cache_dir="/var/cache/nginx/factsvc",
)


def upstream_keepalive_seconds(settings: Settings) -> int:
    """How long nginx keeps an idle connection to an instance: half the service's idle
    timeout (so that the instance never closes one as a request arrives on it), and no
    longer than the instance's drain, after which it may close idle connections; 1 s at least.
    """
    drain = settings.shutdown_drain_seconds
    return max(1, int(min(settings.http_idle_timeout_seconds / 2, drain)))


def proxy_read_timeout_seconds(settings: Settings) -> int:
    """How long nginx waits for an instance's answer, in whole seconds: longer than any request
    may legitimately take, since a read timeout counts as a failure (proxy_next_upstream
    timeout) and would run a slow GET again on another instance. The sum of every wait the
    service bounds (a place for a computation, FACT_MAX_WAIT_SECONDS, or for a hash,
    BCRYPT_MAX_WAIT_SECONDS; MongoDB's MONGODB_TIMEOUT_MS; a Redis connection from the pool,
    REDIS_POOL_TIMEOUT_SECONDS, and a command, REDIS_TIMEOUT_SECONDS) plus
    COMPUTE_ALLOWANCE_SECONDS for the computation itself, which no setting bounds."""
    waits = (
        settings.fact_max_wait_seconds
        + settings.bcrypt_max_wait_seconds
        + settings.mongodb_timeout_ms / 1000
        + settings.redis_pool_timeout_seconds
        + settings.redis_timeout_seconds
    )
    return math.ceil(waits) + COMPUTE_ALLOWANCE_SECONDS


def error_answers() -> dict[int, tuple[ErrorKind, int | None]]:
    """nginx's own error answers by the status nginx raises: the service's kind for it (the
    status sent, code, message) and the Retry-After seconds, if any."""
    unavailable = ERROR_TABLE[DependencyUnavailable]
    answers: dict[int, tuple[ErrorKind, int | None]] = {
        status: (kind_of_status(status), None) for status in (400, 404, 413, 414)
    }
    answers[NGINX_HEADER_TOO_LARGE] = (kind_of_status(431), None)
    answers[500] = (SYSTEM_ERROR, None)
    for status in (502, 504):
        answers[status] = (unavailable._replace(status=status), RETRY_AFTER_SECONDS)
    return answers


def _error_page(raised: int, kind: ErrorKind, retry_after: int | None, cors: bool) -> str:
    path = f"/_nginx_error/{kind.status}"
    redirect = f"={kind.status} " if raised != kind.status else ""
    message = json.dumps(kind.message)
    if any(character in message for character in "'$\\"):
        raise ValueError(f"not writable in an nginx string: {message}")
    fields = f'"code":{kind.code},"message":{message},"request_id":"$factsvc_request_id"'
    headers = [
        "X-Request-ID $factsvc_request_id",
        "X-Content-Type-Options nosniff",
        f"Cache-Control {NO_STORE}",
    ]
    if retry_after is not None:
        fields += f',"retry_after":{retry_after}'
        headers.append(f"Retry-After {retry_after}")
    if cors:
        headers += [
            "Access-Control-Allow-Origin $factsvc_allow_origin",
            "Access-Control-Allow-Credentials $factsvc_allow_credentials",
            "Access-Control-Expose-Headers $factsvc_expose_headers",
            "Vary Origin",
        ]
    lines = [
        f"error_page {raised} {redirect}{path};",
        f"location = {path} {{",
        f"{INDENT}internal;",
        # The request's own location judged its body; an upload it let through (up to
        # AVATAR_MAX_BYTES) must get this answer, not a 413 for the page's own limit.
        f"{INDENT}client_max_body_size 0;",
        f'{INDENT}default_type "application/json; charset=UTF-8";',
        *(f"{INDENT}add_header {header} always;" for header in headers),
        f"{INDENT}return {kind.status} '{{{fields}}}';",
        "}",
    ]
    return "".join(f"{INDENT * 2}{line}\n" for line in lines)


def render(settings: Settings, site: Site, *, notice: str = "") -> str:
    """The whole nginx.conf (main context) for `site`, with the limits of `settings`.

    Raises ValueError for a site without upstreams."""
    if not site.upstreams:
        raise ValueError("nginx needs at least one upstream")
    origins = settings.cors_origins
    cors = bool(origins)
    pages = (_error_page(raised, *answer, cors) for raised, answer in error_answers().items())
    values = {
        "notice": notice or "# Rendered by factsvc.cluster.nginx_config.",
        "user": f"user {site.user};" if site.user else "",
        "worker_processes": site.worker_processes,
        "pid": site.pid,
        "error_log": site.error_log,
        "access_log": site.access_log,
        "listen": site.listen,
        "servers": "".join(
            f"{INDENT * 2}server {upstream} max_fails={MAX_FAILS} "
            f"fail_timeout={FAIL_TIMEOUT_SECONDS}s;\n"
            for upstream in site.upstreams
        ),
        "upstream_keepalive_timeout": str(upstream_keepalive_seconds(settings)),
        "connect_timeout_seconds": str(CONNECT_TIMEOUT_SECONDS),
        "next_upstream_tries": str(NEXT_UPSTREAM_TRIES),
        "read_timeout_seconds": str(proxy_read_timeout_seconds(settings)),
        "max_body_bytes": str(settings.http_max_body_bytes),
        "avatar_max_bytes": str(settings.avatar_max_bytes),
        "max_header_bytes": str(settings.http_max_header_bytes),
        "body_timeout_seconds": f"{settings.http_body_timeout_seconds:g}",
        "idle_timeout_seconds": f"{settings.http_idle_timeout_seconds:g}",
        "request_id_pattern": ACCEPTED_REQUEST_ID.pattern,
        "cors_origins": "".join(f'{INDENT * 2}"{origin}" $http_origin;\n' for origin in origins),
        "exposed_headers": EXPOSED_HEADERS,
        "error_pages": "\n".join(pages),
        "proxy_cache_path": proxy_cache_path(settings, site.cache_dir, INDENT),
        "fact_location": fact_location(
            proxy_read_timeout_seconds(settings), site.cache_dir, INDENT
        ),
    }
    template = TEMPLATE.read_text(encoding="utf-8")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def compose_settings() -> Settings:
    """The settings of the compose stack's app as far as nginx is concerned: the defaults
    outside DEBUG (the secret is a stand-in: nginx never sees it)."""
    return Settings.from_env({"DEBUG": "false", "SESSION_COOKIE_SECRET": secrets.token_hex(32)})


def render_compose() -> str:
    notice = (
        "# deploy/nginx.conf: docker-compose's, rendered from the service's default settings by\n"
        "# `python -m factsvc.cluster.nginx_config --write`; do not edit (a test compares them)."
    )
    return render(compose_settings(), COMPOSE_SITE, notice=notice)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render deploy/nginx.conf (docker-compose's).")
    parser.add_argument("--write", action="store_true", help=f"write {COMPOSE_CONFIG}")
    args = parser.parse_args(argv)
    text = render_compose()
    if args.write:
        COMPOSE_CONFIG.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
