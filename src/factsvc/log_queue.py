"""Lines handed from the threads that log to a writer thread per sink, through bounded queues."""

from __future__ import annotations

import logging
import threading
import time
from logging.handlers import QueueHandler, QueueListener
from queue import SimpleQueue

from factsvc.log_format import CachedTimeFormatter
from factsvc.log_writer import LineSink

# How long a stop waits for the sinks' threads to write what is queued: a sink stalled longer
# loses those lines (counted), so that a stuck disk never holds up an exit.
STOP_TIMEOUT_SECONDS = 5.0
# How long a sink's thread sleeps between batches: the most a line waits to be written (less
# when its queue reaches half LOG_QUEUE_MAX_LINES). Each wake-up takes the GIL from the event
# loop: at 20 ms, hot /fact served 3 % fewer requests a second than at 200 ms (wrk, one
# process).
BATCH_SECONDS = 0.2
# The stdlib's QueueListener stops at this sentinel (QueueListener._sentinel).
SENTINEL = None


class FanOutQueueHandler(QueueHandler):
    """The stdlib's QueueHandler for several sinks: it formats each record once, in the thread
    that logs (as QueueHandler.prepare does, so that nothing the record refers to can change
    before it is written), and offers the line to each sink's queue. A queue holding
    `capacity` lines already refuses it: the line is dropped for that sink and counted in
    `dropped`, so that the thread that logs never waits for a sink."""

    def __init__(self, sink_names: list[str], capacity: int) -> None:
        self.queues: dict[str, SimpleQueue[str]] = {name: SimpleQueue() for name in sink_names}
        super().__init__(SimpleQueue())  # unused: the lines go to `queues`
        self.capacity = capacity
        self.dropped = dict.fromkeys(sink_names, 0)
        # Each sink's writer is woken early when its queue reaches half the capacity, so that
        # a burst is written before the queue fills, whatever BATCH_SECONDS.
        self.wakers: dict[str, threading.Event] = {}
        self._wake_at = capacity // 2
        # Sinks whose thread has ended (LogPipeline.stop): written to at once, in the caller.
        self.direct: dict[str, LineSink] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # logging's rule: a record that cannot be formatted is reported
            self.handleError(record)
            return
        self.offer(line)

    def offer(self, line: str) -> None:
        """Queue `line` for every sink (or drop it for a sink whose queue is full)."""
        self.acquire()  # taken by Handler.handle already (an RLock): `dropped` is guarded
        try:
            self._offer(line)
        finally:
            self.release()

    def _offer(self, line: str) -> None:
        for name, lines in self.queues.items():
            if name in self.direct:
                self.direct[name].write([line])
                continue
            queued = lines.qsize()
            if queued >= self.capacity:
                self.dropped[name] += 1
                continue
            lines.put_nowait(line)
            if queued == self._wake_at and name in self.wakers:
                self.wakers[name].set()


class SinkListener(QueueListener):
    """The stdlib's QueueListener for one LineSink, taking lines in batches: it sleeps up to
    BATCH_SECONDS (less when a flush or a stop is asked for), takes every line queued by then
    and writes them together. The stdlib's loop takes one record at a time and wakes for each:
    a wake-up, a handover of the GIL and a few Python calls for every line, paid while the
    event loop waits for the GIL; taking a batch in one comprehension costs a tenth of that
    (measured)."""

    def __init__(self, lines: SimpleQueue[str], sink: LineSink) -> None:
        super().__init__(lines)
        self.lines = lines
        self.sink = sink
        self.requests: SimpleQueue[threading.Event | None] = SimpleQueue()
        self.stopped = threading.Event()
        self.awake = threading.Event()
        self.writing = 0  # lines taken from the queue and not yet written

    # typeshed says LogRecord; the stdlib's loop (_monitor) hands whatever this returns to
    # handle(), and ends at the sentinel (None).
    def dequeue(self, block: bool) -> list[str] | None:  # type: ignore[override]
        self.awake.wait(BATCH_SECONDS)
        self.awake.clear()
        # Requests first: every line queued before a request was made is in the batch.
        requests = [self.requests.get() for _ in range(self.requests.qsize())]
        batch = [self.lines.get() for _ in range(self.lines.qsize())]
        if batch:
            self.writing = len(batch)
            self.sink.write(batch)
            self.writing = 0
        for request in requests:
            if request is SENTINEL:
                self.stopped.set()
                return SENTINEL
            request.set()
        return batch

    def handle(self, batch: list[str]) -> None:  # type: ignore[override]
        """Nothing left to do: dequeue() wrote the batch, so that a stop writes it too."""

    def ask(self, request: threading.Event | None) -> None:
        """Ask for a flush (an Event, set once every line queued before is written) or the
        stop (the sentinel), and end the thread's sleep."""
        self.requests.put(request)
        self.awake.set()


