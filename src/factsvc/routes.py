"""The routing table, declared once: each path, its handler, what it needs, and its contract."""

from __future__ import annotations

from factsvc.api_schema import errors as e
from factsvc.api_schema import responses as r
from factsvc.api_schema.caching import DOCUMENT_CACHING, FACT_CACHING
from factsvc.api_schema.defaults import READINESS_TIMEOUT_SECONDS
from factsvc.api_schema.lifecycle_operations import (
    ACCOUNT_DELETE,
    AVATAR_ID_PARAMETER,
    DELETE_AVATAR,
    GET_AVATAR,
    LIST_SESSIONS,
    PUT_AVATAR,
    REVOKE_SESSIONS,
)
from factsvc.api_schema.link_page_operations import (
    GET_LINK_PAGE_SCRIPT,
    GET_LINK_PAGE_STYLE,
    GET_RESET_PASSWORD_PAGE,
    GET_VERIFY_EMAIL_PAGE,
)
from factsvc.api_schema.mail_operations import (
    FORGOT_PASSWORD,
    REQUEST_EMAIL_VERIFICATION,
    RESET_PASSWORD,
    VERIFY_EMAIL,
)
from factsvc.api_schema.operation import (
    Operation,
    RequestBody,
    Route,
    Security,
)
from factsvc.api_schema.parameters import FactQuery
from factsvc.handlers import accounts, sessions
from factsvc.handlers.account_deletion import AccountDeletionHandler
from factsvc.handlers.avatars import AccountAvatarHandler, AvatarFileHandler
from factsvc.handlers.email import EmailVerificationHandler, VerifyEmailHandler
from factsvc.handlers.factorial import FactorialHandler
from factsvc.handlers.health import HealthHandler, ReadinessHandler
from factsvc.handlers.link_pages import (
    SCRIPT_PATH,
    STYLE_PATH,
    LinkPageScript,
    LinkPageStyle,
)
from factsvc.handlers.metrics import MetricsHandler
from factsvc.handlers.openapi import OpenApiHandler
from factsvc.handlers.password_reset import ForgotPasswordHandler, ResetPasswordHandler
from factsvc.services.account_edit_body import AccountEditBody
from factsvc.services.bodies import LoginBody, RegisterBody

BODY_ERRORS = e.BODY_ERRORS
BEARER_FROM_LOGIN = {"header.Authorization": "Bearer {$response.body#/token}"}

