"""The settings' defaults that the document states (bounds, names, timeouts), read from Settings."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from factsvc.config import Settings

T = TypeVar("T")


def setting_default(name: str, kind: type[T]) -> T:
    """The default of the setting `name`; TypeError when it is not a `kind`."""
    declared = getattr(Settings, "model_fields", None)
    if declared is not None:
        default = declared[name].default
    else:
        (dataclass_field,) = (f for f in dataclasses.fields(Settings) if f.name == name)
        default = dataclass_field.default
    if not isinstance(default, kind):
        raise TypeError(f"{name}'s default {default!r} is not a {kind.__name__}")
    return default


MAX_N = setting_default("fact_max_n", int)
MAX_BODY_BYTES = setting_default("http_max_body_bytes", int)
READINESS_TIMEOUT_SECONDS = setting_default("readiness_timeout_seconds", float)
SESSION_COOKIE = setting_default("session_cookie_name", str)
