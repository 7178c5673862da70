"""Account deletion: re-authentication, every session ended and fenced, the avatar, the account."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from factsvc.errors import (
    DeletionInterrupted,
    DependencyUnavailable,
    NotAuthenticated,
)
from factsvc.services.account_store import AccountStore
from factsvc.services.audit import security_event
from factsvc.services.avatar_store import AvatarStore
from factsvc.services.body_reasons import parse
from factsvc.services.deletion_body import AccountDeletionBody
from factsvc.services.idempotency import IdempotencyService, registration_scope_of
from factsvc.services.limits import Limit, RateLimiter
from factsvc.services.passwords import PasswordHasher
from factsvc.services.reauthentication import require_current_password
from factsvc.services.sessions import SessionService

# How far past the account's credential version a deletion fences its sessions: password
# changes move the version one at a time, each with a bcrypt hash and a live session, so none
# reaches the fence while a deletion runs.
FENCE_GAP = 1 << 20
log = logging.getLogger(__name__)


class AccountDeletionService:
    """Deletes the account of a session, after checking its password within the per-account
    failure limit (`per_account`, the limit of failed logins and wrong old passwords).

    The steps, in order; each raises DependencyUnavailable when its store fails (from step 2 on
    DeletionInterrupted, whose delay lets a login in again), and the steps before it stay done
    (every one is safe to repeat, so a retry after logging in again ends the work):
    1. verify the password (a wrong one: WrongOldPassword, counted; over the limit:
       RateLimited). Nothing is changed yet.
    2. end every session of the user and fence the credential (SessionService.retire_credential)
       at FENCE_GAP past its version: no login that read the account before opens a session;
       then forget the Idempotency-Keys of the username's registrations, whose kept answers
       name this account and would otherwise be replayed to a new registration of the name.
    3. delete the user's avatar files.
    4. fence once more, one version higher, ending any session opened during step 3 (a login
       let in once the first fence's change time was over, past the version it advanced to).
    5. delete the account, only while its version is below that last fence: a session can only
       be opened at a version the account held, so every session the account could still have
       was ended in step 4, and none opens after it. An account that reached the fence (a
       session opened at it) is kept, and the request is NotAuthenticated: its own session was
       ended in step 2, and the owner may log in and delete again.
    6. delete the user's avatar files once more: an upload whose session was checked before
       step 2 may have stored one and named it on the account since step 3. An upload later
       than this finds no account and removes its own file (AvatarService.replace). A failure
       here is logged, not raised: the account is gone, and no retry could log in.
    The account's document goes last but for that sweep, so that a failure never leaves files
    or sessions that nothing points to any more."""

    def __init__(
        self,
        *,
        store: AccountStore,
        hasher: PasswordHasher,
        sessions: SessionService,
        limiter: RateLimiter,
        per_account: Limit,
        avatars: AvatarStore,
        idempotency: IdempotencyService | None = None,
    ) -> None:
        """`idempotency`: where registrations keep their answers (None: nowhere)."""
        self._store = store
        self._hasher = hasher
        self._sessions = sessions
        self._limiter = limiter
        self._per_account = per_account
        self._avatars = avatars
        self._idempotency = idempotency

    async def delete(self, token: str | None, body: Mapping[str, object]) -> None:
        """Delete the account of the session `token` names, given an AccountDeletionBody
        mapping. Raises NotAuthenticated, InvalidInput, WrongOldPassword, RateLimited,
        Overloaded, DependencyUnavailable or DeletionInterrupted (see the class for what each
        step leaves)."""
        session = await self._sessions.resolve(token)
        if session is None:
            raise NotAuthenticated()
        stored = await self._store.find_by_id(session.user_id)
        if stored is None:
            await self._sessions.destroy(session)
            raise NotAuthenticated()
        password = parse(AccountDeletionBody, body).password
        user_id = stored.user.id
        # A right password clears the name's failures: the name may also serve a new account
        # soon, which then starts with none of this one's.
        await require_current_password(
            password,
            stored,
            hasher=self._hasher,
            limiter=self._limiter,
            per_account=self._per_account,
            refused_event="account_deletion_refused",
        )

        fence = stored.credential_version + FENCE_GAP
        try:
            await self._sessions.retire_credential(user_id, fence - 1)
            if self._idempotency is not None:
                await self._idempotency.forget(registration_scope_of(stored.user.username))
            await self._avatars.delete_owned_by(user_id)
            await self._sessions.retire_credential(user_id, fence)
            deleted = await self._store.delete(user_id, below_version=fence + 1)
        except DependencyUnavailable as outage:
            # The request's session may be gone with the others: a retry of it would get 401,
            # and a login within the fence's change time a wrong password's 401.
            retry_after = max(outage.retry_after_seconds, self._sessions.change_seconds + 1)
            raise DeletionInterrupted(outage.states, retry_after) from outage
        # Not deleted by this call and gone: another request of the user deleted it meanwhile.
        if not deleted and await self._store.find_by_id(user_id) is not None:
            security_event("account_deletion_overtaken", user=user_id)
            raise NotAuthenticated()
        if deleted:
            try:
                await self._avatars.delete_owned_by(user_id)
            except DependencyUnavailable:
                log.warning("avatar files of deleted account %s may be left", user_id)
        security_event("account_deleted", user=user_id)
