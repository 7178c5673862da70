"""What each domain error tells a client beyond its kind: body fields and when to retry."""

from __future__ import annotations

from factsvc.errors import (
    BadCredentials,
    CacheUnavailable,
    CrossOriginRefused,
    DependencyUnavailable,
    Duplicate,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Overloaded,
    RateLimited,
    WrongOldPassword,
)


def test_invalid_input_lists_the_reason_for_each_field() -> None:
    error = InvalidInput({"username": "is required", "password": "is too short"})
    assert error.body_fields() == {
        "errors": {"username": "is required", "password": "is too short"}
    }
    assert error.retry_after_seconds is None


def test_duplicate_names_the_taken_field() -> None:
    assert Duplicate("username").body_fields() == {"errors": {"username": "is taken"}}


def test_dependency_unavailable_gives_each_state_and_a_retry_after() -> None:
    error = DependencyUnavailable({"redis": "timeout", "mongodb": "ok"})
    assert error.body_fields() == {"dependencies": {"redis": "timeout", "mongodb": "ok"}}
    assert error.retry_after_seconds == 1
    assert DependencyUnavailable({}, retry_after_seconds=4).retry_after_seconds == 4


def test_overloaded_and_rate_limited_say_when_to_retry() -> None:
    assert Overloaded("bcrypt").retry_after_seconds == 1
    assert Overloaded("factorial", retry_after_seconds=3).retry_after_seconds == 3
    assert RateLimited(57).retry_after_seconds == 57
    assert RateLimited(57).body_fields() == {}


def test_errors_without_details_add_no_fields_and_no_retry_after() -> None:
    for error in (
        NotFound("/x"),
        NotAuthenticated(),
        BadCredentials(),
        WrongOldPassword(),
        CrossOriginRefused(),
        CacheUnavailable(),
    ):
        assert error.body_fields() == {}
        assert error.retry_after_seconds is None
