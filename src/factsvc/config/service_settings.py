"""The service's own settings: debug, data directory, logs, listening, processes and stops."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import ValidationInfo, ValidatorFunctionWrapHandler, field_validator

from factsvc.config.declaring import Area, derived_when_empty, setting
from factsvc.config.instance_name import InstanceName, default_instance_name
from factsvc.config.loading import DeclaredSettings
from factsvc.config.rules import AbsolutePath, Choice, Number, WholeNumber
from factsvc.config.setting_types import AnyText, Bool, Timeout, Workers

A = Area
LogLevel = Annotated[str, Choice(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))]
DRAIN_SECONDS = 5.0  # SHUTDOWN_DRAIN_SECONDS outside DEBUG


class ServiceSettings(DeclaredSettings):
    """The area "the service" of Settings, and the directories derived from PATH_DATA."""

    debug: Bool = setting("DEBUG", True, A.SERVICE)
    """false in production: secure cookies, no error detail, N processes"""
    path_data: Annotated[Path, AbsolutePath()] = setting("PATH_DATA", Path("/tmp"), A.SERVICE)  # noqa: S108
    """logs in log/; each instance's metric files and embedded data in <INSTANCE_NAME>/"""
    log_level: LogLevel = setting("LOGGING_LOGGER_LEVEL", "", A.SERVICE)
    """root log level; empty: DEBUG when DEBUG is true, else INFO"""
    log_to_file: Bool = setting("LOG_TO_FILE", True, A.SERVICE)
    """also write PATH_DATA/log/factsvc.log"""
    log_format: Annotated[str, Choice(("plain", "json"))] = setting(
        "LOG_FORMAT", "plain", A.SERVICE
    )
    """log lines as text, or json: one object a line"""
    log_queue_max_lines: Annotated[int, WholeNumber(100, 1_000_000)] = setting(
        "LOG_QUEUE_MAX_LINES", 10_000, A.SERVICE
    )
    """lines queued for each log destination while its writes lag; beyond, dropped and counted"""
    server_port: Annotated[int, WholeNumber(0, 65535)] = setting(
        "TORNADO_SERVER_PORT", 8888, A.SERVICE
    )
    """listening port; 0: any free port"""
    server_address: AnyText = setting("TORNADO_SERVER_ADDRESS", "", A.SERVICE)
    """listening address; empty: every interface"""
    server_numprocs: Workers = setting("TORNADO_SERVER_NUMPROCS", 0, A.SERVICE)
    """worker processes; 0: one per CPU; DEBUG always runs one"""
    instance_name: Annotated[str, InstanceName()] = setting("INSTANCE_NAME", "", A.SERVICE)
    """this instance's directory in PATH_DATA, unique among those sharing it; empty: host-port"""
    event_loop: Annotated[str, Choice(("uvloop", "asyncio"))] = setting(
        "EVENT_LOOP", "uvloop", A.SERVICE
    )
    """the event loop every process runs; asyncio: the standard library's"""
    shutdown_drain_seconds: Annotated[float, Number(0.0, 600.0)] = setting(
        "SHUTDOWN_DRAIN_SECONDS", "", A.SERVICE
    )
    """how long a stop serves on, /readyz 503, before accepting ends; empty: 0 in DEBUG, else 5"""
    shutdown_grace_seconds: Annotated[float, Number(0.0, 600.0)] = setting(
        "SHUTDOWN_GRACE_SECONDS", 10.0, A.SERVICE
    )
    """how long a stop waits, once it stops accepting, for requests and connections under way"""
    readiness_timeout_seconds: Timeout = setting("READINESS_TIMEOUT_SECONDS", 0.5, A.SERVICE)
    """how long /readyz waits for each backend"""

    @field_validator("log_level", mode="wrap")
    @classmethod
    def _log_level_from_debug(
        cls, level: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        # Production logs at INFO unless told otherwise: DEBUG records are for development.
        return derived_when_empty(
            level, check, info, "debug", lambda debug: "DEBUG" if debug else "INFO"
        )

    @field_validator("instance_name", mode="wrap")
    @classmethod
    def _instance_from_host_and_port(
        cls, name: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        return derived_when_empty(name, check, info, "server_port", default_instance_name)

    @field_validator("shutdown_drain_seconds", mode="wrap")
    @classmethod
    def _drain_from_debug(
        cls, seconds: object, check: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        # A load balancer needs a couple of health-check intervals to see /readyz fail; in
        # development a Ctrl-C should stop at once.
        return derived_when_empty(
            seconds, check, info, "debug", lambda debug: 0.0 if debug else DRAIN_SECONDS
        )

    @property
    def log_dir(self) -> Path:
        """PATH_DATA/log: the service's log file, one for every instance sharing PATH_DATA."""
        return self.path_data / "log"

    @property
    def instance_dir(self) -> Path:
        """PATH_DATA/INSTANCE_NAME: what this instance keeps apart from the others (instance.py)."""
        return self.path_data / self.instance_name

    @property
    def embedded_dir(self) -> Path:
        """The instance's embedded/: its embedded servers' data and logs (`serve --embedded`)."""
        return self.instance_dir / "embedded"

    @property
    def metrics_dir(self) -> Path:
        """The instance's metrics/: its worker processes' metric files, emptied at each start."""
        return self.instance_dir / "metrics"
