"""The upload spool: a body's temporary file, written off the loop, removed in any outcome."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from factsvc.handlers.upload_spool import ABANDONED_SECONDS, PREFIX, Spool, prepare_spool_directory

pytestmark = pytest.mark.gen_test


def names(directory: Path) -> list[str]:
    return os.listdir(directory)


def content(path: str) -> bytes:
    return Path(path).read_bytes()


async def test_chunks_are_written_off_the_loop_and_read_back_whole(tmp_path: Path) -> None:
    spool = await Spool.create(tmp_path)
    assert Path(spool.path).parent == tmp_path
    assert Path(spool.path).name.startswith(PREFIX)
    assert os.stat(spool.path).st_mode & 0o777 == 0o600
    writers: list[int] = []
    original = spool._file.write

    def write(chunk: bytes) -> int:
        writers.append(threading.get_ident())
        return original(chunk)

    spool._file.write = write  # type: ignore[method-assign,assignment]
    for chunk in (b"abc", b"def" * 1000):
        await spool.write(chunk)
    await spool.complete()
    assert content(spool.path) == b"abc" + b"def" * 1000
    assert spool.size == 3003
    assert threading.get_ident() not in writers
    spool.discard()
    spool.discard()
    assert names(tmp_path) == []


async def test_a_spool_discarded_during_a_write_is_gone_and_closed(tmp_path: Path) -> None:
    spool = await Spool.create(tmp_path)
    started, release = threading.Event(), threading.Event()
    original = spool._file.write

    def slow_write(chunk: bytes) -> int:
        started.set()
        release.wait(5)
        return original(chunk)

    spool._file.write = slow_write  # type: ignore[method-assign,assignment]
    writing = asyncio.ensure_future(spool.write(b"x" * 1000))
    assert await asyncio.to_thread(started.wait, 5)
    spool.discard()
    assert names(tmp_path) == []
    assert not spool._file.closed, "the write in flight still holds the file"
    release.set()
    await writing
    assert spool._file.closed
    await spool.write(b"more")  # nothing, once discarded
    assert spool.size == 1000


async def test_a_spool_directory_removed_while_running_is_made_again(tmp_path: Path) -> None:
    # A cleaner of temporary files or an operator removed it: uploads go on, no 500 each.
    directory = tmp_path / "upload"
    prepare_spool_directory(directory)
    directory.rmdir()
    spool = await Spool.create(directory)
    assert Path(spool.path).parent == directory
    assert directory.stat().st_mode & 0o777 == 0o700
    spool.discard()
    assert names(directory) == []


def test_only_abandoned_spool_files_are_removed_at_start(tmp_path: Path) -> None:
    directory = tmp_path / "upload"
    prepare_spool_directory(directory)
    assert directory.is_dir()
    old, young, other = directory / f"{PREFIX}old", directory / f"{PREFIX}young", directory / "keep"
    for path in (old, young, other):
        path.write_bytes(b"x")
    long_ago = time.time() - ABANDONED_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    prepare_spool_directory(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["keep", f"{PREFIX}young"]
