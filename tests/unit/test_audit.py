"""Security events: a record with the fields as attributes and as escaped name=value text."""

from __future__ import annotations

import logging

import pytest

from factsvc.services.audit import CUT_MARK, MAX_FIELD_CHARS, security_event


def one_event(caplog: pytest.LogCaptureFixture, **fields: str) -> logging.LogRecord:
    caplog.set_level(logging.INFO, logger="factsvc.security")
    security_event("cross_origin_refused", **fields)
    (record,) = caplog.records
    return record


def test_a_value_is_kept_whole_up_to_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    origin = "https://" + "a" * (MAX_FIELD_CHARS - len("https://"))
    record = one_event(caplog, origin=origin, path="/login")
    assert record.getMessage() == f"cross_origin_refused origin={origin} path=/login"
    assert record.origin == origin  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["p" * (MAX_FIELD_CHARS + 1), "/" + "p" * 16_000])
def test_a_longer_value_is_cut_and_marked_in_the_text_and_the_attribute(
    caplog: pytest.LogCaptureFixture, value: str
) -> None:
    record = one_event(caplog, path=value, reason="origin_not_listed")
    kept = value[:MAX_FIELD_CHARS] + CUT_MARK
    assert record.getMessage() == f"cross_origin_refused path={kept} reason=origin_not_listed"
    assert record.path == kept  # type: ignore[attr-defined]
    assert MAX_FIELD_CHARS == 512


def test_a_cut_value_is_still_escaped(caplog: pytest.LogCaptureFixture) -> None:
    record = one_event(caplog, origin="x y\n" * 1000)
    message = record.getMessage()
    assert "\n" not in message
    assert " " not in message.removeprefix("cross_origin_refused ")
    assert message.endswith("x\\u0020y\\n" * (MAX_FIELD_CHARS // 4) + CUT_MARK)
