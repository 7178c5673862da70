"""The demo SPA's account deletion in Chromium, in each session mode: a wrong password deletes
nothing; the password deletes the account, its avatar and every session (the other device is
logged out too), and login fails afterwards as for an unknown user."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from factsvc.api_schema.defaults import SESSION_COOKIE
from tests.browser.lifecycle import MODES, opened, registered_and_logged_in, uploaded_avatar_url
from tests.browser.site import Site
from tests.browser.test_spa_journeys import PASSWORD
from tests.support import images


@pytest.mark.parametrize("mode", MODES)
def test_a_deleted_account_is_logged_out_everywhere_and_cannot_log_in(
    page: Page, other_page: Page, site: Site, mode: str
) -> None:
    spa = opened(page, site, mode)
    username = registered_and_logged_in(spa)
    assert (
        spa.upload_avatar("me.png", "image/png", images.png((16, 16)))
        == f"Avatar of {username} uploaded."
    )
    avatar_url = uploaded_avatar_url(spa, images.png((16, 16)))
    phone = opened(other_page, site, mode)
    assert phone.login(username, PASSWORD) == f"Logged in as {username}."

    assert spa.delete_account("not the password") == "Deleting the account failed."
    assert spa.error()["error-status"].startswith("403 · code "), spa.error()
    assert spa.who_am_i() == f"Logged in as {username}.", "a wrong password deletes nothing"

    assert spa.delete_account(PASSWORD) == "Account deleted: logged out."
    assert spa.shown("logined") == "no"
    expect(spa.avatar()).to_be_hidden()
    assert spa.who_am_i() == "Not logged in."
    assert phone.who_am_i() == "Not logged in.", "every session ended"
    if mode == "cookie":
        assert [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE] == []
    gone = spa.fetch(avatar_url)
    assert (gone.get("status"), gone.get("body", {}).get("code")) == (404, 7), gone

    assert spa.login(username, PASSWORD) == "Logging in failed."
    assert spa.error()["error-status"] == "401 · code 1001"
