"""Security events: one structured log record each, on the factsvc.security logger."""

from __future__ import annotations

import logging

from factsvc.log_escaping import escape_for_log

security_log = logging.getLogger("factsvc.security")
# The longest value an event keeps of a field: an origin (a DNS name is at most 253
# characters) or a path fits; a client's 16 KB one would make each refusal a 16 KB line.
MAX_FIELD_CHARS = 512
CUT_MARK = "…"


def security_event(event: str, **fields: str) -> None:
    """Log `event` with its fields both as record attributes (for JSON logs) and in the text
    as `name=value` pairs. A value over MAX_FIELD_CHARS is cut there and ends in CUT_MARK, in
    both. Values are escaped (escape_for_log, spaces included) in the text, so that a
    client-chosen value can neither start a new log line nor pass for another field, whichever
    handler writes the record; the attributes keep the values unescaped."""
    kept = {name: _cut(value) for name, value in fields.items()}
    text = " ".join(f"{name}={escape_for_log(value, spaces=True)}" for name, value in kept.items())
    security_log.info("%s %s", event, text, extra={"event": event, **kept})


def _cut(value: str) -> str:
    return value if len(value) <= MAX_FIELD_CHARS else value[:MAX_FIELD_CHARS] + CUT_MARK
