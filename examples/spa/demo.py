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
import time
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from processes import Process, ProcessFailed, service_command, spa_command


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


class Demo:
    """The service (`factsvc serve --embedded`, DEBUG) and serve.py, as Processes.

    `env` adds to (or overrides) the service's environment; `log_dir`, when given, receives
    service.log and spa.log instead of this process's output. Entering starts both and waits
    until each answers (ProcessFailed if one exits or does not answer in time); leaving stops
    each by its pid."""

    def __init__(
        self,
        api_port: int,
        spa_port: int,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.api = f"http://localhost:{api_port}"
        self.api_port, self.spa_port = api_port, spa_port
        self.env = env or {}
        self.log_dir = log_dir
        self.processes: list[Process] = []
        self._stack = ExitStack()

    def __enter__(self) -> Demo:
        service_env = os.environ | {
            "DEBUG": "true",
            "TORNADO_SERVER_PORT": str(self.api_port),
            # Loopback only: a DEBUG service shows error details.
            "TORNADO_SERVER_ADDRESS": "localhost",
            "CORS_ORIGINS": ",".join(spa_origins(self.spa_port)),
            **self.env,
        }
        with ExitStack() as starting:
            service = starting.enter_context(
                Process(
                    "service", service_command(embedded=True), service_env, self._log("service")
                )
            )
            spa = starting.enter_context(
                Process(
                    "SPA", spa_command(self.spa_port, self.api), dict(os.environ), self._log("spa")
                )
            )
            self.processes = [service, spa]
            service.wait_until_answering(f"{self.api}/readyz")
            spa.wait_until_answering(f"http://localhost:{self.spa_port}/")
            self._stack = starting.pop_all()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _log(self, name: str) -> Path | None:
        return None if self.log_dir is None else self.log_dir / f"{name}.log"

    def check_running(self) -> None:
        """ProcessFailed when either process has exited."""
        for process in self.processes:
            process.check_running()


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
    except ProcessFailed as failed:
        raise SystemExit(f"demo: {failed}") from None
    except KeyboardInterrupt:
        print("demo: stopped")


if __name__ == "__main__":
    main()
