"""The embedded mail sink: each message an .eml file (0600) under PATH_DATA/mail, its path
logged where the developer sees it; started by `serve --embedded` when SMTP_URL is empty."""

from __future__ import annotations

import asyncio
import re
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from factsvc.embedded import free_port
from factsvc.services.mail_links import MailLinks
from factsvc.services.mail_messages import reset_mail
from factsvc.storage.smtp_transport import SmtpTransport
from tests.support.polling import eventually
from tests.support.processes import end_process, serve_environment

pytestmark = pytest.mark.timeout(90)

TOKEN = "Tk" + "y" * 41 + "0f0f"
LINK = MailLinks("http://127.0.0.1:8888").reset_password(TOKEN)


# A parent standing for the service: it starts the sink as `serve --embedded` does, prints its
# port, and waits for its stdin to close; its stderr is the test's to read.
PARENT = """
import sys
from pathlib import Path
from factsvc.mail_sink import mail_sink_server
server = mail_sink_server(Path(sys.argv[1]) / "mail", Path(sys.argv[1]))
server.start()
server.wait_until_listening()
print(server.port, flush=True)
sys.stdin.read()
server.stop()
"""


@dataclass
class Sink:
    port: int
    log_path: Path
    parent: subprocess.Popen[bytes]


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert parent.stdout is not None
    port = int(parent.stdout.readline())
    yield Sink(port, tmp_path / "embedded-mail.log", parent)
    end_process(parent)
    for stream in (parent.stdin, parent.stdout, parent.stderr):
        if stream is not None:
            stream.close()


def send(port: int, to: str, username: str = "alice") -> None:
    message = reset_mail(to, username=username, link=LINK, expires_seconds=1800)
    transport = SmtpTransport.from_url(
        f"smtp://127.0.0.1:{port}", sender="factsvc@localhost", timeout_seconds=5
    )
    asyncio.run(transport.send(message))


def written(line_source: Path, count: int, timeout: float = 10) -> list[Path]:
    """The .eml paths logged in `line_source`, once there are `count`; AssertionError naming
    those logged if fewer are after `timeout` seconds."""

    def logged() -> list[Path]:
        text = line_source.read_text() if line_source.exists() else ""
        return [Path(p) for p in re.findall(r"written to (\S+\.eml)", text)]

    return eventually(
        logged,
        timeout,
        f"{count} .eml paths logged in {line_source}",
        accept=lambda paths: len(paths) >= count,
    )


def test_each_message_is_an_eml_file_readable_only_by_its_owner_and_its_path_is_logged(
    sink: Sink, tmp_path: Path
) -> None:
    send(sink.port, "alice@example.org")
    send(sink.port, "zoë@exämple.org", username="zoë")
    paths = written(sink.log_path, 2)
    assert len(paths) == 2
    assert len(set(paths)) == 2, "unique names"
    for path in paths:
        assert path.parent == tmp_path / "mail"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "mail").stat().st_mode) == 0o700
    first = paths[0].read_bytes()
    assert f"{LINK}\r\n".encode() in first, "the link whole on its own line"
    parsed = message_from_bytes(first, policy=policy.default)
    assert parsed["Subject"] == "Reset your password"
    log_text = sink.log_path.read_text()
    assert f"mail for alice@example.org written to {paths[0]}" in log_text
    assert f"mail for zoë@exämple.org written to {paths[1]}" in log_text
    assert not list((tmp_path / "mail").glob("*.part"))
    # The same lines reach the service's own stderr: the terminal of `make run`. Closing
    # stdin stops the parent, and the sink with it.
    _, stderr = sink.parent.communicate(b"", timeout=20)
    assert sink.parent.returncode == 0
    assert f"mail for alice@example.org written to {paths[0]}" in stderr.decode()


def test_serve_embedded_starts_the_sink_when_smtp_url_is_empty_and_stops_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "factsvc", "serve", "--embedded"],
        env=serve_environment(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None
            assert time.monotonic() < deadline, "the service did not become ready"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        sinks = [p for p in _children(process.pid) if "factsvc.mail_sink" in _command(p)]
        assert len(sinks) == 1
        process.terminate()
        assert process.wait(30) == 0
        assert process.stdout is not None
        output = process.stdout.read().decode()
        assert f"writing to {tmp_path / 'mail'}" in output
        assert "SMTP_URL is empty" not in output
        assert not Path(f"/proc/{sinks[0]}").exists() or "Z" in _state(sinks[0])
    finally:
        end_process(process)
        if process.stdout:
            process.stdout.close()


def test_serve_without_smtp_url_nor_embedded_warns_that_mail_is_disabled(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "factsvc", "serve"],
        # Nothing listens there: the warning comes before any backend is reached.
        env=serve_environment(
            tmp_path,
            free_port(),
            REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
            MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}/",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        seen = b""
        while b"SMTP_URL is empty" not in seen and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen += line
        assert b"SMTP_URL is empty: no mail is sent" in seen
    finally:
        end_process(process)
        if process.stdout:
            process.stdout.close()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return ""
