"""Idempotency-Key: one outcome per key and client, replayed to retries of the same request."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from factsvc.errors import (
    DependencyUnavailable,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidInput,
)
from factsvc.services.names import normalized_username
from factsvc.services.sessions import TOKEN_SHAPE, session_key

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
# The key's published format (the draft's security considerations ask for one): long enough to
# be a random value (a UUID has 36 characters), in characters that base64, base64url, hex, UUIDs
# and ULIDs use, none of which needs escaping in an sf-string.
KEY_MIN_LENGTH = 16
KEY_MAX_LENGTH = 128
KEY_CHARACTERS = "A-Za-z0-9._~:+/=-"
KEY_PATTERN = f"[{KEY_CHARACTERS}]{{{KEY_MIN_LENGTH},{KEY_MAX_LENGTH}}}"
# The header's value: an sf-string (RFC 8941 §3.3.3) as the draft says, or the bare key, as
# many clients of older APIs send it.
HEADER_PATTERN = f'^(?:"{KEY_PATTERN}"|{KEY_PATTERN})$'
_HEADER_SHAPE = re.compile(HEADER_PATTERN)
# How long a request holds its key before it counts as abandoned (a process that died mid-request
# never releases it): longer than any request can take with the backends' timeouts and the hash
# queue's wait.
IN_FLIGHT_LEASE_SECONDS = 60


@dataclass(frozen=True)
class Quota:
    """At most `limit` records held at once under `scope` (a name the store keeps as given)."""

    scope: str
    limit: int


class IdempotencyStore(Protocol):
    """Records (JSON objects) by key, each with a TTL in whole seconds (at least one); raises
    DependencyUnavailable when the store cannot be reached. A key is `group:name`, or a name
    alone: a store may keep the records of one group together (one Redis Cluster hash slot).
    A key claimed or settled under a quota is in the group `quota.scope` (ValueError
    otherwise), so that a store keeps a scope's count beside its records."""

    async def claim(
        self,
        key: str,
        record: Mapping[str, Any],
        ttl_seconds: int,
        quota: Quota | None = None,
    ) -> Mapping[str, Any] | None:
        """Store `record` unless `key` holds one, atomically: None when stored, else the record
        `key` holds. With a quota, a stored key counts against `quota.scope` for as long as its
        record lives; RateLimited (retry after the seconds until the scope's first record ends,
        at least one) when the scope already holds `quota.limit`, and nothing is stored."""
        ...

    async def settle(
        self,
        key: str,
        expected: Mapping[str, Any],
        record: Mapping[str, Any] | None,
        ttl_seconds: int,
        quota: Quota | None = None,
    ) -> None:
        """Replace the record `expected` by `record` (or delete it, for None), atomically; a key
        that holds any other record, or none, is left as it is. `quota`: the one the key was
        claimed under, whose count follows the record (a deleted one no longer counts)."""
        ...

    async def load(self, key: str) -> Mapping[str, Any] | None:
        """The record `key` holds, or None."""
        ...

    async def forget_scope(self, scope: str) -> None:
        """Delete, atomically, every record that counts against the quota scope `scope` (the
        keys claimed under it, pending or settled), and its count."""
        ...


class UnknownOutcomes(Protocol):
    """Requests whose effect the service could not learn (the store timed out mid-write), by a
    subject the caller names; remembered for a while so that a retry can be told the truth."""

    async def remember(self, subject: str) -> None:
        """Note that `subject`'s last attempt may or may not have taken effect; never raises."""
        ...

    async def recalls(self, subject: str) -> bool:
        """Whether such an attempt was noted lately; may raise DependencyUnavailable."""
        ...


class Forgetful:
    """UnknownOutcomes that remembers nothing: every retry is judged as a new request."""

    async def remember(self, subject: str) -> None:
        return None

    async def recalls(self, subject: str) -> bool:
        return False


@dataclass(frozen=True)
class Outcome:
    """What a request answered, as a JSON object its caller knows how to write again. `keep`:
    whether a retry may be answered with it; never for an answer that carries a credential."""

    answer: Mapping[str, Any]
    keep: bool = True


def parse_key(values: Sequence[str]) -> str | None:
    """The key from the header's field values: None without one; InvalidInput for more than one
    (the draft: a client MUST NOT send several) or a value outside HEADER_PATTERN."""
    if not values:
        return None
    if len(values) > 1:
        raise InvalidInput({HEADER: "must be sent once"})
    value = values[0].strip()
    if not _HEADER_SHAPE.fullmatch(value):
        raise InvalidInput(
            {
                HEADER: f"must be {KEY_MIN_LENGTH}-{KEY_MAX_LENGTH} characters of "
                f"[{KEY_CHARACTERS}], bare or in double quotes"
            }
        )
    return value.strip('"')


def registration_scope(body: Mapping[str, object]) -> str:
    """Whose keys a registration shares: those sent for the same username (as stored, so that
    an account's deletion can forget them: registration_scope_of). Only a client that sends the
    same body, password included, is answered with an outcome."""
    username = body.get("username")
    return registration_scope_of(normalized_username(username) if isinstance(username, str) else "")


def registration_scope_of(username: str) -> str:
    """The scope of the registrations of `username` as stored (normalized)."""
    return "register:" + username