class LogPipeline:
    """The process's sinks behind one FanOutQueueHandler (the caller adds it to the root
    logger) and a SinkListener thread each. Threads do not survive fork(): a forked child
    starts fresh queues and threads of its own (`start_in_child`)."""

    def __init__(self, sinks: list[LineSink], capacity: int, formatter: CachedTimeFormatter):
        self.capacity = capacity
        self.formatter = formatter
        self.sinks = {sink.name: sink for sink in sinks}
        self.handler = FanOutQueueHandler(list(self.sinks), capacity)
        self.handler.setFormatter(formatter)
        self._listeners: dict[str, SinkListener] = {}
        self._stopped = False

    def start(self) -> None:
        """Start a writer thread for each sink, in this process."""
        self._stopped = False
        for name, sink in self.sinks.items():
            listener = SinkListener(self.handler.queues[name], sink)
            self.handler.wakers[name] = listener.awake
            listener.start()
            self._listeners[name] = listener

    def start_in_child(self) -> None:
        """After fork(), in the child: the parent's queued lines are the parent's to write;
        start again with empty queues and counts (unless stopped before the fork)."""
        self.handler.direct = {}
        for name, sink in self.sinks.items():
            self.handler.queues[name] = SimpleQueue()
            self.handler.dropped[name] = 0
            sink.failed = 0
        self._listeners = {}
        if not self._stopped:
            self.start()

    def offer_line(self, level: int, name: str, message: str, extra: dict[str, str]) -> None:
        """Queue the line the formatter writes for a record of `level` logged to logger `name`
        with `message` and `extra` fields, without making the record (CachedTimeFormatter.line).
        """
        self.handler.offer(self.formatter.line(level, name, message, extra))

    def flush(self, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
        """Wait until every line queued so far is written, `timeout` seconds at most in all;
        True when they all were."""
        requests = []
        for listener in self._listeners.values():
            written = threading.Event()
            listener.ask(written)
            requests.append(written)
        deadline = time.monotonic() + timeout
        return all(written.wait(max(0.0, deadline - time.monotonic())) for written in requests)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Write what every sink has queued and end the threads, waiting `timeout` seconds at
        most in all (where QueueListener.stop joins for as long as it takes); what a stalled
        sink still holds then is counted as dropped. Lines logged afterwards (the last words of
        an exit) are written at once by the thread that logs them, to every sink whose thread
        has ended."""
        self._stopped = True
        listeners, self._listeners = self._listeners, {}
        for listener in listeners.values():
            listener.ask(SENTINEL)
        deadline = time.monotonic() + timeout
        for name, listener in listeners.items():
            if listener.stopped.wait(max(0.0, deadline - time.monotonic())):
                # Lines queued while the thread wrote its last batch: written here, and from
                # now on every line at once, under the lock that offering takes.
                self.handler.acquire()
                try:
                    left = [listener.lines.get() for _ in range(listener.lines.qsize())]
                    if left:
                        self.sinks[name].write(left)
                    self.handler.direct[name] = self.sinks[name]
                finally:
                    self.handler.release()
            else:  # its thread is stuck in a write or an open, and ends with the process
                self.handler.dropped[name] += listener.lines.qsize() + listener.writing

    def close(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop (within `timeout` seconds), then close the sinks (their files): for a pipeline
        that is replaced."""
        self.stop(timeout)
        for name in self.handler.direct:
            self.sinks[name].close()
        self.handler.direct = {}

    def dropped(self) -> dict[str, int]:
        """Lines lost so far in this process, by sink name: refused by a full queue, or failed
        when written."""
        return {name: self.handler.dropped[name] + sink.failed for name, sink in self.sinks.items()}
