"""A line built without a LogRecord (the access log's) is the line the formatter writes for one."""

from __future__ import annotations

import logging
import time

import pytest

from factsvc.log_format import CachedTimeFormatter, JsonFormatter, PlainFormatter

HOSTILE = "GET /a\nb\u2028c\x1b[2K\u202e 200 0.3ms 203.0.113.7"


def _record(level: int, message: str, extra: dict[str, str]) -> logging.LogRecord:
    return logging.getLogger("factsvc.access").makeRecord(
        "factsvc.access", level, "", 0, "%s", (message,), None, extra=extra
    )


@pytest.mark.parametrize("formatter", [PlainFormatter(), JsonFormatter()], ids=["plain", "json"])
@pytest.mark.parametrize("level", [logging.INFO, logging.ERROR])
@pytest.mark.parametrize("message", ["GET /fact 200 0.4ms 127.0.0.1", HOSTILE])
def test_a_line_without_a_record_is_the_records_line(
    formatter: CachedTimeFormatter, level: int, message: str
) -> None:
    extra = {"request_id": "0123456789abcdef0123456789abcdef", "client": "127.0.0.1"}
    for _ in range(50):  # both inside one millisecond at least once
        record = _record(level, message, extra)
        line = formatter.line(level, "factsvc.access", message, extra)
        if int(record.created * 1000) == int(time.time() * 1000):
            break
    assert line == formatter.format(record)
    assert len(line.splitlines()) == 1


@pytest.mark.parametrize("created", [0.0, 1_700_000_000.0, 1_700_000_000.999, 1_700_000_001.5])
def test_the_cached_second_gives_the_stdlibs_time_text(created: float) -> None:
    cached, stdlib = PlainFormatter(), logging.Formatter()
    record = logging.makeLogRecord({"created": created, "msecs": int((created % 1) * 1000)})
    assert cached.formatTime(record) == stdlib.formatTime(record)
    assert cached.time_text(created) == stdlib.formatTime(record)
    assert cached.time_text(created, "%Y-%m-%dT%H:%M:%S") == stdlib.formatTime(
        record, "%Y-%m-%dT%H:%M:%S"
    )
