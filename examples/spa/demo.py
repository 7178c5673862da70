"""`make demo`: factsvc on its embedded backends and the demo SPA beside it, stopped together.

    python examples/spa/demo.py [--api-port 8888] [--spa-port 8000]

The service runs in DEBUG with CORS_ORIGINS listing the SPA's two origins: http://localhost:PORT
(same site as the API on localhost: cookie mode) and http://127.0.0.1:PORT (another site: token
mode). Ctrl-C or SIGTERM stops both processes, each by its pid.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

HERE = Path(__file__).resolve().parent
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


def spa_origins(spa_port: int) -> tuple[str, str]:
    """The SPA's origins: on the API's site (localhost), and on another site (127.0.0.1)."""
    return f"http://localhost:{spa_port}", f"http://127.0.0.1:{spa_port}"


def page_urls(api: str, spa_port: int) -> dict[str, str]:
    """The page's URL for each session mode, by mode."""
    same_site, cross_site = spa_origins(spa_port)
    return {
        "cookie": f"{same_site}/?api={api}&mode=cookie",
        "token": f"{cross_site}/?api={api}&mode=token",
    }


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Demo:
    """The service (`factsvc serve --embedded`) and serve.py, as child processes in sessions of
    their own, so that a Ctrl-C reaches this process alone and it stops them in turn.

    `env` adds to (or overrides) the service's environment; `quiet` sends both processes'
    output to /dev/null. Entering starts both and waits until each answers (SystemExit if one
    exits or neither answers within READY_TIMEOUT_SECONDS); leaving stops each by its pid.
    """

    def __init__(
        self, api_port: int, spa_port: int, env: dict[str, str] | None = None, quiet: bool = False
    ) -> None:
        self.api = f"http://localhost:{api_port}"
        self.api_port, self.spa_port = api_port, spa_port
        self.env = env or {}
        self.output = subprocess.DEVNULL if quiet else None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> Demo:
        service_env = os.environ | {
            "DEBUG": "true",
            "TORNADO_SERVER_PORT": str(self.api_port),
            # Loopback only: a DEBUG service shows error details.
            "TORNADO_SERVER_ADDRESS": "localhost",
            "CORS_ORIGINS": ",".join(spa_origins(self.spa_port)),
            **self.env,
        }
        try:
            self._start(
                "service", [sys.executable, "-m", "factsvc", "serve", "--embedded"], service_env
            )
            spa = [sys.executable, str(HERE / "serve.py"), "--port", str(self.spa_port)]
            self._start("spa", [*spa, "--api", self.api], dict(os.environ))
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and files
            command, env=env, stdout=self.output, stderr=self.output, start_new_session=True
        )

    def _wait_ready(self) -> None:
        checks = {"service": f"{self.api}/readyz", "spa": f"http://localhost:{self.spa_port}/"}
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while checks:
            self.check_running()
            checks = {name: url for name, url in checks.items() if not _answers(url)}
            if checks and time.monotonic() > deadline:
                raise SystemExit(f"demo: no answer from {', '.join(checks.values())}")
            time.sleep(0.2)

    def check_running(self) -> None:
        """SystemExit when either process has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SystemExit(f"demo: the {name} exited with status {process.returncode}")

    def stop(self) -> None:
        """SIGTERM to each process still running, by pid; SIGKILL if it outlasts the timeout."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_api_port = int(os.environ.get("TORNADO_SERVER_PORT") or 8888)
    parser.add_argument("--api-port", type=int, default=default_api_port, help="the API's port")
    parser.add_argument("--spa-port", type=int, default=8000, help="the SPA's port")
    options = parser.parse_args()
    # SIGTERM (from a supervisor, or `kill`) stops the demo the way Ctrl-C does; SIGINT is set
    # too, since a shell starting the demo in the background leaves it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with Demo(options.api_port, options.spa_port) as demo:
            urls = page_urls(demo.api, options.spa_port)
            print(
                f"\nfactsvc demo: the API on {demo.api}, the SPA on port {options.spa_port}.\n"
                f"  cookie mode (SPA and API on one site): {urls['cookie']}\n"
                f"  token mode (SPA on another site):      {urls['token']}\n"
                "Ctrl-C stops both.\n",
                flush=True,
            )
            while True:
                demo.check_running()
                time.sleep(0.5)
    except KeyboardInterrupt:
        print("demo: stopped")


if __name__ == "__main__":
    main()
