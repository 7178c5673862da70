"""The words of the mails the service sends: verification, password reset and the notice of a
changed address, text and HTML."""

from __future__ import annotations

from html import escape

from factsvc.services.mail import MailMessage, domain_of

VERIFY_SUBJECT = "Confirm your email address"
RESET_SUBJECT = "Reset your password"
ADDRESS_CHANGED_SUBJECT = "The email address of your account was changed"


def verification_mail(to: str, *, username: str, link: str, expires_seconds: int) -> MailMessage:
    """The mail asking the owner of `to` to confirm it for the account `username` by opening
    `link`, which works once and for `expires_seconds`."""
    expiry = duration_in_words(expires_seconds)
    return _message(
        to,
        VERIFY_SUBJECT,
        greeting=username,
        lead=f"Please confirm that {to} is the email address of the account {username}.",
        action="Confirm this address",
        link=link,
        after=f"The link works once, for {expiry}.",
        not_you=(
            "If you did not give this address, someone may have typed it by mistake: ignore "
            "this mail and the address stays unconfirmed."
        ),
    )


def reset_mail(to: str, *, username: str, link: str, expires_seconds: int) -> MailMessage:
    """The mail offering the owner of the account `username` a new password through `link`,
    which works once, for `expires_seconds`, and only until the password changes."""
    expiry = duration_in_words(expires_seconds)
    return _message(
        to,
        RESET_SUBJECT,
        greeting=username,
        lead=f"Someone asked to reset the password of the account {username}.",
        action="Choose a new password",
        link=link,
        after=(
            f"The link works once, for {expiry}. Once the password is changed, every device "
            "signed in to the account is signed out."
        ),
        not_you=(
            "If you did not ask, ignore this mail: your password stays as it is. If this "
            "happens again, consider changing your password."
        ),
    )


def address_changed_mail(to: str, *, username: str, new_email: str | None) -> MailMessage:
    """The notice to the former address `to` that the account `username` now has `new_email`
    (None: no address). It names only the new address's domain (whoever changed it may not
    be the owner, and the old address's reader need not learn the new one) and holds no link
    and no token."""
    if new_email is None:
        change = f"The email address of your account {username} was removed; it was {to}."
    else:
        change = (
            f"The email address of your account {username} was changed from {to} to an "
            f"address at {domain_of(new_email)}."
        )
    not_you = (
        "If you did not make this change, someone else may know your password: sign in at "
        "once, change your password (which signs out every other device) and set your address "
        "back. If you can no longer sign in, contact the service's administrators: password "
        "reset links no longer come to this address."
    )
    text = (
        f"Hello {username},\n\n{change}\n\nIf this was you, nothing more is needed.\n\n{not_you}\n"
    )
    e = escape
    html = (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8">'
        f"<title>{e(ADDRESS_CHANGED_SUBJECT)}</title></head>\n<body>\n"
        f"<p>Hello {e(username)},</p>\n"
        f"<p>{e(change)}</p>\n"
        "<p>If this was you, nothing more is needed.</p>\n"
        f"<p>{e(not_you)}</p>\n"
        "</body></html>\n"
    )
    return MailMessage(to=to, subject=ADDRESS_CHANGED_SUBJECT, text=text, html=html)


def duration_in_words(seconds: int) -> str:
    """`seconds` in the largest whole unit up to hours: 1800 → "30 minutes", 86400 →
    "24 hours", 90 → "90 seconds"."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return f"{seconds} second" + ("" if seconds == 1 else "s")


def _message(
    to: str,
    subject: str,
    *,
    greeting: str,
    lead: str,
    action: str,
    link: str,
    after: str,
    not_you: str,
) -> MailMessage:
    # The link on a line of its own, so that a text reader (or the .eml file) shows it whole.
    text = f"Hello {greeting},\n\n{lead}\n\n{action}:\n\n{link}\n\n{after}\n\n{not_you}\n"
    e = escape  # quote=True: values are safe inside attributes too
    html = (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>\n<body>\n"
        f"<p>Hello {e(greeting)},</p>\n"
        f"<p>{e(lead)}</p>\n"
        f'<p><a href="{e(link)}">{e(action)}</a></p>\n'
        f"<p>Or copy this link into your browser:<br>{e(link)}</p>\n"
        f"<p>{e(after)}</p>\n"
        f"<p>{e(not_you)}</p>\n"
        "</body></html>\n"
    )
    return MailMessage(to=to, subject=subject, text=text, html=html)
