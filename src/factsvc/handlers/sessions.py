"""The sessions API: GET /account/sessions and POST /account/sessions/revoke."""

from __future__ import annotations

from factsvc.handlers.accounts import AccountHandler
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.handlers.session_cookie import CookiePolicy
from factsvc.services.accounts import AccountService
from factsvc.services.idempotency import IdempotencyService
from factsvc.services.session_list import SessionListService


class SessionListHandler(AccountHandler):
    """An AccountHandler (the session by bearer or cookie, cookie-borne cross-origin state
    changes refused) that also takes the SessionListService."""

    def initialize(  # type: ignore[override]
        self,
        accounts: AccountService,
        cookies: CookiePolicy,
        clients: ClientAddressResolver,
        idempotency: IdempotencyService | None,
        session_list: SessionListService,
    ) -> None:
        super().initialize(accounts, cookies, clients, idempotency)
        self._session_list = session_list


class SessionsHandler(SessionListHandler):
    """Lists the live sessions of the request's user, like /account/info."""

    async def get(self) -> None:
        listed = await self._session_list.list(self.session_token())
        await self.write_envelope({"sessions": [item.public() for item in listed]})


class RevokeSessionsHandler(SessionListHandler):
    """Ends sessions of the request's user. No Idempotency-Key: a retry of an `all` ends what
    is left (0), of an `id` finds it gone (404), and neither ends more than the first did."""

    async def post(self) -> None:
        body = self.json_body()
        revoked = await self._session_list.revoke(self.session_token(), body)
        if revoked.current and self.bearer() is None:
            # The request ran in its cookie's session, now ended: as /logout does.
            self.expire_session_cookie()
        await self.write_envelope({"revoked": revoked.count})
