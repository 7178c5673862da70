"""AttemptLimits for tests: the composition root's, from the default settings, with the limits a
test is about replaced."""

from __future__ import annotations

import dataclasses

from factsvc.account_composition import attempt_limits
from factsvc.config import Settings
from factsvc.services.limits import AttemptLimits, Limit


def attempt_limits_with(**limits: Limit) -> AttemptLimits:
    """account_composition.attempt_limits of `Settings()`, with `limits` (by field name, e.g.
    `per_account=Limit("a", 3, 3600)`) in place of theirs; TypeError for an unknown field."""
    return dataclasses.replace(attempt_limits(Settings()), **limits)
