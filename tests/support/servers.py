"""Settings and application helpers the HTTP and integration tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import tornado.web
from pydantic.fields import FieldInfo

from factsvc.app import Services
from factsvc.config import Settings
from factsvc.config.declaring import area_of, rule_of, setting, variable_of
from factsvc.config.rules import WholeNumber
from factsvc.embedded import ManagedServer

STRONG_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

AppFactory = Callable[[Settings], tornado.web.Application]
ServicesFactory = Callable[[Settings], Services]


def redis_url(server: ManagedServer) -> str:
    """The URL of a test redis-server on the loopback address, database 0."""
    return f"redis://127.0.0.1:{server.port}/0"


def rule_maximum(field: FieldInfo) -> int:
    """The upper bound of a whole-number setting's rule."""
    rule = rule_of(field)
    assert isinstance(rule, WholeNumber), rule
    return rule.maximum


# bcrypt's own lowest cost: too cheap for production, quick for a test suite.
BCRYPT_MIN_ROUNDS = 4
_ROUNDS = Settings.model_fields["bcrypt_rounds"]


class SuiteSettings(Settings):
    """Settings for the test suite: every rule of production but one, bcrypt's cost, which may
    go down to BCRYPT_MIN_ROUNDS so that the suite hashes quickly."""

    bcrypt_rounds: Annotated[int, WholeNumber(BCRYPT_MIN_ROUNDS, rule_maximum(_ROUNDS))] = setting(
        variable_of(_ROUNDS), _ROUNDS.default, area_of(_ROUNDS)
    )
    """bcrypt cost; below production's floor only in tests"""


def with_settings(settings: Settings, **changes: object) -> Settings:
    """A copy of `settings` with `changes` (by field name), validated again as a whole:
    a value out of bounds raises ConfigError as it would at the service's start."""
    return settings.replaced(**changes)
