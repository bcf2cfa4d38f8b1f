"""`python -m services.installer`: the installer service."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack

from fastapi import FastAPI

from services.installer.api import build_api
from services.installer.context import Deps
from services.installer.handlers import consumers
from services.installer.handover import Handover, serve_handover
from services.installer.ipam import IpPool
from services.installer.manager import InstallerManager
from services.installer.settings import InstallerSettings
from services.installer.state import Buckets, OperationRecord
from services.installer.upkeep import start_upkeep
from shared.bus import Bus
from shared.docker import DockerEngine
from shared.events.layout import CELL_LAYOUT
from shared.events.roles import OPERATIONS
from shared.service import Health, finish_on_exit, run_service

SETTINGS = InstallerSettings()


async def main(bus: Bus, stack: AsyncExitStack, stop: asyncio.Event, health: Health) -> FastAPI:
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

    finish_on_exit(stack, tasks)
    # The HTTP API is the gateway's: it acts on the bus with the gateway's identity, which may
    # send commands and read services and operations, and never a secret.
    gateway = await Bus.connect(
        SETTINGS.nats_url,
        SETTINGS.cell,
        name="installer-api",
        seed=SETTINGS.api_nats_seed,
        role="gateway",
        layout=CELL_LAYOUT,
    )
    stack.push_async_callback(gateway.close)
    operations = await gateway.bucket(OPERATIONS, OperationRecord, history=1)
    return build_api(gateway, operations, SETTINGS.docker_host, health)


if __name__ == "__main__":
    raise SystemExit(run_service(SETTINGS, main))
