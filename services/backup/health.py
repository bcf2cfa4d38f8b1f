"""Waiting for containers: running, and healthy when they have a healthcheck."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from services.backup.errors import BackupError
from shared.docker import DockerEngine

STEADY = 1.0  # a container without a healthcheck must keep running this long


async def wait_healthy(
    engine: DockerEngine,
    names: list[str],
    timeout: float,
    shown: Mapping[str, str] | None = None,
    exited_fails: bool = False,
) -> None:
    """Each container running and healthy (or, without a healthcheck, running STEADY s);
    BackupError naming the first that is not within `timeout` (`shown`: how a message names
    a container). `exited_fails`: a container that exited has failed at once (one that is
    never restarted, such as a sandbox's)."""
    deadline = time.monotonic() + timeout
    for name in names:
        called = (shown or {}).get(name, name)
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
            if exited_fails and info is not None and info.status in ("exited", "dead"):
                raise BackupError(
                    f"{called} exited with code {info.exit_code} before it was healthy"
                )
            if now > deadline:
                state = "missing" if info is None else f"{info.status}, health {info.health}"
                raise BackupError(
                    f"{called} did not become healthy within {timeout:.0f} s ({state})"
                )
            await asyncio.sleep(0.25)
