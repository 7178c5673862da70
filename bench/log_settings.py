"""The logging table of issue 13: the service's logging settings measured side by side, one
process each, hot /fact in rounds alternating with the bare reference server."""

from __future__ import annotations

from dataclasses import dataclass, field

# The records' name of the reference server, which every ratio of this table is to.
REFERENCE = "reference"


@dataclass(frozen=True)
class LogSetting:
    """One row: the records' server name, a short key (its data directory's suffix), the
    report's description, and the variables set over the benchmark's service environment (the
    production configuration, servers.py)."""

    server: str
    key: str
    described: str
    env: dict[str, str] = field(default_factory=dict)


QUIET = LogSetting(
    "service, logging quiet",
    "quiet",
    "WARNING, no files (`LOGGING_LOGGER_LEVEL=WARNING LOG_TO_FILE=false`: what `make bench` "
    "measured before)",
    {"LOGGING_LOGGER_LEVEL": "WARNING", "LOG_TO_FILE": "false"},
)
# "service": the same name as the main run's, so that the processes comparison finds it.
PRODUCTION = LogSetting(
    "service",
    "production",
    "INFO, files (docker-compose's: the shipped production configuration)",
)
# DEBUG=false as everywhere else: DEBUG=true (`make run`) would also put tracebacks in 5xx
# answers, drop the drain and change the session cookie; only the level differs here.
DEBUG_LEVEL = LogSetting(
    "service, logging DEBUG",
    "debug",
    "DEBUG, files (`make run`'s level; DEBUG=false here, only LOGGING_LOGGER_LEVEL=DEBUG "
    "differs from production)",
    {"LOGGING_LOGGER_LEVEL": "DEBUG"},
)
# The order of each round, after the reference.
SETTINGS = (QUIET, PRODUCTION, DEBUG_LEVEL)
BY_SERVER = {setting.server: setting for setting in SETTINGS}
# The targets for PRODUCTION against the reference, in the same run.
MIN_REQUESTS_RATIO = 0.9
MAX_P99_RATIO = 1.2
