"""Log sinks: batches of whole lines written to a descriptor with as few writes as can be."""

from __future__ import annotations

import contextlib
import os
import select
import stat
from pathlib import Path


class LineSink:
    """Writes batches of formatted lines to a descriptor, each batch with as few writes as it
    can: one to a regular file (appends to a regular file are never interleaved with another
    process's), and one per PIPE_BUF bytes of whole lines to a pipe or a socket. The stdlib's
    StreamHandler flushes after every record: a system call a line.

    Meant for one writer thread (log_queue.SinkListener): a write may block for as long as the
    device does. Lines that a write fails on (a full disk, a closed pipe) are counted in
    `failed`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failed = 0

    def descriptor(self) -> tuple[int, int]:
        """The descriptor to write to now and the most bytes one write may take (0: any);
        OSError when there is no descriptor."""
        raise NotImplementedError

    def write(self, lines: list[str]) -> None:
        """Write `lines` (each without its line feed) in order, as whole lines."""
        data = ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")
        try:
            descriptor, atomic_bytes = self.descriptor()
            for chunk in _whole_line_chunks(data, atomic_bytes):
                while chunk:  # a signal may cut a write short
                    chunk = chunk[os.write(descriptor, chunk) :]
        except OSError:
            self.failed += len(lines)

    def close(self) -> None:
        """Close the descriptor if the sink opened it."""


def _whole_line_chunks(data: bytes, most: int) -> list[bytes | memoryview]:
    """`data` cut after line feeds into pieces of at most `most` bytes (0: one piece). A line
    longer than `most` is cut short to fit, ending with CUT_MARK: a longer write to a pipe
    could be interleaved with another process's, tearing both lines and letting the rest of
    this one (client text) start a line of its own."""
    view = memoryview(data)
    if not most or len(data) <= most:
        return [view]
    chunks: list[bytes | memoryview] = []
    start = 0
    while start < len(data):
        fits = len(data) - start <= most
        end = len(data) if fits else data.rfind(b"\n", start, start + most) + 1
        if end <= start:  # the line at `start` is longer than `most`
            end = data.find(b"\n", start) + 1 or len(data)
            chunks.append(_cut(data[start:end], most))
        else:
            chunks.append(view[start:end])
        start = end
    return chunks


CUT_MARK = b"...(line cut)\n"


def _cut(line: bytes, most: int) -> bytes:
    """`line` shortened to `most` bytes with CUT_MARK at its end, never inside a character."""
    keep = most - len(CUT_MARK)
    while keep > 0 and line[keep] & 0xC0 == 0x80:  # a UTF-8 continuation byte
        keep -= 1
    return line[:keep] + CUT_MARK


class ConsoleSink(LineSink):
    """Standard error, where the stdlib's StreamHandler() writes by default."""

    def __init__(self) -> None:
        super().__init__("console")

    def descriptor(self) -> tuple[int, int]:
        return 2, _atomic_bytes(2)


class WatchedFileSink(LineSink):
    """Appends to `path`, opened on the first write (so that a FIFO nobody reads holds up the
    writer thread, never the thread that logs) and opened again when the path no longer names
    the open file: an external rotation that moves it, or a deletion. The rule of
    logging.handlers.WatchedFileHandler, checked once a batch rather than once a record."""

    def __init__(self, path: Path) -> None:
        super().__init__("file")
        self.path = path
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._atomic_bytes = 0

    def descriptor(self) -> tuple[int, int]:
        if self._fd is not None and self._path_identity() != self._identity:
            self._close_fd()
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC)
            status = os.fstat(self._fd)
            self._identity = (status.st_dev, status.st_ino)
            self._atomic_bytes = _atomic_bytes(self._fd)
        return self._fd, self._atomic_bytes

    def _path_identity(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return (status.st_dev, status.st_ino)

    def _close_fd(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self._identity = None, None

    def close(self) -> None:
        self._close_fd()


def _atomic_bytes(descriptor: int) -> int:
    """PIPE_BUF for a pipe, a FIFO or a socket: POSIX keeps a write of at most PIPE_BUF bytes
    to a pipe from being interleaved with another process's, so workers sharing docker's log
    pipe keep whole lines. 0 (any size) for a regular file, appended to whole; also when the
    kind cannot be told."""
    try:
        mode = os.fstat(descriptor).st_mode
    except OSError:
        return 0
    return select.PIPE_BUF if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else 0
