"""The demo SPA's sessions list in Chromium, in each session mode: the user's sessions from two
devices (two browser profiles), the other one ended and logged out at once, every other one
ended, then this one (the page logged out)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from factsvc.api_schema.defaults import SESSION_COOKIE
from tests.browser.lifecycle import MODES, opened, registered_and_logged_in
from tests.browser.site import Site
from tests.browser.test_spa_journeys import PASSWORD

SESSION_ID = r"[0-9a-f]{16}"


@pytest.mark.parametrize("mode", MODES)
def test_sessions_are_listed_and_the_other_device_is_logged_out(
    page: Page, other_page: Page, site: Site, mode: str
) -> None:
    spa = opened(page, site, mode)
    username = registered_and_logged_in(spa)
    phone = opened(other_page, site, mode)
    assert phone.login(username, PASSWORD) == f"Logged in as {username}."

    assert spa.list_sessions() == "2 live sessions."

    newest, this = spa.sessions()
    assert (newest["device"], this["device"]) == ("", "this device")
    for row in (newest, this):
        assert re.fullmatch(SESSION_ID, row["id"]), row
        assert row["client"] == "127.0.0.1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["created"]), row
    assert newest["created"] >= this["created"]
    assert "iOS" in newest["user agent"], newest
    assert "Chrome" in this["user agent"], this
    assert (newest["button"], this["button"]) == ("End", "End (log out)")
    assert phone.list_sessions() == "2 live sessions."
    assert [row["device"] for row in phone.sessions()] == ["this device", ""]

    assert spa.end_session(newest["id"]) == f"Ended session {newest['id']}. 1 live session."
    assert [row["id"] for row in spa.sessions()] == [this["id"]]
    assert phone.who_am_i() == "Not logged in.", "the other device's session ended at once"
    assert phone.info() == "Reading the account failed."
    assert phone.error()["error-status"] == "401 · code 4"
    assert spa.who_am_i() == f"Logged in as {username}."


@pytest.mark.parametrize("mode", MODES)
def test_every_other_session_ends_then_this_one(
    page: Page, other_page: Page, site: Site, mode: str
) -> None:
    spa = opened(page, site, mode)
    username = registered_and_logged_in(spa)
    phone = opened(other_page, site, mode)
    assert phone.login(username, PASSWORD) == f"Logged in as {username}."

    assert spa.end_other_sessions() == "Ended 1 other session. 1 live session."
    (this,) = spa.sessions()
    assert this["device"] == "this device"
    assert phone.who_am_i() == "Not logged in."
    assert spa.end_other_sessions() == "Ended 0 other sessions. 1 live session."

    assert spa.end_session(this["id"]) == "Ended this session: logged out."
    assert spa.shown("logined") == "no"
    expect(page.locator("#sessions-table")).to_be_hidden()
    assert spa.who_am_i() == "Not logged in."
    if mode == "cookie":
        assert [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE] == []
