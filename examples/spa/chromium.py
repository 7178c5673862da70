"""Which Chromium drives the demo SPA (the browser tests, screenshot.py), and how it is launched.

    python examples/spa/chromium.py [--quiet]

prints the Chromium found and its version, or what to install and exits 1 (`make test` runs it).
Playwright drives that browser through `executable_path`: nothing here downloads one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping

# The variable naming the browser (a path, or a name looked up on PATH); `chromium` if unset.
VARIABLE = "CHROMIUM"
DEFAULT_NAME = "chromium"
VERSION_TIMEOUT_SECONDS = 20.0
# Containers have no user namespaces for the sandbox; the rest keeps a headless run quiet and
# off the network (no sync, no component updates).
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADVICE = f"""\
The browser tests (tests/browser) and examples/spa/screenshot.py drive Chromium through
Playwright, which never downloads a browser here. To get one that starts:
- Debian: apt-get install chromium (as root; `make test` does it when run as root).
- Ubuntu: its chromium and chromium-browser apt packages install only a shim that starts the
  Chromium snap, and snaps do not run in containers (no snapd). Install a build that is not a
  snap (Google Chrome's .deb, for one), or run the tests in a Debian container, and name it:
  {VARIABLE}=google-chrome make test (a path works too; or link it as `chromium` on PATH).
- elsewhere: install Chromium so that `chromium` is on PATH, or set {VARIABLE} to its path."""


class ChromiumMissing(RuntimeError):
    """No Chromium that starts: the message says what was tried and what to install."""


def executable(environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """The Chromium to launch and its version line: `environ[VARIABLE]` when set (a path or a
    name on PATH), else `chromium` on PATH. It must answer `--version` (a snap shim in a
    container does not). Raises ChromiumMissing, its message ending with ADVICE."""
    asked = environ.get(VARIABLE) or DEFAULT_NAME
    found = shutil.which(asked, path=environ.get("PATH"))
    if found is None:
        raise ChromiumMissing(f"{asked!r} is not an executable (nor on PATH).\n{ADVICE}")
    try:
        ran = subprocess.run(  # noqa: S603 - the browser the user named
            [found, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ChromiumMissing(f"{found} --version failed: {error}\n{ADVICE}") from error
    lines = [line for line in ran.stdout.splitlines() if line.strip()]
    if ran.returncode != 0 or not lines:
        said = (ran.stderr or ran.stdout).strip().splitlines()[:2]
        raise ChromiumMissing(
            f"{found} --version exited with {ran.returncode}: {' '.join(said)}\n{ADVICE}"
        )
    return found, lines[0].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="only the exit status")
    options = parser.parse_args()
    try:
        path, version = executable()
    except ChromiumMissing as missing:
        if not options.quiet:
            print(missing, file=sys.stderr)
        raise SystemExit(1) from None
    if not options.quiet:
        print(f"{path}: {version}")


if __name__ == "__main__":
    main()
