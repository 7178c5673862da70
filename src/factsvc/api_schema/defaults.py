"""The settings' defaults that the document states (bounds, names, timeouts), read from Settings."""

from __future__ import annotations

from typing import TypeVar

from factsvc.config import Settings
from factsvc.config.declaring import variable_of
from factsvc.handlers.session_cookie import cookie_name

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
AVATAR_MAX_BYTES = setting_default("avatar_max_bytes", int)
AVATAR_MAX_BYTES_VARIABLE = variable_of(Settings.model_fields["avatar_max_bytes"])
AVATAR_SIZE = setting_default("avatar_size", int)
READINESS_TIMEOUT_SECONDS = setting_default("readiness_timeout_seconds", float)
# The session cookie's name as configured, which DEBUG uses, and outside DEBUG (__Host-SID).
SESSION_COOKIE_IN_DEBUG = setting_default("session_cookie_name", str)
SESSION_COOKIE = cookie_name(SESSION_COOKIE_IN_DEBUG, debug=False)
SESSION_COOKIE_SAMESITE = setting_default("session_cookie_samesite", str)
