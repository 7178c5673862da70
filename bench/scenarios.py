"""The scenarios: which Lua script, what it measures, and which answers are expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wrk import WrkResult

SCRIPTS = Path(__file__).parent

# Small n, so that bodies are the size of the reference's (under 250 bytes).
HOT_VALUES = (5, 10, 12, 15, 20, 30, 50, 100)
BIG_N = 100_000
# Never-requested n for the cold runs: the spread range and BIG_N are warmed, these are not.
COLD_RANGE = (20_001, 80_000)
PROBE_COLD_RANGE = (80_000, BIG_N)
PROBE_CONNECTIONS = 4
PROBE_PAUSE_MS = 10
PROBE_LOGIN_CONNECTIONS = 16
PROBE_COLD_CONNECTIONS = 2
# Sessions opened for the /account/info scenarios; requests cycle through them.
SESSIONS = 16


@dataclass(frozen=True)
class Scenario:
    name: str
    measures: str
    expected: frozenset[int] = frozenset({200})
    # A 503 in the service's envelope is a refusal by design (a full bcrypt or factorial
    # queue): counted as shed, not as unexpected.
    sheds: bool = False
    # An event whose rate the report gives beside requests/s.
    rate_of: str | None = None

    @property
    def script(self) -> Path:
        return SCRIPTS / f"{self.name}.lua"

    def unexpected(self, result: WrkResult) -> dict[str, int]:
        found = {s: n for s, n in result.statuses.items() if int(s) not in self.expected}
        if self.sheds and "503" in found:
            bare = found.pop("503") - result.counters.get("busy_503", 0)
            if bare:
                found["503"] = bare
        return found

    def shed(self, result: WrkResult) -> int:
        return result.counters.get("busy_503", 0) if self.sheds else 0


HOT = Scenario(
    "hot",
    f"GET /fact for n = {', '.join(map(str, HOT_VALUES))} in turn, warmed first: answers "
    "from each process's memory.",
)
SPREAD = Scenario(
    "spread",
    "GET /fact with n uniformly random in [0, {spread_max}], the whole range warmed first: "
    "cached answers from memory or Redis, bodies up to {spread_max_kb:,.0f} KB.",
)
BIG = Scenario(
    "big",
    f"GET /fact?n={BIG_N} (a 456 KB body), warmed first, no Accept-Encoding.",
)
COLD = Scenario(
    "cold",
    f"GET /fact for n never requested before ({COLD_RANGE[0]}..{COLD_RANGE[1] - 1}, every "
    "level a slice of its own across the whole range): computed in the process pool.",
    sheds=True,
)
LOGIN = Scenario(
    "login",
    "POST /login with valid credentials of users registered beforehand (one bcrypt check each).",
    sheds=True,
    rate_of="logins",
)
INFO_COOKIE = Scenario(
    "info_cookie",
    f"GET /account/info with a signed session cookie ({SESSIONS} sessions).",
)
INFO_BEARER = Scenario(
    "info_bearer",
    f"GET /account/info with a bearer token ({SESSIONS} sessions).",
)
JOURNEY = Scenario(
    "journey",
    "Each connection loops register -> login -> info -> edit -> logout (two bcrypt hashes "
    "per journey); a 503 in the envelope ends that journey and counts as shed. Places are "
    "given in turn, so all connections advance together: at C connections a journey takes "
    "about 2 x C / (bcrypt hashes per second), and from 64 connections on at cost 12 that is "
    "longer than a run, so none completes within it.",
    expected=frozenset({200, 201}),
    sheds=True,
    rate_of="journeys",
)
PROBE = Scenario(
    "probe",
    f"GET /fact?n=10 on {PROBE_CONNECTIONS} connections, {PROBE_PAUSE_MS} ms pause between "
    f"requests, while login runs on {PROBE_LOGIN_CONNECTIONS} connections and cold "
    f"factorials ({PROBE_COLD_RANGE[0]}..{PROBE_COLD_RANGE[1] - 1}) on "
    f"{PROBE_COLD_CONNECTIONS}: the time the event loop is held.",
)
PER_LEVEL = (HOT, SPREAD, BIG, COLD, LOGIN, INFO_COOKIE, INFO_BEARER, JOURNEY)
ALL = (*PER_LEVEL, PROBE)
BY_NAME = {scenario.name: scenario for scenario in ALL}


class ColdSlices:
    """Hands each run its own slice of a range of n: run r of R takes every R-th n from
    start + r, so no run repeats another's n and every run sees the same spread of sizes
    (consecutive blocks gave the later, higher levels the bigger, dearer n)."""

    def __init__(self, start: int, stop: int, runs: int) -> None:
        self._start, self._stop, self._runs = start, stop, runs
        self._next = 0

    def take(self, threads: int) -> tuple[str, ...]:
        """cold.lua's arguments: thread t asks for first + (t - 1) * runs + k * runs * threads."""
        first = self._start + self._next
        self._next += 1
        return (str(first), str(self._runs), str(self._runs * threads), str(self._stop))
