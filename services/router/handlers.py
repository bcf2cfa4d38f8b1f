"""Bus handlers: the router's steps (the `routes` row of shared/steps.py) answered through the
manager, and a reconcile when a service changes state."""

from __future__ import annotations

import asyncio

from services.router.manager import RouterManager
from services.router.upkeep import Upkeep
from shared.bus import Bus
from shared.events import Message, ServiceStateChanged, StepRequest
from shared.events.channels import SERVICE_STATE
from shared.events.messages import StepResultPayload
from shared.participants import Participant


class RouterParticipant(Participant):
    owner = "router"

    def __init__(self, manager: RouterManager) -> None:
        self.manager = manager

    async def apply(self, request: StepRequest) -> StepResultPayload:
        return await self.manager.handle(request)

    async def compensate(self, request: StepRequest) -> StepResultPayload:
        return await self.manager.handle(request)


def start(
    bus: Bus, manager: RouterManager, upkeep: Upkeep, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    async def on_state(message: Message) -> None:
        if isinstance(message, ServiceStateChanged):
            upkeep.poke("service-state")

    async def watch_states() -> None:
        async with bus.watch(SERVICE_STATE, on_state):
            await stop.wait()

    return [
        *RouterParticipant(manager).tasks(bus, stop),
        asyncio.create_task(watch_states()),
        asyncio.create_task(upkeep.run(stop)),
    ]
