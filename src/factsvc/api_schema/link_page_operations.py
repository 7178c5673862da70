"""The operations of the pages mailed links open, and of the script and stylesheet they load
(routes.py routes them; the API calls that take the links' tokens are in mail_operations.py)."""

from __future__ import annotations

from factsvc.api_schema.operation import Operation
from factsvc.handlers.link_pages import PAGE_HEADERS

# Cache-Control is the caching's to document.
PAGE_SERVED_WITH = ", ".join(
    f"`{name}: {value}`" for name, value in PAGE_HEADERS.items() if name != "Cache-Control"
)
PAGE_TAG = "link pages"
NOT_AN_ENVELOPE = "Not an envelope."

GET_VERIFY_EMAIL_PAGE = Operation(
    "get",
    "getVerifyEmailPage",
    "The page a verification mail's link opens",
    description="An HTML page for browsers, no session needed. The mail's link is "
    "`{PUBLIC_BASE_URL}/email/verify#token=<token>`: the token is in the fragment, which the "
    "browser never sends, so it is in no request line, access log or Referer. The page's "
    "script takes the token from the fragment, removes it from the address bar, and on a "
    "button press POSTs it to /email/verify, then shows the answer's message. Served with "
    f"{PAGE_SERVED_WITH}. {NOT_AN_ENVELOPE}",
    tag=PAGE_TAG,
    answer=None,
    answer_description="The page.",
    media_type="text/html",
)
GET_RESET_PASSWORD_PAGE = Operation(
    "get",
    "getResetPasswordPage",
    "The page a password-reset mail's link opens",
    description="An HTML page for browsers, no session needed. The mail's link is "
    "`{PUBLIC_BASE_URL}/password/reset#token=<token>`: the token is in the fragment, which "
    "the browser never sends. The page's script takes the token from the fragment, removes it "
    "from the address bar, and POSTs it with the new password (typed twice, compared by the "
    "page) to /password/reset, then shows the answer's message and the password rules broken, "
    f"if any. Served with {PAGE_SERVED_WITH}. {NOT_AN_ENVELOPE}",
    tag=PAGE_TAG,
    answer=None,
    answer_description="The page.",
    media_type="text/html",
)
GET_LINK_PAGE_SCRIPT = Operation(
    "get",
    "getLinkPageScript",
    "The link pages' script",
    description=f"The one script the pages of mailed links load. {NOT_AN_ENVELOPE}",
    tag=PAGE_TAG,
    answer=None,
    answer_description="The script.",
    media_type="text/javascript",
)
GET_LINK_PAGE_STYLE = Operation(
    "get",
    "getLinkPageStyle",
    "The link pages' stylesheet",
    description=f"The one stylesheet the pages of mailed links load. {NOT_AN_ENVELOPE}",
    tag=PAGE_TAG,
    answer=None,
    answer_description="The stylesheet.",
    media_type="text/css",
)
