"""Accounts in MongoDB: one document per user, unique indexes on the normalized username and on
the email address's key."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from factsvc.errors import Duplicate
from factsvc.services.account_store import EDITABLE_FIELDS, AvatarSwap, Changes
from factsvc.services.email_address import email_key
from factsvc.services.users import NewAccount, StoredAccount, User
from factsvc.storage.mongo import MongoCollection
from factsvc.storage.mongo_errors import MongoErrors, mongo_errors

USERNAME_INDEX = "username_unique"
# Sparse: only accounts with an address are in it, so any number may have none.
EMAIL_INDEX = "email_unique"
VERSION = "credential_version"
AVATAR = "avatar_id"  # the GridFS file's id (AVATAR_ID), absent when the user has no avatar
# The address (normalised), its key (email_address.email_key) and its state: all three present
# together, or none.
EMAIL, EMAIL_KEY, EMAIL_VERIFIED = "email", "email_key", "email_verified"
# A write that breaks a unique index: the client hears which value is taken, told by the key of
# the index that refused it.
_unique_errors = MongoErrors(
    unique_field="username", by_key={"username": "username", EMAIL_KEY: "email"}
)


class MongoAccountStore:
    """The AccountStore port (services/account_store.py) on a MongoDB collection; raises Duplicate
    for a taken username or address and DependencyUnavailable for an outage (mongo_errors.py)."""

    def __init__(self, users: MongoCollection) -> None:
        self._users = users
        self._indexed = False

    async def ensure_indexes(self) -> None:
        """Idempotent; done before the first insert so that uniqueness never depends on luck."""
        if self._indexed:
            return
        with mongo_errors:
            await self._users.create_index("username", unique=True, name=USERNAME_INDEX)
            await self._users.create_index(EMAIL_KEY, unique=True, sparse=True, name=EMAIL_INDEX)
        self._indexed = True

    async def insert(self, account: NewAccount) -> User:
        await self.ensure_indexes()
        document = {
            # Named here, not by the driver, so that a retried insert can know its own account.
            "_id": ObjectId(),
            "username": account.username,
            "nickname": account.nickname,
            "gender": account.gender,
            "password_hash": account.password_hash,
            "credential_version": 0,
            "create_time": account.created,
            "update_time": account.created,
            **_address(account.email),
        }
        try:
            with _unique_errors:
                await self._users.insert_one(document)
        except Duplicate:
            # A retryable write whose first attempt was stored but whose answer was lost: mongod
            # answers the retry with the first result, a server that runs it again (secantusdb
            # 0.7) with this duplicate. The account under our own _id is this insert's.
            if await self.find_by_id(str(document["_id"])) is None:
                raise
        return _account(document).user

    async def find_by_username(self, username: str) -> StoredAccount | None:
        return await self._find_one({"username": username})

    async def find_by_id(self, user_id: str) -> StoredAccount | None:
        if not ObjectId.is_valid(user_id):
            return None
        return await self._find_one({"_id": ObjectId(user_id)})

    async def find_by_email(self, email: str) -> StoredAccount | None:
        return await self._find_one({EMAIL_KEY: email_key(email)})

    async def mark_email_verified(self, user_id: str, email: str, credential_version: int) -> bool:
        if not ObjectId.is_valid(user_id):
            return False
        query = {"_id": ObjectId(user_id), EMAIL: email, VERSION: _version_is(credential_version)}
        with mongo_errors:
            result = await self._users.update_one(query, {"$set": {EMAIL_VERIFIED: True}})
        return bool(result.matched_count)

    async def delete(self, user_id: str, below_version: int | None = None) -> bool:
        if not ObjectId.is_valid(user_id):
            return False
        query: dict[str, Any] = {"_id": ObjectId(user_id)}
        if below_version is not None:
            below: list[dict[str, Any]] = [{VERSION: {"$lt": below_version}}]
            if below_version > 0:
                # Accounts stored before credential versions existed have none: version 0.
                below.append({VERSION: None})
            query["$or"] = below
        with mongo_errors:
            result = await self._users.delete_one(query)
        return bool(result.deleted_count)

    async def _find_one(self, query: Mapping[str, Any]) -> StoredAccount | None:
        with mongo_errors:
            document = await self._users.find_one(query)
        return None if document is None else _account(document)

    async def update(
        self,
        user_id: str,
        changes: Changes,
        now: datetime,
        expected_hash: str | None = None,
    ) -> User | None:
        _check_editable(changes)
        if not ObjectId.is_valid(user_id):
            return None
        query: dict[str, Any] = {"_id": ObjectId(user_id)}
        if expected_hash is not None:
            query["password_hash"] = expected_hash
        return await self._set(query, {**changes, "update_time": now})

    async def replace_credential(
        self, user_id: str, changes: Changes, now: datetime, expected_version: int
    ) -> User | None:
        _check_editable(changes)
        if "password_hash" not in changes:
            raise ValueError("a new credential needs a password_hash")
        if not ObjectId.is_valid(user_id):
            return None
        query = {"_id": ObjectId(user_id), VERSION: _version_is(expected_version)}
        return await self._set(
            query, {**changes, "update_time": now, VERSION: expected_version + 1}
        )

    async def advance_credential_version(
        self, user_id: str, password_hash: str, expected_version: int, new_version: int
    ) -> bool:
        if not ObjectId.is_valid(user_id):
            return False
        query = {
            "_id": ObjectId(user_id),
            "password_hash": password_hash,
            VERSION: _version_is(expected_version),
        }
        with mongo_errors:
            result = await self._users.update_one(query, {"$set": {VERSION: new_version}})
        return bool(result.matched_count)

    async def set_avatar(
        self, user_id: str, avatar_id: str | None, now: datetime
    ) -> AvatarSwap | None:
        if not ObjectId.is_valid(user_id):
            return None
        update: dict[str, Any] = {"$set": {"update_time": now}}
        if avatar_id is None:
            update["$unset"] = {AVATAR: ""}
        else:
            update["$set"][AVATAR] = avatar_id
        key = {"_id": ObjectId(user_id)}
        # The avatar replaced is the one the write's filter names, not a pre-image: secantusdb
        # 0.7 (the embedded server) answered concurrent find_one_and_update calls with stale
        # pre-images, so that a replaced file went undeleted and stayed served.
        while True:
            with mongo_errors:
                current = await self._users.find_one(key, {AVATAR: 1})
                if current is None:
                    return None
                previous = current.get(AVATAR)
                after = await self._users.find_one_and_update(
                    {**key, AVATAR: previous}, update, return_document=ReturnDocument.AFTER
                )
            if after is not None:
                return AvatarSwap(_account(after).user, _avatar_of(current))

    async def _set(self, query: Mapping[str, Any], fields: Mapping[str, Any]) -> User | None:
        update: dict[str, Any] = {"$set": {k: v for k, v in fields.items() if k != EMAIL}}
        if EMAIL in fields:
            address = _address(fields[EMAIL])
            if address:
                update["$set"].update(address)
            else:
                update["$unset"] = {EMAIL: "", EMAIL_KEY: "", EMAIL_VERIFIED: ""}
        with _unique_errors:
            document = await self._users.find_one_and_update(
                query, update, return_document=ReturnDocument.AFTER
            )
        return None if document is None else _account(document).user


def _check_editable(changes: Changes) -> None:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if any(value is None for name, value in changes.items() if name != EMAIL):
        raise ValueError("only an email may be removed (None)")


def _address(email: str | None) -> dict[str, Any]:
    """The fields of a new, unverified address; none for no address."""
    if email is None:
        return {}
    return {EMAIL: email, EMAIL_KEY: email_key(email), EMAIL_VERIFIED: False}


def _version_is(version: int) -> object:
    # Accounts stored before credential versions existed have none: they are at version 0.
    return {"$in": [0, None]} if version == 0 else version


def _account(document: Mapping[str, Any]) -> StoredAccount:
    user = User(
        id=str(document["_id"]),
        username=str(document["username"]),
        nickname=str(document["nickname"]),
        gender=str(document["gender"]),
        create_time=document["create_time"],
        update_time=document["update_time"],
        avatar_id=_avatar_of(document),
        email=document.get(EMAIL),
        email_verified=bool(document.get(EMAIL_VERIFIED)) and EMAIL in document,
    )
    return StoredAccount(
        user=user,
        password_hash=str(document["password_hash"]),
        credential_version=int(document.get(VERSION) or 0),
    )


def _avatar_of(document: Mapping[str, Any]) -> str | None:
    avatar = document.get(AVATAR)
    return None if avatar is None else str(avatar)
