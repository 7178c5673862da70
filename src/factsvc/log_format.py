"""The formats of log lines, plain and JSON: one record, one line, escaped whole."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import orjson

from factsvc.log_escaping import escape_for_log

PLAIN_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(request_id)s %(name)s: %(message)s"


class CachedTimeFormatter(logging.Formatter):
    """logging.Formatter whose `asctime` reuses the text of the current second: the stdlib
    converts and strftime()s every record's time, and without TZ set, glibc's localtime()
    reads /etc/localtime's status each call. The milliseconds are added to each record as the
    stdlib does."""

    _second: tuple[int, str | None, str] = (-1, None, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - the stdlib's name
        return self.time_text(record.created, datefmt)

    def time_text(self, created: float, datefmt: str | None = None) -> str:
        """`created` (seconds since the epoch) as formatTime writes it: `datefmt`, else the
        stdlib's default format with milliseconds."""
        second, cached_format, text = self._second
        if second != int(created) or cached_format != datefmt:
            second = int(created)
            text = time.strftime(datefmt or self.default_time_format, self.converter(second))
            # One tuple, replaced whole: threads may share this formatter.
            self._second = (second, datefmt, text)
        if datefmt or not self.default_msec_format:
            return text
        # As LogRecord computes msecs.
        return self.default_msec_format % (text, int((created - int(created)) * 1000))

    def line(self, level: int, name: str, message: str, extra: dict[str, str]) -> str:
        """The line format() would write for a record of `level` and `name` logged now by this
        process, with `message` and the `extra` fields (request_id first), built without a
        LogRecord: for the access log, where logging's record and dispatch cost more than
        the line."""
        raise NotImplementedError


class PlainFormatter(CachedTimeFormatter):
    """logging's own format (PLAIN_FORMAT), then escaped whole: one record is one line, its
    traceback too (with `\\n` between its lines)."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return escape_for_log(super().format(record))

    def line(self, level: int, name: str, message: str, extra: dict[str, str]) -> str:
        when = self.time_text(time.time())
        level_name = logging.getLevelName(level)
        request_id = extra.get("request_id", "-")
        return escape_for_log(f"{when} {level_name} [{os.getpid()}] {request_id} {name}: {message}")


class JsonFormatter(CachedTimeFormatter):
    """One JSON object a line: the standard fields, the request id and any `extra` fields.
    JSON's encoding escapes C0 controls; escape_for_log then escapes what it leaves raw (DEL,
    C1 controls such as NEL, U+2028, U+2029, format characters) with JSON's own escapes."""

    STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        entry.update(
            {k: v for k, v in record.__dict__.items() if k not in self.STANDARD and k[0] != "_"}
        )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        try:
            line = orjson.dumps(entry, default=str).decode()
        except orjson.JSONEncodeError:
            # orjson refuses lone surrogates; the standard encoder keeps them for the escaping.
            line = json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))
        return escape_for_log(line)

    def line(self, level: int, name: str, message: str, extra: dict[str, str]) -> str:
        entry: dict[str, Any] = {
            "time": self.time_text(time.time(), "%Y-%m-%dT%H:%M:%S"),
            "level": logging.getLevelName(level),
            "logger": name,
            "process": os.getpid(),
            "message": message,
            **extra,
        }
        try:
            line = orjson.dumps(entry).decode()
        except orjson.JSONEncodeError:
            line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        return escape_for_log(line)
