"""Logging to the console and to PATH_DATA/log, and the one-line access log."""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Any

import orjson
from tornado.web import RequestHandler

from factsvc.config import Settings
from factsvc.request_context import RequestIdFilter

access_log = logging.getLogger("factsvc.access")


def configure_logging(settings: Settings) -> None:
    """Configure this process's logging: the console, and `factsvc.log` in the log directory
    when logging to a file is on; lines "plain" or "json" (one object a line) at the
    configured level, each with the request id."""
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
                    "format": (
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


class JsonFormatter(logging.Formatter):
    """One JSON object a line: the standard fields, the request id and any `extra` fields."""

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
        return orjson.dumps(entry, default=str).decode()


def escape_for_log(text: str) -> str:
    """Make a client-supplied string safe to put on one log line."""
    return text.encode("unicode_escape").decode("ascii")


def log_request(handler: RequestHandler) -> None:
    """Method, path, status and time only: never bodies, query strings, cookies or headers."""
    status = handler.get_status()
    level = logging.INFO if status < 500 else logging.ERROR
    if not access_log.isEnabledFor(level):
        return
    request = handler.request
    access_log.log(
        level,
        "%s %s %d %.1fms %s",
        request.method,
        escape_for_log(request.path),
        status,
        1000.0 * request.request_time(),
        request.remote_ip,
        extra={"request_id": getattr(handler, "request_id", "-")},
    )
