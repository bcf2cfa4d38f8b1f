"""`python -m services.router`: Caddy routes and DNS records of the installed services."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import AsyncExitStack
from functools import partial

from services.router.handlers import start
from services.router.manager import LOCK_LEASE, RouterManager
from services.router.metrics import observe_admin
from services.router.parts import PartsCache
from services.router.settings import RouterSettings
from services.router.upkeep import Upkeep
from shared.bus import Bus, Lease, LeaseLocks
from shared.contract.participants.router import LOCK_BUCKET
from shared.events.channels import ROUTES_RECONCILED
from shared.installed import services_bucket
from shared.service import Health, finish_on_exit, run_service

SETTINGS = RouterSettings()


async def main(bus: Bus, stack: AsyncExitStack, stop: asyncio.Event, health: Health) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per probe otherwise
    parts = PartsCache(SETTINGS.data_dir, observe_admin, SETTINGS.caddy_admin)
    stack.push_async_callback(parts.aclose)
    locks = LeaseLocks(
        await bus.bucket(LOCK_BUCKET, Lease, history=1),
        f"router-{uuid.uuid4().hex[:8]}",
        LOCK_LEASE,
    )
    manager = RouterManager(parts, await services_bucket(bus), SETTINGS.validation_options, locks)
    upkeep = Upkeep(manager, SETTINGS, partial(bus.publish, ROUTES_RECONCILED))
    tasks = start(bus, manager, upkeep, stop)

    finish_on_exit(stack, tasks)
    health.checks["caddy"] = lambda: upkeep.caddy_ok
    health.checks["dns"] = lambda: upkeep.dns_ok


if __name__ == "__main__":
    raise SystemExit(run_service(SETTINGS, main))
