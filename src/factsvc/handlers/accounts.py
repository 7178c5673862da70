"""The account API: /register, /login, /isLogined, /logout, /account/info, /account/edit."""

from __future__ import annotations

from dataclasses import dataclass

from factsvc.handlers.base import BaseHandler
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.services.accounts import AccountService


@dataclass(frozen=True)
class CookiePolicy:
    name: str
    secure: bool
    max_age_seconds: int


class AccountHandler(BaseHandler):
    """Finds the session token (bearer first, then the signed cookie) and sets the cookie."""

    def initialize(
        self, accounts: AccountService, cookies: CookiePolicy, clients: ClientAddressResolver
    ) -> None:
        self._accounts = accounts
        self._cookies = cookies
        self._clients = clients

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    def check_trusted_origin(self, origin: str) -> bool:
        """Cross-origin state changes pass for trusted origins, and for requests whose only
        credential is a bearer token: session_token() then ignores any cookie, so a forged
        request cannot borrow a victim's cookie, and a bad token gets 401."""
        if self.origin_is_listed(origin):
            return True
        bearer = (self.header("Authorization") or "").lower().startswith("bearer ")
        return bearer and "Cookie" not in self.request.headers

    def session_token(self) -> str | None:
        authorization = self.header("Authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
        signed = self.get_signed_cookie(
            self._cookies.name,
            max_age_days=self._cookies.max_age_seconds / 86400 + 1,
            min_version=2,
        )
        return signed.decode("ascii", "replace") if signed else None

    def client_address(self) -> str:
        return self._clients.resolve(self.request)

    def set_session_cookie(self, token: str) -> None:
        self.set_signed_cookie(
            self._cookies.name,
            token,
            expires_days=None,
            max_age=self._cookies.max_age_seconds,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self._cookies.secure,
        )

    def expire_session_cookie(self) -> None:
        self.clear_cookie(
            self._cookies.name, path="/", httponly=True, samesite="Lax", secure=self._cookies.secure
        )


class RegisterHandler(AccountHandler):
    async def post(self) -> None:
        user = await self._accounts.register(self.json_body(), self.client_address())
        await self.write_envelope({"user": user.public()}, status=201)


class LoginHandler(AccountHandler):
    async def post(self) -> None:
        body = self.json_body()
        result = await self._accounts.login(body, self.client_address(), self.session_token())
        self.set_session_cookie(result.token)
        await self.write_envelope({"user": result.user.public(), "token": result.token})


class IsLoginedHandler(AccountHandler):
    async def get(self) -> None:
        user = await self._accounts.current_user(self.session_token())
        await self.write_envelope(
            {"logined": user is not None, "user": user.public() if user else None}
        )


class LogoutHandler(AccountHandler):
    async def post(self) -> None:
        await self._accounts.logout(self.session_token())
        self.expire_session_cookie()
        await self.write_envelope({})


class AccountInfoHandler(AccountHandler):
    async def get(self) -> None:
        user = await self._accounts.info(self.session_token())
        await self.write_envelope({"user": user.public()})


class AccountEditHandler(AccountHandler):
    async def post(self) -> None:
        result = await self._accounts.edit(self.session_token(), self.json_body())
        payload: dict[str, object] = {"user": result.user.public()}
        if result.new_token is not None:
            self.set_session_cookie(result.new_token)
            payload["token"] = result.new_token
        await self.write_envelope(payload)
