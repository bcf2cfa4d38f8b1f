"""Bus handlers: the verifier's step (the `verify` row of shared/steps.py), answered through
the manager."""

from __future__ import annotations

import asyncio

from services.verifier.manager import VerifierManager
from shared.bus import Bus
from shared.events import StepRequest
from shared.events.messages import StepResultPayload
from shared.participants import Participant


class VerifierParticipant(Participant):
    owner = "verifier"

    def __init__(self, manager: VerifierManager) -> None:
        self.manager = manager

    async def apply(self, request: StepRequest) -> StepResultPayload:
        payload = request.payload
        image = payload.image or payload.manifest.get("image")
        decision = await self.manager.verify(image if isinstance(image, str) else None)
        return StepResultPayload(
            step=payload.step,
            action=payload.action,
            ok=decision.ok,
            reason=decision.reason,
            warning=decision.warning,
            details=decision.details,
        )

    async def compensate(self, request: StepRequest) -> StepResultPayload:
        # A check leaves nothing to undo.
        return StepResultPayload(step=request.payload.step, action=request.payload.action, ok=True)


def consumers(bus: Bus, manager: VerifierManager, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    return VerifierParticipant(manager).tasks(bus, stop)
