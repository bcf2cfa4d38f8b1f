"""Bus handlers: announce the `routes` step, answer step requests through the manager, and
reconcile when a service changes state."""

from __future__ import annotations

import asyncio
import uuid

from services.router.manager import RouterManager
from services.router.upkeep import Upkeep
from shared.bus import Bus
from shared.events import Message, ServiceStateChanged, StepRequest
from shared.events.channels import SERVICE_STATE
from shared.events.messages import StepName, StepResultPayload
from shared.participants import Presence, announce, serve_steps

OWNER = "router"
STEPS = [StepName.routes.value]  # firewall and egress are not the router's yet


def start(bus: Bus, manager: RouterManager, upkeep: Upkeep,
          stop: asyncio.Event) -> list[asyncio.Task[None]]:
    async def on_step(request: StepRequest) -> StepResultPayload:
        return await manager.handle(request)

    async def on_state(message: Message) -> None:
        if isinstance(message, ServiceStateChanged):
            upkeep.poke("service-state")

    async def watch_states() -> None:
        async with bus.watch(SERVICE_STATE, on_state):
            await stop.wait()

    presence = Presence(service=OWNER, instance=f"{OWNER}-{uuid.uuid4().hex[:8]}", steps=STEPS)
    return [asyncio.create_task(coro) for coro in (
        announce(bus, presence, stop),
        serve_steps(bus, OWNER, on_step, stop),
        watch_states(),
        upkeep.run(stop),
    )]
