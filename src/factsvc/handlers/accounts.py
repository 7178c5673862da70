"""The account API: /register, /login, /isLogined, /logout, /account/info, /account/edit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from factsvc.errors import Duplicate, WrongOldPassword
from factsvc.handlers.base import BaseHandler
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.handlers.error_map import error_answer, kind_of
from factsvc.handlers.session_cookie import CookiePolicy
from factsvc.handlers.session_delivery import Delivery, login_delivery, renewal_delivery
from factsvc.services.accounts import AccountService
from factsvc.services.bodies import LoginBody
from factsvc.services.body_reasons import parse
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


class AccountHandler(BaseHandler):
    """Finds the session token (bearer first, then the signed cookie) and delivers new ones."""

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

    def presents_bearer(self) -> bool:
        """Whether the request presents its session with an Authorization header, which then
        decides alone (of a scheme other than Bearer, it presents none): see session_token."""
        return "Authorization" in self.request.headers

    def session_token(self) -> str | None:
        """The token of the session the request presents: `Authorization: Bearer`, else the
        one session its cookies of the session cookie's name stand for (CookiePolicy)."""
        authorization = self.header("Authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
        return self._cookies.session_token(self.request.headers.get_list("Cookie"))

    def client_address(self) -> str:
        return self._clients.resolve(self.request)

    def deliver(self, token: str, delivery: Delivery, payload: dict[str, object]) -> None:
        """Hand a new session's token to the client as `delivery` says: the cookie, and
        `token` in `payload`, the answer's body."""
        if delivery.cookie:
            cookies = self._cookies
            self.set_cookie(
                cookies.name,
                cookies.signed(token),
                max_age=cookies.max_age_seconds,
                **cookies.attributes(),
            )
        if delivery.token:
            payload["token"] = token

    def expire_session_cookie(self) -> None:
        """Expire the session cookie, when the request carried one: a client that never had
        it (a bearer client) gets no Set-Cookie."""
        if self._cookies.carried(self.request.headers.get_list("Cookie")):
            self.clear_cookie(self._cookies.name, **self._cookies.attributes())

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
        # The service validates the whole body again (the credentials are its business); only
        # the chosen session mode is read here, and a bad body is refused the same way.
        mode = parse(LoginBody, body).session_mode()
        result = await self._accounts.login(body, self.client_address(), self.session_token())
        payload: dict[str, object] = {"user": result.user.public()}
        self.deliver(result.token, login_delivery(mode, self.request.headers), payload)
        await self.write_envelope(payload)


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
        self.deliver(result.new_token, renewal_delivery(self.presents_bearer()), payload)
        # Never kept: a replay would hand the new session's token to whoever sends the key, and
        # put a usable token into Redis, where sessions keep only hashes.
        return success(200, payload, keep=False)
