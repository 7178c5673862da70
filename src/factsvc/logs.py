"""Logging to the console and to PATH_DATA/log, and the one-line access log."""

from __future__ import annotations

import json
import logging
import logging.config
import os
from typing import Any

import orjson
from tornado.web import RequestHandler

from factsvc.config import Settings
from factsvc.log_escaping import escape_for_log
from factsvc.request_context import RequestIdFilter

access_log = logging.getLogger("factsvc.access")


def configure_logging(settings: Settings) -> None:
    """Configure this process's logging: the console, and `factsvc.log` in the log directory
    when logging to a file is on; lines "plain" or "json" (one object a line) at the
    configured level, each with the request id. Every handler's formatter escapes the whole
    line it writes (escape_for_log), whichever logger the record came from: client text in a
    message, an argument, an `extra` field or a traceback can never start a line of its own."""
    formatter = settings.log_format
    handlers: dict[str, dict[str, Any]] = {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": formatter,
            "filters": ["request_id"],
        },
    }
    if settings.log_to_file:
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        # WatchedFileHandler: several worker processes append to one file, and an external
        # logrotate can move it; a RotatingFileHandler per process would race on rotation.
        handlers["file"] = {
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(settings.log_dir / "factsvc.log"),
            "formatter": formatter,
            "filters": ["request_id"],
            "encoding": "utf-8",
        }
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "plain": {
                    "()": PlainFormatter,
                    "fmt": (
                        "%(asctime)s %(levelname)s [%(process)d] %(request_id)s "
                        "%(name)s: %(message)s"
                    ),
                },
                "json": {"()": JsonFormatter},
            },
            "filters": {"request_id": {"()": RequestIdFilter}},
            "handlers": handlers,
            "root": {"level": settings.log_level, "handlers": list(handlers)},
            # Tornado's access log repeats ours; the drivers' DEBUG records carry topology
            # and command detail that would drown the service's own records.
            "loggers": {
                name: {"level": "WARNING"}
                for name in ("tornado.access", "pymongo", "redis", "asyncio")
            },
        }
    )
    logging.getLogger(__name__).debug("logging configured in process %d", os.getpid())


class PlainFormatter(logging.Formatter):
    """logging's own format, then escaped whole: one record is one line, its traceback too
    (with `\\n` between its lines)."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_for_log(super().format(record))


class JsonFormatter(logging.Formatter):
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
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        try:
            line = orjson.dumps(entry, default=str).decode()
        except orjson.JSONEncodeError:
            # orjson refuses lone surrogates; the standard encoder keeps them for the escaping.
            line = json.dumps(entry, default=str, ensure_ascii=False)
        return escape_for_log(line)


def log_request(handler: RequestHandler, client: str) -> None:
    """Method, path, status, time and the `client` address only: never bodies, query
    strings, cookies or headers. The method and path are the client's text: the formatters
    escape them with the line."""
    status = handler.get_status()
    level = logging.INFO if status < 500 else logging.ERROR
    if not access_log.isEnabledFor(level):
        return
    request = handler.request
    access_log.log(
        level,
        "%s %s %d %.1fms %s",
        request.method,
        request.path,
        status,
        1000.0 * request.request_time(),
        client,
        extra={"request_id": getattr(handler, "request_id", "-"), "client": client},
    )
