"""Settings and application helpers the HTTP and integration tests share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import tornado.web

from factsvc.app import Services
from factsvc.config import Settings
from factsvc.embedded import ManagedServer

STRONG_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

AppFactory = Callable[[Settings], tornado.web.Application]
ServicesFactory = Callable[[Settings], Services]


def redis_url(server: ManagedServer) -> str:
    """The URL of a test redis-server on the loopback address, database 0."""
    return f"redis://127.0.0.1:{server.port}/0"


def with_settings(settings: Settings, **changes: object) -> Settings:
    """A copy of `settings` with `changes` applied."""
    return replace(settings, **changes)  # type: ignore[arg-type]
