"""The settings' defaults that the document states (bounds, names, timeouts), read from Settings."""

from __future__ import annotations

from typing import TypeVar

from factsvc.config import Settings
from factsvc.config.declaring import variable_of

T = TypeVar("T")


def setting_default(name: str, kind: type[T]) -> T:
    """The default of the setting `name`; TypeError when it is not a `kind`."""
    default = Settings.model_fields[name].default
    if not isinstance(default, kind):
        raise TypeError(f"{name}'s default {default!r} is not a {kind.__name__}")
    return default


MAX_N = setting_default("fact_max_n", int)
MAX_N_VARIABLE = variable_of(Settings.model_fields["fact_max_n"])
MAX_BODY_BYTES = setting_default("http_max_body_bytes", int)
READINESS_TIMEOUT_SECONDS = setting_default("readiness_timeout_seconds", float)
SESSION_COOKIE = setting_default("session_cookie_name", str)
