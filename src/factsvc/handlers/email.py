"""The email verification API: POST /email/verify (no session) and POST
/account/email/verification (the session's user asks for a new link)."""

from __future__ import annotations

from factsvc.handlers.accounts import AccountHandler
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.handlers.http_caching import NO_STORE
from factsvc.handlers.link_pages import VerifyEmailPage
from factsvc.handlers.session_cookie import CookiePolicy
from factsvc.services.accounts import AccountService
from factsvc.services.email_verification import EmailVerificationService
from factsvc.services.idempotency import IdempotencyService


class VerifyEmailHandler(VerifyEmailPage):
    """POST takes a mailed link's token; GET serves the page the link opens (VerifyEmailPage).
    Cross-origin POSTs are refused unless from CORS_ORIGINS, as for every state change; apps
    that send no Origin pass. Failures count per client (the resolver finds it)."""

    def initialize(
        self, email_verification: EmailVerificationService, clients: ClientAddressResolver
    ) -> None:
        self._verification = email_verification
        self._clients = clients

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", NO_STORE)

    async def post(self) -> None:
        await self._verification.verify(self.json_body(), self._clients.resolve(self.request))
        await self.write_envelope({})


class EmailVerificationHandler(AccountHandler):
    """An AccountHandler (the session by bearer or cookie) that asks for a new verification
    mail; the body may be absent or `{}`."""

    def initialize(  # type: ignore[override]
        self,
        accounts: AccountService,
        cookies: CookiePolicy,
        clients: ClientAddressResolver,
        idempotency: IdempotencyService | None,
        email_verification: EmailVerificationService,
    ) -> None:
        super().initialize(accounts, cookies, clients, idempotency)
        self._verification = email_verification

    async def post(self) -> None:
        # No body at all is no fields (BaseHandler collects the body in _body).
        body = self.json_body() if self._body else {}
        await self._verification.resend(self.session_token(), body)
        await self.write_envelope({}, status=202)
