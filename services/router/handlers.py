"""Bus handlers: the router's `routes` step (shared/contract/participants/router.py),
answered through the manager, its reconcile, also when a service changes state, and the
routes report, answered to whoever asks (the gateway, `pic-store routes`)."""

from __future__ import annotations

import asyncio

from services.router.manager import RouterManager
from services.router.metrics import DISAGREEMENTS
from services.router.upkeep import Upkeep
from shared.contract.participants.router import CONTRACT, ROUTES
from shared.contract.serve import Outcome, Participant, ServingBus
from shared.errors import PicStoreError
from shared.events import StepRequest
from shared.events.channels import ROUTES_REPORT, ROUTES_REQUEST
from shared.events.routes import RoutesReply, RoutesReplyPayload, RoutesRequest


async def report(manager: RouterManager) -> RoutesReplyPayload:
    try:
        found = await manager.report()
    except PicStoreError as exc:
        return RoutesReplyPayload(ok=False, reason=exc.message, error_key=exc.key)
    DISAGREEMENTS.set(sum(not row.agrees for row in found.routes))
    return RoutesReplyPayload(ok=True, report=found)


def participant(
    manager: RouterManager, bus: ServingBus, upkeep: Upkeep | None = None
) -> Participant:
    service = Participant(CONTRACT)

    @service.apply(ROUTES)
    async def add_routes(request: StepRequest) -> Outcome:
        return Outcome(details=await manager.apply(request))

    @service.compensate(ROUTES)
    async def withdraw_routes(request: StepRequest) -> Outcome:
        return Outcome(details=await manager.withdraw(request.service_id, request.operation_id))

    @service.endpoint(ROUTES_REQUEST)
    async def on_report(request: RoutesRequest) -> None:
        await bus.publish(
            ROUTES_REPORT,
            RoutesReply(
                operation_id=request.operation_id,
                correlation_id=request.event_id,
                payload=await report(manager),
            ),
        )

    if upkeep is not None:
        service.reconcile(upkeep)
    return service


def start(
    bus: ServingBus, manager: RouterManager, upkeep: Upkeep, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return participant(manager, bus, upkeep).tasks(bus, stop)
