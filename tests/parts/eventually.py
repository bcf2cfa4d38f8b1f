"""Waiting for something the test cannot be told about: poll a check until it holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest


async def eventually(
    check: Callable[[], Awaitable[bool]],
    within: float = 10.0,
    what: str = "condition",
    every: float = 0.05,
) -> None:
    """Return as soon as `check()` is true; fail the test naming `what` after `within` s."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {within} s")
        await asyncio.sleep(every)


async def present(bus: object, step: object, within: float = 10.0) -> None:
    """Until the step's owner has announced itself (its presence is in the bucket)."""
    from shared.contract.presence import handles

    await eventually(
        lambda: handles(bus, step),
        within,  # type: ignore[arg-type]
        what=f"the owner of {step} announced itself",
    )
