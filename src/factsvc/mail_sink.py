"""The embedded SMTP server of `factsvc serve --embedded`: each message kept as an .eml file."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from factsvc.embedded import LOOPBACK, ManagedServer, free_port
from factsvc.log_escaping import escape_for_log

log = logging.getLogger("factsvc.mail_sink")


class EmlWriter:
    """An aiosmtpd handler that writes each message, as received, to `directory` as
    `<UTC time>-<random>.eml` (mode 0600: it holds live tokens), and logs "mail for <to>
    written to <path>" for each recipient."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        try:
            path = await asyncio.to_thread(self.write, envelope.original_content or b"")
        except OSError as error:
            log.error("mail not written to %s: %s", self.directory, error)
            return "451 4.3.0 the message could not be stored"
        for recipient in envelope.rcpt_tos:
            log.info("mail for %s written to %s", escape_for_log(recipient, spaces=True), path)
        return "250 OK"

    def write(self, content: bytes) -> Path:
        """Write `content` to a new file under the directory; its path."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = self.directory / f"{stamp}-{secrets.token_hex(4)}.eml"
        partial = path.with_suffix(".eml.part")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        # Whole or absent: a reader never sees half a message under the .eml name.
        partial.rename(path)
        return path


async def run(directory: Path, port: int, host: str = LOOPBACK) -> None:
    """Serve SMTP on `host`:`port` until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    writer = EmlWriter(directory)
    server = await loop.create_server(
        lambda: SMTP(writer, enable_SMTPUTF8=True, hostname="factsvc-mail-sink"), host, port
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("mail sink listening on %s:%d, writing to %s", host, port, directory)
    async with server:
        await stop.wait()


def mail_sink_server(directory: Path, log_dir: Path, port: int | None = None) -> ManagedServer:
    """The sink as a child process on a free loopback port, writing under `directory`; its
    lines go to log_dir/embedded-mail.log and to the service's own stderr."""
    port = port or free_port()
    argv = [
        sys.executable, "-m", "factsvc.mail_sink",
        "--port", str(port),
        "--directory", str(directory),
    ]  # fmt: skip
    return ManagedServer("mail sink", argv, port, log_dir / "embedded-mail.log", echo_stderr=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m factsvc.mail_sink", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--directory", type=Path, required=True)
    args = parser.parse_args(argv)
    formatter = logging.Formatter("%(asctime)s factsvc mail sink: %(message)s")
    # stderr reaches the terminal of whoever runs `make run`; stdout is the sink's log file.
    for stream in (sys.stderr, sys.stdout):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    asyncio.run(run(args.directory, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
