"""Email verification: the mail with a link sent when an account gains or changes its address
(or asks again), and the check of that link's token."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from factsvc.errors import InvalidInput, InvalidToken, NotAuthenticated, RateLimited
from factsvc.services.account_store import AccountStore
from factsvc.services.account_tokens import AccountTokenService, TokenPurpose
from factsvc.services.audit import security_event
from factsvc.services.background import Background
from factsvc.services.body_reasons import parse
from factsvc.services.email_verification_bodies import NoFields, VerifyEmailBody
from factsvc.services.limits import AttemptLimits, RateLimiter
from factsvc.services.mail import Outbox
from factsvc.services.mail_links import MailLinks
from factsvc.services.mail_messages import address_changed_mail, verification_mail
from factsvc.services.sessions import SessionService
from factsvc.services.users import User

PURPOSE = TokenPurpose.VERIFY_EMAIL
# What the background jobs are named by in log lines: never the address or the token.
MAIL_JOB = "email verification mail"
VOID_JOB = "email verification void"
# The Outbox's label of the notice to a former verified address.
NOTICE_PURPOSE = "email-changed"
NO_ADDRESS = "no address to verify"
ALREADY_VERIFIED = "is already verified"
# How often one mail job issues again for an address that replaced its own while it ran; each
# time needs another change of the account meanwhile, and changes are limited per user.
REISSUES = 3

log = logging.getLogger(__name__)


class EmailVerificationService:
    """Mails go out after the answer (on `background`): a new token (voiding the user's older
    one) for the address the account holds, in a verification mail through the Outbox. At most
    `limits.verification_mails_per_user` mails per user and window: a resend or a change to a
    new address beyond it is refused (429) before anything is written, a change counted
    whether or not the address turns out taken, so that no one probes which addresses are
    taken, or holds them, faster than that; a registration beyond it (only a registration that
    recovers an earlier attempt can be) still applies, unmailed.
    Verifying checks the token (`limits.mail_token_failures_per_client` failures per client)
    and marks the address verified only while the account still holds the address the token
    was mailed to, at the credential version it was mailed under, then spends the token."""

    def __init__(
        self,
        *,
        store: AccountStore,
        tokens: AccountTokenService,
        sessions: SessionService,
        limiter: RateLimiter,
        limits: AttemptLimits,
        background: Background,
        outbox: Outbox,
        links: MailLinks,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._sessions = sessions
        self._limiter = limiter
        self._limits = limits
        self._background = background
        self._outbox = outbox
        self._links = links

    async def count_address_change(self, user_id: str) -> None:
        """Count a change of the user's address to a new one, before it is written, as one of
        the user's verification mails (its mail is then not counted again: address_changed
        with `counted`). Raises RateLimited beyond the limit, or DependencyUnavailable."""
        await self._count_mail(user_id)

    async def _count_mail(self, user_id: str) -> None:
        """Count one verification mail of the user (RateLimited beyond the limit)."""
        await self._limiter.count((self._limits.verification_mails_per_user, user_id))

    def address_changed(
        self, user: User, *, counted: bool = False, previous: User | None = None
    ) -> None:
        """After `user` (as just written) gained, changed or lost an address: mail a link to a
        new, unverified one (counted against the user's limit unless `counted` already), or
        void the verification link of a removed one; and when the `previous` address (the
        user before the write) was verified, so known to be the owner's, mail it a notice of
        the change (naming only the new address's domain). Returns at once; never raises."""
        old = previous.email if previous is not None and previous.email_verified else None
        if old is not None and old != user.email:
            notice = address_changed_mail(old, username=user.username, new_email=user.email)
            self._outbox.post(notice, purpose=NOTICE_PURPOSE)
            security_event("email_change_notice_mailed", user=user.id)
        if user.email is None:
            self._background.spawn(lambda: self._tokens.void(PURPOSE, user.id), what=VOID_JOB)
        elif not user.email_verified:
            email = user.email
            job = lambda: self._mail_link(user.id, email, count=not counted)  # noqa: E731
            self._background.spawn(job, what=MAIL_JOB)

    async def resend(self, session_token: str | None, body: Mapping[str, object]) -> None:
        """Mail a new link (voiding the older) to the unverified address of the session's
        user; `body` must hold no fields. Raises NotAuthenticated, InvalidInput (`errors.email`:
        NO_ADDRESS or ALREADY_VERIFIED), RateLimited or DependencyUnavailable."""
        session = await self._sessions.resolve(session_token)
        if session is None:
            raise NotAuthenticated()
        parse(NoFields, body)
        stored = await self._store.find_by_id(session.user_id)
        if stored is None:
            raise NotAuthenticated()
        user = stored.user
        if user.email is None:
            raise InvalidInput({"email": NO_ADDRESS})
        if user.email_verified:
            raise InvalidInput({"email": ALREADY_VERIFIED})
        await self._count_mail(user.id)
        email = user.email
        self._background.spawn(lambda: self._mail_link(user.id, email, count=False), what=MAIL_JOB)

    async def verify(self, body: Mapping[str, object], client: str) -> None:
        """Mark verified the address a VerifyEmailBody's token was mailed to. Raises
        InvalidInput, InvalidToken (unknown, malformed, used, expired, for an address the
        account no longer has, or mailed before a password change: alike), RateLimited,
        Overloaded or DependencyUnavailable (then the same token can be tried again)."""
        token = parse(VerifyEmailBody, body).token
        failures = self._limits.mail_token_failures_per_client
        async with self._limiter.guess((failures, client)) as guess:
            grant = await self._tokens.peek(PURPOSE, token)
            # Marked before it is spent: an outage in between leaves the token usable, and of
            # racing uses of one token the spend lets one alone succeed. Only at the credential
            # version it was mailed under: a password change (which ends the sessions of
            # whoever set the address) voids it.
            verified = (
                grant is not None
                and await self._store.mark_email_verified(
                    grant.user_id, grant.email, grant.credential_version
                )
                and await self._tokens.spend(PURPOSE, token)
            )
            if grant is None or not verified:
                security_event("email_verification_refused", client=client)
                await guess.failed()
                raise InvalidToken()
        security_event("email_verified", user=grant.user_id, client=client)

    async def _mail_link(self, user_id: str, email: str, *, count: bool) -> None:
        """Mail a new link for `email` while it is the account's unverified address; with
        `count`, counted against the per-user limit first (the caller did not count it).

        An issue voids the user's older token, and the account may change while this job
        runs: a job that issued late, for an address replaced meanwhile, would void the link
        just mailed to the new one. So after the issue the account is read again and the
        token checked to be still the user's live one, and the mail goes out only while both
        hold (nothing awaited between that check and the post). A token a newer issue voided
        is that issuer's to mail; a live token for a replaced address (or a replaced
        password) is issued again for what the account holds now, at most REISSUES times."""
        stored = await self._store.find_by_id(user_id)
        if stored is None or stored.user.email != email or stored.user.email_verified:
            return
        if count:
            try:
                await self._count_mail(user_id)
            except RateLimited:
                log.warning("verification mail not sent: the user's limit is reached")
                return
        for _ in range(1 + REISSUES):
            version = stored.credential_version
            token = await self._tokens.issue(
                PURPOSE, user_id, email=email, credential_version=version
            )
            now = await self._store.find_by_id(user_id)
            if await self._tokens.peek(PURPOSE, token) is None:
                return
            if now is None or now.user.email is None or now.user.email_verified:
                return
            if (now.user.email, now.credential_version) == (email, version):
                self._post(user_id, now.user.username, email, token)
                return
            stored, email = now, now.user.email
        log.warning("verification mail not sent: the account's address kept changing")

    def _post(self, user_id: str, username: str, email: str, token: str) -> None:
        message = verification_mail(
            email,
            username=username,
            link=self._links.verify_email(token),
            expires_seconds=self._tokens.ttl_seconds(PURPOSE),
        )
        self._outbox.post(message, purpose=PURPOSE.value)
        security_event("email_verification_mailed", user=user_id)
