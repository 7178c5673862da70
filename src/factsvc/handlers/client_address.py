"""The client's address for rate limits and the access log: the peer, or X-Forwarded-For's."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from itertools import islice

from tornado.httputil import HTTPServerRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# More trusted proxies in a row than any deployment chains: only a client inside a trusted
# network could write such a list, and parsing each of 4000 hops ("::1,::1,...") took 14 ms.
MAX_TRUSTED_HOPS = 16


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
        nearest hop in X-Forwarded-For that is not one (a client cannot spoof past it). The
        peer when there is none within MAX_TRUSTED_HOPS, or that hop is not an IP address
        (a port or brackets included): a malformed header never raises."""
        peer = request.remote_ip or "unknown"
        if not self._trusted or not self._is_trusted(peer):
            return peer
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = (part.strip() for part in reversed(forwarded.split(",")))
        for hop in islice((hop for hop in hops if hop), MAX_TRUSTED_HOPS + 1):
            if not self._is_trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer
        return peer
