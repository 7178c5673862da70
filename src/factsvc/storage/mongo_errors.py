"""The one place where PyMongo's errors become domain errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import TracebackType

from dns.exception import DNSException
from pymongo.errors import ConfigurationError, ConnectionFailure, DuplicateKeyError, PyMongoError

from factsvc.errors import DependencyUnavailable, Duplicate

# The refused index's name in a duplicate key error's message, as mongod (and secantusdb) word it:
# "E11000 duplicate key error collection: db.users index: username_unique dup key: {...}".
_REFUSED_INDEX = re.compile(r"\bindex: (\S+) dup key")


def is_outage(error: PyMongoError) -> bool:
    """True for a lost or refused connection (ConnectionFailure, which includes server
    selection timeouts), for any operation that ran out of time (`error.timeout`), and for the
    DNS lookup of a mongodb+srv:// URI's hosts that failed (PyMongo makes it at the first
    operation, raising ConfigurationError from the DNSException, and tries again at the next)."""
    return (
        isinstance(error, ConnectionFailure)
        or error.timeout
        or (isinstance(error, ConfigurationError) and isinstance(error.__cause__, DNSException))
    )


class MongoErrors:
    """Context manager translating what PyMongo raises inside it:

    - DuplicateKeyError → Duplicate(the field that `by_index` gives for the index that refused
      the write), else Duplicate(unique_field), when a unique_field is given;
    - an outage (is_outage) → DependencyUnavailable({"mongodb": "unavailable"});
    - any other error (a bad query, a refused write) is a bug and passes unchanged, to become
      a logged 500.

    The translated error keeps the driver's as its `__cause__`."""

    __slots__ = ("_by_index", "_unique_field")

    def __init__(
        self, unique_field: str | None = None, *, by_index: Mapping[str, str] | None = None
    ) -> None:
        self._unique_field = unique_field
        self._by_index = dict(by_index or {})

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(error, DuplicateKeyError):
            field = self._by_index.get(refused_index(error) or "", self._unique_field)
            if field is not None:
                raise Duplicate(field) from error
        if isinstance(error, PyMongoError) and is_outage(error):
            raise DependencyUnavailable({"mongodb": "unavailable"}) from error


def refused_index(error: DuplicateKeyError) -> str | None:
    """The name of the unique index that refused a write, read from the server's message; None
    when the message does not say."""
    message = (error.details or {}).get("errmsg") or str(error)
    found = _REFUSED_INDEX.search(str(message))
    return found.group(1) if found else None


# Stateless, so one instance serves every adapter and every concurrent request.
mongo_errors = MongoErrors()
