"""The account API: /register, /login, /isLogined, /logout, /account/info, /account/edit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from factsvc.errors import Duplicate, WrongOldPassword
from factsvc.handlers.authorization import bearer_token
from factsvc.handlers.base import BaseHandler
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.handlers.error_map import error_answer, kind_of
from factsvc.handlers.http_caching import NO_STORE
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
    """Finds the session tokens a request presents (a Bearer token, the signed cookie's values)
    and delivers new ones."""

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
        self.set_header("Cache-Control", NO_STORE)

    def check_trusted_origin(self, origin: str) -> bool:
        """Cross-origin state changes pass for trusted origins, and for requests whose only
        credential is a bearer token: a forged request carries no cookie to borrow, and a bad
        token gets 401."""
        if self.origin_is_listed(origin):
            return True
        return self.bearer() is not None and "Cookie" not in self.request.headers

    def bearer(self) -> str | None:
        """The token of the request's `Authorization: Bearer` ("" when it holds none), or None
        when it presents no bearer (authorization.bearer_token). A bearer takes precedence over
        the cookie: see session_token."""
        return bearer_token(self.header("Authorization"))

    def session_token(self) -> str | None:
        """The token of the session the request runs in: the bearer's, else the one session
        its cookies of the session cookie's name stand for (CookiePolicy.session_token)."""
        bearer = self.bearer()
        if bearer is not None:
            return bearer
        return self._cookies.session_token(self._cookie_lines())

    def presented_tokens(self) -> list[str]:
        """Every session token the request presents: the bearer's and each cookie value's
        that verifies, whichever one the request runs in; what a login or a logout ends."""
        bearer = self.bearer()
        cookie_tokens = sorted(self._cookies.verified_tokens(self._cookie_lines()))
        return [bearer, *cookie_tokens] if bearer else cookie_tokens

    def _cookie_lines(self) -> list[str]:
        return self.request.headers.get_list("Cookie")

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
        it (a bearer client) gets no Set-Cookie. Set before an error, it goes with the error's
        answer too (Tornado's send_error keeps the cookies set)."""
        if self._cookies.carried(self._cookie_lines()):
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
        delivery = login_delivery(
            mode, self.request.headers, cookie_crosses_sites=self._cookies.crosses_sites
        )
        result = await self._accounts.login(
            body,
            self.client_address(),
            presented=self.presented_tokens(),
            user_agent=self.header("User-Agent"),
        )
        payload: dict[str, object] = {"user": result.user.public()}
        self.deliver(result.token, delivery, payload)
        await self.write_envelope(payload)


class IsLoginedHandler(AccountHandler):
    async def get(self) -> None:
        user = await self._accounts.current_user(self.session_token())
        await self.write_envelope(
            {"logined": user is not None, "user": user.public() if user else None}
        )


class LogoutHandler(AccountHandler):
    async def post(self) -> None:
        # Before the outcome is known: a client left holding a cookie that no session answers
        # to (junk, or two sessions) could never clear it, HttpOnly as it is.
        self.expire_session_cookie()
        await self._accounts.logout(self.presented_tokens())
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
        result = await self._accounts.edit(
            token, body, client=self.client_address(), user_agent=self.header("User-Agent")
        )
        payload: dict[str, object] = {"user": result.user.public()}
        if result.new_token is None:
            return success(200, payload)
        by_bearer = self.bearer() is not None
        self.deliver(result.new_token, renewal_delivery(by_bearer), payload)
        if by_bearer:
            # The change ended the user's sessions: a cookie carried beside the bearer is dead.
            self.expire_session_cookie()
        # Never kept: a replay would hand the new session's token to whoever sends the key, and
        # put a usable token into Redis, where sessions keep only hashes.
        return success(200, payload, keep=False)
