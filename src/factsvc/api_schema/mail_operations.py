"""The operations of mailed links: password reset (forgot, reset) and email verification
(routes.py routes them), with their answers."""

from __future__ import annotations

from factsvc.api_schema import errors as e
from factsvc.api_schema.operation import Operation, RequestBody, Security
from factsvc.api_schema.responses import Envelope
from factsvc.services.email_verification_bodies import VerifyEmailBody
from factsvc.services.password_reset_bodies import ForgotPasswordBody, ResetPasswordBody


class ResetLinkRequested(Envelope):
    pass


class PasswordWasReset(Envelope):
    pass


FORGOT_PASSWORD = Operation(
    "post",
    "forgotPassword",
    "Ask for a password reset link by mail",
    description="Always 202 for a well-formed body, in the same time, whether or not an "
    "account matches, whatever the state of its address and whether mail can be sent: the "
    "look-up and the mail happen after the answer. Only an account whose address is verified "
    "gets a mail, to that address, with a link `{PUBLIC_BASE_URL}/password/reset#token=...` "
    "that works once, for PASSWORD_RESET_TTL_SECONDS, and only while the password stays as it "
    "is; a newer request voids the older links. Limited per address or username "
    "(PASSWORD_FORGOT_ADDRESS_MAX) and per client (PASSWORD_FORGOT_CLIENT_MAX).",
    tag="passwords",
    body=RequestBody("ForgotPasswordRequest", ForgotPasswordBody),
    status=202,
    answer=ResetLinkRequested,
    answer_description="Accepted: a mail goes out if an account with a verified address matches.",
    errors=(*e.BODY_ERRORS, e.CROSS_ORIGIN_REFUSED, e.TOO_MANY_REQUESTS, e.UNAVAILABLE),
)
RESET_PASSWORD = Operation(
    "post",
    "resetPassword",
    "Set a new password with a mailed reset link's token",
    description="The usual password rules apply (a refused password leaves the token usable). "
    "Ends every session of the user and clears the account's failed logins; it does not log "
    "in: log in with the new password. Unusable tokens count per client "
    "(MAIL_TOKEN_CLIENT_MAX_FAILURES). After a 503 the same token may be sent again.",
    tag="passwords",
    body=RequestBody("ResetPasswordRequest", ResetPasswordBody),
    answer=PasswordWasReset,
    answer_description="The password is set; every session of the user has ended.",
    errors=(*e.TOKEN_BODY_ERRORS, e.CROSS_ORIGIN_REFUSED, e.TOO_MANY_REQUESTS, e.UNAVAILABLE),
)


class EmailVerified(Envelope):
    pass


class VerificationMailRequested(Envelope):
    pass


VERIFY_EMAIL = Operation(
    "post",
    "verifyEmail",
    "Confirm an email address with a mailed verification link's token",
    description="No session needed (the link may be opened on another device). The address "
    "becomes verified (`email_verified`). A token works once, for EMAIL_VERIFY_TTL_SECONDS, and "
    "only while the account's address is the one it was mailed to; a newer mail voids it. "
    "Unusable tokens count per client (MAIL_TOKEN_CLIENT_MAX_FAILURES). After a 503 the same "
    "token may be sent again.",
    tag="email",
    body=RequestBody("VerifyEmailRequest", VerifyEmailBody),
    answer=EmailVerified,
    answer_description="The address is verified.",
    errors=(*e.TOKEN_BODY_ERRORS, e.CROSS_ORIGIN_REFUSED, e.TOO_MANY_REQUESTS, e.UNAVAILABLE),
)
REQUEST_EMAIL_VERIFICATION = Operation(
    "post",
    "requestEmailVerification",
    "Mail a new verification link to the account's unverified address",
    description="No body, or `{}`. The mail goes out after the answer, with a link "
    "`{PUBLIC_BASE_URL}/email/verify#token=...`; older links stop working. A registration with "
    "an address and an edit that changes it send one too. No address, or a verified one: 400 "
    "with `errors.email`. Verification mails per user are limited (EMAIL_VERIFY_SEND_MAX per "
    "EMAIL_VERIFY_SEND_WINDOW_SECONDS, those of registrations and edits included).",
    tag="email",
    security=Security.SESSION,
    status=202,
    answer=VerificationMailRequested,
    answer_description="Accepted: a mail goes out to the account's address.",
    errors=(
        *e.BODY_ERRORS,
        e.NOT_LOGGED_IN,
        e.CROSS_ORIGIN_REFUSED,
        e.TOO_MANY_REQUESTS,
        e.UNAVAILABLE,
    ),
)
