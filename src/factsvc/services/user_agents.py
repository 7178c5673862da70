"""The short form of a User-Agent a list of sessions shows: "Chrome 120 on Android"."""

from __future__ import annotations

import unicodedata

import ua_parser

# Longer User-Agents are cut before parsing: real ones stay under about 300 characters, and
# the rules (regular expressions, about a thousand) then run on a bounded input whichever
# resolver ua-parser finds (its native one matches in linear time, the pure-Python fallback
# does not promise to).
MAX_PARSED = 512
# The short form is built from pieces the parser copies out of the header itself (an app's
# own name, say): bounded, and cleaned of control and format characters.
MAX_SHORT = 64
# ua-parser's name for a browser or system its rules do not know.
UNKNOWN = "Other"


def short_form(user_agent: str | None) -> str | None:
    """The browser (or app) family and major version, and the operating system's family:
    "Chrome Mobile 120 on Android", "Firefox 121 on Windows", "curl 8", "Other" when the
    rules know neither; None for no User-Agent (or an empty one). At most MAX_SHORT
    characters. Families are those of ua-parser's rules (uap-core's regexes.yaml)."""
    if not user_agent:
        return None
    parsed = ua_parser.parse(user_agent[:MAX_PARSED])
    browser = UNKNOWN
    if parsed.user_agent is not None and parsed.user_agent.family != UNKNOWN:
        major = parsed.user_agent.major
        browser = parsed.user_agent.family + (f" {major}" if major else "")
    system = parsed.os.family if parsed.os is not None else UNKNOWN
    text = browser if system == UNKNOWN else f"{browser} on {system}"
    return _clean(text)[:MAX_SHORT].strip() or UNKNOWN


def prepare() -> None:
    """Load and compile the rules (about 0.15 s of CPU here), so that the first login does not
    pay for it on the event loop: call once per process, in a worker thread."""
    ua_parser.parse("")


def _clean(text: str) -> str:
    return "".join(" " if unicodedata.category(char)[0] in "CZ" else char for char in text).strip()
