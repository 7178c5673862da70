"""Browser-test fixtures: Chromium (examples/spa/chromium.py: Debian's) under Playwright, the
service as a production-like process, the demo SPA served by examples/spa/serve.py (both run by
examples/spa/processes.py), and for a test that fails, a screenshot of each of its pages and a copy
of the service's output under test-output/browser/ (emptied when the browser tests start), their
paths in the failure's report."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Generator, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

import chromium
from factsvc.embedded import ManagedServer, free_port, mongodb_uri
from processes import Process, service_command, spa_command
from tests.browser.site import (
    ACTION_TIMEOUT_MS,
    BCRYPT_ROUNDS,
    FAILURES,
    LOGIN_ACCOUNT_MAX_FAILURES,
    OTHER_USER_AGENT,
    PER_CLIENT_MAX,
    START_TIMEOUT_SECONDS,
    Site,
)
from tests.support.mail import MailSink
from tests.support.servers import STRONG_SECRET, redis_url

PAGES = pytest.StashKey[list[Page]]()


@pytest.fixture(scope="package")
def mail_sink() -> Iterator[MailSink]:
    """The SMTP server (aiosmtpd) the service of `site` sends its mail to, for the whole package
    as that service is (tests/conftest.py's is one test's): each test mails its own addresses."""
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="package")
def site(
    redis_backend: ManagedServer,
    mongo_backend: ManagedServer,
    mail_sink: MailSink,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    """The service outside DEBUG (so its cookie is __Host-SID, Secure) on the suite's Redis and
    MongoDB-compatible server, mailing to `mail_sink` links to itself, and the SPA on another
    port of the loopback address."""
    base = tmp_path_factory.mktemp("browser")
    api_port, spa_port = free_port(), free_port()
    api = f"http://localhost:{api_port}"
    same_site, cross_site = f"http://localhost:{spa_port}", f"http://127.0.0.1:{spa_port}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DEBUG": "false",
        "PATH_DATA": str(base),
        "LOG_TO_FILE": "false",
        "TORNADO_SERVER_ADDRESS": "127.0.0.1",
        "TORNADO_SERVER_PORT": str(api_port),
        "TORNADO_SERVER_NUMPROCS": "1",
        "SESSION_COOKIE_SECRET": STRONG_SECRET,
        "REDIS_URL": redis_url(redis_backend),
        "MONGODB_URI": mongodb_uri(mongo_backend.port),
        "MONGODB_NAME": f"browser_{uuid.uuid4().hex[:12]}",
        "BCRYPT_ROUNDS": str(BCRYPT_ROUNDS),
        "LOGIN_ACCOUNT_MAX_FAILURES": str(LOGIN_ACCOUNT_MAX_FAILURES),
        "CORS_ORIGINS": f"{same_site},{cross_site}",
        "REGISTER_CLIENT_MAX": str(PER_CLIENT_MAX),
        "PASSWORD_FORGOT_CLIENT_MAX": str(PER_CLIENT_MAX),
        "MAIL_TOKEN_CLIENT_MAX_FAILURES": str(PER_CLIENT_MAX),
        "PASSWORD_FORGOT_DELAY_MAX_SECONDS": "0",
        "SMTP_URL": mail_sink.url,
        "PUBLIC_BASE_URL": api,
    }
    service_log = base / "service.log"
    spa_env = {"PATH": env["PATH"]}
    with (
        Process("service", service_command(embedded=False), env, service_log) as service,
        Process("SPA", spa_command(spa_port, api), spa_env, base / "spa.log") as spa,
    ):
        service.wait_until_answering(f"http://127.0.0.1:{api_port}/readyz", START_TIMEOUT_SECONDS)
        spa.wait_until_answering(f"http://127.0.0.1:{spa_port}/", START_TIMEOUT_SECONDS)
        yield Site(api, same_site, cross_site, service_log)


@pytest.fixture(scope="package", autouse=True)
def empty_failures_directory() -> None:
    """Empties FAILURES before the first browser test: what it then holds is this run's."""
    shutil.rmtree(FAILURES, ignore_errors=True)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless Chromium (chromium.py's: Debian's; Playwright never downloads one here). The
    tests fail, never skip, when there is none."""
    try:
        executable, _ = chromium.executable()
    except chromium.ChromiumMissing as missing:
        pytest.fail(str(missing))
    playwright: Playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=executable, args=chromium.LAUNCH_ARGS, headless=True
        )
        yield launched
        launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile for one test: no cookies, no storage, no cached preflights."""
    fresh = browser.new_context(viewport={"width": 1200, "height": 900})
    fresh.set_default_timeout(ACTION_TIMEOUT_MS)
    yield fresh
    fresh.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, context: BrowserContext) -> Page:
    """A page of the test's context, photographed if the test fails."""
    opened = context.new_page()
    request.node.stash.setdefault(PAGES, []).append(opened)
    return opened


@pytest.fixture
def other_context(browser: Browser) -> Iterator[BrowserContext]:
    """A second fresh profile beside `context` (another device of the same user, say), with
    another User-Agent: an iPhone's Safari (OTHER_USER_AGENT)."""
    fresh = browser.new_context(
        viewport={"width": 1200, "height": 900}, user_agent=OTHER_USER_AGENT
    )
    fresh.set_default_timeout(ACTION_TIMEOUT_MS)
    yield fresh
    fresh.close()


@pytest.fixture
def other_page(request: pytest.FixtureRequest, other_context: BrowserContext) -> Page:
    """A page of `other_context`, photographed if the test fails."""
    opened = other_context.new_page()
    request.node.stash.setdefault(PAGES, []).append(opened)
    return opened


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure, a screenshot of each of the test's pages in its last state and a copy of
    the service's output so far (pytest prunes its own temporary directories), named in the
    report (the pages are still open: fixtures end after this report)."""
    report = yield
    pages = item.stash.get(PAGES, [])
    if report.failed and call.when == "call" and pages:
        FAILURES.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)
        lines = []
        for number, shown in enumerate(pages):
            path = FAILURES / f"{stem}-{number}.png"
            try:
                shown.screenshot(path=str(path), full_page=True)
                lines.append(f"screenshot of {shown.url}: {path}")
            except Exception as error:  # a crashed page must not hide the test's own failure
                lines.append(f"no screenshot of {shown.url}: {error}")
        site = item.funcargs.get("site") if isinstance(item, pytest.Function) else None
        if isinstance(site, Site):
            kept = shutil.copyfile(site.service_log, FAILURES / f"{stem}-service.log")
            lines.append(f"the service's output: {kept}")
        report.sections.append(("browser failure", "\n".join(lines)))
    return report
