"""Bus handlers: the verifier's `verify` step (shared/contract/participants/verifier.py),
answered through the manager."""

from __future__ import annotations

import asyncio

from services.verifier.manager import VerifierManager
from shared.contract.participants.verifier import CONTRACT, VERIFY
from shared.contract.serve import Outcome, Participant, ServingBus
from shared.events import StepRequest


def participant(manager: VerifierManager) -> Participant:
    service = Participant(CONTRACT)

    @service.apply(VERIFY)
    async def verify(request: StepRequest) -> Outcome:
        payload = request.payload
        image = payload.image or payload.manifest.get("image")
        decision = await manager.verify(image if isinstance(image, str) else None)
        return Outcome(
            ok=decision.ok,
            reason=decision.reason,
            warning=decision.warning,
            details=decision.details,
        )

    return service  # a check leaves nothing to undo: no compensate


def consumers(
    bus: ServingBus, manager: VerifierManager, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return participant(manager).tasks(bus, stop)
