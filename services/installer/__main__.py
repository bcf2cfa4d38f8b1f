"""`python -m services.installer`: the installer service. Its HTTP API is /healthz and
/metrics only: the API a UI talks to is the gateway's (services/gateway), a process without
the Docker socket."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack

from services.installer.context import Deps
from services.installer.handlers import consumers
from services.installer.handover import Handover, serve_handover
from services.installer.ipam import IpPool
from services.installer.logs import serve_logs
from services.installer.manager import InstallerManager
from services.installer.settings import InstallerSettings
from services.installer.state import Buckets
from services.installer.upkeep import start_upkeep
from shared.bus import Bus
from shared.docker import DockerEngine
from shared.service import Health, finish_on_exit, run_service

SETTINGS = InstallerSettings()


async def main(bus: Bus, stack: AsyncExitStack, stop: asyncio.Event, health: Health) -> None:
    engine = DockerEngine()
    stack.push_async_callback(engine.close)
    await engine.ping()
    buckets = await Buckets.open(bus)
    pool = IpPool(buckets.ipam, SETTINGS.pool_first, SETTINGS.pool_last)
    deps = Deps(bus, buckets, engine, pool, SETTINGS, f"installer-{uuid.uuid4().hex[:8]}")
    manager = InstallerManager(deps)
    await start_upkeep(deps, manager, stack, stop)
    tasks = consumers(bus, manager, SETTINGS, stop)
    tasks.append(serve_handover(bus, Handover(bus, buckets, SETTINGS), SETTINGS, stop))
    tasks.append(serve_logs(bus, engine, SETTINGS, stop))

    finish_on_exit(stack, tasks)


if __name__ == "__main__":
    raise SystemExit(run_service(SETTINGS, main))
