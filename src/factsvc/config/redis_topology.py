"""Rules for the Redis topology settings: host:port lists, and what each topology needs of its
URL (Redis Cluster has only database 0; neither Cluster nor Sentinel reach a unix socket)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from factsvc.config.addresses import Host, host_for_uri
from factsvc.config.rules import Choice, ListOf, WholeNumber, as_text

TOPOLOGIES = Choice(("single", "cluster", "sentinel"))
_HOST = Host()
_PORT = WholeNumber(1, 65535)


def host_and_port(text: str) -> tuple[str, int]:
    """`host:port` (an IPv6 host in brackets: `[::1]:26379`) as (host, port), the host without
    brackets; ValueError unless both parts are valid."""
    host, colon, port = text.strip().rpartition(":")
    if not colon:
        raise ValueError(text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(text)  # an IPv6 address needs its brackets to tell the port apart
    return _HOST.parse(host), _PORT.parse(port)


def address(value: object) -> str:
    """One host:port item, written back canonically; ValueError otherwise."""
    host, port = host_and_port(as_text(value))
    return f"{host_for_uri(host)}:{port}"


HOST_PORTS = ListOf(
    "comma-separated host:port addresses",
    "must be comma-separated host:port addresses, like redis-1:6379,[::1]:26379",
    address,
)


def url_database(url: str) -> int:
    """The database a redis:// or rediss:// URL selects as redis-py reads it: `?db=` wins over
    the path (`/3`); 0 when neither gives a number."""
    parts = urlsplit(url)
    for text in (*parse_qs(parts.query).get("db", []), parts.path.replace("/", "")):
        if text.isascii() and text.isdigit():
            return int(text)
    return 0


def url_problem(topology: str, url: str) -> str | None:
    """Why `url` cannot serve `topology`, or None when it can."""
    if topology == "single":
        return None
    if url.startswith("unix://"):
        return f"{topology} needs a redis:// or rediss:// URL, not a unix socket"
    if topology == "cluster" and url_database(url) != 0:
        return "cluster needs database 0 in its URL (Redis Cluster has only database 0)"
    return None
