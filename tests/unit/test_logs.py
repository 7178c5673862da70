"""The logging configuration: its level by default, and a one-line formatter on every handler."""

from __future__ import annotations

import logging
import select
from collections.abc import Iterator
from pathlib import Path

import pytest

from factsvc.config import Settings
from factsvc.log_format import JsonFormatter, PlainFormatter
from factsvc.logs import (
    ACCESS_METHOD_MAX,
    ACCESS_PATH_MAX,
    configure_logging,
    flush_logging,
    log_request,
)
from tests.support.servers import STRONG_SECRET

PRODUCTION = {"DEBUG": "false", "SESSION_COOKIE_SECRET": STRONG_SECRET}


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes the process's root logger: put back what it replaced."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    quieted = {name: logging.getLogger(name).level for name in ("tornado.access", "asyncio")}
    quieted.update({name: logging.getLogger(name).level for name in ("pymongo", "redis")})
    yield
    for handler in set(root.handlers) - before:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, old in quieted.items():
        logging.getLogger(name).setLevel(old)


def test_outside_debug_the_level_is_info_by_default() -> None:
    assert Settings.from_env(PRODUCTION).log_level == "INFO"


def test_in_debug_the_level_is_debug_by_default() -> None:
    assert Settings.from_env({}).log_level == "DEBUG"
    assert Settings.from_env({"DEBUG": "true", "LOGGING_LOGGER_LEVEL": ""}).log_level == "DEBUG"


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_level_given_is_taken_in_either_mode(debug: str) -> None:
    env = {**PRODUCTION, "DEBUG": debug, "LOGGING_LOGGER_LEVEL": "warning"}
    assert Settings.from_env(env).log_level == "WARNING"
    env["LOGGING_LOGGER_LEVEL"] = "DEBUG"
    assert Settings.from_env(env).log_level == "DEBUG"


def test_a_copy_that_leaves_debug_derives_its_level_again() -> None:
    development = Settings.from_env({})
    production = development.replaced(debug=False, session_cookie_secret=STRONG_SECRET)
    assert production.log_level == "INFO"
    chosen = Settings.from_env({"LOGGING_LOGGER_LEVEL": "ERROR"})
    assert chosen.replaced(debug=False, session_cookie_secret=STRONG_SECRET).log_level == "ERROR"


def test_a_refused_debug_is_the_only_problem_reported() -> None:
    with pytest.raises(ValueError, match="DEBUG") as refused:
        Settings.from_env({"DEBUG": "maybe"})
    assert "LOGGING_LOGGER_LEVEL" not in str(refused.value)


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_each_configured_handler_writes_one_line_records_at_the_default_level(
    tmp_path: Path, log_format: str
) -> None:
    settings = Settings(
        debug=False,
        session_cookie_secret=STRONG_SECRET,
        path_data=tmp_path,
        log_format=log_format,
    )
    pipeline = configure_logging(settings)
    root = logging.getLogger()
    assert root.level == logging.INFO
    expected = PlainFormatter if log_format == "plain" else JsonFormatter
    assert set(pipeline.sinks) == {"console", "file"}
    assert type(pipeline.handler.formatter) is expected
    assert pipeline.handler in root.handlers


class _Request:
    def __init__(self, method: str, path: str) -> None:
        self.method, self.path = method, path

    def request_time(self) -> float:
        return 0.0004


class _Answered:
    """What log_request reads of a handler."""

    request_id = "0123456789abcdef0123456789abcdef"

    def __init__(self, method: str, path: str) -> None:
        self.request = _Request(method, path)

    def get_status(self) -> int:
        return 404


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_an_access_line_cuts_a_long_method_and_path(tmp_path: Path, log_format: str) -> None:
    settings = Settings(
        debug=False, session_cookie_secret=STRONG_SECRET, path_data=tmp_path, log_format=log_format
    )
    configure_logging(settings)
    path = "/" + "\x85" * 20_000  # escaped, each of these takes 6 characters
    log_request(_Answered("M" * 100, path), "127.0.0.1")  # type: ignore[arg-type]
    assert flush_logging()
    text = (tmp_path / "log" / "factsvc.log").read_text()
    lines = [line for line in text.splitlines() if "factsvc.access" in line]
    assert len(lines) == 1
    assert len(lines[0].encode()) < select.PIPE_BUF, "a pipe could tear a longer line"
    assert f"...(+{len(path) - ACCESS_PATH_MAX} chars)" in lines[0]
    assert "M" * ACCESS_METHOD_MAX + "..." in lines[0]
