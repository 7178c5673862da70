"""The demo SPA's email address and lost password, in Chromium against the real service and SMTP
server, in each session mode: register with an address, see it unverified, open the mailed link,
see it verified; send the mail again (the older link stops working); change and remove the
address (with the current password; the former verified address is told); forget the password,
set a new one from the mailed link, log in with it."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.lifecycle import MODES, opened
from tests.browser.link_pages import INVALID_LINK, PASSWORD_SET, VERIFIED, LinkPage
from tests.browser.site import Site
from tests.browser.spa import Spa
from tests.browser.test_spa_journeys import NEW_PASSWORD, PASSWORD, new_username
from tests.support.mail import MailSink, link_in

FORGOT_ANSWER = (
    "If an account with a verified email address matches, a reset link is on its way there."
)


def email_state(spa: Spa) -> tuple[str, str, bool]:
    """The account panel's address, its verified state, and whether "send again" shows."""
    again = spa.page.locator("#email-send-again")
    return spa.shown("email"), spa.shown("email-verified"), again.is_visible()


def verify_in_another_tab(context: BrowserContext, link: str) -> None:
    """Open the mailed `link` in a new tab of the same browser and press its button."""
    shown = LinkPage(context.new_page())
    shown.open(link)
    assert shown.verify()["message"] == VERIFIED
    shown.page.close()


def registered_with_email(spa: Spa, mail_sink: MailSink) -> tuple[str, str, str]:
    """A new user registered on `spa` with an address, and logged in: its username, address
    and the verification link mailed to it."""
    username = new_username()
    email = f"{username}@example.com"
    assert spa.register(username, PASSWORD, email=email) == (
        f"Registered {username}. A verification link was mailed to {email}. Log in next."
    )
    link = link_in(mail_sink.wait_for_next_to(email))
    assert spa.login(username, PASSWORD) == f"Logged in as {username}."
    return username, email, link


@pytest.mark.parametrize("mode", MODES)
def test_the_address_given_at_registration_is_verified_by_the_mailed_link(
    page: Page, context: BrowserContext, site: Site, mail_sink: MailSink, mode: str
) -> None:
    spa = opened(page, site, mode)
    username, email, link = registered_with_email(spa, mail_sink)
    assert email_state(spa) == (email, "no", True)

    verify_in_another_tab(context, link)

    assert spa.info() == f"Account info of {username}."
    assert email_state(spa) == (email, "yes", False)


@pytest.mark.parametrize("mode", MODES)
def test_send_again_mails_a_new_link_and_the_older_one_stops_working(
    page: Page, context: BrowserContext, site: Site, mail_sink: MailSink, mode: str
) -> None:
    spa = opened(page, site, mode)
    username, email, first = registered_with_email(spa, mail_sink)

    assert spa.send_verification_again() == (
        "A new verification link was mailed; the older ones no longer work."
    )
    second = link_in(mail_sink.wait_for_next_to(email))
    assert second != first

    old = LinkPage(context.new_page())
    old.open(first)
    assert old.verify()["message"] == INVALID_LINK
    verify_in_another_tab(context, second)
    assert spa.who_am_i() == f"Logged in as {username}."
    assert email_state(spa) == (email, "yes", False), "nothing left to send again"


def test_a_changed_address_is_unverified_and_mailed_and_a_removed_one_is_gone(
    page: Page, context: BrowserContext, site: Site, mail_sink: MailSink
) -> None:
    spa = opened(page, site, "cookie")
    username, email, link = registered_with_email(spa, mail_sink)
    verify_in_another_tab(context, link)
    new_email = f"new.{username}@example.com"

    # Changing the address needs the current password.
    assert spa.edit_email(new_email) == "Saving the email address failed."
    error = spa.error()
    assert error["error-status"] == "400 · code 3"
    assert error["fields"] == "old_password: is required to change the email address"
    assert spa.edit_email(new_email, "not the password") == "Saving the email address failed."
    assert spa.error()["error-status"] == "403 · code 1001"
    assert spa.info() == f"Account info of {username}."
    assert email_state(spa) == (email, "yes", False)

    assert spa.edit_email(new_email, PASSWORD) == (
        f"Email address is now {new_email}: a verification link was mailed to it."
    )
    assert email_state(spa) == (new_email, "no", True)
    notice = mail_sink.wait_for_next_to(email)  # the former, verified address is told
    assert "If you did not make this change" in notice.text
    verify_in_another_tab(context, link_in(mail_sink.wait_for_next_to(new_email)))
    assert spa.info() == f"Account info of {username}."
    assert email_state(spa) == (new_email, "yes", False)

    assert spa.remove_email() == "Removing the email address failed."
    assert spa.remove_email(PASSWORD) == f"{username} has no email address."
    assert email_state(spa) == ("none", "", False)
    mail_sink.wait_for_next_to(new_email)

    assert spa.edit_email("not an address") == "Saving the email address failed."
    error = spa.error()
    assert error["error-status"] == "400 · code 3"
    assert error["fields"].startswith("email: ")


def test_a_forgotten_password_is_reset_from_the_mailed_link(
    page: Page, context: BrowserContext, site: Site, mail_sink: MailSink
) -> None:
    spa = opened(page, site, "token")
    username, email, link = registered_with_email(spa, mail_sink)
    verify_in_another_tab(context, link)
    assert spa.logout() == "Logged out."

    assert spa.forgot_password(email.upper()) == FORGOT_ANSWER
    reset = LinkPage(context.new_page())
    reset.open(link_in(mail_sink.wait_for_next_to(email)))
    assert reset.set_password(NEW_PASSWORD)["message"] == PASSWORD_SET

    assert spa.login(username, PASSWORD) == "Logging in failed."
    assert spa.login(username, NEW_PASSWORD) == f"Logged in as {username}."


def test_forgot_answers_alike_for_an_unknown_account_and_mails_nothing(
    page: Page, site: Site, mail_sink: MailSink
) -> None:
    spa = opened(page, site, "cookie")
    unknown = new_username()
    assert spa.forgot_password(unknown) == FORGOT_ANSWER
    assert spa.forgot_password(f"{unknown}@example.com") == FORGOT_ANSWER
    expect(spa.field("status")).to_have_text(FORGOT_ANSWER)
    assert mail_sink.mails_to(f"{unknown}@example.com") == []