GET_FACTORIAL = Operation(
    "get",
    "getFactorial",
    "The exact factorial of n",
    tag="factorial",
    answer=r.FactAnswer,
    answer_description="n! in decimal.",
    query=FactQuery,
    errors=(e.BAD_REQUEST, e.UNAVAILABLE),
    caching=FACT_CACHING,
)
GET_HEALTH = Operation(
    "get",
    "getHealth",
    "Liveness: 200 while the process runs",
    tag="health",
    answer=r.Alive,
    answer_description="The process runs.",
)
GET_READINESS = Operation(
    "get",
    "getReadiness",
    f"Readiness: Redis and MongoDB both answer within {READINESS_TIMEOUT_SECONDS:g} s",
    tag="health",
    answer=r.Ready,
    answer_description="Ready.",
    errors=(e.UNAVAILABLE,),
)
GET_OPENAPI = Operation(
    "get",
    "getOpenApi",
    "This document",
    description="Served as OpenAPI tools expect it: the document itself, not an envelope.",
    tag="meta",
    answer=r.OpenApiDocument,
    answer_description="The OpenAPI 3.1 document.",
    caching=DOCUMENT_CACHING,
)
GET_METRICS = Operation(
    "get",
    "getMetrics",
    "Prometheus metrics",
    description="Prometheus text exposition format, summed over every worker process: requests "
    "by route and status with latency histograms, /fact lookups by source (memory, redis, "
    "computed), CPU pool queue depth and rejections, event-loop lag. Not an envelope.",
    tag="meta",
    answer=None,
    answer_description="The metrics.",
    media_type="text/plain",
)
REGISTER = Operation(
    "post",
    "register",
    "Create an account",
    tag="accounts",
    body=RequestBody("RegisterRequest", RegisterBody),
    status=201,
    answer=r.UserAnswer,
    answer_description="The new user.",
    idempotent=True,
    errors=(
        *BODY_ERRORS,
        e.CROSS_ORIGIN_REFUSED,
        e.DUPLICATE,
        e.KEY_REUSED,
        e.TOO_MANY_REQUESTS,
        e.UNAVAILABLE,
    ),
    links={
        "LoginAsRegistered": {
            "operationId": "login",
            "description": "Log in as the user just registered.",
            "requestBody": {
                "username": "$request.body#/username",
                "password": "$request.body#/password",
            },
        }
    },
)
LOGIN = Operation(
    "post",
    "login",
    "Open a session",
    description="Always opens a new session, and ends the one the request came with, if any. "
    "The body's `session` says how the client holds it: the cookie alone (`cookie`, and by "
    "default for browsers), `token` in the body alone (`token`), or both (the default for "
    "other clients).",
    tag="accounts",
    security=Security.OPTIONAL_SESSION,
    body=RequestBody("LoginRequest", LoginBody),
    answer=r.LoggedIn,
    answer_description="Logged in.",
    sets_cookie=True,
    errors=(
        *BODY_ERRORS,
        e.BAD_CREDENTIALS,
        e.CROSS_ORIGIN_REFUSED,
        e.TOO_MANY_REQUESTS,
        e.UNAVAILABLE,
    ),
    links={
        "InfoWithToken": {"operationId": "accountInfo", "parameters": BEARER_FROM_LOGIN},
        "EditWithToken": {"operationId": "accountEdit", "parameters": BEARER_FROM_LOGIN},
        "LogoutWithToken": {"operationId": "logout", "parameters": BEARER_FROM_LOGIN},
    },
)
IS_LOGINED = Operation(
    "get",
    "isLogined",
    "Whether the request carries a live session; never 401",
    tag="accounts",
    security=Security.OPTIONAL_SESSION,
    answer=r.SessionState,
    answer_description="`user` is null when not logged in.",
    errors=(e.UNAVAILABLE,),
)
LOGOUT = Operation(
    "post",
    "logout",
    "End the session, and expire the cookie if the request carried it",
    description="Ends every session the request presents: the bearer's and each one a cookie "
    "of the session cookie's name verifies for. A carried cookie is expired whatever the "
    "outcome, 401 included.",
    tag="accounts",
    security=Security.SESSION,
    answer=r.LoggedOut,
    answer_description="Logged out.",
    sets_cookie=True,
    errors=(e.NOT_LOGGED_IN, e.CROSS_ORIGIN_REFUSED, e.UNAVAILABLE),
)
ACCOUNT_INFO = Operation(
    "get",
    "accountInfo",
    "The current user, read from MongoDB",
    tag="accounts",
    security=Security.SESSION,
    answer=r.UserAnswer,
    answer_description="The current user.",
    errors=(e.NOT_LOGGED_IN, e.UNAVAILABLE),
)
ACCOUNT_EDIT = Operation(
    "post",
    "accountEdit",
    "Change the nickname, gender, email address or password",
    description="A password change ends every session of the user and opens a new one for this "
    "client, delivered the way the request presented its own: `token` in the body for "
    "`Authorization: Bearer` (a cookie carried beside it is expired), a new cookie for the "
    "cookie. A change to a new address counts, before anything is written and whether or not "
    "the address is taken, against the user's verification mails (EMAIL_VERIFY_SEND_MAX per "
    "EMAIL_VERIFY_SEND_WINDOW_SECONDS): beyond them, 429 and nothing changes. Changing or "
    "removing the address needs the current password in `old_password`, as a password change "
    "does (400 without it, 403 code 1001 when wrong, counted against the account's failed "
    "logins); the same address again needs none. When a verified address is changed or "
    "removed, a notice is mailed to it after the answer (naming only the new address's "
    "domain).",
    tag="accounts",
    security=Security.SESSION,
    body=RequestBody("EditRequest", AccountEditBody),
    answer=r.Edited,
    answer_description="The updated user; `token` after a password change by a bearer client.",
    sets_cookie=True,
    idempotent=True,
    errors=(
        *BODY_ERRORS,
        e.NOT_LOGGED_IN,
        e.EDIT_FORBIDDEN,
        e.DUPLICATE,
        e.KEY_REUSED,
        e.TOO_MANY_REQUESTS,
        e.UNAVAILABLE,
    ),
)

