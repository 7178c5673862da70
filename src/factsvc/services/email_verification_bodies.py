"""Request bodies of email verification: POST /email/verify and the resend's empty body."""

from __future__ import annotations

from factsvc.services.bodies import Body
from factsvc.services.password_reset_bodies import MailedToken


class VerifyEmailBody(Body):
    """The token of a mailed verification link."""

    token: MailedToken


class NoFields(Body):
    """An empty JSON object: a request that takes no fields (an absent body counts as one)."""
