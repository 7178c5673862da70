"""The value types several settings areas share: each an Annotated type with its Rule."""

from __future__ import annotations

from typing import Annotated

from factsvc.config.rules import Flag, Number, Text, WholeNumber

DAY = 86400
Bool = Annotated[bool, Flag()]
AnyText = Annotated[str, Text()]
Port = Annotated[int, WholeNumber(1, 65535)]
Workers = Annotated[int, WholeNumber(0, 256)]
Timeout = Annotated[float, Number(0.05, 30.0)]
Count = Annotated[int, WholeNumber(1, 10_000)]
Attempts = Annotated[int, WholeNumber(1, 100_000)]
Window = Annotated[int, WholeNumber(1, DAY)]
Lifetime = Annotated[int, WholeNumber(60, 365 * DAY)]
Wait = Annotated[float, Number(0.0, 60.0)]
