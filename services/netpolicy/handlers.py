"""Bus handlers: the netpolicy's `firewall` and `egress` steps
(shared/contract/participants/netpolicy.py), answered through the manager, and its
reconcile, also when a service changes state."""

from __future__ import annotations

import asyncio

from services.netpolicy.manager import NetpolicyManager
from services.netpolicy.upkeep import Upkeep
from shared.contract.participants.netpolicy import CONTRACT, EGRESS, FIREWALL
from shared.contract.serve import Outcome, Participant, ServingBus
from shared.events import StepRequest


def participant(manager: NetpolicyManager, upkeep: Upkeep | None = None) -> Participant:
    service = Participant(CONTRACT)

    @service.apply(FIREWALL)
    async def open_firewall(request: StepRequest) -> Outcome:
        return Outcome(details=await manager.apply_firewall(request))

    @service.compensate(FIREWALL)
    async def close_firewall(request: StepRequest) -> Outcome:
        return Outcome(details=await manager.withdraw_firewall(request.service_id))

    @service.apply(EGRESS)
    async def route_egress(request: StepRequest) -> Outcome:
        return Outcome(details=await manager.apply_egress(request))

    @service.compensate(EGRESS)
    async def drop_egress(request: StepRequest) -> Outcome:
        ip = request.payload.service_ip
        return Outcome(details=await manager.withdraw_egress(request.service_id, ip))

    if upkeep is not None:
        service.reconcile(upkeep)
    return service


def start(
    bus: ServingBus, manager: NetpolicyManager, upkeep: Upkeep, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return participant(manager, upkeep).tasks(bus, stop)
