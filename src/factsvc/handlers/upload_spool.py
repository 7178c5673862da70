"""A request body spooled to a temporary file under PATH_UPLOAD, written off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

PREFIX = "upload-"
# A spool file this long untouched belongs to no request: its process died mid-upload.
ABANDONED_SECONDS = 3600


class Spool:
    """One body's temporary file (mode 0600, named PREFIX + random). Chunks are written by the
    loop's default executor, so that a slow disk holds a thread, never the loop; the writes of
    one spool are awaited one after the other. `discard()` removes the file at once, whatever
    is under way: a write in flight finishes into the unlinked file, which is then closed."""

    def __init__(self, path: str, file: BinaryIO) -> None:
        self.path = path
        self.size = 0
        self._file = file
        self._busy = False
        self._discarded = False

    @classmethod
    async def create(cls, directory: Path) -> Spool:
        """A new empty spool file in `directory` (made again if it was removed); OSError when
        it cannot be made."""

        def make() -> Spool:
            try:
                descriptor, path = tempfile.mkstemp(prefix=PREFIX, dir=directory)
            except FileNotFoundError:
                # Removed while the service runs (a cleaner of temporary files, an operator):
                # made again as at start, rather than every upload failing until a restart.
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                descriptor, path = tempfile.mkstemp(prefix=PREFIX, dir=directory)
            return cls(path, os.fdopen(descriptor, "wb"))

        return await asyncio.to_thread(make)

    @property
    def discarded(self) -> bool:
        return self._discarded

    async def write(self, chunk: bytes) -> None:
        """Append `chunk`; nothing once discarded."""
        if self._discarded:
            return
        await self._in_thread(self._file.write, chunk)
        self.size += len(chunk)

    async def complete(self) -> None:
        """Flush and close the file, which stays until discarded, for a reader to open."""
        await self._in_thread(self._file.close)

    def discard(self) -> None:
        """Remove the file (idempotent); quick, so called on the loop from any outcome."""
        if self._discarded:
            return
        self._discarded = True
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        if not self._busy:
            self._file.close()

    async def _in_thread(self, job: Callable[..., object], *args: object) -> None:
        if self._discarded:
            return
        self._busy = True
        try:
            await asyncio.to_thread(job, *args)
        finally:
            self._busy = False
            if self._discarded:
                self._file.close()


def prepare_spool_directory(directory: Path) -> None:
    """Create `directory` (mode 0700 when new) and remove the spool files in it that no write
    touched for ABANDONED_SECONDS, left by a process that died mid-upload. Several processes
    and instances may share it: younger files may be another's uploads under way."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    cutoff = time.time() - ABANDONED_SECONDS
    for path in directory.glob(PREFIX + "*"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
