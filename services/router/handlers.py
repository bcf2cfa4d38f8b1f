"""Bus handlers: the router's `routes` step (shared/contract/participants/router.py),
answered through the manager, and its reconcile, also when a service changes state."""

from __future__ import annotations

import asyncio

from services.router.manager import RouterManager
from services.router.upkeep import Upkeep
from shared.contract.participants.router import CONTRACT, ROUTES
from shared.contract.serve import Outcome, Participant, ServingBus
from shared.events import StepRequest


def participant(manager: RouterManager, upkeep: Upkeep | None = None) -> Participant:
    service = Participant(CONTRACT)

    @service.apply(ROUTES)
    async def add_routes(request: StepRequest) -> Outcome:
        return Outcome(details=await manager.apply(request))

    @service.compensate(ROUTES)
    async def withdraw_routes(request: StepRequest) -> Outcome:
        return Outcome(details=await manager.withdraw(request.service_id, request.operation_id))

    if upkeep is not None:
        service.reconcile(upkeep)
    return service


def start(
    bus: ServingBus, manager: RouterManager, upkeep: Upkeep, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return participant(manager, upkeep).tasks(bus, stop)
