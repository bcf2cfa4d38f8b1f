"""Who is there to carry out a step, and asking it.

A participant announces itself in the `pic_participants` bucket (entries expire unless
renewed, so a dead participant is absent within PRESENCE_TTL); the installer asks a step only
of a present participant that handles it, else the step is skipped with a warning
(verification in `enforce` fails instead), never silently waited on. Requests arrive on the
owner's own subject; the answer comes on the owner's own result subject, so a participant can
only answer for its own steps.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

from pydantic import BaseModel, Field

from shared.bus.channel import Channel
from shared.bus.request import Transport, ask
from shared.contract.registry import owner_of
from shared.errors import OperationError
from shared.events import StepRequest, StepResult
from shared.events.channels import STEP_REQUEST, STEP_RESULT
from shared.events.messages import StepResultPayload
from shared.events.roles import PARTICIPANTS, PRESENCE_TTL

RENEW_EVERY = 4.0


class Presence(BaseModel):
    service: str
    instance: str = ""
    steps: list[str] = Field(default_factory=list)
    # An age X25519 recipient: what the installer hands this participant in a step request
    # (`sealed`) is sealed to it. Only the participant writes its own key of the bucket.
    recipient: str = ""


class StepTimeoutError(OperationError):
    """A participant did not answer a step within the step timeout (`PIC_STEP_TIMEOUT`)."""

    key = "step_timeout"


class HasBuckets(Protocol):
    def bucket(
        self, name: str, model: type[Presence], history: int = ..., ttl: float | None = ...
    ) -> Any: ...


async def _presence(bus: HasBuckets) -> Any:
    return await bus.bucket(PARTICIPANTS, Presence, history=1, ttl=PRESENCE_TTL)


async def announce(bus: HasBuckets, presence: Presence, stop: asyncio.Event) -> None:
    bucket = await _presence(bus)
    while not stop.is_set():
        with contextlib.suppress(Exception):
            await bucket.put(presence.service, presence)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), RENEW_EVERY)
    with contextlib.suppress(Exception):
        await bucket.delete(presence.service)


async def _record(bus: HasBuckets, step: str) -> Presence | None:
    record = await (await _presence(bus)).get(owner_of(step))
    return record.value if record is not None else None


async def handles(bus: HasBuckets, step: str) -> bool:
    """Is the step's owner running, and does it say it handles the step?"""
    presence = await _record(bus, step)
    return presence is not None and step in presence.steps


async def recipient_of(bus: HasBuckets, step: str) -> str | None:
    """The age recipient the step's owner announces (None: it announces none)."""
    presence = await _record(bus, step)
    return (presence.recipient or None) if presence is not None else None


async def ask_step(
    bus: Transport[Channel, Any], request_: StepRequest, timeout: float
) -> StepResultPayload:
    """Ask the owner of the request's step, and wait for its answer."""
    step = request_.payload.step
    owner = owner_of(step)

    def timed_out() -> Exception:
        return StepTimeoutError(
            f"the {owner} did not answer the {step} step within {timeout:.0f} s"
        )

    answer = await ask(
        bus,
        STEP_REQUEST,
        request_,
        replies=STEP_RESULT,
        reply=StepResult,
        answers=lambda m: m.correlation_id == request_.event_id,
        timeout=timeout,
        timeout_error=timed_out,
        tokens={"owner": owner},
        reply_tokens={"owner": owner},
    )
    return answer.payload
