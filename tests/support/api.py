"""A small client for the account API over real sockets: JSON bodies, cookies, bearer tokens."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import orjson
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from factsvc.config import Settings
from factsvc.handlers.session_cookie import cookie_name

PASSWORD = "correct horse battery"


def session_cookie_name(settings: Settings) -> str:
    """The session cookie's name an app built from `settings` uses (__Host-SID outside DEBUG)."""
    return cookie_name(settings.session_cookie_name, debug=settings.debug)


class Reply:
    def __init__(self, response: HTTPResponse) -> None:
        self.response = response
        self.status = response.code
        self.headers = response.headers
        self.body: dict[str, Any] = orjson.loads(response.body) if response.body else {}

    @property
    def code(self) -> int:
        return int(self.body["code"])

    def set_cookies(self) -> list[str]:
        return self.headers.get_list("Set-Cookie")


class Api:
    """One client: keeps the session cookie it is given, like a browser."""

    def __init__(self, client: AsyncHTTPClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url
        self.cookies: dict[str, str] = {}

    async def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        content_type: str = "application/json",
    ) -> Reply:
        all_headers = {"Content-Type": content_type, **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        payload = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
        if method == "POST" and payload is None:
            payload = b""
        response = await self.client.fetch(
            self.base_url + path,
            method=method,
            body=payload,
            headers=all_headers,
            raise_error=False,
            follow_redirects=False,
        )
        reply = Reply(response)
        for header in reply.set_cookies():
            for name, morsel in SimpleCookie(header).items():
                if (morsel["expires"] and "1970" in morsel["expires"]) or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.coded_value
        return reply

    async def post(self, path: str, body: object = None, **kwargs: Any) -> Reply:
        return await self.request("POST", path, body, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def register(self, username: str = "alice", password: str = PASSWORD) -> Reply:
        return await self.post("/register", {"username": username, "password": password})

    async def login(
        self,
        username: str = "alice",
        password: str = PASSWORD,
        *,
        session: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """POST /login; `session` ("cookie" or "token") goes into the body when given."""
        body = {"username": username, "password": password}
        if session is not None:
            body["session"] = session
        return await self.post("/login", body, headers=headers)
