"""How browsers write an origin (WHATWG URL) and which site it is on."""

from __future__ import annotations

import pytest

from factsvc.config.origin_form import browser_form, browser_host, is_loopback_host, schemeful_site


@pytest.mark.parametrize(
    ("origin", "site"),
    [
        ("https://app.example.com:8443", "https://example.com"),
        ("https://a.b.example.co.uk", "https://example.co.uk"),
        ("https://foo.github.io", "https://foo.github.io"),
        ("https://github.io", "https://github.io"),
        ("http://localhost:5173", "http://localhost"),
        ("http://127.0.0.1:8080", "http://127.0.0.1"),
        ("http://[::1]:8080", "http://[::1]"),
        ("http://[0:0::1]", "http://[::1]"),
        ("https://xn--fa-hia.de", "https://xn--fa-hia.de"),
    ],
)
def test_a_site_is_the_scheme_and_registrable_domain_or_the_ip_address(
    origin: str, site: str
) -> None:
    assert schemeful_site(origin) == site


@pytest.mark.parametrize(
    ("origin", "written"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("http://[::1]:80", "http://[::1]"),
        ("https://app.example.com?x", None),
        ("https://app.example.com#x", None),
        ("https://:443", None),
    ],
)
def test_the_browser_form_of_an_origin(origin: str, written: str | None) -> None:
    assert browser_form(origin) == written


@pytest.mark.parametrize(
    ("host", "written"),
    [
        # UTS #46 non-transitional, as browsers map (IDNA 2003 would give fass.de).
        ("faß.de", "xn--fa-hia.de"),
        ("straße.example", "xn--strae-oqa.example"),
        ("\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "example.com"),  # full width
        ("xn--fa-hia.de", "xn--fa-hia.de"),
        ("💩.la", "xn--ls8h.la"),
        # ASCII labels IDNA 2008 refuses and browsers take.
        ("my_app.example.com", "my_app.example.com"),
        ("-app.example.com", "-app.example.com"),
        ("ab--cd.example", "ab--cd.example"),
        ("%61pp.example", "app.example"),
        ("%c3%bc.example", "xn--tda.example"),
        # A last label that is a number makes the host an IPv4 address, in any base.
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7F000001", "127.0.0.1"),
        ("192.168.0.1.", "192.168.0.1"),
        ("0x", "0.0.0.0"),
        ("::1", "[::1]"),
        ("0:0::1", "[::1]"),
        ("2001:DB8:0:0:1:0:0:1", "[2001:db8::1:0:0:1]"),
        ("::ffff:127.0.0.1", "[::ffff:7f00:1]"),
    ],
)
def test_a_host_is_written_as_browsers_write_it(host: str, written: str) -> None:
    assert browser_host(host) == written


@pytest.mark.parametrize(
    "host",
    [
        "1.2.3.4.5",
        "256.0.0.1",
        "1.2.3.256",
        "4294967296",
        "09.0.0.1",
        "example.0x1",
        "example.1",
        "[fe80::1%25eth0]",
        "a<b.example",
        "a%20b.example",
        "a%2fb.example",
        "xn--a-ecp.xn--zz",
        "%ff.example",
    ],
)
def test_an_origin_whose_host_no_browser_parses_has_no_browser_form(host: str) -> None:
    assert browser_form(f"https://{host}") is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("[::1]", True),
        ("localhost.example", False),
        ("128.0.0.1", False),
        ("[::2]", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts_are_localhost_and_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
