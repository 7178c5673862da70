"""The account API: /register, /login, /isLogined, /logout, /account/info, /account/edit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from factsvc.errors import Duplicate, WrongOldPassword
from factsvc.handlers.base import BaseHandler
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.handlers.error_map import error_answer, kind_of
from factsvc.services.accounts import AccountService
from factsvc.services.idempotency import (
    HEADER,
    IdempotencyService,
    Outcome,
    parse_key,
    registration_scope,
    session_scope,
)

# Refusals a retry of the same request would meet again, once the request got past its checks:
# kept for an Idempotency-Key. A 400 is not (the body alone decides it, and keeping it would let
# any client fill Redis), nor anything with Retry-After (a retry may succeed).
KEPT_REFUSALS = (Duplicate, WrongOldPassword)


@dataclass(frozen=True)
class CookiePolicy:
    name: str
    secure: bool
    max_age_seconds: int


class AccountHandler(BaseHandler):
    """Finds the session token (bearer first, then the signed cookie) and sets the cookie."""

    def initialize(
        self,
        accounts: AccountService,
        cookies: CookiePolicy,
        clients: ClientAddressResolver,
        idempotency: IdempotencyService | None,
    ) -> None:
        self._accounts = accounts
        self._cookies = cookies
        self._clients = clients
        self._idempotency = idempotency

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

    async def respond_once(
        self,
        scope: str | None,
        body: Mapping[str, object],
        operation: Callable[[], Awaitable[Outcome]],
    ) -> None:
        """Answer with `operation`'s outcome; with an Idempotency-Key (and a scope), once per
        key: a retry gets the kept answer (IdempotencyService.once)."""
        key = parse_key(self.request.headers.get_list(HEADER))
        if key is None or scope is None or self._idempotency is None:
            answer = (await operation()).answer
        else:
            answer = await self._idempotency.once(scope, key, body, lambda: _final(operation))
        await self.write_answer(answer)

    async def write_answer(self, answer: Mapping[str, Any]) -> None:
        """Write an answer built by success() or _final(): the envelope, or the error body."""
        status = int(answer["status"])
        if "error" not in answer:
            await self.write_envelope(answer["payload"], status=status)
            return
        self.set_status(status)
        for name, value in answer["headers"].items():
            self.set_header(name, value)
        self.finish(orjson.dumps({**answer["error"], "request_id": self.request_id}))


def success(status: int, payload: Mapping[str, Any], *, keep: bool = True) -> Outcome:
    """A success answer: its status and the envelope's payload."""
    return Outcome({"status": status, "payload": dict(payload)}, keep)


async def _final(operation: Callable[[], Awaitable[Outcome]]) -> Outcome:
    try:
        return await operation()
    except KEPT_REFUSALS as refusal:
        answer = error_answer(kind_of(refusal).status, refusal)
        return Outcome({"status": answer.status, "error": answer.body, "headers": answer.headers})


class RegisterHandler(AccountHandler):
    async def post(self) -> None:
        body = self.json_body()
        await self.respond_once(registration_scope(body), body, lambda: self._register(body))

    async def _register(self, body: Mapping[str, object]) -> Outcome:
        user = await self._accounts.register(body, self.client_address())
        return success(201, {"user": user.public()})


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
        body, token = self.json_body(), self.session_token()
        await self.respond_once(session_scope(token), body, lambda: self._edit(token, body))

    async def _edit(self, token: str | None, body: Mapping[str, object]) -> Outcome:
        result = await self._accounts.edit(token, body)
        payload: dict[str, object] = {"user": result.user.public()}
        if result.new_token is None:
            return success(200, payload)
        self.set_session_cookie(result.new_token)
        payload["token"] = result.new_token
        # Never kept: a replay would hand the new session's token to whoever sends the key, and
        # put a usable token into Redis, where sessions keep only hashes.
        return success(200, payload, keep=False)
