"""Bus handlers: announce the `verify` step, answer step requests through the manager."""

from __future__ import annotations

import asyncio
import uuid

import structlog

from services.verifier.manager import VerifierManager
from shared.bus import Bus
from shared.events import StepRequest
from shared.events.messages import StepAction, StepName, StepResultPayload
from shared.participants import Presence, StepHandler, announce, serve_steps

OWNER = "verifier"


def step_handler(manager: VerifierManager) -> StepHandler:
    async def on_step(request: StepRequest) -> StepResultPayload:
        payload = request.payload
        with structlog.contextvars.bound_contextvars(operation_id=request.operation_id,
                                                     service_id=request.service_id):
            if payload.step != StepName.verify:
                return StepResultPayload(step=payload.step, action=payload.action, ok=False,
                                         reason=f"the verifier does not own the "
                                                f"{payload.step.value} step")
            if payload.action == StepAction.compensate:  # a check leaves nothing to undo
                return StepResultPayload(step=payload.step, action=payload.action, ok=True)
            image = payload.image or payload.manifest.get("image")
            decision = await manager.verify(image if isinstance(image, str) else None)
        return StepResultPayload(step=payload.step, action=payload.action, ok=decision.ok,
                                 reason=decision.reason, warning=decision.warning,
                                 details=decision.details)

    return on_step


def consumers(bus: Bus, manager: VerifierManager, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    presence = Presence(service=OWNER, instance=f"{OWNER}-{uuid.uuid4().hex[:8]}",
                        steps=[StepName.verify.value])
    return [asyncio.create_task(announce(bus, presence, stop)),
            asyncio.create_task(serve_steps(bus, OWNER, step_handler(manager), stop))]
