"""Photograph the demo SPA after a journey in cookie mode, for the README (docs/spa.png).

    .venv/bin/python examples/spa/screenshot.py [docs/spa.png]

Runs the demo (demo.py) on its default ports (8888, 8000: the picture shows the URLs that
`make demo` prints) with its data in a temporary directory, drives Debian's
Chromium through Playwright (never a downloaded browser): register, log in, edit the nickname,
compute 20000!, then password changes with a wrong current password until the account's limit
(lowered to 2 failures) answers 429: the error shown has every detail, retry delay included.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from demo import Demo, page_urls
from playwright.sync_api import Page, expect, sync_playwright

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE.parents[1] / "docs" / "spa.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
USERNAME, PASSWORD = "alice", "correct horse battery"
API_PORT, SPA_PORT = 8888, 8000
LOGIN_ACCOUNT_MAX_FAILURES = 2


def act(page: Page, form: str, values: dict[str, str]) -> None:
    """Fill the form `form` with `values` (by input name), submit it, wait until it is done."""
    for name, value in values.items():
        page.locator(f"#{form} [name={name}]").fill(value)
    page.locator(f"#{form} button").click()
    expect(page.locator("#status")).not_to_have_class(re.compile(r"\bbusy\b"))


def journey(page: Page, url: str) -> None:
    page.goto(url)
    act(page, "register", {"username": USERNAME, "password": PASSWORD})
    act(page, "login", {"username": USERNAME, "password": PASSWORD})
    act(page, "nickname", {"nickname": "Alice"})
    act(page, "fact", {"n": "20000"})
    wrong = {"old_password": "not my password", "password": "a new passphrase"}
    for _ in range(LOGIN_ACCOUNT_MAX_FAILURES + 1):
        act(page, "password", wrong)


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with (
        tempfile.TemporaryDirectory() as data,
        Demo(
            API_PORT,
            SPA_PORT,
            env={"PATH_DATA": data, "LOGIN_ACCOUNT_MAX_FAILURES": str(LOGIN_ACCOUNT_MAX_FAILURES)},
            quiet=True,
        ) as demo,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 760})
        journey(page, page_urls(demo.api, demo.spa_port)["cookie"])
        page.screenshot(path=str(output), full_page=True)
        browser.close()
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
