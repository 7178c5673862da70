"""Serve the demo SPA's files on a loopback address, with a strict Content-Security-Policy.

    python examples/spa/serve.py --port 8000 --api http://localhost:8888

Only index.html (at /), the JavaScript modules and the stylesheet beside this file are served.
`make demo` and the browser tests (tests/browser) both use it.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

HERE = Path(__file__).resolve().parent
# "" (index.html), then lower-case *.js and *.css names: nothing else here is served.
FILES = r"/((?:[a-z]+\.(?:js|css))?)"


def content_security_policy(api_origins: Sequence[str]) -> str:
    """The page's Content-Security-Policy (CSP Level 3): its own files only, so no inline script
    and no script from elsewhere; connections (fetch) to `api_origins` only, which is all that
    keeps the page's `?api=` (and so the password typed into it) from naming any other server;
    images (the user's avatar) from `api_origins` only; and Trusted Types (W3C Trusted Types,
    `require-trusted-types-for 'script'`): a string given to an HTML or script sink (innerHTML,
    a script's text, eval) throws instead of running."""
    return "; ".join(
        (
            "default-src 'self'",
            f"connect-src {' '.join(api_origins)}",
            # The user's avatar, served by the API (GET /avatars/{id}); the page has no others.
            f"img-src {' '.join(api_origins)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
        )
    )


class SpaFiles(tornado.web.StaticFileHandler):
    """The SPA's files, each with the policy and headers a page holding a session should have."""

    def initialize(
        self,
        path: str,
        default_filename: str | None = None,
        allowed_symlink_directory: str | list[str] | None = None,
        policy: str = "",
    ) -> None:
        super().initialize(path, default_filename, allowed_symlink_directory)
        self._policy = policy

    def set_default_headers(self) -> None:
        self.clear_header("Server")

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Content-Security-Policy", self._policy)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        # Revalidated on every load (ETag): an edited module is seen at the next reload.
        self.set_header("Cache-Control", "no-cache")


def make_app(api_origins: Sequence[str]) -> tornado.web.Application:
    """The static application serving HERE under the policy for `api_origins`."""
    options = {
        "path": str(HERE),
        "default_filename": "index.html",
        "policy": content_security_policy(api_origins),
    }
    return tornado.web.Application([(FILES, SpaFiles, options)])


def origin(text: str) -> str:
    """An http(s) origin such as http://localhost:8888 (argparse type); a path is refused."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise argparse.ArgumentTypeError(f"not an http(s) origin: {text!r}")
    return f"{parts.scheme}://{parts.netloc}"


def loopback(text: str) -> str:
    """A loopback address or `localhost` (argparse type): the SPA is never served beyond it."""
    if text != "localhost":
        try:
            if ipaddress.ip_address(text).is_loopback:
                return text
        except ValueError:
            pass
        raise argparse.ArgumentTypeError(f"not a loopback address: {text!r}")
    return text


async def serve(port: int, address: str, api_origins: Sequence[str]) -> None:
    """Serve until SIGINT or SIGTERM."""
    server = HTTPServer(make_app(api_origins))
    server.add_sockets(bind_sockets(port, address))
    print(
        f"serving the SPA on {address} port {port} (connect-src {' '.join(api_origins)})",
        flush=True,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    server.stop()
    await server.close_all_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="listening port (default 8000)")
    parser.add_argument(
        "--address", type=loopback, default="localhost", help="loopback address (default localhost)"
    )
    parser.add_argument(
        "--api",
        type=origin,
        action="append",
        required=True,
        help="origin of the API the page may connect to (repeatable)",
    )
    options = parser.parse_args()
    asyncio.run(serve(options.port, options.address, options.api))


if __name__ == "__main__":
    main()
