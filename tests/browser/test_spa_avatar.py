"""The demo SPA's avatar in Chromium, in each session mode: uploaded (the file as the body, its
type as Content-Type), shown (the API's square WebP, loaded under the page's img-src), replaced,
removed; refused uploads (415, 400 with the reason, 413) shown like any error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from factsvc.api_schema.defaults import setting_default
from tests.browser.lifecycle import (
    MODES,
    assert_avatar_shown,
    opened,
    registered_and_logged_in,
    uploaded_avatar_url,
)
from tests.browser.site import Site
from tests.support import images

AVATAR_MAX_BYTES = setting_default("avatar_max_bytes", int)


@pytest.mark.parametrize("mode", MODES)
def test_an_avatar_is_uploaded_shown_replaced_and_removed(
    page: Page, site: Site, mode: str
) -> None:
    spa = opened(page, site, mode)
    username = registered_and_logged_in(spa)
    assert spa.shown("avatar-none") == "no avatar"
    expect(spa.avatar()).to_be_hidden()
    photo = images.png((40, 30))

    assert spa.upload_avatar("me.png", "image/png", photo) == f"Avatar of {username} uploaded."

    (put,) = spa.api_responses("PUT", "/account/avatar")
    assert put.request.all_headers()["content-type"] == "image/png"
    first = uploaded_avatar_url(spa, photo)
    assert_avatar_shown(spa, first)
    (image,) = spa.api_responses("GET", first)
    assert image.all_headers()["content-type"] == "image/webp"
    assert "Content-Security-Policy refused" not in spa.shown("status")
    assert spa.who_am_i() == f"Logged in as {username}."
    assert_avatar_shown(spa, first)

    shown = [first]
    for name, media_type, content in (
        ("me.jpg", "image/jpeg", images.jpeg((300, 200))),
        ("me.webp", "image/webp", images.webp((20, 20))),
    ):
        assert spa.upload_avatar(name, media_type, content) == f"Avatar of {username} uploaded."
        assert (
            spa.api_responses("PUT", "/account/avatar")[-1].request.all_headers()["content-type"]
            == media_type
        )
        shown.append(uploaded_avatar_url(spa, content))
        assert_avatar_shown(spa, shown[-1])
    assert len(set(shown)) == len(shown), "a new upload gets a new id"
    replaced = spa.fetch(shown[0])
    assert (replaced.get("status"), replaced.get("body", {}).get("code")) == (404, 7), replaced

    assert spa.remove_avatar() == f"{username} has no avatar."
    expect(spa.avatar()).to_be_hidden()
    assert spa.avatar().get_attribute("src") is None
    assert spa.shown("avatar-none") == "no avatar"
    assert spa.info() == f"Account info of {username}."
    expect(spa.avatar()).to_be_hidden()
    gone = spa.fetch(shown[-1])
    assert (gone.get("status"), gone.get("body", {}).get("code")) == (404, 7), gone

    assert spa.logout() == "Logged out."
    expect(spa.avatar()).to_be_hidden()
    assert spa.shown("avatar-none") == ""


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_upload_shows_its_reason(page: Page, site: Site, mode: str) -> None:
    spa = opened(page, site, mode)
    username = registered_and_logged_in(spa)

    assert spa.upload_avatar("notes.txt", "text/plain", b"not an image\n") == (
        "Uploading the avatar failed."
    )
    error = spa.error()
    assert error["error-status"] == "415 · code 3", error
    assert error["request-id-header"] == error["request-id-body"]

    assert spa.upload_avatar("cut.png", "image/png", images.truncated(images.noise_png())) == (
        "Uploading the avatar failed."
    )
    error = spa.error()
    assert error["error-status"] == "400 · code 3", error
    assert error["fields"].startswith("body: "), error
    assert len(error["fields"]) > len("body: ")

    too_big = images.png() + bytes(AVATAR_MAX_BYTES)
    assert spa.upload_avatar("big.png", "image/png", too_big) == "Uploading the avatar failed."
    error = spa.error()
    assert error["error-status"] == "413 · code 3", error
    assert error["request-id-header"] == error["request-id-body"]

    uploaded = spa.upload_avatar("me.png", "image/png", images.png((8, 8)))
    assert uploaded == f"Avatar of {username} uploaded."
    expect(page.locator("#error")).to_be_hidden()
