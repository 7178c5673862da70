"""Photograph the demo SPA after a journey in cookie mode, for the README (docs/spa.png).

    .venv/bin/python examples/spa/screenshot.py [docs/spa.png]

Runs the demo (demo.py) on its default ports (8888, 8000: the picture shows the URLs that
`make demo` prints) with its data and logs in a temporary directory, drives Chromium (chromium.py:
Debian's, never a downloaded one) through Playwright: register with an email address (left
unverified), log in (and from a second profile, an iPhone's), edit the nickname, upload an avatar
(a gradient made with Pillow), compute 20000!, list the sessions, then password changes with a
wrong current password until the account's limit (lowered to 2 failures) answers 429: the error
shown has every detail, retry delay included.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, FilePayload, Page, sync_playwright

import chromium
from demo import Demo, page_urls
from driving import press, submit
from processes import ProcessFailed

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE.parents[1] / "docs" / "spa.png"
USERNAME, PASSWORD = "alice", "correct horse battery"
# Registered unverified: the account panel shows the address and "send again".
EMAIL = "alice@example.com"
API_PORT, SPA_PORT = 8888, 8000
LOGIN_ACCOUNT_MAX_FAILURES = 2


IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def avatar_png() -> bytes:
    """A 320x320 PNG of two crossed gradients, as the avatar to upload."""
    across = Image.linear_gradient("L").resize((320, 320))
    image = Image.merge("RGB", (across, across.rotate(90), Image.new("L", (320, 320), 200)))
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


def journey(browser: Browser, page: Page, url: str) -> None:
    page.goto(url)
    submit(page, "register", {"username": USERNAME, "password": PASSWORD, "email": EMAIL})
    submit(page, "login", {"username": USERNAME, "password": PASSWORD})
    phone = browser.new_page(user_agent=IPHONE)
    phone.goto(url)
    submit(phone, "login", {"username": USERNAME, "password": PASSWORD})
    phone.close()
    submit(page, "nickname", {"nickname": "Alice"})
    chosen: FilePayload = {"name": "alice.png", "mimeType": "image/png", "buffer": avatar_png()}
    page.locator("#avatar [name=avatar]").set_input_files(chosen)
    submit(page, "avatar", {})
    page.wait_for_function("document.querySelector('[data-field=avatar]').naturalWidth > 0")
    submit(page, "fact", {"n": "20000"})
    press(page, "#sessions-list")
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
            journey(browser, page, page_urls(demo.api, demo.spa_port)["cookie"])
            page.screenshot(path=str(output), full_page=True)
            browser.close()
    except (chromium.ChromiumMissing, ProcessFailed) as failed:
        raise SystemExit(f"screenshot: {failed}") from None
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
