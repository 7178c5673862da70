"""Logging to the console and to PATH_DATA/log, and the one-line access log."""

from __future__ import annotations

import atexit
import logging
import math
import os

from tornado.web import RequestHandler

from factsvc.config import Settings
from factsvc.log_format import CachedTimeFormatter, JsonFormatter, PlainFormatter
from factsvc.log_queue import STOP_TIMEOUT_SECONDS, LogPipeline
from factsvc.log_writer import ConsoleSink, LineSink, WatchedFileSink
from factsvc.request_context import RequestIdFilter

access_log = logging.getLogger("factsvc.access")
_SERVICE_LOGGER = logging.getLogger("factsvc")
# The client's method and path in an access line are cut to these many characters (a head may
# be HTTP_MAX_HEADER_BYTES long): escaped at most 6 x, a line stays within a pipe's atomic
# PIPE_BUF (log_writer), a queue of LOG_QUEUE_MAX_LINES lines within a few MB, and escaping it
# within a fraction of a millisecond of the event loop's time.
ACCESS_PATH_MAX = 512
ACCESS_METHOD_MAX = 32
_ROOT = logging.getLogger()


# Loggers whose records below WARNING are not written: Tornado's access log repeats ours; the
# drivers' DEBUG records carry topology and command detail that would drown the service's own.
QUIETED_LOGGERS = ("tornado.access", "pymongo", "redis", "asyncio")

_pipeline: LogPipeline | None = None


def configure_logging(settings: Settings) -> LogPipeline:
    """Configure this process's logging: the console (standard error), and `factsvc.log` in
    the log directory when logging to a file is on; lines "plain" or "json" (one object a
    line) at the configured level, each with the request id. Every sink's formatter escapes
    the whole line it writes (escape_for_log), whichever logger the record came from: client
    text in a message, an argument, an `extra` field or a traceback can never start a line of
    its own.

    The thread that logs formats the line and queues it for each sink (log_queue); each sink
    has a thread of its own that writes, so the event loop never waits on a disk or a pipe; a
    sink that lags LOG_QUEUE_MAX_LINES lines behind loses lines, counted (`dropped_lines`).
    Any pipeline configured before is stopped and closed first. Returns the pipeline, started.
    """
    global _pipeline
    if _pipeline is not None:
        logging.getLogger().removeHandler(_pipeline.handler)
        _pipeline.close(timeout=1.0)
    _leave_out_unused_record_fields()
    formatter: CachedTimeFormatter = (
        PlainFormatter() if settings.log_format == "plain" else JsonFormatter()
    )
    sinks: list[LineSink] = [ConsoleSink()]
    if settings.log_to_file:
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        # One file for every worker process: each appends whole lines (log_writer), and an
        # external logrotate may move it; a RotatingFileHandler per process would race.
        sinks.append(WatchedFileSink(settings.log_dir / "factsvc.log"))
    pipeline = LogPipeline(sinks, settings.log_queue_max_lines, formatter)
    # In the thread that logs: the request id lives in its context.
    pipeline.handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(pipeline.handler)
    root.setLevel(settings.log_level)
    for name in QUIETED_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    pipeline.start()
    _pipeline = pipeline
    logging.getLogger(__name__).debug("logging configured in process %d", os.getpid())
    return pipeline


