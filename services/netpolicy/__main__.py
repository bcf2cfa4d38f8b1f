"""`python -m services.netpolicy`: the iptables ACCEPT rules and the outbound connection of
the installed services, on this host (or in PIC_NETPOLICY_NETNS)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from functools import partial

from fastapi import FastAPI

from services.netpolicy.handlers import start
from services.netpolicy.manager import NetpolicyManager
from services.netpolicy.runner import Runner
from services.netpolicy.settings import NetpolicySettings
from services.netpolicy.upkeep import Upkeep
from shared.bus import Bus
from shared.config import CellConfig
from shared.events.channels import NETPOLICY_RECONCILED
from shared.installed import ServiceRecord, services_bucket
from shared.service import Health, base_app, finish_on_exit, run_service

SETTINGS = NetpolicySettings()


async def main(bus: Bus, stack: AsyncExitStack, stop: asyncio.Event, health: Health) -> FastAPI:
    manager = NetpolicyManager(
        Runner(SETTINGS.netns),
        SETTINGS.cell,
        partial(CellConfig.load, SETTINGS.data_dir),
        SETTINGS.validation_options,
    )
    services = await services_bucket(bus)

    async def records() -> dict[str, ServiceRecord]:
        return {key: record.value for key, record in (await services.items()).items()}

    upkeep = Upkeep(
        manager,
        records,
        SETTINGS.reconcile_period,
        partial(bus.publish, NETPOLICY_RECONCILED),
    )
    finish_on_exit(stack, start(bus, manager, upkeep, stop))
    health.checks["tables"] = lambda: upkeep.ok
    return base_app("netpolicy", health)


if __name__ == "__main__":
    raise SystemExit(run_service(SETTINGS, main))
