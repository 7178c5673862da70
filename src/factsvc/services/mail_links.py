"""The links mailed to users: the service's pages, with the token in the fragment."""

from __future__ import annotations

from urllib.parse import quote


class MailLinks:
    """Builds `{public_base_url}/email/verify#token=<t>` and `.../password/reset#token=<t>`.

    The token rides in the fragment, which a browser never sends: it stays out of request
    lines, access logs, Referer headers and the GETs of link scanners (the page's script reads
    it and POSTs it). `public_base_url` is PUBLIC_BASE_URL, e.g. "https://facts.example"; a
    trailing "/" is dropped.
    """

    def __init__(self, public_base_url: str) -> None:
        self._base = public_base_url.rstrip("/")

    def verify_email(self, token: str) -> str:
        """The link that confirms an email address."""
        return self._link("/email/verify", token)

    def reset_password(self, token: str) -> str:
        """The link that opens the password reset page."""
        return self._link("/password/reset", token)

    def _link(self, path: str, token: str) -> str:
        # Tokens are URL-safe already; quoting only keeps a malformed one from changing the URL.
        return f"{self._base}{path}#token={quote(token, safe='')}"
