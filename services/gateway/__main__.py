"""`python -m services.gateway`: the one HTTP API of the cell (a web UI's back end). It holds
no Docker socket and no secret beyond its bus seed and the API token: everything it does, it
asks of the other services over the bus, as the `gateway` role."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from fastapi import FastAPI

from services.gateway.app import build_app
from services.gateway.deps import Deps
from services.gateway.journal import Journal, follow_events
from services.gateway.settings import GatewaySettings
from shared.bus import Bus
from shared.client import StoreClient
from shared.service import Health, finish_on_exit, run_service

SETTINGS = GatewaySettings()


async def main(bus: Bus, stack: AsyncExitStack, stop: asyncio.Event, health: Health) -> FastAPI:
    deps = Deps(
        bus=bus,
        client=StoreClient(bus, SETTINGS.docker_host),
        data_dir=SETTINGS.data_dir,
        settings=SETTINGS,
        stop=stop,
        journal=Journal(SETTINGS.journal_size),
    )
    feeds = follow_events(bus, deps.journal, stop)
    finish_on_exit(stack, feeds)
    # A feed that ended while the gateway runs (it raised): /events would miss its channel.
    health.checks["events"] = lambda: stop.is_set() or not any(f.done() for f in feeds)
    return build_app(deps, health)


if __name__ == "__main__":
    raise SystemExit(run_service(SETTINGS, main))
