"""Counts requests being handled, so that a graceful stop can wait for them to finish."""

from __future__ import annotations


class InFlightRequests:
    """Requests from the handler's prepare() to its on_finish(), or to the client's leaving
    before the method could run (handlers/base.py); a stop waits until there are none."""

    def __init__(self) -> None:
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def started(self) -> None:
        self._count += 1

    def finished(self) -> None:
        self._count -= 1
