"""Containers of one service on the engine: which there are, and waiting until healthy."""

from __future__ import annotations

import asyncio
import time

from services.installer.project import LABEL_PROJECT
from shared.docker import ContainerInfo, DockerEngine
from shared.errors import OperationError

POLL_SECONDS = 0.05


class UnhealthyError(OperationError):
    """A container did not become healthy within `PIC_HEALTH_TIMEOUT`."""

    key = "unhealthy"


async def project_containers(engine: DockerEngine, project: str) -> list[ContainerInfo]:
    return await engine.list_containers(f"{LABEL_PROJECT}={project}")


async def _port_answers(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def wait_healthy(
    engine: DockerEngine, name: str, timeout: float, probe: tuple[str, int] | None
) -> str:
    """Wait for the image's healthcheck, else for the probe port, else for a steady run.

    Returns how health was judged; raises UnhealthyError with the container's last state.
    """
    deadline = time.monotonic() + timeout
    steady_since: float | None = None
    info: ContainerInfo | None = None
    while time.monotonic() < deadline:
        info = await engine.inspect(name)
        if info is None:
            raise UnhealthyError(f"container {name} disappeared while starting")
        if info.status in ("exited", "dead"):
            raise UnhealthyError(
                f"container {name} exited while starting (exit code {info.exit_code})"
            )
        if info.health is not None:
            if info.health == "healthy":
                return "healthcheck"
            if info.health == "unhealthy":
                raise UnhealthyError(f"container {name} reports unhealthy")
        elif probe is not None:
            if await _port_answers(*probe):
                return f"port {probe[1]} answers"
        elif info.running:
            steady_since = steady_since or time.monotonic()
            if time.monotonic() - steady_since >= 1.0:
                return "running"
        await asyncio.sleep(POLL_SECONDS)
    state = f"status {info.status}, health {info.health}" if info else "no state"
    what = f"port {probe[1]} never answered" if probe and not (info and info.health) else state
    raise UnhealthyError(f"container {name} did not become healthy within {timeout:.0f} s ({what})")
