"""What the browser tests of the account's lifecycle (avatar, sessions, deletion) share: the
SPA opened in either session mode, a user registered and logged in, the avatar uploaded."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from factsvc.api_schema.defaults import setting_default
from factsvc.services.avatar_store import AVATAR_ID
from tests.browser.site import Site
from tests.browser.spa import Spa
from tests.browser.test_spa_journeys import PASSWORD, new_username

# Cookie mode on the API's site, token mode across sites.
MODES = ("cookie", "token")
# The side of the square WebP that the API makes of every avatar.
AVATAR_PIXELS = setting_default("avatar_size", int)


def opened(page: Page, site: Site, mode: str) -> Spa:
    """The SPA in `page` in session `mode`: cookie mode on the API's site, token mode across."""
    spa = Spa(page, site, site.same_site if mode == "cookie" else site.cross_site, mode)
    spa.open()
    return spa


def registered_and_logged_in(spa: Spa) -> str:
    """A new user, registered and logged in on `spa`: its username."""
    username = new_username()
    assert spa.register(username, PASSWORD) == f"Registered {username}. Log in next."
    assert spa.login(username, PASSWORD) == f"Logged in as {username}."
    return username


def assert_avatar_shown(spa: Spa, avatar_url: str) -> None:
    """The page shows the avatar at `avatar_url` (a path from the API's root), loaded whole."""
    avatar = spa.avatar()
    expect(avatar).to_be_visible()
    expect(avatar).to_have_attribute("src", spa.site.api + avatar_url)
    expect(avatar).to_have_js_property("complete", True)
    expect(avatar).to_have_js_property("naturalWidth", AVATAR_PIXELS)
    expect(avatar).to_have_js_property("naturalHeight", AVATAR_PIXELS)
    expect(spa.field("avatar-none")).to_be_hidden()


def uploaded_avatar_url(spa: Spa, content: bytes) -> str:
    """The `avatar_url` that the last PUT /account/avatar answered, after checking that the
    page sent `content` as its body with the file's type."""
    put = spa.api_responses("PUT", "/account/avatar")[-1]
    # The file itself is the body (Playwright does not show a Blob body: its length it does).
    assert put.request.all_headers()["content-length"] == str(len(content))
    avatar_url: str = put.json()["user"]["avatar_url"]
    assert avatar_url.startswith("/avatars/"), avatar_url
    assert AVATAR_ID.fullmatch(avatar_url.removeprefix("/avatars/")), avatar_url
    return avatar_url
