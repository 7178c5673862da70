"""Starting and ending `factsvc serve` processes in tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from factsvc import embedded


def serve_environment(data: Path, port: int, **env: str) -> dict[str, str]:
    """The environment of a `factsvc serve` on 127.0.0.1:`port` keeping its files in `data`,
    logging at INFO; `env` adds or overrides variables."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PATH_DATA": str(data),
        "TORNADO_SERVER_PORT": str(port),
        "TORNADO_SERVER_ADDRESS": "127.0.0.1",
        "LOGGING_LOGGER_LEVEL": "INFO",
        **env,
    }


def end_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """End a process still running: SIGTERM, then SIGKILL if it has not exited in `timeout`
    (embedded.end_process, the service's own)."""
    embedded.end_process(process, timeout)
