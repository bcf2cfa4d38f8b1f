"""Saga steps owned by other services: asked on the bus, awaited with a timeout."""

from __future__ import annotations

import asyncio

from shared.bus import Bus
from shared.errors import OperationError
from shared.events import Message, StepRequest, StepResult
from shared.events.channels import STEP_REQUEST, STEP_RESULT
from shared.events.messages import StepResultPayload


class StepTimeoutError(OperationError):
    key = "step_timeout"


async def ask(bus: Bus, owner: str, request: StepRequest, timeout: float) -> StepResultPayload:
    """Publish the request to its owner and wait for the matching result."""
    answer: asyncio.Future[StepResultPayload] = asyncio.get_running_loop().create_future()

    async def on_result(message: Message) -> None:
        if (isinstance(message, StepResult) and message.correlation_id == request.event_id
                and not answer.done()):
            answer.set_result(message.payload)

    async with bus.watch(STEP_RESULT, on_result):
        await bus.publish(STEP_REQUEST, request, owner=owner)
        try:
            return await asyncio.wait_for(answer, timeout)
        except TimeoutError as exc:
            raise StepTimeoutError(
                f"the {owner} did not answer the {request.payload.step} step within "
                f"{timeout:.0f} s") from exc
