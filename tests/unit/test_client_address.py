"""Which address a request counts against: the peer, unless the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress

import pytest
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

from factsvc.handlers.client_address import ClientAddressResolver


def request(peer: str, forwarded: str | None = None) -> HTTPServerRequest:
    headers = HTTPHeaders({"Host": "api.example"})
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    req = HTTPServerRequest(
        start_line=RequestStartLine("POST", "/login", "HTTP/1.1"), headers=headers
    )
    req.remote_ip = peer
    return req


PROXIES = ClientAddressResolver([ipaddress.ip_network("10.0.0.0/8")])


@pytest.mark.parametrize(
    ("resolver", "peer", "forwarded", "expected"),
    [
        (ClientAddressResolver([]), "198.51.100.7", "203.0.113.1", "198.51.100.7"),
        (PROXIES, "198.51.100.7", "203.0.113.1", "198.51.100.7"),
        (PROXIES, "10.0.0.2", "203.0.113.1", "203.0.113.1"),
        (PROXIES, "10.0.0.2", "1.2.3.4, 203.0.113.1", "203.0.113.1"),
        (PROXIES, "10.0.0.2", "203.0.113.1, 10.0.0.9", "203.0.113.1"),
        (PROXIES, "10.0.0.2", "not-an-address", "10.0.0.2"),
        (PROXIES, "10.0.0.2", None, "10.0.0.2"),
    ],
)
def test_the_client_address_cannot_be_spoofed_past_a_trusted_proxy(
    resolver: ClientAddressResolver, peer: str, forwarded: str | None, expected: str
) -> None:
    assert resolver.resolve(request(peer, forwarded)) == expected


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (", ".join(["203.0.113.1"] + ["10.0.0.9"] * 16), "203.0.113.1"),
        (", ".join(["203.0.113.1"] + ["10.0.0.9"] * 17), "10.0.0.2"),
        ("10.0.0.9," * 4000, "10.0.0.2"),
        ("203.0.113.1:443", "10.0.0.2"),
        ("[2001:db8::1]", "10.0.0.2"),
        (",,, ,\t,", "10.0.0.2"),
        ("203.0.113.1\x00", "10.0.0.2"),
    ],
)
def test_a_malformed_or_overlong_forwarded_list_counts_against_the_proxy(
    forwarded: str, expected: str
) -> None:
    assert PROXIES.resolve(request("10.0.0.2", forwarded)) == expected