def session_scope(token: str | None) -> str | None:
    """Whose keys an authenticated request shares: those sent with the same session token (by
    its hash, as sessions.py keys it), so one client never reaches another's; None without a
    well-formed token, whose request is refused anyway."""
    if token is None or not TOKEN_SHAPE.fullmatch(token):
        return None
    return "session:" + session_key(token)


class IdempotencyService:
    """Runs an operation once per (scope, key, body) and answers retries with its outcome; also
    the UnknownOutcomes, remembered `unknown_seconds`.

    Follows draft-ietf-httpapi-idempotency-key-header-07 §2.6-2.7: a key seen with the same
    body is answered with the stored outcome, or IdempotencyKeyInFlight while the first request
    runs; a key seen with another body raises IdempotencyKeyReused. Keys live `ttl_seconds`
    after their outcome. Bodies are compared by an HMAC under `secret`: the store never holds a
    password, nor anything from which one can be tested without the secret. A scope holds at
    most `keys_per_scope` keys at once (None: no bound); a new key past it is refused with
    RateLimited before its request runs, while retries of the keys held are still answered.
    """

    def __init__(
        self,
        store: IdempotencyStore,
        *,
        secret: bytes,
        ttl_seconds: int,
        unknown_seconds: int,
        keys_per_scope: int | None = None,
        lease_seconds: int = IN_FLIGHT_LEASE_SECONDS,
    ) -> None:
        self._store = store
        self._secret = hmac.new(secret, b"factsvc idempotency v1", hashlib.sha256).digest()
        self._ttl = ttl_seconds
        self._unknown_ttl = unknown_seconds
        self._keys_per_scope = keys_per_scope
        self._lease = lease_seconds

    def fingerprint(self, body: Mapping[str, object]) -> str:
        """An HMAC-SHA256 of the body's canonical JSON (sorted keys), in hex."""
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self._mac(canonical)

    def _mac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode("utf-8", "surrogatepass"), "sha256").hexdigest()

    async def once(
        self,
        scope: str,
        key: str,
        body: Mapping[str, object],
        operation: Callable[[], Awaitable[Outcome]],
    ) -> Mapping[str, Any]:
        """The answer for this request: the stored one for a retry, else `operation`'s, kept
        when its Outcome says so. An exception from `operation` (a refusal it did not turn into
        an Outcome, an outage) frees the key for a retry and propagates. Raises
        IdempotencyKeyReused, IdempotencyKeyInFlight, RateLimited (a new key in a scope that
        holds `keys_per_scope`) or DependencyUnavailable besides."""
        # Every key of a scope in the scope's group, quota or not: a change of the bound
        # moves no record.
        group = self._group(scope)
        stored_key = group + ":" + self._mac(f"{scope}\0{key}")
        quota = None
        if self._keys_per_scope is not None:
            quota = Quota(group, self._keys_per_scope)
        fingerprint = self.fingerprint(body)
        pending = {"state": "pending", "fingerprint": fingerprint, "claim": secrets.token_hex(8)}
        held = await self._store.claim(stored_key, pending, self._lease, quota)
        if held is not None:
            return _answer_from(held, fingerprint)
        try:
            outcome = await operation()
        except BaseException:
            await self._settle(stored_key, pending, None, quota)
            raise
        done = {"state": "done", "fingerprint": fingerprint, "answer": dict(outcome.answer)}
        await self._settle(stored_key, pending, done if outcome.keep else None, quota)
        return outcome.answer

    async def forget(self, scope: str) -> None:
        """Forget every key of `scope` and its outcome, so that no retry is answered with one
        any more: those of an account's registration once the account is deleted. Only a
        service with `keys_per_scope` knows a scope's keys; without, nothing is forgotten."""
        if self._keys_per_scope is not None:
            await self._store.forget_scope(self._group(scope))

    def _group(self, scope: str) -> str:
        return self._mac(f"scope\0{scope}")

    async def remember(self, subject: str) -> None:
        """UnknownOutcomes.remember, for `unknown_seconds` (0: not at all); a store failure is
        logged only."""
        if self._unknown_ttl <= 0:
            return
        try:
            await self._store.claim(
                self._unknown_key(subject), {"state": "unknown"}, self._unknown_ttl
            )
        except DependencyUnavailable as failure:
            log.warning("unknown outcome not remembered: %r", failure.__cause__)

    async def recalls(self, subject: str) -> bool:
        """UnknownOutcomes.recalls."""
        return await self._store.load(self._unknown_key(subject)) is not None

    def _unknown_key(self, subject: str) -> str:
        return self._mac(f"unknown\0{subject}")

    async def _settle(
        self,
        key: str,
        pending: Mapping[str, Any],
        record: Mapping[str, Any] | None,
        quota: Quota | None,
    ) -> None:
        # The operation has run: its answer goes to the client whatever happens here. Should
        # the record stay pending, the lease ends it and a retry runs the operation again.
        try:
            await self._store.settle(key, pending, record, self._ttl, quota)
        except DependencyUnavailable as failure:
            log.warning("idempotency record not settled: %r", failure.__cause__)


def _answer_from(held: Mapping[str, Any], fingerprint: str) -> Mapping[str, Any]:
    if not hmac.compare_digest(str(held.get("fingerprint", "")), fingerprint):
        raise IdempotencyKeyReused()
    answer = held.get("answer")
    if held.get("state") == "done" and isinstance(answer, Mapping):
        return answer
    raise IdempotencyKeyInFlight()
