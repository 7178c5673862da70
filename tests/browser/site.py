"""Where the browser tests find the API and the SPA, and the limits they run the service with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Screenshots and the service's output of the tests that failed in the last run.
FAILURES = REPO / "test-output" / "browser"
# Failed logins an account may have per window before 429: low, so a test reaches it quickly.
LOGIN_ACCOUNT_MAX_FAILURES = 3
# Every browser test comes from one client (the loopback address): the per-client limits on
# registrations, reset requests and failed uses of mailed links must allow the whole package.
PER_CLIENT_MAX = 1000
# Production's lowest bcrypt cost: the service runs with production's rules.
BCRYPT_ROUNDS = 10
ACTION_TIMEOUT_MS = 10_000
# The User-Agent of the browser tests' second profile (an iPhone's Safari), so that two sessions
# of one user show two devices.
OTHER_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Site:
    """Where the API and the SPA answer: `api` (http://localhost:B), and the SPA's origins on
    the API's site (`same_site`, http://localhost:A) and on another (`cross_site`,
    http://127.0.0.1:A), both listed in CORS_ORIGINS; `service_log` is the service's output."""

    api: str
    same_site: str
    cross_site: str
    service_log: Path

    def page_url(self, origin: str, mode: str) -> str:
        """The SPA's URL on `origin`, talking to the API in session `mode`."""
        return f"{origin}/?api={self.api}&mode={mode}"
