"""Waiting, in a unit test, for the work a service left to its Background."""

from __future__ import annotations

import asyncio

from factsvc.services.background import Background

# Loop turns to wait: the jobs of a unit test on fakes end within a few each.
TURNS = 1000


async def settled(background: Background) -> None:
    """Return once no job of `background` runs; AssertionError if some still do after TURNS
    turns of the loop."""
    for _ in range(TURNS):
        if not background.running:
            return
        await asyncio.sleep(0)
    raise AssertionError("background jobs still running")
