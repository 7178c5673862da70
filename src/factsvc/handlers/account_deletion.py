"""The account deletion API: POST /account/delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factsvc.errors import DeletionInterrupted
from factsvc.handlers.accounts import AccountHandler, success
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.handlers.session_cookie import CookiePolicy
from factsvc.services.account_deletion import AccountDeletionService
from factsvc.services.accounts import AccountService
from factsvc.services.idempotency import IdempotencyService, Outcome, session_scope


class AccountDeletionHandler(AccountHandler):
    """Deletes the session's account: the session by bearer or cookie, cross-origin requests
    with a cookie refused (AccountHandler), the carried cookie expired on success.

    Takes Idempotency-Key, scoped to the session's token like /account/edit: the deletion ends
    that session, so a retry after a lost answer would otherwise get 401 and could not tell a
    deletion done from a session ended; with the key it gets the kept 200 (or the kept 403 of
    a wrong password, counted once). The kept answer holds no credential."""

    def initialize(  # type: ignore[override]
        self,
        accounts: AccountService,
        cookies: CookiePolicy,
        clients: ClientAddressResolver,
        idempotency: IdempotencyService | None,
        account_deletion: AccountDeletionService,
    ) -> None:
        super().initialize(accounts, cookies, clients, idempotency)
        self._deletion = account_deletion

    async def post(self) -> None:
        body, token = self.json_body(), self.session_token()
        await self.respond_once(session_scope(token), body, lambda: self._delete(token, body))

    async def _delete(self, token: str | None, body: Mapping[str, object]) -> Outcome:
        try:
            await self._deletion.delete(token, body)
        except DeletionInterrupted:
            # Its session may be gone: the client logs in again after Retry-After, and a
            # cookie left to name it could never be cleared by a page script (HttpOnly).
            self.expire_session_cookie()
            raise
        return success(200, {})

    async def write_answer(self, answer: Mapping[str, Any]) -> None:
        """A success, first or kept, expires the cookie the request carried: its session is
        gone, and HttpOnly as it is, no page script could clear it."""
        if int(answer["status"]) == 200:
            self.expire_session_cookie()
        await super().write_answer(answer)
