"""At start-up and then periodically: reap dead operations, reconcile with Docker."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack

import structlog

from services.installer.context import Deps
from services.installer.manager import InstallerManager
from services.installer.metrics import SERVICES_BY_STATE
from services.installer.reconcile import reconcile
from shared.events.messages import ServiceState

log = structlog.get_logger("installer")
EVERY = 30.0


async def upkeep_once(deps: Deps, manager: InstallerManager) -> None:
    reaped = await manager.reap()
    corrections = await reconcile(deps, manager.ops)
    for correction in corrections:
        log.warning("reconciled", service_id=correction.service_id, what=correction.what)
    if reaped:
        log.warning("reaped", operations=reaped)
    counts = {state: 0 for state in ServiceState}
    for record in (await deps.buckets.services.items()).values():
        counts[record.value.state] += 1
    for state, count in counts.items():
        SERVICES_BY_STATE.labels(state.value).set(count)


async def _loop(deps: Deps, manager: InstallerManager, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), min(EVERY, deps.settings.lock_lease))
        if stop.is_set():
            return
        try:
            await upkeep_once(deps, manager)
        except Exception:
            log.exception("upkeep_failed")


async def start_upkeep(
    deps: Deps, manager: InstallerManager, stack: AsyncExitStack, stop: asyncio.Event
) -> None:
    await upkeep_once(deps, manager)
    task = asyncio.create_task(_loop(deps, manager, stop))
    stack.push_async_callback(asyncio.wait_for, task, None)
