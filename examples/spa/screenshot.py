"""Photograph the demo SPA after a journey in cookie mode, for the README (docs/spa.png).

    .venv/bin/python examples/spa/screenshot.py [docs/spa.png]

Runs the demo (demo.py) on its default ports (8888, 8000: the picture shows the URLs that
`make demo` prints) with its data and logs in a temporary directory, drives Chromium (chromium.py:
Debian's, never a downloaded one) through Playwright: register, log in, edit the nickname,
compute 20000!, then password changes with a wrong current password until the account's limit
(lowered to 2 failures) answers 429: the error shown has every detail, retry delay included.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

import chromium
from demo import Demo, page_urls
from driving import submit
from processes import ProcessFailed

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE.parents[1] / "docs" / "spa.png"
USERNAME, PASSWORD = "alice", "correct horse battery"
API_PORT, SPA_PORT = 8888, 8000
LOGIN_ACCOUNT_MAX_FAILURES = 2


def journey(page: Page, url: str) -> None:
    page.goto(url)
    submit(page, "register", {"username": USERNAME, "password": PASSWORD})
    submit(page, "login", {"username": USERNAME, "password": PASSWORD})
    submit(page, "nickname", {"nickname": "Alice"})
    submit(page, "fact", {"n": "20000"})
    wrong = {"old_password": "not my password", "password": "a new passphrase"}
    for _ in range(LOGIN_ACCOUNT_MAX_FAILURES + 1):
        submit(page, "password", wrong)


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    try:
        executable, _ = chromium.executable()
        with (
            tempfile.TemporaryDirectory() as data,
            Demo(
                API_PORT,
                SPA_PORT,
                env={
                    "PATH_DATA": data,
                    "LOGIN_ACCOUNT_MAX_FAILURES": str(LOGIN_ACCOUNT_MAX_FAILURES),
                },
                log_dir=Path(data),
            ) as demo,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path=executable, args=chromium.LAUNCH_ARGS
            )
            page = browser.new_page(viewport={"width": 1200, "height": 760})
            journey(page, page_urls(demo.api, demo.spa_port)["cookie"])
            page.screenshot(path=str(output), full_page=True)
            browser.close()
    except (chromium.ChromiumMissing, ProcessFailed) as failed:
        raise SystemExit(f"screenshot: {failed}") from None
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
