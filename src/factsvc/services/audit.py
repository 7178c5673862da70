"""Security events: one structured log record each, on the factsvc.security logger."""

from __future__ import annotations

import logging

security_log = logging.getLogger("factsvc.security")


def security_event(event: str, **fields: str) -> None:
    """Log `event` with its fields both as record attributes (for JSON logs) and in the text.
    Values are escaped, so a client-chosen string can never start a new log line."""
    text = " ".join(f"{name}={_escape(value)}" for name, value in fields.items())
    security_log.info("%s %s", event, text, extra={"event": event, **fields})


def _escape(value: str) -> str:
    return value.encode("unicode_escape").decode("ascii").replace(" ", "\\x20")
