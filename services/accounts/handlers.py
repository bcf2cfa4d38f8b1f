"""Bus handlers: the `accounts` step and endpoints (shared/contract/participants/accounts.py):
peer events, peer requests (answered sealed to the asker); and the periodic reconcile."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from services.accounts.configs import Configs, configs_of, rotate
from services.accounts.manager import AccountsManager
from services.accounts.metrics import RECONCILIATIONS
from shared.contract.participants.accounts import ACCOUNTS_STEP, CONTRACT
from shared.contract.serve import Outcome, Participant, ServingBus
from shared.errors import PicStoreError
from shared.events import StepRequest
from shared.events.channels import PEER_ADDED, PEER_REMOVED, PEER_REPLY, PEER_REQUEST
from shared.events.peers import (
    PeerAction,
    PeerAdded,
    PeerRemoved,
    PeerReply,
    PeerReplyPayload,
    PeerRequest,
)
from shared.peer_client import seal

log = structlog.get_logger("accounts")


async def answer(manager: AccountsManager, request: PeerRequest) -> PeerReply:
    p = request.payload
    configs: Configs | dict[str, list[str]] = {}
    try:
        if p.action is PeerAction.list:
            configs = {"peers": await manager.state.present_peers()}
        elif p.peer is None:
            raise ValueError(f"a {p.action.value} request names the peer")
        elif p.action is PeerAction.rotate:
            if not p.service:
                raise ValueError("a rotation names the service")
            configs = await rotate(manager, p.peer, p.service)
            log.info("credentials_rotated", peer=p.peer, service_id=p.service)
        else:
            configs = await configs_of(manager, p.peer)
        sealed = seal(configs, p.recipient)
        reply = PeerReplyPayload(action=p.action, peer=p.peer, ok=True, sealed=sealed)
    except PicStoreError as exc:
        reply = PeerReplyPayload(action=p.action, peer=p.peer, ok=False, reason=exc.message)
    except ValueError as exc:
        reply = PeerReplyPayload(action=p.action, peer=p.peer, ok=False, reason=str(exc))
    return PeerReply(
        operation_id=request.operation_id, correlation_id=request.event_id, payload=reply
    )


def participant(manager: AccountsManager, bus: ServingBus) -> Participant:
    service = Participant(CONTRACT, recipient=manager.vault.recipient)  # the installer seals to it

    @service.apply(ACCOUNTS_STEP)
    async def provision(request: StepRequest) -> Outcome:
        return Outcome(details=await manager.apply(request))

    @service.compensate(ACCOUNTS_STEP)
    async def withdraw(request: StepRequest) -> Outcome:
        return Outcome(details=await manager.compensate(request))

    @service.endpoint(PEER_ADDED)
    async def on_added(event: PeerAdded) -> None:
        await manager.peer_changed(event.payload.peer, True, event.time)

    @service.endpoint(PEER_REMOVED)
    async def on_removed(event: PeerRemoved) -> None:
        await manager.peer_changed(event.payload.peer, False, event.time)

    @service.endpoint(PEER_REQUEST)
    async def on_request(request: PeerRequest) -> None:
        await bus.publish(PEER_REPLY, await answer(manager, request))

    return service


def start(
    bus: ServingBus, manager: AccountsManager, period: float, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    async def reconcile_every() -> None:
        while not stop.is_set():
            try:
                await manager.reconcile()
                RECONCILIATIONS.labels("ok").inc()
            except Exception as exc:  # the bus may be reconnecting: the next period retries
                RECONCILIATIONS.labels("failed").inc()
                log.warning("reconcile_failed", reason=getattr(exc, "message", type(exc).__name__))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)

    return [
        *participant(manager, bus).tasks(bus, stop),
        asyncio.create_task(reconcile_every()),
    ]
