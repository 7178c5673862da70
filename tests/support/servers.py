"""Settings and application helpers the HTTP and integration tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import tornado.web

from factsvc.app import Services
from factsvc.config import Settings
from factsvc.config.declaring import Area, setting
from factsvc.config.rules import WholeNumber
from factsvc.embedded import ManagedServer

STRONG_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

AppFactory = Callable[[Settings], tornado.web.Application]
ServicesFactory = Callable[[Settings], Services]


def redis_url(server: ManagedServer) -> str:
    """The URL of a test redis-server on the loopback address, database 0."""
    return f"redis://127.0.0.1:{server.port}/0"


class SuiteSettings(Settings):
    """Settings for the test suite: every rule of production but one, bcrypt's cost, which may
    go down to 4 (bcrypt's own floor) so that the suite hashes quickly."""

    bcrypt_rounds: Annotated[int, WholeNumber(4, 16)] = setting("BCRYPT_ROUNDS", 12, Area.PASSWORDS)
    """bcrypt cost; 4 to 9 only in tests"""


def with_settings(settings: Settings, **changes: object) -> Settings:
    """A copy of `settings` with `changes` (by field name), validated again as a whole:
    a value out of bounds raises ConfigError as it would at the service's start."""
    return settings.replaced(**changes)
