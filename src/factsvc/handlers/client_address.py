"""The client's address for rate limits: the TCP peer, or X-Forwarded-For behind a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from tornado.httputil import HTTPServerRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddressResolver:
    def __init__(self, trusted_proxies: Sequence[Network]) -> None:
        self._trusted = tuple(trusted_proxies)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def resolve(self, request: HTTPServerRequest) -> str:
        """Headers count only when the peer itself is a trusted proxy; then the address is the
        nearest hop in X-Forwarded-For that is not one (a client cannot spoof past it)."""
        peer = request.remote_ip or "unknown"
        if not self._trusted or not self._is_trusted(peer):
            return peer
        forwarded = request.headers.get("X-Forwarded-For", "")
        for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            if not self._is_trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer
        return peer
