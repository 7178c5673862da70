"""Avatar files in MongoDB GridFS (the "avatars" bucket), each with its owner and media type."""

from __future__ import annotations

from gridfs.errors import CorruptGridFile, NoFile

from factsvc.services.avatar_store import AVATAR_ID, AvatarFile, new_avatar_id
from factsvc.storage.mongo import MongoClient, collection, gridfs_bucket
from factsvc.storage.mongo_errors import mongo_errors

BUCKET = "avatars"
OWNER = "metadata.owner"
OWNER_INDEX = "owner"


class MongoAvatarStore:
    """The AvatarStore port (services/avatar_store.py) on a GridFS bucket of `database`:
    files `<bucket>.files` (metadata: owner, contentType) and their chunks `<bucket>.chunks`.
    An outage raises DependencyUnavailable (mongo_errors.py)."""

    def __init__(self, client: MongoClient, database: str, bucket: str = BUCKET) -> None:
        self._bucket = gridfs_bucket(client, database, bucket)
        self._files = collection(client, database, f"{bucket}.files")
        self._indexed = False

    async def ensure_indexes(self) -> None:
        """The owner index that delete_owned_by reads; idempotent. (The driver creates GridFS's
        own indexes before a bucket's first upload.)"""
        if self._indexed:
            return
        with mongo_errors:
            await self._files.create_index(OWNER, name=OWNER_INDEX)
        self._indexed = True

    async def put(self, owner: str, data: bytes, media_type: str) -> str:
        await self.ensure_indexes()
        # Named here, so that the chunks of an upload that failed can be found and removed.
        file_id = new_avatar_id()
        metadata = {"owner": owner, "contentType": media_type}
        try:
            with mongo_errors:
                await self._bucket.upload_from_stream_with_id(
                    file_id, file_id, data, metadata=metadata
                )
        except BaseException:
            # The driver aborts an upload that fails (its chunks removed) when it still can;
            # removing again covers a files document written whose answer was lost.
            await self._remove(file_id, suppress=True)
            raise
        return file_id

    async def open(self, avatar_id: str) -> AvatarFile | None:
        if not AVATAR_ID.fullmatch(avatar_id):
            return None
        try:
            with mongo_errors:
                stream = await self._bucket.open_download_stream(avatar_id)
                data: bytes = await stream.read()
        except (NoFile, CorruptGridFile):
            # CorruptGridFile: the files document was read, but its chunks were deleted meanwhile
            # (a replaced avatar): gone, as it is a moment later.
            return None
        metadata = stream.metadata or {}
        return AvatarFile(data, str(metadata.get("contentType", "application/octet-stream")))

    async def delete(self, avatar_id: str) -> None:
        if AVATAR_ID.fullmatch(avatar_id):
            await self._remove(avatar_id)

    async def delete_owned_by(self, owner: str) -> None:
        with mongo_errors:
            owned = [file["_id"] async for file in self._files.find({OWNER: owner}, {"_id": 1})]
        for file_id in owned:
            await self._remove(file_id)

    async def _remove(self, file_id: str, *, suppress: bool = False) -> None:
        try:
            with mongo_errors:
                # The files document first, then the chunks; NoFile once neither is left.
                await self._bucket.delete(file_id)
        except NoFile:
            pass
        except Exception:
            if not suppress:
                raise
