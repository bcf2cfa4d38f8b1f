"""Bus handlers: the `accounts` step (shared/steps.py), peer events, peer requests (answered
sealed to the asker), and the periodic reconcile."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from services.accounts.configs import Configs, configs_of, rotate
from services.accounts.manager import AccountsManager
from services.accounts.metrics import RECONCILIATIONS, STEPS
from shared.bus import Bus
from shared.errors import PicStoreError
from shared.events import StepRequest
from shared.events.channels import PEER_ADDED, PEER_REMOVED, PEER_REPLY, PEER_REQUEST
from shared.events.messages import StepAction, StepResultPayload
from shared.events.peers import PeerAction, PeerAdded, PeerRemoved, PeerReply, PeerRequest
from shared.participants import Participant
from shared.peer_client import seal

log = structlog.get_logger("accounts")


class AccountsParticipant(Participant):
    owner = "accounts"

    def __init__(self, manager: AccountsManager) -> None:
        self.manager = manager
        self.recipient = manager.vault.recipient  # the installer seals to it

    async def apply(self, request: StepRequest) -> StepResultPayload:
        return await self._run(request)

    async def compensate(self, request: StepRequest) -> StepResultPayload:
        return await self._run(request)

    async def _run(self, request: StepRequest) -> StepResultPayload:
        step, action = request.payload.step, request.payload.action
        try:
            if action is StepAction.apply:
                details = await self.manager.apply(request)
            else:
                details = await self.manager.compensate(request)
        except PicStoreError as exc:
            STEPS.labels(action.value, "failed").inc()
            log.warning("step_failed", action=action.value, reason=exc.message)
            return StepResultPayload(step=step, action=action, ok=False, reason=exc.message)
        except Exception as exc:  # a bug: fail the step rather than leave the saga waiting
            log.exception("step_crashed", action=action.value)
            STEPS.labels(action.value, "failed").inc()
            reason = f"internal error ({type(exc).__name__})"
            return StepResultPayload(step=step, action=action, ok=False, reason=reason)
        STEPS.labels(action.value, "ok").inc()
        log.info("step_done", action=action.value, **details)
        return StepResultPayload(step=step, action=action, ok=True, details=details)


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
        reply = {"ok": True, "sealed": seal(configs, p.recipient)}
    except PicStoreError as exc:
        reply = {"ok": False, "reason": exc.message}
    except ValueError as exc:
        reply = {"ok": False, "reason": str(exc)}
    return PeerReply(
        operation_id=request.operation_id,
        correlation_id=request.event_id,
        payload={"action": p.action, "peer": p.peer, **reply},
    )


def start(
    bus: Bus, manager: AccountsManager, period: float, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    async def on_added(event: PeerAdded) -> None:
        await manager.peer_changed(event.payload.peer, True, event.time)

    async def on_removed(event: PeerRemoved) -> None:
        await manager.peer_changed(event.payload.peer, False, event.time)

    async def on_request(request: PeerRequest) -> None:
        await bus.publish(PEER_REPLY, await answer(manager, request))

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
        *AccountsParticipant(manager).tasks(bus, stop),
        asyncio.create_task(bus.consume(PEER_ADDED, "accounts-peer-added", on_added, stop=stop)),
        asyncio.create_task(
            bus.consume(PEER_REMOVED, "accounts-peer-removed", on_removed, stop=stop)
        ),
        asyncio.create_task(bus.consume(PEER_REQUEST, "accounts-requests", on_request, stop=stop)),
        asyncio.create_task(reconcile_every()),
    ]
