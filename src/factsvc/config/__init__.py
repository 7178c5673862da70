"""Settings: one frozen, typed object read once from the environment and validated."""

from factsvc.config.loading import ConfigError
from factsvc.config.settings import Settings

__all__ = ["ConfigError", "Settings"]
