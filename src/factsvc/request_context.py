"""The id of the request being handled, for every log record written while handling it."""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")
# An incoming X-Request-ID is honoured only in this shape: it goes into logs and headers.
ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def request_id_for(incoming: str | None) -> str:
    if incoming is not None and ACCEPTED_REQUEST_ID.fullmatch(incoming):
        return incoming
    # 128 random bits as 32 hex digits, like a uuid4 but without building a UUID object.
    return secrets.token_hex(16)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True
