"""INSTANCE_NAME: what it accepts (a directory's name under PATH_DATA) and its default."""

from __future__ import annotations

import os
import re
import socket

from factsvc.config.rules import Rule, as_text

MAX_LENGTH = 100
_REFUSED = re.compile(r"[^A-Za-z0-9._-]")


class InstanceName(Rule):
    """A name that is one directory under PATH_DATA on every filesystem: no separator, no
    "." or "..", nothing a shell or a URL would need to quote."""

    accepts = f"1-{MAX_LENGTH} ASCII letters, digits, '.', '_' or '-', not starting with '.'"

    def parse(self, value: object) -> str:
        name = as_text(value).strip()
        if not 1 <= len(name) <= MAX_LENGTH or name.startswith(".") or _REFUSED.search(name):
            raise ValueError(name)
        return name


def default_instance_name(port: int) -> str:
    """The host name (the container's id under Docker), "-" and the listening port: unique
    among instances that share PATH_DATA on one host or from many containers. With port 0
    (any free port, settled only later), "pid" and this process's id instead of the port.
    Characters a name refuses become "-"."""
    host = _REFUSED.sub("-", socket.gethostname()).lstrip(".") or "host"
    suffix = f"-{port}" if port else f"-pid{os.getpid()}"
    return host[: MAX_LENGTH - len(suffix)] + suffix
