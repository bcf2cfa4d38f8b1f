"""Waiting for containers: running, and healthy when they have a healthcheck."""

from __future__ import annotations

import asyncio
import time

from services.backup.errors import BackupError
from shared.docker import DockerEngine

STEADY = 1.0  # a container without a healthcheck must keep running this long


async def wait_healthy(engine: DockerEngine, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for name in names:
        up_since: float | None = None
        while True:
            info = await engine.inspect(name)
            now = time.monotonic()
            if info is not None and info.running and info.health == "healthy":
                break
            if info is not None and info.running and info.health is None:
                up_since = up_since or now
                if now - up_since >= STEADY:
                    break
            else:
                up_since = None
            if now > deadline:
                state = "missing" if info is None else f"{info.status}, health {info.health}"
                raise BackupError(f"{name} did not become healthy within {timeout:.0f} s ({state})")
            await asyncio.sleep(0.25)
