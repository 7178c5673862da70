"""Which PyMongo errors become which domain errors, with the driver's error kept as the cause."""

from __future__ import annotations

import pytest
from dns.exception import Timeout as LifetimeTimeout
from dns.resolver import NXDOMAIN, NoNameservers
from pymongo.errors import (
    AutoReconnect,
    ConfigurationError,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from factsvc.errors import DependencyUnavailable, Duplicate
from factsvc.storage.mongo_errors import MongoErrors, mongo_errors

DUPLICATE = DuplicateKeyError("E11000 duplicate key error", 11000)


@pytest.mark.parametrize(
    "error",
    [
        ServerSelectionTimeoutError("no servers"),
        AutoReconnect("connection closed"),
        NetworkTimeout("timed out"),
        ExecutionTimeout("operation exceeded time limit", 50),
        WTimeoutError("waiting for replication timed out", 64),
    ],
    ids=lambda error: type(error).__name__,
)
def test_an_outage_becomes_dependency_unavailable_with_its_cause(error: PyMongoError) -> None:
    with pytest.raises(DependencyUnavailable) as raised, mongo_errors:
        raise error
    assert raised.value.states == {"mongodb": "unavailable"}
    assert raised.value.__cause__ is error


def dns_lookup_failed(text: str, cause: Exception) -> ConfigurationError:
    """What PyMongo raises when the DNS lookup of a mongodb+srv:// URI's hosts fails."""
    error = ConfigurationError(text)
    error.__cause__ = cause
    return error


# No such name, no answer in time, no nameserver that answers.
DNS_FAILURES: list[Exception] = [
    NXDOMAIN(),  # type: ignore[no-untyped-call]
    LifetimeTimeout(timeout=1.0),  # type: ignore[no-untyped-call]
    NoNameservers(),  # type: ignore[no-untyped-call]
]


@pytest.mark.parametrize("cause", DNS_FAILURES, ids=lambda cause: type(cause).__name__)
def test_a_failed_dns_lookup_of_an_srv_uri_is_an_outage(cause: Exception) -> None:
    error = dns_lookup_failed(str(cause), cause)
    with pytest.raises(DependencyUnavailable) as raised, mongo_errors:
        raise error
    assert raised.value.__cause__ is error


def test_a_duplicate_key_names_the_unique_field_when_the_adapter_gives_one() -> None:
    with pytest.raises(Duplicate) as raised, MongoErrors(unique_field="username"):
        raise DUPLICATE
    assert (raised.value.field, raised.value.__cause__) == ("username", DUPLICATE)


@pytest.mark.parametrize(
    "error",
    [
        OperationFailure("unknown operator: $bogus", 2),
        DUPLICATE,
        KeyError("_id"),
        # A configuration the driver refuses, not an unanswered lookup.
        ConfigurationError("Only one TXT record is supported"),
        dns_lookup_failed("Invalid SRV host: a.b.c", ValueError("a.b.c")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_any_other_error_passes_unchanged_to_become_a_500(error: Exception) -> None:
    with pytest.raises(type(error)) as raised, mongo_errors:
        raise error
    assert raised.value is error


def _refused_on(key: str, message: str = "E11000 duplicate key error") -> DuplicateKeyError:
    """As mongod (4.2 on) and secantusdb answer: the refused index's key pattern and value."""
    details = {"errmsg": message, "code": 11000, "keyPattern": {key: 1}, "keyValue": {key: "x"}}
    return DuplicateKeyError(message, 11000, details)


def test_a_duplicate_key_names_the_field_of_the_key_that_refused_the_write() -> None:
    translate = MongoErrors(
        unique_field="username", by_key={"email_key": "email", "username": "username"}
    )
    for key, field in [("email_key", "email"), ("username", "username")]:
        error = _refused_on(key)
        with pytest.raises(Duplicate) as raised, translate:
            raise error
        assert (raised.value.field, raised.value.__cause__) == (field, error)
    # Read from the key pattern, not from the message's wording.
    worded = "E11000 duplicate key error collection: db.users index: username_unique dup key"
    with pytest.raises(Duplicate) as raised, translate:
        raise _refused_on("email_key", worded)
    assert raised.value.field == "email"
    with pytest.raises(Duplicate) as raised, translate:
        raise _refused_on("nickname")
    assert raised.value.field == "username", "a key no field is named for: the default"
    with pytest.raises(Duplicate) as raised, translate:
        raise DUPLICATE
    assert raised.value.field == "username", "no key pattern: the default"
