"""The password reset API: POST /password/forgot and POST /password/reset (no session)."""

from __future__ import annotations

from factsvc.handlers.base import BaseHandler
from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.handlers.http_caching import NO_STORE
from factsvc.handlers.link_pages import ResetPasswordPage
from factsvc.services.password_reset import PasswordResetService


class PasswordResetHandler(BaseHandler):
    """Takes the service and the client address resolver (the limits count per client).
    Cross-origin requests are refused unless from CORS_ORIGINS, as for every state change;
    apps that send no Origin pass."""

    def initialize(
        self, password_reset: PasswordResetService, clients: ClientAddressResolver
    ) -> None:
        self._reset = password_reset
        self._clients = clients

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", NO_STORE)


class ForgotPasswordHandler(PasswordResetHandler):
    async def post(self) -> None:
        await self._reset.forgot(self.json_body(), self._clients.resolve(self.request))
        await self.write_envelope({}, status=202)


class ResetPasswordHandler(PasswordResetHandler, ResetPasswordPage):
    """POST takes the token; GET serves the page the mailed link opens (ResetPasswordPage)."""

    async def post(self) -> None:
        await self._reset.reset(self.json_body(), self._clients.resolve(self.request))
        await self.write_envelope({})
