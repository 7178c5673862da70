"""Errors to HTTP answers: one table looked up along the class hierarchy, and Tornado's own."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from tornado.web import HTTPError

from factsvc.errors import (
    BadCredentials,
    CacheUnavailable,
    CrossOriginRefused,
    DependencyUnavailable,
    Duplicate,
    FactsvcError,
    IdempotencyKeyInFlight,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Overloaded,
    RateLimited,
    WrongOldPassword,
)
from factsvc.handlers.error_map import ERROR_TABLE, SYSTEM_ERROR, ErrorKind, error_answer, kind_of


class SessionRevoked(NotAuthenticated):
    """A subclass a service might add later, with no row of its own."""


class AccountLocked(RateLimited):
    pass


class DisabledAccount(BadCredentials):
    pass


def test_a_subclass_of_not_authenticated_answers_like_not_authenticated() -> None:
    answer = error_answer(500, SessionRevoked("revoked by the user"))
    assert answer.status == 401
    assert answer.body == {"code": 4, "message": "not logged in"}
    assert answer.headers == {}
    assert not answer.cross_origin_refusal


def test_a_subclass_takes_the_row_of_its_nearest_mapped_class() -> None:
    assert kind_of(DisabledAccount()) == ErrorKind(401, 1001, "wrong username or password")
    assert kind_of(SessionRevoked()) == ERROR_TABLE[NotAuthenticated]


def test_a_subclass_keeps_its_fields_and_retry_after() -> None:
    answer = error_answer(500, AccountLocked(42))
    assert answer.status == 429
    assert answer.body == {"code": 9, "message": "too many requests", "retry_after": 42}
    assert answer.headers == {"Retry-After": "42"}


@pytest.mark.parametrize(
    ("error", "status", "code", "message"),
    [
        (InvalidInput({"n": "is required"}), 400, 3, "bad parameter"),
        (NotAuthenticated(), 401, 4, "not logged in"),
        (BadCredentials(), 401, 1001, "wrong username or password"),
        (WrongOldPassword(), 403, 1001, "wrong password"),
        (CrossOriginRefused(), 403, 5, "cross-origin request refused"),
        (NotFound("/nowhere"), 404, 7, "not found"),
        (Duplicate("username"), 409, 8, "duplicate"),
        (RateLimited(30), 429, 9, "too many requests"),
        (DependencyUnavailable({"redis": "timeout"}), 503, 10, "service unavailable"),
        (Overloaded("bcrypt"), 503, 10, "server busy"),
    ],
)
def test_each_domain_error_has_its_status_code_and_message(
    error: FactsvcError, status: int, code: int, message: str
) -> None:
    answer = error_answer(500, error)
    assert (answer.status, answer.body["code"], answer.body["message"]) == (status, code, message)


def test_body_fields_and_retry_after_come_from_the_error() -> None:
    invalid = error_answer(500, InvalidInput({"n": "must be an integer"}))
    assert invalid.body["errors"] == {"n": "must be an integer"}
    assert invalid.headers == {}
    taken = error_answer(500, Duplicate("username"))
    assert taken.body["errors"] == {"username": "is taken"}
    down = error_answer(500, DependencyUnavailable({"redis": "timeout"}, retry_after_seconds=3))
    assert down.body["dependencies"] == {"redis": "timeout"}
    assert down.headers == {"Retry-After": "3"}
    assert error_answer(500, Overloaded("factorial", 2)).headers == {"Retry-After": "2"}


@pytest.mark.parametrize(
    "error",
    [
        RateLimited(30),
        RateLimited(0),
        DependencyUnavailable({"redis": "unavailable"}, retry_after_seconds=3),
        Overloaded("bcrypt", 0),
        IdempotencyKeyInFlight(),
    ],
)
def test_the_body_repeats_retry_after_as_a_number_of_seconds(error: FactsvcError) -> None:
    answer = error_answer(500, error)
    assert answer.body["retry_after"] == error.retry_after_seconds
    assert answer.headers["Retry-After"] == str(error.retry_after_seconds)


@pytest.mark.parametrize(
    "error", [InvalidInput({"n": "is required"}), NotFound("/x"), Duplicate("username")]
)
def test_an_error_a_retry_cannot_mend_has_no_retry_after(error: FactsvcError) -> None:
    answer = error_answer(500, error)
    assert "retry_after" not in answer.body
    assert "Retry-After" not in answer.headers


def test_a_domain_error_with_no_row_is_a_bare_500() -> None:
    class Leaky(FactsvcError):
        retry_after_seconds = 5

        def body_fields(self) -> dict[str, object]:
            return {"secret": "hunter2"}

    for error in (CacheUnavailable("down"), Leaky()):
        answer = error_answer(200, error)
        assert answer.status == 500
        assert answer.body == {"code": 2, "message": "system error"}
        assert answer.headers == {}
    assert kind_of(Leaky()) is SYSTEM_ERROR


def test_only_cross_origin_refusals_are_marked_as_such() -> None:
    assert error_answer(500, CrossOriginRefused("preflight")).cross_origin_refusal
    assert error_answer(500, HTTPError(403)).cross_origin_refusal
    assert error_answer(403, None).cross_origin_refusal
    assert not error_answer(500, WrongOldPassword()).cross_origin_refusal


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, 3, "bad request"),
        (403, 5, "cross-origin request refused"),
        (404, 7, "not found"),
        (405, 5, "method not allowed"),
        (413, 3, HTTPStatus(413).phrase.lower()),  # renamed by RFC 9110 and Python 3.13
        (415, 3, "unsupported media type"),
        (418, 3, "i'm a teapot"),
        (503, 10, "service unavailable"),
        (504, 2, "gateway timeout"),
        (599, 2, "error"),
    ],
)
def test_tornado_http_errors_keep_their_status_with_a_code_by_status(
    status: int, code: int, message: str
) -> None:
    answer = error_answer(500, HTTPError(status))
    assert answer.status == status
    assert answer.body == {"code": code, "message": message}
    assert answer.headers == {}


def test_a_bare_status_below_500_is_kept_and_from_500_is_a_system_error() -> None:
    assert error_answer(405, None).body == {"code": 5, "message": "method not allowed"}
    assert error_answer(413, None).status == 413
    assert error_answer(503, None) == error_answer(500, RuntimeError("boom"))
    assert error_answer(500, RuntimeError("boom")).body == {"code": 2, "message": "system error"}


def test_an_unexpected_exception_tells_nothing_of_itself() -> None:
    answer = error_answer(500, RuntimeError("mongodb://admin:hunter2@db"))
    assert answer.status == 500
    assert "hunter2" not in repr(answer)
