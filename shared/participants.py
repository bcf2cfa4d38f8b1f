"""Saga participants: the services that own steps of an install (verifier, router, ...).

A participant announces itself in the `pic_participants` bucket (entries expire unless
renewed), answers `StepRequest`s on its own subject and publishes a `StepResult` for each.
The installer asks a step of a participant only when one is present and says it handles that
step (`Presence.steps`); otherwise the step is reported as skipped (or, for verification in
`enforce`, fails), never silently waited on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from pydantic import BaseModel, Field

from shared.bus import Bus
from shared.events import StepRequest, StepResult
from shared.events.channels import STEP_REQUEST, STEP_RESULT
from shared.events.messages import StepResultPayload

PRESENCE_BUCKET = "pic_participants"
PRESENCE_TTL = 15.0
RENEW_EVERY = 4.0
log = structlog.get_logger("participants")


class Presence(BaseModel):
    service: str
    instance: str = ""
    steps: list[str] = Field(default_factory=list)


async def announce(bus: Bus, presence: Presence, stop: asyncio.Event) -> None:
    bucket = await bus.bucket(PRESENCE_BUCKET, Presence, history=1, ttl=PRESENCE_TTL)
    while not stop.is_set():
        with contextlib.suppress(Exception):
            await bucket.put(presence.service, presence)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), RENEW_EVERY)
    with contextlib.suppress(Exception):
        await bucket.delete(presence.service)


async def handles(bus: Bus, service: str, step: str) -> bool:
    """Is `service` running, and does it say it handles `step`?"""
    bucket = await bus.bucket(PRESENCE_BUCKET, Presence, history=1, ttl=PRESENCE_TTL)
    record = await bucket.get(service)
    return record is not None and step in record.value.steps


StepHandler = Callable[[StepRequest], Awaitable[StepResultPayload]]


async def serve_steps(bus: Bus, owner: str, handler: StepHandler, stop: asyncio.Event) -> None:
    """Consume the owner's step requests durably; publish a result for each."""

    async def on_request(request: StepRequest) -> None:
        result = await handler(request)
        await bus.publish(STEP_RESULT, StepResult(
            operation_id=request.operation_id, service_id=request.service_id,
            correlation_id=request.event_id, payload=result))

    await bus.consume(STEP_REQUEST, f"{owner}-steps", on_request, stop=stop, owner=owner)
