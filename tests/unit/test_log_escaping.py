"""The one escaping of log text, and the formatters that apply it to every line."""

from __future__ import annotations

import json
import logging
import sys
import unicodedata

import pytest

from factsvc.log_escaping import ESCAPED_CATEGORIES, escape_for_log
from factsvc.log_format import JsonFormatter, PlainFormatter

FORGED = "2026-01-01 00:00:00,000 INFO [1] - factsvc.security: login_succeeded user=admin"
# Every kind of character that breaks a line in some viewer or steers a terminal.
HOSTILE = {
    "LF": "\n",
    "CR": "\r",
    "CRLF": "\r\n",
    "VT": "\v",
    "FF": "\f",
    "NEL": "\x85",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
    "ANSI": "\x1b[2K\x1b[1G",
    "RIGHT-TO-LEFT OVERRIDE": "\u202e",
    "NUL": "\x00",
    "DEL": "\x7f",
    "FILE SEPARATOR": "\x1c",
}


def _all_code_points() -> str:
    return "".join(map(chr, range(sys.maxunicode + 1)))


def _is_one_clean_line(text: str) -> bool:
    return len(text.splitlines()) == 1 and not any(
        unicodedata.category(char) in ESCAPED_CATEGORIES for char in text
    )


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_character_cannot_start_a_line(kind: str) -> None:
    escaped = escape_for_log("bob" + HOSTILE[kind] + FORGED)
    assert _is_one_clean_line(escaped)
    assert escaped.startswith("bob\\")


def test_no_code_point_survives_raw_if_it_could_break_a_line_or_steer_a_terminal() -> None:
    text = _all_code_points()
    escaped = escape_for_log(text)
    assert _is_one_clean_line(escaped)


def test_escapes_are_json_escapes_that_give_back_the_text() -> None:
    text = "a\nb\r\tc\x85\u2028\u2029\x1b[31m\U000e0001\u202e\x7f"
    assert json.loads(f'"{escape_for_log(text)}"') == text
    assert escape_for_log("a\nb") == "a\\nb"
    assert escape_for_log("\x85") == "\\u0085"
    assert escape_for_log("\U000e0001") == "\\udb40\\udc01"


def test_escaping_twice_changes_nothing_more() -> None:
    text = "".join(HOSTILE.values()) + " back\\slash \u00a0"
    once = escape_for_log(text, spaces=True)
    assert escape_for_log(once) == once
    assert escape_for_log(once, spaces=True) == once


def test_printable_text_is_left_as_it_is() -> None:
    for text in ["GET /fact?n=5", "Zoë 李小龍 😀", "back\\slash", ""]:
        assert escape_for_log(text) == text


def test_with_spaces_no_space_of_any_kind_is_left_between_fields() -> None:
    spaces = " \u00a0\u1680\u2000\u200a\u202f\u205f\u3000\t"
    escaped = escape_for_log(f"a{spaces}b", spaces=True)
    assert not any(char.isspace() or unicodedata.category(char) == "Zs" for char in escaped)
    assert escape_for_log("a b") == "a b"


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "factsvc.test", "levelno": logging.INFO, "levelname": "INFO", "msg": msg}
    )
    record.args = args
    record.request_id = "-"
    record.__dict__.update(extra)
    return record


def _with_traceback(text: str) -> logging.LogRecord:
    try:
        raise ValueError(text)
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
        record.stack_info = "Stack (most recent call last):\n  " + text
    return record


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("where", ["message", "argument", "extra field", "traceback"])
@pytest.mark.parametrize("formatter", [PlainFormatter(), JsonFormatter()], ids=["plain", "json"])
def test_each_formatter_writes_each_record_on_one_clean_line(
    kind: str, where: str, formatter: logging.Formatter
) -> None:
    hostile = "bob" + HOSTILE[kind] + FORGED
    record = {
        "message": lambda: _record(hostile),
        "argument": lambda: _record("login %s", hostile),
        "extra field": lambda: _record("login", username=hostile),
        "traceback": lambda: _with_traceback(hostile),
    }[where]()
    line = formatter.format(record)
    assert _is_one_clean_line(line)
    if isinstance(formatter, JsonFormatter):
        assert isinstance(json.loads(line), dict)


def test_a_json_line_keeps_the_exact_text_of_each_field() -> None:
    hostile = "bob\u2028\x85\n" + FORGED
    entry = json.loads(JsonFormatter().format(_record("login %s", hostile, username=hostile)))
    assert entry["message"] == "login " + hostile
    assert entry["username"] == hostile


def test_a_lone_surrogate_is_escaped_rather_than_lost() -> None:
    # orjson refuses lone surrogates and a UTF-8 file cannot hold one: either would lose the
    # record and print it raw to stderr as a logging error.
    for formatter in (PlainFormatter(), JsonFormatter()):
        line = formatter.format(_record("path %s", "/a\ud800b"))
        assert _is_one_clean_line(line)
        line.encode("utf-8")