def stop_logging(timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """Write every queued line before this process exits, waiting `timeout` seconds at most
    (log_queue.LogPipeline.stop). Called at exit (atexit) and by a worker before it exits."""
    if _pipeline is not None:
        _pipeline.stop(timeout)


def flush_logging(timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """Wait until every line logged so far is written (LogPipeline.flush); True when all were
    within `timeout` seconds (or no logging is configured)."""
    return _pipeline.flush(timeout) if _pipeline is not None else True


def dropped_lines() -> dict[str, int]:
    """Lines this process's sinks lost so far, by sink ("console", "file"); empty before
    configure_logging."""
    return _pipeline.dropped() if _pipeline is not None else {}


class DroppedLinesWatch:
    """Turns this process's dropped-line totals (dropped_lines) into increments for a counter
    and into warnings: the first drop of a quiet spell is reported at once, further ones at
    most every `warn_every` seconds, each warning giving the lines lost since the last. The
    warning goes to every sink: the one that drops lines drops it too, the others write it."""

    def __init__(self, warn_every: float = 10.0) -> None:
        self.warn_every = warn_every
        self._totals: dict[str, int] = {}
        self._unreported: dict[str, int] = {}
        self._warned_at = -math.inf

    def new_drops(self, now: float) -> dict[str, int]:
        """Lines dropped since the last call, by sink (only sinks that dropped any); `now` in
        monotonic seconds decides whether a warning is due."""
        new: dict[str, int] = {}
        for sink, total in dropped_lines().items():
            if total > self._totals.get(sink, 0):
                new[sink] = total - self._totals.get(sink, 0)
                self._unreported[sink] = self._unreported.get(sink, 0) + new[sink]
            self._totals[sink] = total
        if self._unreported and now - self._warned_at >= self.warn_every:
            self._warned_at = now
            lost, self._unreported = self._unreported, {}
            for sink, count in sorted(lost.items()):
                logging.getLogger(__name__).warning(
                    "log %s: %d line(s) dropped: its writes fell %d lines behind "
                    "(LOG_QUEUE_MAX_LINES) or failed; counted in "
                    "factsvc_log_lines_dropped_total",
                    sink,
                    count,
                    _pipeline.capacity if _pipeline is not None else 0,
                )
        return new


def _start_in_child() -> None:
    if _pipeline is not None:
        _pipeline.start_in_child()


def _leave_out_unused_record_fields() -> None:
    """Skip what every LogRecord would otherwise look up and no format here writes: the
    caller's file, line and function (a walk up the stack), the thread's and the
    multiprocessing process's names. The Logging HOWTO's "Optimization" section names these
    switches; together they took 40 % off the cost of a record (measured)."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


os.register_at_fork(after_in_child=_start_in_child)
atexit.register(stop_logging)


def log_request(handler: RequestHandler, client: str) -> None:
    """Method, path, status, time and the `client` address only: never bodies, query
    strings, cookies or headers. The method and path are the client's text: the formatters
    escape them with the line.

    While nothing but the configured pipeline listens to `factsvc.access` (no handler or
    filter added anywhere on its way to the root), the line goes to the pipeline without a
    LogRecord (LogPipeline.offer_line): the same line, at a third of the cost, since
    logging's record and dispatch cost more than the line itself (measured). Otherwise, as
    when pytest's caplog adds its handler, it is logged as a record like any other."""
    status = handler.get_status()
    level = logging.INFO if status < 500 else logging.ERROR
    if not access_log.isEnabledFor(level):
        return
    request = handler.request
    method, path = request.method or "-", request.path
    if len(method) > ACCESS_METHOD_MAX:
        method = method[:ACCESS_METHOD_MAX] + "..."
    if len(path) > ACCESS_PATH_MAX:
        path = f"{path[:ACCESS_PATH_MAX]}...(+{len(path) - ACCESS_PATH_MAX} chars)"
    message = f"{method} {path} {status} {1000.0 * request.request_time():.1f}ms {client}"
    extra = {"request_id": getattr(handler, "request_id", "-"), "client": client}
    if _pipeline is not None and _only_the_pipeline_listens(_pipeline):
        _pipeline.offer_line(level, access_log.name, message, extra)
    else:
        access_log.log(level, "%s", message, extra=extra)


def _only_the_pipeline_listens(pipeline: LogPipeline) -> bool:
    handlers = _ROOT.handlers
    return (
        len(handlers) == 1
        and handlers[0] is pipeline.handler
        and pipeline.handler.level == logging.NOTSET
        and len(pipeline.handler.filters) == 1  # configure_logging's RequestIdFilter
        and not (access_log.handlers or access_log.filters or _SERVICE_LOGGER.handlers)
        and not (_SERVICE_LOGGER.filters or _ROOT.filters)
        and access_log.propagate
        and _SERVICE_LOGGER.propagate
    )
