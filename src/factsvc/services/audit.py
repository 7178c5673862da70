"""Security events: one structured log record each, on the factsvc.security logger."""

from __future__ import annotations

import logging

from factsvc.log_escaping import escape_for_log

security_log = logging.getLogger("factsvc.security")


def security_event(event: str, **fields: str) -> None:
    """Log `event` with its fields both as record attributes (for JSON logs) and in the text
    as `name=value` pairs. Values are escaped (escape_for_log, spaces included) in the text,
    so that a client-chosen value can neither start a new log line nor pass for another
    field, whichever handler writes the record; the attributes keep the exact values."""
    text = " ".join(
        f"{name}={escape_for_log(value, spaces=True)}" for name, value in fields.items()
    )
    security_log.info("%s %s", event, text, extra={"event": event, **fields})
