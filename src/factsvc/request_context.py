"""The id of the request being handled, for every log record written while handling it."""

from __future__ import annotations

import logging
import random
import re
from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")
# An incoming X-Request-ID is honoured only in this shape: it goes into logs and headers.
ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def request_id_for(incoming: str | None) -> str:
    if incoming is not None and ACCEPTED_REQUEST_ID.fullmatch(incoming):
        return incoming
    # 128 random bits as 32 hex digits. An id names a request in logs and answers and guards
    # nothing, so the per-process generator (reseeded in each forked worker by the random
    # module itself) serves: os.urandom cost a system call, and a handover of the GIL, per
    # request.
    return f"{random.getrandbits(128):032x}"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True