ACCOUNT = ("accounts", "cookies", "clients", "idempotency")
SESSIONS = (*ACCOUNT, "session_list")
PASSWORD_RESET = ("password_reset", "clients")
EMAIL = ("email_verification", "clients")
# Path (also the route's name), handler, the dependencies its initialize() takes, operations.
ROUTES = (
    Route("/fact", FactorialHandler, ("factorials",), (GET_FACTORIAL,)),
    Route("/healthz", HealthHandler, (), (GET_HEALTH,)),
    Route("/readyz", ReadinessHandler, ("readiness",), (GET_READINESS,)),
    Route("/openapi.json", OpenApiHandler, (), (GET_OPENAPI,)),
    Route("/metrics", MetricsHandler, ("metrics",), (GET_METRICS,)),
    Route("/register", accounts.RegisterHandler, ACCOUNT, (REGISTER,)),
    Route("/login", accounts.LoginHandler, ACCOUNT, (LOGIN,)),
    Route("/isLogined", accounts.IsLoginedHandler, ACCOUNT, (IS_LOGINED,)),
    Route("/logout", accounts.LogoutHandler, ACCOUNT, (LOGOUT,)),
    Route("/account/info", accounts.AccountInfoHandler, ACCOUNT, (ACCOUNT_INFO,)),
    Route("/account/edit", accounts.AccountEditHandler, ACCOUNT, (ACCOUNT_EDIT,)),
    Route(
        "/account/delete",
        AccountDeletionHandler,
        (*ACCOUNT, "account_deletion"),
        (ACCOUNT_DELETE,),
    ),
    Route("/account/sessions", sessions.SessionsHandler, SESSIONS, (LIST_SESSIONS,)),
    Route("/account/sessions/revoke", sessions.RevokeSessionsHandler, SESSIONS, (REVOKE_SESSIONS,)),
    Route(
        "/account/avatar",
        AccountAvatarHandler,
        (*ACCOUNT, "avatars", "uploads"),
        (PUT_AVATAR, DELETE_AVATAR),
    ),
    Route("/avatars/{id}", AvatarFileHandler, ("avatars",), (GET_AVATAR,), (AVATAR_ID_PARAMETER,)),
    # The paths of mailed links: GET serves the page (handlers/link_pages.py), POST takes the
    # token; one handler serves both, a subclass of the page's class.
    Route("/email/verify", VerifyEmailHandler, EMAIL, (GET_VERIFY_EMAIL_PAGE, VERIFY_EMAIL)),
    Route(
        "/account/email/verification",
        EmailVerificationHandler,
        (*ACCOUNT, "email_verification"),
        (REQUEST_EMAIL_VERIFICATION,),
    ),
    Route("/password/forgot", ForgotPasswordHandler, PASSWORD_RESET, (FORGOT_PASSWORD,)),
    Route(
        "/password/reset",
        ResetPasswordHandler,
        PASSWORD_RESET,
        (GET_RESET_PASSWORD_PAGE, RESET_PASSWORD),
    ),
    Route(SCRIPT_PATH, LinkPageScript, (), (GET_LINK_PAGE_SCRIPT,)),
    Route(STYLE_PATH, LinkPageStyle, (), (GET_LINK_PAGE_STYLE,)),
)
